// What the small VS Code drivers share (review.mjs, completion.mjs, hostile.mjs): headless
// Chromium on code-server, the step log, and the few page helpers each of them needs.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";

export const STEP_TIMEOUT = 15000;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const norm = (s) => s.replace(/\u00a0/g, " ").replace(/\s+/g, " ").trim();

/** Launches Chromium for cfg {playwright, chromium, artifacts}; returns the page and helpers. */
export async function start(cfg) {
  const require = createRequire(import.meta.url);
  const { chromium } = require(cfg.playwright);
  mkdirSync(cfg.artifacts, { recursive: true });
  const started = Date.now();
  const log = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
  const step = (name, extra = {}) => log({ step: name, ms: Date.now() - started, ...extra });
  const browser = await chromium.launch({
    executablePath: cfg.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.setDefaultTimeout(STEP_TIMEOUT);

  /** The editor's visible lines in document order, spaces normalised, trailing blanks cut. */
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

  /** The main GPT LSP status bar item's text, "(spin) " first while its spinner turns. */
  async function statusText() {
    return page.evaluate(() => {
      const item = [...document.querySelectorAll(".statusbar-item")].find((el) => (el.id || "").endsWith("gpt-lsp.status"));
      if (!item) return "";
      return (item.querySelector(".codicon-modifier-spin") ? "(spin) " : "") + (item.textContent || "").trim();
    });
  }

  /** Runs a command from the command palette (F1) by its title. */
  async function runCommand(title) {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible" });
    await input.fill(`>${title}`);
    await page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first().waitFor({ state: "visible" });
    await page.keyboard.press("Enter");
  }

  /** Types into the quick input box a command opened, and submits it. */
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

  return { browser, page, started, log, step, editorText, waitFor, statusText, runCommand, answerInputBox, notificationTexts };
}
