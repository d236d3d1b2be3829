// What the small VS Code drivers share (review.mjs, flows.mjs, completion.mjs, hostile.mjs):
// headless Chromium on code-server, the step log, and the page helpers a user's actions need.
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

  /** Opens code-server at `url` and waits for the workbench. */
  async function openWorkbench(url) {
    await page.goto(url, { timeout: 30000 });
    await page.locator(".monaco-workbench").waitFor({ state: "visible", timeout: 30000 });
  }

  /** Quick Open (Ctrl+P) of a workspace file; waits until the editor shows `text`. */
  async function openFile(name, text) {
    await page.keyboard.press("Control+P");
    await page.locator(".quick-input-widget input").waitFor({ state: "visible" });
    await page.keyboard.type(name, { delay: 5 });
    await page.locator(".quick-input-list .monaco-list-row", { hasText: name }).first().waitFor();
    await page.keyboard.press("Enter");
    await page.locator(".tab.active", { hasText: name }).first().waitFor({ state: "visible" });
    if (text !== undefined) await waitFor(`${name} in the editor`, async () => (await editorText()) === text.trimEnd());
  }

  /** Focuses the editor by a click on its text (Code 1.139's EditContext: no textarea input). */
  async function focusEditor() {
    await page.locator(".editor-instance .monaco-editor .view-line").last().click();
  }

  /** Ctrl+G to a line (and column): the cursor lands there, nothing selected. */
  async function gotoLine(line, column) {
    await focusEditor();
    await page.keyboard.press("Control+G");
    await page.keyboard.type(column ? `${line}:${column}` : String(line));
    await page.keyboard.press("Enter");
  }

  /** Selects `count` whole lines from line `first` (Shift+Down from its first column). */
  async function selectLines(first, count) {
    await gotoLine(first);
    await page.keyboard.press("Home");
    await page.keyboard.press("Home");
    for (let i = 0; i < count; i++) await page.keyboard.press("Shift+ArrowDown");
  }

  /** Ctrl+. after `place()` put the cursor or selection; clicks the row titled exactly `title`
   * and returns the menu's rows. The light bulb's own request can supersede Ctrl+.'s, so: wait
   * for it, and try again (Escape, place again) when no menu opens. */
  async function codeAction(title, place) {
    const rows = page.locator(".action-widget .monaco-list-row");
    const row = rows.filter({ has: page.getByText(title, { exact: true }) }).first();
    for (let attempt = 0; ; attempt++) {
      await place();
      await page.locator(".lightBulbWidget").first().waitFor({ state: "visible", timeout: 3000 }).catch(() => {});
      await sleep(200);
      await page.keyboard.press("Control+.");
      try {
        await row.waitFor({ state: "visible", timeout: 4000 });
        break;
      } catch (error) {
        if (attempt >= 2) throw new Error(`no code action "${title}"; menu: ${JSON.stringify((await rows.allInnerTexts()).map(norm))}`);
        await page.keyboard.press("Escape");
      }
    }
    const menu = (await rows.allInnerTexts()).map(norm);
    await row.click();
    return menu;
  }

  /** The code lens titles shown in the editors. */
  const lensTitles = () => page.evaluate(() => [...document.querySelectorAll(".editor-instance .codelens-decoration a, .editor-instance .codelens-decoration span")].map((el) => (el.textContent || "").trim()).filter(Boolean));

  /** The text of the status bar item saying how many AI edits are pending ("" when hidden). */
  const pendingItem = () => page.evaluate(() => {
    const item = [...document.querySelectorAll(".statusbar-item")].find((el) => (el.id || "").includes("gpt-lsp.review"));
    return item && item.offsetParent !== null ? (item.textContent || "").trim() : "";
  });

  /** Waits until the text is `expected` and the job under review is pending (Accept and Reject
   * lenses, no Cancel). */
  async function waitPending(expected, timeout = 20000) {
    await waitFor("the answer streamed in", async () => (await editorText()) === expected.trimEnd(), timeout);
    await waitFor("the Accept and Reject lenses", async () => {
      const titles = await lensTitles();
      return titles.includes("AI: Accept") && titles.includes("AI: Reject") && !titles.includes("AI: Cancel");
    });
  }

  /** Each editor group, left to right: its active tab's title and its editor's text. */
  const groups = () => page.evaluate(() => [...document.querySelectorAll(".editor-group-container")].map((group) => {
    const rows = [...group.querySelectorAll(".editor-instance .monaco-editor .view-lines .view-line")].map((el) => ({
      top: parseFloat(el.style.top || "0"),
      text: el.textContent.replace(/\u00a0/g, " "),
    }));
    rows.sort((a, b) => a.top - b.top);
    const tab = group.querySelector(".tab.active");
    return { tab: tab ? (tab.textContent || "").trim() : "", active: group.classList.contains("active"), text: rows.map((r) => r.text).join("\n").replace(/\s+$/, "") };
  }));

  /** Reverts and closes every editor (nothing asks to save): a clean window for the next flow. */
  async function closeAllEditors() {
    for (let i = 0; i < 3; i++) await page.keyboard.press("Escape");
    for (let i = 0; i < 12 && (await page.locator(".tab").count()) > 0; i++) {
      await runCommand("View: Revert and Close Editor");
      await sleep(100);
    }
    for (let i = 0; i < 4 && (await page.locator(".editor-group-container").count()) > 1; i++) {
      await runCommand("View: Close Editor Group");
    }
  }

  return {
    browser, page, started, log, step, editorText, waitFor, statusText, runCommand, answerInputBox, notificationTexts,
    openWorkbench, openFile, focusEditor, gotoLine, selectLines, codeAction, lensTitles, pendingItem, waitPending, groups,
    closeAllEditors,
  };
}
