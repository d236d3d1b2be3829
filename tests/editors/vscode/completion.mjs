// Inline completion: the user sets the key, types at the end of a line, sees the server's
// suggestion as ghost text and accepts it with Tab; then turns completion off with the status bar
// item. Called by tests/editors/test_vscode.py with one JSON argument
// {url, playwright, chromium, artifacts, apiKey, file, original, line, typed, expected}; prints one
// JSON line per step and a final {"ok": true}, or {"error": ...} after a screenshot.
import path from "node:path";

import { norm, sleep, start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const { browser, page, started, log, step, editorText, waitFor, statusText, runCommand, answerInputBox, notificationTexts } = await start(cfg);

async function focusEditor() {
  await page.locator(".editor-instance .monaco-editor textarea").first().focus();
}

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
  await page.goto(cfg.url, { timeout: 30000 });
  await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 30000 });
  step("workbench");

  await page.keyboard.press("Control+P");
  await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
  await page.keyboard.type(cfg.file, { delay: 5 });
  await page.locator(".quick-input-list .monaco-list-row", { hasText: cfg.file }).first().waitFor();
  await page.keyboard.press("Enter");
  await waitFor("the file in the editor", async () => (await editorText()) === cfg.original.replace(/\s+$/, ""));
  await focusEditor();
  await waitFor("the GPT LSP status bar item", async () => (await statusText()).includes("AI"), 30000);
  step("extension active", { status: await statusText(), completion: await completionItemText() });

  await runCommand("GPT LSP: Set API Key");
  await answerInputBox(cfg.apiKey, "API key for the default relay");
  await waitFor("the key saved", async () => (await notificationTexts()).some((t) => t.includes("API key for the default relay saved")));
  await page.keyboard.press("Escape");
  await focusEditor();
  step("api key set");

  await page.keyboard.press("Control+G");
  await page.keyboard.type(String(cfg.line));
  await page.keyboard.press("Enter");
  await page.keyboard.press("End");
  await page.keyboard.type(cfg.typed, { delay: 20 });
  const ghost = await waitFor("the ghost text", async () => norm(await ghostText()), 20000);
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-ghost-text.png") });
  step("ghost text", { text: ghost });

  await page.keyboard.press("Tab");
  await waitFor("the accepted suggestion", async () => (await editorText()) === cfg.expected.replace(/\s+$/, "") && !(await ghostText()));
  step("accepted", { text: await editorText() });

  const before = await completionItemText();
  await page.locator(".statusbar-item[id*='gpt-lsp.completion']").first().click();
  await waitFor("completion off", async () => (await completionItemText()) !== before && (await completionItemText()).length > 0);
  await focusEditor();
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
