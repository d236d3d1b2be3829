// Drives code-server through a chat document as a user does: lines selected, "GPT LSP: New Chat"
// with a question (the chat opens beside, the selection in it, the reply streams in), a
// follow-up typed where the cursor was left and sent with Ctrl+Enter, "AI: Apply to" on the
// answer's code (a pending edit in the source, its lenses), the Reject lens (the original back).
// Called by tests/editors/test_vscode_chat.py with one JSON argument; prints one JSON line per
// step and a final {"ok": true}.
import path from "node:path";

import { start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const {
  browser, page, started, log, step, waitFor, runCommand, answerInputBox, openWorkbench, openFile, selectLines,
  codeAction, lensTitles, groups, editorFocused, cursorStatus,
} = await start(cfg);

const MARKER = "<!-- gpt-lsp chat";
const chatGroup = async () => (await groups()).find((g) => g.text.startsWith(MARKER) || g.tab.endsWith(".md"));
const sourceGroup = async () => (await groups()).find((g) => g.tab === cfg.file);
const headings = (text) => text.split("\n").filter((line) => line === "## You").length;

/** Waits until the chat shows `answerEnd` and ends with an empty "## You" turn; returns it. */
async function replied(answerEnd, what) {
  return waitFor(what, async () => {
    const chat = await chatGroup();
    return chat && chat.text.includes(answerEnd) && chat.text.endsWith("## You") ? chat : null;
  });
}

try {
  await openWorkbench(cfg.url);
  await openFile(cfg.file, cfg.original);
  await waitFor("the GPT LSP status bar item", () => page.evaluate(() => [...document.querySelectorAll(".statusbar-item")].some((el) => (el.id || "").includes("gpt-lsp.status"))), 30000);
  step("file open");

  // 1. New Chat on the selected lines, with a question: the chat opens beside, the reply streams.
  await selectLines(cfg.firstLine, cfg.lineCount);
  await runCommand("GPT LSP: New Chat");
  await answerInputBox(cfg.question, "New Chat");
  const first = await replied(cfg.firstEnd, "the first reply");
  await waitFor("the focus in the chat", editorFocused, 5000);
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-chat.png") });
  step("first reply", {
    groups: (await groups()).length,
    active: (await groups()).find((g) => g.active)?.tab,
    source: (await sourceGroup())?.text,
    chatTab: first.tab,
    cursor: await cursorStatus(),
  });

  // 2. A follow-up typed where the reply left the cursor, sent with Ctrl+Enter.
  await page.keyboard.type(cfg.followUp);
  await waitFor("the follow-up typed", async () => (await chatGroup()).text.includes(cfg.followUp), 5000);
  await page.keyboard.press("Control+Enter");
  const second = await replied(cfg.secondEnd, "the second reply");
  step("second reply", { turns: headings(second.text) });

  // 3. AI: Apply to the source, on the first answer's code (found with Ctrl+F, which selects it).
  const offered = await codeAction(`AI: Apply to ${cfg.file}`, async () => {
    await page.keyboard.press("Control+F");
    await page.locator(".find-widget.visible").first().waitFor({ state: "visible", timeout: 5000 });
    await page.keyboard.press("Control+A");
    await page.keyboard.type(cfg.blockText);
    await page.keyboard.press("Enter");
    await page.keyboard.press("Escape");
    await waitFor("the match selected", async () => (await cursorStatus()).includes("selected"), 5000);
  });
  await waitFor("the applied code in the source", async () => (await sourceGroup())?.text === cfg.applied.trimEnd());
  await waitFor("the Accept and Reject lenses", async () => {
    const titles = await lensTitles();
    return titles.includes("AI: Accept") && titles.includes("AI: Reject") && !titles.includes("AI: Cancel");
  });
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-chat-applied.png") });
  step("applied", { offered, source: (await sourceGroup()).text, lenses: await lensTitles() });

  // 4. The Reject lens in the source: the original back, the lenses gone.
  await page.locator(".editor-instance .codelens-decoration a", { hasText: "AI: Reject" }).first().click();
  await waitFor("the original after reject", async () => (await sourceGroup())?.text === cfg.original.trimEnd());
  await waitFor("the job's lenses gone", async () => !(await lensTitles()).includes("AI: Reject"));
  step("rejected", { source: (await sourceGroup()).text });

  // 5. The chat kept on disk (Ctrl+S in it): the test reads the conversation from the file.
  const chatEditor = page.locator(".editor-group-container", { has: page.locator(".tab.active", { hasText: ".md" }) }).first();
  // Its tab, not a line: Monaco renders lines past the visible ones, and how many wrap depends
  // on the workspace's path in the chat's header, so the last rendered line may lie under the
  // status bar.
  await chatEditor.locator(".tab.active", { hasText: ".md" }).first().click();
  await waitFor("the focus in the chat", editorFocused, 5000);
  await page.keyboard.press("Control+S");
  await waitFor("the chat saved", async () => (await chatEditor.locator(".tab.active.dirty").count()) === 0, 10000);
  step("saved");
  log({ ok: true, ms: Date.now() - started });
  await browser.close();
} catch (error) {
  await page.screenshot({ path: path.join(cfg.artifacts, "chat-failure.png") }).catch(() => {});
  log({ error: String(error && error.stack ? error.stack : error), ms: Date.now() - started, groups: await groups().catch(() => []) });
  await browser.close();
  process.exit(1);
}
