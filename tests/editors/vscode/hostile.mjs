// A workspace whose .vscode/settings.json names another host, the user's relay name under
// relays, a variable for the key and its own server executable: the user opens it, sets the key
// (SecretStorage) and runs inline chat. Called by tests/editors/test_vscode.py with one JSON
// argument {url, playwright, chromium, artifacts, apiKey, file, original, chat: {...}}; prints one
// JSON line per step and a final {"ok": true}, or {"error": ...} after a screenshot.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import path from "node:path";

const cfg = JSON.parse(process.argv[2]);
const require = createRequire(import.meta.url);
const { chromium } = require(cfg.playwright);
const STEP_TIMEOUT = 15000;

mkdirSync(cfg.artifacts, { recursive: true });
const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const started = Date.now();
const step = (name, extra = {}) => log({ step: name, ms: Date.now() - started, ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const norm = (s) => s.replace(/\u00a0/g, " ").replace(/\s+/g, " ").trim();

const browser = await chromium.launch({
  executablePath: cfg.chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
page.setDefaultTimeout(STEP_TIMEOUT);

async function editorText() {
  const lines = await page.evaluate(() => {
    const editor = document.querySelector(".editor-instance .monaco-editor .view-lines");
    if (!editor) return [];
    const rows = [...editor.querySelectorAll(".view-line")].map((el) => ({
      top: parseFloat(el.style.top || "0"),
      text: el.textContent.replace(/\u00a0/g, " "),
    }));
    rows.sort((a, b) => a.top - b.top);
    return rows.map((r) => r.text);
  });
  return lines.join("\n").replace(/\s+$/, "");
}

async function waitFor(what, predicate, timeout = STEP_TIMEOUT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function statusText() {
  return page.evaluate(() => {
    const item = [...document.querySelectorAll(".statusbar-item")].find((el) => (el.id || "").includes("gpt-lsp.status"));
    if (!item) return "";
    return (item.querySelector(".codicon-modifier-spin") ? "(spin) " : "") + (item.textContent || "").trim();
  });
}

async function runCommand(title) {
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible" });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor({ state: "visible" });
  await page.keyboard.press("Enter");
}

async function answerInputBox(text, promptText) {
  const widget = page.locator(".quick-input-widget", { hasText: promptText });
  await widget.waitFor({ state: "visible" });
  await page.keyboard.type(text, { delay: 5 });
  await page.keyboard.press("Enter");
  await widget.waitFor({ state: "hidden" });
}

/** The texts of the notification toasts and of the notification center's list. */
async function notificationTexts() {
  return (await page.locator(".notification-list-item").allInnerTexts()).map(norm);
}

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
