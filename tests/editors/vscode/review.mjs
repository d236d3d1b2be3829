// Drives code-server through a pending AI edit: lenses and decorations while pending, one Ctrl+Z
// takes the whole job back, inline chat inside the region refines it, Show Diff opens a diff
// editor, the Reject lens restores the original. Called by tests/editors/test_vscode_review.py
// with one JSON argument; prints one JSON line per step and a final {"ok": true}.
import path from "node:path";

import { start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const {
  browser, page, started, log, step, editorText, waitFor, runCommand, answerInputBox, openWorkbench, openFile, editorFocused,
  focusEditor, gotoLine, selectLines, codeAction, lensTitles, pendingItem, waitPending,
} = await start(cfg);

/** The decorations' after-text on the region's first line ("AI edit pending: ..."). */
const headerText = () => page.evaluate(() => [...document.querySelectorAll(".editor-instance .view-lines span")].map((el) => getComputedStyle(el, "::after").content + (el.textContent || "")).join(" "));

const refactorLines = (first, count) => codeAction("AI: Refactor", () => selectLines(first, count));

async function pending(expected, shot) {
  await waitPending(expected);
  const item = await waitFor("the pending status item", pendingItem);
  const header = await waitFor("the pending header", async () => (await headerText()).includes("AI edit pending")).catch(() => false);
  if (shot) await page.screenshot({ path: path.join(cfg.artifacts, shot) });
  return { lenses: await lensTitles(), item, header };
}

try {
  await openWorkbench(cfg.url);
  await openFile(cfg.file, cfg.original);
  await waitFor("the GPT LSP status bar item", () => page.evaluate(() => [...document.querySelectorAll(".statusbar-item")].some((el) => (el.id || "").includes("gpt-lsp.status"))), 30000);
  step("file open");

  // 1. A refactor streams in and stays pending: lenses, decorations, the status item.
  await refactorLines(cfg.firstLine, cfg.lineCount);
  step("pending", await pending(cfg.refactored.trimEnd(), "vscode-pending.png"));

  // 2. One Ctrl+Z: the whole job goes; the server ends it (lenses and the status item go).
  //    Bounded waits, then what is there.
  if (!(await editorFocused())) await focusEditor();
  await page.keyboard.press("Control+Z");
  await waitFor("the original after one undo", async () => (await editorText()) === cfg.original.trimEnd()).catch(() => {});
  const afterUndo = await editorText();
  await waitFor("the lenses and the pending item gone", async () => !(await lensTitles()).includes("AI: Accept") && !(await pendingItem())).catch(() => {});
  step("undone", { text: afterUndo, lenses: await lensTitles(), item: await pendingItem() });

  // 3. Again, then inline chat inside the pending region: a follow-up turn of the same job.
  await refactorLines(cfg.firstLine, cfg.lineCount);
  await pending(cfg.refactored.trimEnd());
  await gotoLine(cfg.firstLine + 1);
  await runCommand("GPT LSP: Inline Chat");
  await answerInputBox(cfg.instruction, "Refine the AI edit");
  step("refine asked");
  const refined = await pending(cfg.refined.trimEnd(), "vscode-refined.png");
  step("refined", { ...refined, text: await editorText() });

  // 4. Show Diff: a diff editor, the original on the left.
  await runCommand("GPT LSP: Show Diff of the AI Edit");
  await page.locator(".monaco-diff-editor").first().waitFor({ state: "visible" });
  await page.locator(".monaco-diff-editor .editor.original .view-line").first().waitFor({ state: "visible" });
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-diff.png") });
  const tab = await page.locator(".tab.active").first().innerText();
  step("diff", { tab: tab.replace(/\s+/g, " ").trim() });
  await page.keyboard.press("Control+W");
  await page.locator(".monaco-diff-editor").first().waitFor({ state: "hidden" });

  // 5. The Reject lens: the text from before the first turn, and the job ends.
  await page.locator(".editor-instance .codelens-decoration a", { hasText: "AI: Reject" }).first().click();
  await waitFor("the original after reject", async () => (await editorText()) === cfg.original.trimEnd());
  await waitFor("the lenses gone after reject", async () => (await lensTitles()).length === 0);
  step("rejected", { text: await editorText(), item: await pendingItem() });
  log({ ok: true, ms: Date.now() - started });
  await browser.close();
} catch (error) {
  await page.screenshot({ path: path.join(cfg.artifacts, "review-failure.png") }).catch(() => {});
  log({ error: String(error && error.stack ? error.stack : error), ms: Date.now() - started, text: await editorText().catch(() => "") });
  await browser.close();
  process.exit(1);
}
