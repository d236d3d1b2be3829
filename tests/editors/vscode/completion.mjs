// Inline completion: the user sets the key, types at the end of a line, sees the server's
// suggestion as ghost text and accepts it with Tab; then turns completion off with the status bar
// item. Called by tests/editors/test_vscode.py with one JSON argument
// {url, playwright, chromium, artifacts, apiKey, file, original, line, typed, expected}; prints one
// JSON line per step and a final {"ok": true}, or {"error": ...} after a screenshot.
import path from "node:path";

import { norm, sleep, start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const {
  browser, page, started, log, step, editorText, waitFor, statusText, runCommand, answerInputBox, notificationTexts,
  openWorkbench, openFile, editorFocused, focusEditor, gotoLine,
} = await start(cfg);

async function ghostText() {
  return page.evaluate(() =>
    [...document.querySelectorAll(".editor-instance .ghost-text-decoration, .editor-instance .ghost-text")]
      .map((el) => el.textContent.replace(/\u00a0/g, " "))
      .join(""),
  );
}

async function completionItemText() {
  return page.evaluate(() => {
    const item = [...document.querySelectorAll(".statusbar-item")].find((el) => (el.id || "").includes("gpt-lsp.completion"));
    return item ? (item.textContent || "").trim() : "";
  });
}

try {
  await openWorkbench(cfg.url);
  step("workbench");

  await openFile(cfg.file, cfg.original);
  await waitFor("the GPT LSP status bar item", async () => (await statusText()).includes("AI"), 30000);
  step("extension active", { status: await statusText(), completion: await completionItemText() });

  await runCommand("GPT LSP: Set API Key");
  await answerInputBox(cfg.apiKey, "API key for the default relay");
  await waitFor("the key saved", async () => (await notificationTexts()).some((t) => t.includes("API key for the default relay saved")));
  step("api key set");

  // The cursor at the line's end (Go to Line, checked in the status bar), then the typing.
  await gotoLine(cfg.line, cfg.original.split("\n")[cfg.line - 1].length + 1);
  await page.keyboard.type(cfg.typed, { delay: 20 });
  const ghost = await waitFor("the ghost text", async () => norm(await ghostText()));
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-ghost-text.png") });
  step("ghost text", { text: ghost });

  await page.keyboard.press("Tab");
  await waitFor("the accepted suggestion", async () => (await editorText()) === cfg.expected.replace(/\s+$/, "") && !(await ghostText()));
  step("accepted", { text: await editorText() });

  const before = await completionItemText();
  await page.locator(".statusbar-item[id*='gpt-lsp.completion']").first().click();
  await waitFor("completion off", async () => (await completionItemText()) !== before && (await completionItemText()).length > 0);
  if (!(await editorFocused())) await focusEditor();
  await page.keyboard.press("End");
  await page.keyboard.type(cfg.typedAfterOff, { delay: 20 });
  await sleep(1500); // well past the debounce: a request would have been sent
  step("turned off", { before, after: await completionItemText(), ghost: await ghostText() });
  log({ ok: true, ms: Date.now() - started });
} catch (error) {
  await page.screenshot({ path: path.join(cfg.artifacts, "completion-failure.png") }).catch(() => {});
  log({ error: String(error && error.stack ? error.stack : error), ms: Date.now() - started, notifications: await notificationTexts().catch(() => []) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
