// A new user's first minutes in a remote window (code-server) with VS Code in Chinese: no
// gpt-lsp on PATH, so the server is not found; the message names the Remote settings (where a
// remote window reads gptLsp.serverPath) and its button opens them; the user sets serverPath
// there and saves; the server starts. Then the extension's
// own words are Chinese: the palette's titles, inline chat's prompt, the status tooltip's spend
// lines (the server's). Called by tests/editors/test_vscode_setup.py with one JSON argument
// {url, playwright, chromium, artifacts, file, original, serverPath, chat: {...}}; prints one
// JSON line per step and a final {"ok": true}, or {"error": ...} after a screenshot.
import path from "node:path";

import { norm, start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const {
  browser, page, started, log, step, editorText, waitFor, notificationTexts, openWorkbench, openFile, selectLines,
  retry, closeQuickInput, runCommand, answerInputBox,
} = await start(cfg);

/** The main GPT LSP status bar item: its icon (warning while no server runs) and text. */
const statusItem = () => page.evaluate(() => {
  const item = [...document.querySelectorAll(".statusbar-item")].find((el) => (el.id || "").endsWith("gpt-lsp.status"));
  if (!item) return undefined;
  const icon = [...item.querySelectorAll(".codicon")].map((el) => [...el.classList].find((c) => c.startsWith("codicon-") && c !== "codicon-modifier-spin")).join(" ");
  return { icon, text: (item.textContent || "").trim() };
});

/** Hovers the status item until its tooltip holds `wanted`; returns the tooltip's text. */
async function statusTooltip(wanted) {
  const item = page.locator('.statusbar-item[id$="gpt-lsp.status"]').first();
  const hover = page.locator(".workbench-hover, .monaco-hover").filter({ hasText: "GPT LSP" }).first();
  return waitFor(`the status tooltip with ${wanted}`, async () => {
    await item.hover();
    const text = norm(await hover.innerText({ timeout: 2000 }).catch(() => ""));
    if (text.includes(wanted)) return text;
    await page.mouse.move(0, 0); // the hover is built once per showing: leave and come back
    await hover.waitFor({ state: "hidden", timeout: 5000 }).catch(() => {});
    return "";
  });
}

try {
  await openWorkbench(cfg.url);
  step("workbench", { lang: await page.evaluate(() => document.documentElement.lang) });
  await openFile(cfg.file, cfg.original);

  // 1. The server is not found: the message says where a remote window reads serverPath.
  const message = await waitFor("the server-not-found message", async () => (await notificationTexts()).find((t) => t.includes("gptLsp.serverPath")), 30000);
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-server-not-found.png") });
  step("not found", { message, status: await statusItem() });

  // 2. Its button opens the Remote settings (JSON); the user sets serverPath there and saves.
  const toast = page.locator(".notifications-toasts .notification-list-item", { hasText: "gptLsp.serverPath" }).first();
  await toast.locator(".monaco-button", { hasText: cfg.openRemote }).first().click();
  // VS Code shows the file (the machine's Machine/settings.json) in an editor, modal or a tab.
  const where = page.getByText("/Machine", { exact: false }).first();
  await where.waitFor({ state: "visible" });
  const opened = norm(await where.innerText());
  const text = page.locator(".monaco-editor .view-line", { hasText: "{}" }).last();
  await text.click();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(JSON.stringify({ "gptLsp.serverPath": cfg.serverPath }, null, 2));
  await page.locator(".monaco-editor .view-line", { hasText: cfg.serverPath }).last().waitFor({ state: "visible" });
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-remote-settings.png") });
  step("remote settings", { opened });

  // 3. Saved, the extension restarts the server with it (Ctrl+S again when a save was lost).
  await retry("save the remote settings", 3, async () => {
    await page.keyboard.press("Control+S");
    await waitFor("the server running", async () => {
      const item = await statusItem();
      return item && !item.icon.includes("codicon-warning");
    }, 20000);
  });
  step("server running", { status: await statusItem() });
  await page.keyboard.press("Escape");
  await page.keyboard.press("Control+W");

  // 4. Chinese titles in the palette, Chinese prompt in inline chat.
  await openFile(cfg.file, cfg.original);
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(">GPT LSP");
  // The list once filtered: every row is gpt-lsp's, the chat's among them.
  const rows = page.locator(".quick-input-list .monaco-list-row");
  const palette = await waitFor("gpt-lsp's commands in the palette", async () => {
    const texts = (await rows.allInnerTexts()).map(norm);
    return texts.some((t) => t.includes(cfg.chat.command)) && texts.every((t) => t.startsWith("GPT LSP")) ? texts : undefined;
  });
  await closeQuickInput();
  await selectLines(cfg.chat.firstLine, 1);
  await runCommand(cfg.chat.command);
  const box = page.locator(".quick-input-widget", { hasText: cfg.chat.prompt });
  await box.waitFor({ state: "visible" });
  const prompt = norm(await box.innerText());
  await answerInputBox(cfg.chat.instruction, cfg.chat.prompt);
  await waitFor("the answer", async () => (await editorText()) === cfg.chat.expected.trimEnd());
  step("chat", { palette, prompt });

  // 5. The tooltip's spend lines are the server's, in Chinese.
  const tooltip = await statusTooltip(cfg.spendWord);
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-zh-tooltip.png") });
  step("tooltip", { text: tooltip });
  log({ ok: true, ms: Date.now() - started });
} catch (error) {
  await page.screenshot({ path: path.join(cfg.artifacts, "setup-failure.png") }).catch(() => {});
  log({ error: String(error && error.stack ? error.stack : error), ms: Date.now() - started, notifications: await notificationTexts().catch(() => []) });
  process.exitCode = 1;
} finally {
  await browser.close();
}
