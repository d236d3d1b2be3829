// Drives code-server (VS Code in the browser) in headless Chromium through what a user does with
// the gpt-lsp extension. Called by tests/editors/test_vscode.py with one JSON argument:
//   {url, playwright, chromium, artifacts, apiKey, file, refactor: {expected}, chat: {...}}
// Prints one JSON line per step ({"step": ..., ...}) and a final {"ok": true}; exits non-zero with
// {"error": ...} on the first failure, after a screenshot of the page at that moment.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { STEP_TIMEOUT, norm, start } from "./page.mjs";

const cfg = JSON.parse(process.argv[2]);
const {
  browser, page, started, log, step, editorText, waitFor, retry, statusText, runCommand, answerInputBox, openWorkbench,
  openFile, activeTab, gotoLine, selectLines, codeAction, lensTitles, pendingItem,
} = await start(cfg);
const consoleErrors = [];
page.on("console", (m) => {
  if (m.type() === "error") consoleErrors.push(m.text().slice(0, 300));
});

/** Hovers the GPT LSP status bar item until its tooltip holds `wanted`; returns the tooltip. */
async function statusTooltip(wanted) {
  // The main item, not the pending-edit item beside it ("gpt-lsp.gpt-lsp.gpt-lsp.review").
  const item = page.locator('.statusbar-item[id="gpt-lsp.gpt-lsp.gpt-lsp.status"]').first();
  const hover = page.locator(".workbench-hover, .monaco-hover").filter({ hasText: "GPT LSP" }).first();
  return waitFor(`the status bar tooltip with ${wanted}`, async () => {
    await item.hover();
    const text = norm(await hover.innerText({ timeout: 2000 }).catch(() => ""));
    if (!text.includes(wanted)) {
      await page.mouse.move(0, 0); // the hover is built once per showing: leave and come back
      await hover.waitFor({ state: "hidden", timeout: 5000 }).catch(() => {});
      return "";
    }
    return text;
  });
}

async function notification(text, timeout = STEP_TIMEOUT) {
  const toast = page.locator(".notifications-toasts .notification-list-item", { hasText: text }).first();
  await toast.waitFor({ state: "visible", timeout });
  return toast;
}

async function clearNotifications() {
  await page.keyboard.press("Escape");
  const closers = page.locator(".notifications-toasts .codicon-notifications-clear");
  for (let i = 0; i < 5 && (await closers.count()) > 0; i++) {
    await closers.first().click().catch(() => {});
  }
}

/** Watches the editor until the text equals `expected`; returns the distinct states seen. */
async function watchStream(expected, before, shotName, shotWhen, timeout) {
  const states = [];
  let shot = false;
  await waitFor(
    "the streamed text",
    async () => {
      const text = await editorText();
      if (states[states.length - 1] !== text) states.push(text);
      // Mid-stream: `shotWhen` is in, the answer is not complete.
      if (!shot && text !== before && text !== expected && text.includes(shotWhen)) {
        await page.screenshot({ path: path.join(cfg.artifacts, shotName) });
        shot = true;
      }
      // Done when the job has ended (no spinner) with the expected text.
      return text === expected && !(await statusText()).includes("(spin)");
    },
    timeout,
  );
  return { states: states.length, screenshot: shot };
}

/** Returns the text of the "GPT LSP" output channel's log (the LSP message trace). */
function traceLog() {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.includes("GPT LSP")) found.push(full);
    }
  };
  try {
    walk(cfg.logs);
  } catch {
    return "";
  }
  return found.map((f) => readFileSync(f, "utf8")).join("");
}

const configurationAnswers = () => traceLog().split("Sending response 'workspace/configuration").length - 1;

/** The gptLsp/jobFinished params in the LSP trace, in order. */
function jobsFinished() {
  const found = traceLog().matchAll(/Received notification 'gptLsp\/jobFinished'\.\r?\nParams: (\{[\s\S]*?\r?\n\})/g);
  return [...found].map((m) => JSON.parse(m[1]));
}

