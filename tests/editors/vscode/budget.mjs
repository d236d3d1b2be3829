// A budget in the user's settings (gptLsp.budget, application scope) with today's cap already
// reached: inline chat on a line is refused with the cap's message, and nothing says a
// workspace value was ignored (the extension sends the budget as a user setting only). Called by
// tests/editors/test_vscode_user_settings.py with one JSON argument {url, playwright, chromium,
// artifacts, file, original, chat: {firstLine, instruction}}; prints one JSON line per step and
// a final {"ok": true}, or {"error": ...} after a screenshot.
import path from "node:path";

import { start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const {
  browser, page, started, log, step, waitFor, statusText, runCommand, answerInputBox, notificationTexts, openWorkbench,
  openFile, selectLines,
} = await start(cfg);

try {
  await openWorkbench(cfg.url);
  await openFile(cfg.file, cfg.original);
  await waitFor("the GPT LSP status bar item", async () => (await statusText()).includes("AI"), 30000);
  step("extension active", { status: await statusText() });

  await selectLines(cfg.chat.firstLine, 1);
  await runCommand("GPT LSP: Inline Chat");
  await answerInputBox(cfg.chat.instruction, "How should the selection be rewritten?");
  const refused = await waitFor("the refusal", async () => (await notificationTexts()).find((t) => t.includes("Spending cap reached")), 20000);
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-budget-refused.png") });
  step("refused", { text: refused });

  // Every notification of the session, in the notification center (toasts hide after a while):
  // a warning about ignored workspace values came, if at all, before the job was asked for.
  await runCommand("Notifications: Show Notifications");
  await page.locator(".notifications-center .notification-list-item", { hasText: "Spending cap reached" }).first().waitFor({ state: "visible" });
  step("notifications", { texts: await notificationTexts() });
  log({ ok: true, ms: Date.now() - started });
} catch (error) {
  await page.screenshot({ path: path.join(cfg.artifacts, "budget-failure.png") }).catch(() => {});
  log({ error: String(error && error.stack ? error.stack : error), ms: Date.now() - started, notifications: await notificationTexts().catch(() => []) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
