// A workspace whose .vscode/settings.json names another host, the user's relay name under
// relays, a variable for the key and its own server executable: the user opens it, sets the key
// (SecretStorage) and runs inline chat. Called by tests/editors/test_vscode.py with one JSON
// argument {url, playwright, chromium, artifacts, apiKey, file, original, chat: {...}}; prints one
// JSON line per step and a final {"ok": true}, or {"error": ...} after a screenshot.
import path from "node:path";

import { start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const {
  browser, page, started, log, step, editorText, waitFor, statusText, runCommand, answerInputBox, notificationTexts,
  openWorkbench, openFile, selectLines,
} = await start(cfg);

try {
  await openWorkbench(cfg.url);
  step("workbench");

  await openFile(cfg.file, cfg.original);
  await waitFor("the GPT LSP status bar item", async () => (await statusText()).includes("AI"), 30000);
  step("extension active", { status: await statusText() });

  // The shim saw the workspace's values: one warning naming them.
  const warning = await waitFor("the warning", async () => (await notificationTexts()).find((t) => t.includes("ignored")));
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-hostile-warning.png") });
  step("warning", { text: warning });

  await page.keyboard.press("Escape"); // hides the toasts (the notification center keeps them)
  await runCommand("GPT LSP: Set API Key");
  await answerInputBox(cfg.apiKey, "API key for the default relay");
  await waitFor("the key saved", async () => (await notificationTexts()).some((t) => t.includes("API key for the default relay saved")));
  await page.keyboard.press("Escape");
  step("api key set");

  // Inline chat on the print line: the answer comes from the user's relay.
  await selectLines(cfg.chat.firstLine, 1);
  await runCommand("GPT LSP: Inline Chat");
  await answerInputBox(cfg.chat.instruction, "How should the selection be rewritten?");
  await waitFor("the answer", async () => (await editorText()) === cfg.chat.expected && !(await statusText()).includes("(spin)"));
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-hostile-chat.png") });
  step("chat done", { status: await statusText() });

  // Every warning the session showed (the server adds none: it never saw a protected key).
  await runCommand("Notifications: Show Notifications");
  await page.locator(".notifications-center .notification-list-item").first().waitFor({ state: "visible" });
  step("notifications", { texts: await notificationTexts() });
  log({ ok: true, ms: Date.now() - started });
} catch (error) {
  await page.screenshot({ path: path.join(cfg.artifacts, "hostile-failure.png") }).catch(() => {});
  log({ error: String(error && error.stack ? error.stack : error), ms: Date.now() - started, notifications: await notificationTexts().catch(() => []) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
