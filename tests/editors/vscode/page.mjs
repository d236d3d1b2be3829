// What the small VS Code drivers share (review.mjs, flows.mjs, completion.mjs, hostile.mjs):
// headless Chromium on code-server, the step log, and the page helpers a user's actions need.
// A loaded machine (CI) is slow at random: each helper waits for the state it needs (polled from
// the DOM, bounded), checks that its action took (the file in the active tab, the cursor in the
// status bar), and issues an idempotent action again (Quick Open, Go to Line) when the first try
// was lost. No helper sleeps in the hope that something has happened.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";

export const STEP_TIMEOUT = 30000;
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

  /** Tries `action` up to `attempts` times (it must be safe to repeat after a failure). */
  async function retry(what, attempts, action) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await action(attempt);
      } catch (error) {
        if (attempt >= attempts) throw error;
        step("retry", { what, attempt, error: String(error && error.message ? error.message : error).split("\n")[0] });
      }
    }
  }

  const quickInput = page.locator(".quick-input-widget").first();
  const quickInputBox = page.locator(".quick-input-widget input").first();

  /** Closes an open quick input (Escape in its box). Nothing when none is open: an Escape in
   * the editor would drop its selection. */
  async function closeQuickInput() {
    for (let i = 0; i < 5 && (await quickInput.isVisible()); i++) {
      await quickInputBox.focus().catch(() => {});
      await page.keyboard.press("Escape");
      await quickInput.waitFor({ state: "hidden", timeout: 3000 }).catch(() => {});
    }
    if (await quickInput.isVisible()) throw new Error("a quick input stays open");
  }

  /** Opens a quick input with `key` (Ctrl+P, F1, Ctrl+G) and puts `query` in its box. */
  async function openQuickInput(key, query) {
    await closeQuickInput();
    await page.keyboard.press(key);
    await quickInputBox.waitFor({ state: "visible", timeout: 5000 });
    await quickInputBox.fill(query);
    await waitFor(`"${query}" in the quick input`, async () => (await quickInputBox.inputValue()) === query, 5000);
  }

  /** In the open quick input, runs the row whose label `accept`s: Enter when it is the focused
   * row (the one Enter runs), a click when another row leads. False when none shows in time. */
  async function chooseRow(accept, timeout) {
    const rows = page.locator(".quick-input-widget .quick-input-list .monaco-list-row");
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      const seen = await rows.evaluateAll((els) => els.map((el) => ({
        label: ((el.querySelector(".label-name") || {}).textContent || "").replace(/\u00a0/g, " ").trim(),
        focused: el.classList.contains("focused"),
      })));
      const i = seen.findIndex((row) => accept(row.label));
      if (i >= 0) {
        if (seen[i].focused) await page.keyboard.press("Enter");
        else await rows.nth(i).click({ timeout: 5000 });
        return true;
      }
      await sleep(50);
    }
    return false;
  }

  /** Runs a command from the command palette (F1) by its title (or its title's start before a
   * parenthesis: "GPT LSP: Show Status" runs "GPT LSP: Show Status (Relays, Jobs, Usage)"). */
  async function runCommand(title) {
    const accept = (label) => label === title || label.startsWith(`${title} (`);
    await retry(`run ${title}`, 3, async () => {
      await openQuickInput("F1", `>${title}`);
      if (!(await chooseRow(accept, 10000))) throw new Error(`no command "${title}" in the palette`);
    });
  }

  /** Puts `text` in the input box a command opened (its prompt holds `promptText`); submits it. */
  async function answerInputBox(text, promptText) {
    const widget = page.locator(".quick-input-widget", { hasText: promptText });
    await widget.waitFor({ state: "visible" });
    await quickInputBox.fill(text);
    await waitFor("the typed text in the input box", async () => (await quickInputBox.inputValue()) === text, 5000);
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

  /** The title of the active editor group's active tab ("" without one). */
  const activeTab = () => page.evaluate(() => {
    const tab = document.querySelector(".editor-group-container.active .tab.active");
    return tab ? tab.getAttribute("aria-label") || "" : "";
  });

  /** Quick Open (Ctrl+P) of a workspace file; waits until it is the active tab, and the editor
   * shows `text`. Enter runs Quick Open's focused row, which is a recently opened file until the
   * file search has answered: the row labelled `name` is chosen, the tab checked, and the whole
   * tried again when another file opened. */
  async function openFile(name, text) {
    await retry(`open ${name}`, 3, async () => {
      await openQuickInput("Control+P", name);
      if (!(await chooseRow((label) => label === name, 20000))) throw new Error(`no ${name} in Quick Open`);
      await waitFor(`${name} in the active tab`, async () => (await activeTab()) === name, 10000);
    });
    if (text !== undefined) await waitFor(`${name} in the editor`, async () => (await editorText()) === text.trimEnd());
  }

  /** Whether the keyboard focus is in an editor's text. */
  const editorFocused = () => page.evaluate(() => !!(document.activeElement && document.activeElement.closest(".editor-instance .monaco-editor")));

  /** Focuses the editor by a click on its text (Code 1.139's EditContext: no textarea input). */
  async function focusEditor() {
    await page.locator(".editor-instance .monaco-editor .view-line").last().click();
    await waitFor("the keyboard focus in the editor", editorFocused, 5000);
  }

  /** The cursor as the status bar says it: "Ln 4, Col 1", then " (97 selected)" with a selection. */
  const cursorStatus = () => page.evaluate(() => ((document.getElementById("status.editor.selection") || {}).textContent || "").trim());

  /** Ctrl+G to a line and column (1 by default): the cursor lands there, nothing selected. */
  async function gotoLine(line, column = 1) {
    const want = `Ln ${line}, Col ${column}`;
    await retry(`go to ${want}`, 3, async () => {
      await focusEditor();
      await openQuickInput("Control+G", `:${line}:${column}`);
      await page.keyboard.press("Enter");
      await quickInput.waitFor({ state: "hidden", timeout: 5000 });
      await waitFor(`the cursor at ${want}`, async () => (await cursorStatus()) === want, 5000);
      await waitFor("the keyboard focus back in the editor", editorFocused, 5000);
    });
  }

  /** Selects `count` whole lines from line `first` (Shift+Down from its first column). */
  async function selectLines(first, count) {
    const want = `Ln ${first + count}, Col 1 (`;
    await retry(`select lines ${first}-${first + count - 1}`, 3, async () => {
      await gotoLine(first);
      for (let i = 0; i < count; i++) await page.keyboard.press("Shift+ArrowDown");
      await waitFor(`lines ${first}-${first + count - 1} selected`, async () => (await cursorStatus()).startsWith(want), 5000);
    });
  }

  /** Ctrl+. after `place()` put the cursor or selection; clicks the row titled exactly `title`
   * and returns the menu's rows. The light bulb's own request can supersede Ctrl+.'s, so: wait
   * for it, and try again (Escape, place again) when no menu opens. */
  async function codeAction(title, place) {
    const widget = page.locator(".action-widget").first();
    const rows = page.locator(".action-widget .monaco-list-row");
    const row = rows.filter({ has: page.getByText(title, { exact: true }) }).first();
    await retry(`code action ${title}`, 4, async () => {
      if (await widget.isVisible()) await page.keyboard.press("Escape");
      await place();
      await page.locator(".lightBulbWidget").first().waitFor({ state: "visible", timeout: 5000 }).catch(() => {});
      await page.keyboard.press("Control+.");
      try {
        await row.waitFor({ state: "visible", timeout: 10000 });
      } catch {
        throw new Error(`no code action "${title}"; menu: ${JSON.stringify((await rows.allInnerTexts()).map(norm))}`);
      }
    });
    const menu = (await rows.allInnerTexts()).map(norm);
    await row.click();
    await widget.waitFor({ state: "hidden" });
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
  async function waitPending(expected, timeout = STEP_TIMEOUT) {
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

  /** A clean window for the next flow: no quick input, menu, notification, editor (each
   * reverted: nothing asks to save) or second group. */
  async function closeAllEditors() {
    await closeQuickInput();
    if (await page.locator(".action-widget").first().isVisible()) await page.keyboard.press("Escape");
    if ((await page.locator(".notification-list-item").count()) > 0) {
      await runCommand("Notifications: Clear All Notifications");
      await waitFor("no notifications", async () => (await page.locator(".notification-list-item").count()) === 0, 10000);
    }
    if (await page.locator(".notifications-center.visible").isVisible()) await runCommand("Notifications: Hide Notifications");
    const count = (selector) => page.locator(selector).count();
    for (let i = 0; i < 12 && (await count(".tab")) > 0; i++) {
      const tabs = await count(".tab");
      await runCommand("View: Revert and Close Editor");
      await waitFor("an editor closed", async () => (await count(".tab")) < tabs, 10000);
    }
    for (let i = 0; i < 4 && (await count(".editor-group-container")) > 1; i++) {
      const groups = await count(".editor-group-container");
      await runCommand("View: Close Editor Group");
      await waitFor("an editor group closed", async () => (await count(".editor-group-container")) < groups, 10000);
    }
    if ((await count(".tab")) > 0) throw new Error("editors stay open");
  }

  return {
    browser, page, started, log, step, editorText, waitFor, retry, statusText, closeQuickInput, runCommand, answerInputBox,
    notificationTexts, openWorkbench, openFile, activeTab, editorFocused, focusEditor, cursorStatus, gotoLine, selectLines,
    codeAction, lensTitles, pendingItem, waitPending, groups, closeAllEditors,
  };
}