/** Waits until the status bar shows the n-th finished job's summary (1-based) as is. */
async function summaryShown(n) {
  return waitFor(`job ${n}'s summary in the status bar`, async () => {
    const finished = jobsFinished();
    if (finished.length < n) return "";
    // The summary as is, then " · <model>" once the server has said the model.
    const text = await statusText();
    const summary = finished[n - 1].summary;
    const rest = text.startsWith(summary) ? text.slice(summary.length) : undefined;
    if (rest === undefined || (rest && !rest.startsWith(" · "))) return "";
    return { status: summary, summary, model: rest.slice(3) };
  });
}

try {
  await openWorkbench(cfg.url);
  step("workbench");

  // 1. Open the file (a language: the extension activates).
  await openFile(cfg.file, cfg.original);
  step("file open");

  // The extension is active once its status bar item shows.
  await waitFor("the GPT LSP status bar item", async () => (await statusText()).includes("AI"), 30000);
  step("extension active", { status: await statusText() });

  // 2. API key through the extension's SecretStorage command.
  await runCommand("GPT LSP: Set API Key");
  await answerInputBox(cfg.apiKey, "API key for the default relay");
  await notification("API key for the default relay saved");
  await clearNotifications();
  step("api key set");

  // 3. Select the function, Ctrl+. then "AI: Refactor": the answer streams in.
  const menu = await codeAction("AI: Refactor", () => selectLines(cfg.refactor.firstLine, cfg.refactor.lineCount));
  step("code actions", { menu });
  const before = await editorText();
  const refactor = await watchStream(cfg.refactor.expected, before, "vscode-streaming.png", cfg.refactor.shotWhen, cfg.streamTimeoutMs ?? STEP_TIMEOUT);
  step("refactor streamed", refactor);
  const shown = await summaryShown(1);
  await page.keyboard.press("Escape");
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-done.png") });
  step("refactor done", shown);

  // Today's and this month's spend in the status bar's tooltip, asked after the job ended.
  const tooltip = await statusTooltip("today: ");
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-spend-tooltip.png") });
  await page.mouse.move(0, 0);
  step("spend tooltip", { text: tooltip });

  // Accept with the cursor inside the job's region (the server picks by position).
  await gotoLine(cfg.refactor.acceptLine);
  await runCommand("GPT LSP: Accept AI Edit");
  await waitFor("the job accepted (its lenses and pending item gone)", async () => !(await lensTitles()).includes("AI: Accept") && !(await pendingItem()));
  if ((await editorText()) !== cfg.refactor.expected) throw new Error("accept changed the text");
  step("accepted");

  // 4. A setting changed in the Settings editor reaches the server (didChangeConfiguration,
  //    then it pulls the section).
  const answered = configurationAnswers();
  await page.keyboard.press("Control+Comma");
  // The search box has the focus when the Settings editor opens; until the search has run the
  // list shows other settings (Editor: Font Size first): fill only the setting's own field.
  const search = page.locator(".settings-editor .settings-header .suggest-input-container").first();
  const field = page.locator(`.settings-editor .setting-item-contents[data-key="${cfg.changeSetting.key}"] input`).first();
  await search.waitFor({ state: "visible" });
  await retry("search the setting", 3, async () => {
    await search.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.type(`@id:${cfg.changeSetting.key}`, { delay: 5 });
    await field.waitFor({ state: "visible", timeout: 10000 });
  });
  await field.fill(cfg.changeSetting.value);
  await page.keyboard.press("Tab");
  await waitFor("the server to pull the changed settings", async () => configurationAnswers() > answered);
  await page.screenshot({ path: path.join(cfg.artifacts, "settings.png") });
  await page.keyboard.press("Control+W"); // close the Settings editor: back to sample.py
  await page.locator(".settings-editor").first().waitFor({ state: "hidden" });
  await waitFor(`${cfg.file} active again`, async () => (await activeTab()) === cfg.file);
  step("settings changed");

  // 5. Inline chat from F1 on a selected line, then reject: the original comes back.
  await selectLines(cfg.chat.firstLine, cfg.chat.lineCount);
  await runCommand("GPT LSP: Inline Chat");
  await answerInputBox(cfg.chat.instruction, "How should the selection be rewritten?");
  const beforeChat = await editorText();
  const chat = await watchStream(cfg.chat.expected, beforeChat, "vscode-chat-streaming.png", cfg.chat.shotWhen, cfg.streamTimeoutMs ?? STEP_TIMEOUT);
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-chat-done.png") });
  step("chat streamed", { ...chat, status: await statusText() });

  // Reject with the cursor on line 1, outside the chat's region: the file's most recent job.
  await gotoLine(1);
  await runCommand("GPT LSP: Reject AI Edit");
  await waitFor("the original text back", async () => (await editorText()) === cfg.refactor.expected);
  step("rejected");

  // 6. Cancel a running inline chat: the stream stops and the original comes back.
  await selectLines(cfg.chat.firstLine, cfg.chat.lineCount);
  await runCommand("GPT LSP: Inline Chat");
  await answerInputBox(cfg.cancel.instruction, "How should the selection be rewritten?");
  await waitFor("the slow answer to start", async () => (await editorText()).includes(cfg.cancel.shotWhen));
  // The cursor on line 1, outside the running job's region: the file's most recent running job.
  await gotoLine(1);
  await runCommand("GPT LSP: Cancel Running AI Job");
  await waitFor("the original text after cancel", async () => (await editorText()) === cfg.refactor.expected && !(await statusText()).includes("(spin)"));
  step("cancelled", await summaryShown(3));

  // The status command answers with the relay and the session's usage.
  await runCommand("GPT LSP: Show Status");
  const status = await notification("GPT LSP 0.");
  step("status", { text: norm(await status.innerText()).replace(/\s+/g, " ") });
  await clearNotifications();
  await gotoLine(1);

  // 7. Save, so the test can compare the file on disk too.
  await page.keyboard.press("Control+S");
  await waitFor("the save", async () => (await page.locator(".tab.active.dirty").count()) === 0);
  step("saved");

  // 8. An answer whose first edit VS Code reports as several minimal changes in one didChange
  //    (not the one TextEdit the server sent). Recorded, not asserted here: see the test.
  await selectLines(cfg.chat.firstLine, cfg.chat.lineCount);
  await runCommand("GPT LSP: Inline Chat");
  await answerInputBox(cfg.split.instruction, "How should the selection be rewritten?");
  // Its end: the server's jobFinished (sent once the client has applied every edit) shown.
  const split = await summaryShown(4);
  await waitFor("the split answer drawn", async () => (await editorText()) === cfg.split.expected, 10000).catch(() => {});
  step("split edit", { text: await editorText(), status: split.status });

  // 9. The model picker: the relay's models in a quick pick, one picked, the status bar shows it.
  await runCommand("GPT LSP: Select Model");
  const picker = page.locator(".quick-input-widget", { hasText: "model for the default relay" });
  await picker.waitFor({ state: "visible" });
  const pickRow = page.locator(".quick-input-list .monaco-list-row", { hasText: cfg.pickModel }).first();
  await pickRow.waitFor({ state: "visible" });
  const title = norm(await picker.locator(".quick-input-title").innerText().catch(() => ""));
  const rows = (await page.locator(".quick-input-list .monaco-list-row").allInnerTexts()).map((t) => norm(t).replace(/\s+/g, " ").trim());
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-model-picker.png") });
  await pickRow.click();
  await waitFor("the picked model in the status bar", async () => (await statusText()).endsWith(` · ${cfg.pickModel}`));
  await page.screenshot({ path: path.join(cfg.artifacts, "vscode-model-status.png") });
  step("model picked", { title, rows, status: await statusText() });
  log({ ok: true, ms: Date.now() - started, consoleErrors: consoleErrors.slice(0, 10) });
} catch (error) {
  await page.screenshot({ path: path.join(cfg.artifacts, "failure.png") }).catch(() => {});
  writeFileSync(path.join(cfg.artifacts, "failure-lines.txt"), await editorText().catch(() => ""));
  log({ error: String(error && error.stack ? error.stack : error), ms: Date.now() - started, status: await statusText().catch(() => ""), consoleErrors: consoleErrors.slice(0, 10) });
  process.exitCode = 1;
} finally {
  writeFileSync(path.join(cfg.artifacts, "lsp-trace.log"), traceLog());
  await browser.close();
}
