// The flow matrix in code-server: one browser session runs the flows tests/editors/test_vscode_flows.py
// asks for, one at a time. Called with one JSON argument {url, playwright, chromium, artifacts};
// then reads one JSON line per flow from stdin ({"flow": name, ...its arguments}) and answers with
// step lines and one {"flow": name, "done": true, ...result} or {"flow": name, "done": true,
// "error": ...} line (after a screenshot). Each flow starts from a clean window (no editor, quick
// input, menu or notification left by the one before) and works on its own file, so one failing
// flow leaves the next one a clean start.
import path from "node:path";
import readline from "node:readline";

import { norm, start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const {
  browser, page, log, step, editorText, waitFor, retry, statusText, runCommand, answerInputBox, notificationTexts,
  openWorkbench, openFile, editorFocused, focusEditor, gotoLine, selectLines, codeAction, lensTitles, waitPending, groups, closeAllEditors,
} = await start(cfg);

const shot = (name) => page.screenshot({ path: path.join(cfg.artifacts, name) });

/** Ctrl+Z in the editor (the focus is there after the steps before; a click gives it back). */
async function undo() {
  if (!(await editorFocused())) await focusEditor();
  await page.keyboard.press("Control+Z");
}

/** After an undo or a cancel: waits (bounded) for the job's lenses to go, then the text. */
async function settled() {
  await waitFor("the job's lenses gone", async () => !(await lensTitles()).some((t) => t.startsWith("AI: "))).catch(() => {});
  return { text: await editorText(), lenses: await lensTitles() };
}

/** Whether the editor scrolls sideways: the horizontal scrollbar's slider is narrower than the
 * scrollbar (Monaco sizes the slider by viewport / scroll width; it spans it all when nothing
 * is hidden). */
const horizontalScroll = () => page.evaluate(() => {
  const bar = document.querySelector(".editor-instance .monaco-scrollable-element.editor-scrollable > .scrollbar.horizontal");
  const slider = bar && bar.querySelector(".slider");
  if (!bar || !slider) return { error: "no horizontal scrollbar" };
  const barWidth = bar.getBoundingClientRect().width;
  const sliderWidth = slider.getBoundingClientRect().width;
  return { barWidth, sliderWidth, className: bar.className, scrolls: sliderWidth > 0 && sliderWidth < barWidth - 1 };
});

/** The pending note after the region's first line ("AI edit pending: ..."), as drawn. */
const noteText = () => page.evaluate(() => [...document.querySelectorAll(".editor-instance .view-lines span")]
  .map((el) => getComputedStyle(el, "::after").content)
  .filter((c) => c && c !== "none" && c.includes("AI"))
  .join(" "));

const refactor = (a) => codeAction("AI: Refactor", () => selectLines(a.firstLine, a.lineCount));

const FLOWS = {
  /** Opens a window on a folder (the first flow, and explain in another folder). */
  async open(a) {
    await openWorkbench(a.url);
    await waitFor("the GPT LSP status bar item", async () => (await statusText()).includes("AI"), 30000);
    return { status: await statusText() };
  },

  /** AI: Explain on a selection: the notes document opens beside the code, with the answer. */
  async explain(a) {
    await openFile(a.file, a.original);
    await codeAction("AI: Explain", () => selectLines(a.firstLine, a.lineCount));
    const shown = await waitFor("the notes beside the source, with the answer", async () => {
      const g = await groups();
      return g.length === 2 && norm(g[1].text).includes(norm(a.notes)) ? g : undefined;
    });
    await shot(`explain-${a.name}.png`);
    return { groups: shown };
  },

  /** Typing above and below the region while the answer streams, then one Ctrl+Z. The relay
   * holds the answer half way until the test, told "typed", lets it go on. */
  async typing(a) {
    await openFile(a.file, a.original);
    await refactor(a);
    await waitFor("the answer to start streaming", async () => (await editorText()).includes(a.startedWhen));
    await gotoLine(1);
    await page.keyboard.type(a.above, { delay: 5 });
    await page.keyboard.press("Enter");
    await page.keyboard.press("Control+End");
    await page.keyboard.type(a.below, { delay: 5 });
    await waitFor("the typed lines", async () => {
      const text = await editorText();
      return text.startsWith(`${a.above}\n`) && text.endsWith(a.below);
    });
    // The job still runs (the status bar's spinner; lenses are redrawn after typing).
    const streamingAfterTyping = (await statusText()).includes("(spin)");
    step("typed");
    await waitPending(a.expected);
    await undo();
    const after = await settled();
    await shot("typing-undone.png");
    return { streamingAfterTyping, ...after };
  },

  /** A refactor of a selection, then one Ctrl+Z. */
  async selection(a) {
    await openFile(a.file, a.original);
    await refactor(a);
    await waitPending(a.expected);
    await undo();
    return settled();
  },

  /** A refactor, a follow-up turn (inline chat inside the pending edit), then one Ctrl+Z. With
   * `moveCursor` the user first puts the cursor inside the edit (VS Code closes the undo step on
   * any cursor move); without it, Ctrl+Alt+G on the selection the job was started on. */
  async followup(a) {
    await openFile(a.file, a.original);
    await refactor(a);
    await waitPending(a.expected);
    const box = page.locator(".quick-input-widget", { hasText: "Refine" });
    if (a.moveCursor) {
      await gotoLine(a.firstLine + 1);
      await runCommand("GPT LSP: Inline Chat");
    } else {
      // Its keybinding needs the focus in the editor (the menu's click gave it back), and a
      // press lost to a busy window opened nothing: press again.
      await retry("Ctrl+Alt+G", 3, async () => {
        await waitFor("the keyboard focus in the editor", editorFocused, 5000);
        await page.keyboard.press("Control+Alt+G");
        await box.waitFor({ state: "visible", timeout: 5000 });
      });
    }
    await answerInputBox(a.instruction, "Refine");
    await waitPending(a.refined);
    step("refined");
    await undo();
    const after = await settled();
    await shot(`followup-undone${a.moveCursor ? "-moved" : ""}.png`);
    return after;
  },

  /** Ctrl+. with the cursor on a word inside a function: the function's actions, for all of it. */
  async bare(a) {
    await openFile(a.file, a.original);
    const menu = await codeAction(a.action, () => gotoLine(a.line, a.column));
    await waitPending(a.expected);
    return { menu, text: await editorText() };
  },

  /** A relay error: the reason stays readable in a notification after the job has ended. */
  async failed(a) {
    await openFile(a.file, a.original);
    await refactor(a);
    const toast = await waitFor("the relay's reason in a notification", async () => (await notificationTexts()).find((t) => t.includes(a.reason)));
    await waitFor("the failed job in the status bar", async () => (await statusText()).includes(a.failed));
    await shot("failed.png");
    const later = (await notificationTexts()).find((t) => t.includes(a.reason)) || "";
    return { toast, later, status: await statusText(), text: await editorText() };
  },

  /** While the answer streams the AI: Cancel lens shows; clicking it restores the original.
   * The relay goes silent before the answer's end, so the click lands on a running job; the
   * lens must show on two different texts, so it was there while the text still changed (in
   * the silence VS Code asks for lenses again). */
  async lenses(a) {
    await openFile(a.file, a.original);
    await refactor(a);
    const texts = new Set();
    const mid = await waitFor("the AI: Cancel lens on two mid-stream texts", async () => {
      const text = await editorText();
      const titles = await lensTitles();
      const midStream = text !== a.original.trimEnd() && text !== a.expected.trimEnd();
      if (midStream && titles.includes("AI: Cancel")) texts.add(text);
      return texts.size >= 2 ? { titles, text, texts: texts.size } : undefined;
    });
    await shot("streaming-lenses.png");
    await page.locator(".editor-instance .codelens-decoration a", { hasText: "AI: Cancel" }).first().click();
    await waitFor("the original after cancel", async () => (await editorText()) === a.original.trimEnd());
    return { mid, ...(await settled()) };
  },

  /** The pending note on a long first line does not make the editor scroll sideways. */
  async note(a) {
    await openFile(a.file, a.original);
    const before = await horizontalScroll();
    await refactor(a);
    await waitPending(a.expected);
    await waitFor("the pending note", async () => (await noteText()).includes("AI edit pending"));
    await shot("pending-note.png");
    return { before, after: await horizontalScroll(), note: await noteText() };
  },
};

const input = readline.createInterface({ input: process.stdin });
for await (const line of input) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  if (request.flow === "quit") break;
  const began = Date.now();
  try {
    if (request.flow !== "open") await closeAllEditors();
    const result = await FLOWS[request.flow](request);
    log({ flow: request.flow, done: true, ms: Date.now() - began, ...result });
  } catch (error) {
    await shot(`${request.flow}-failure.png`).catch(() => {});
    log({
      flow: request.flow,
      done: true,
      ms: Date.now() - began,
      error: String(error && error.stack ? error.stack : error),
      text: await editorText().catch(() => ""),
      status: await statusText().catch(() => ""),
    });
  }
}
await browser.close();
