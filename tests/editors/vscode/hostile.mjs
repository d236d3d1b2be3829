// A workspace whose .vscode/settings.json names another host, the user's relay name under
// relays, a variable for the key and its own server executable: the user opens it, sets the key
// (SecretStorage) and runs inline chat. Called by tests/editors/test_vscode.py with one JSON
// argument {url, playwright, chromium, artifacts, apiKey, file, original, chat: {...}}; prints one
// JSON line per step and a final {"ok": true}, or {"error": ...} after a screenshot.
import path from "node:path";

import { norm, sleep, start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const { browser, page, started, log, step, editorText, waitFor, statusText, runCommand, answerInputBox, notificationTexts } = await start(cfg);

async function focusEditor() {
  await page.locator(".editor-instance .monaco-editor textarea").first().focus();
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
  step("extension active", { status: await statusText() });

  // The shim saw the workspace's values: one warning naming them.
  const warning = await waitFor("the warning", async () => (await notificationTexts()).find((t) => t.includes("ignored")), 20000);
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-hostile-warning.png") });
  step("warning", { text: warning });

  await page.keyboard.press("Escape");
  await focusEditor();
  await runCommand("GPT LSP: Set API Key");
  await answerInputBox(cfg.apiKey, "API key for the default relay");
  await waitFor("the key saved", async () => (await notificationTexts()).some((t) => t.includes("API key for the default relay saved")));
  await page.keyboard.press("Escape");
  await focusEditor();
  step("api key set");

  // Inline chat on the print line: the answer comes from the user's relay.
  await page.keyboard.press("Control+G");
  await page.keyboard.type(String(cfg.chat.firstLine));
  await page.keyboard.press("Enter");
  await page.keyboard.press("Home");
  await page.keyboard.press("Home");
  await page.keyboard.press("Shift+ArrowDown");
  await runCommand("GPT LSP: Inline Chat");
  await answerInputBox(cfg.chat.instruction, "How should the selection be rewritten?");
  await waitFor("the answer", async () => (await editorText()) === cfg.chat.expected && !(await statusText()).includes("(spin)"), 20000);
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-hostile-chat.png") });
  step("chat done", { status: await statusText() });

  // Every warning the session showed (the server adds none: it never saw a protected key).
  await runCommand("Notifications: Show Notifications");
  await sleep(300);
  step("notifications", { texts: await notificationTexts() });
  log({ ok: true, ms: Date.now() - started });
} catch (error) {
  await page.screenshot({ path: path.join(cfg.artifacts, "hostile-failure.png") }).catch(() => {});
  log({ error: String(error && error.stack ? error.stack : error), ms: Date.now() - started, notifications: await notificationTexts().catch(() => []) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
