// gpt-lsp for VS Code: starts the `gpt-lsp` language server and gives the user a way to type an
// instruction. Thin on purpose: prompts, defaults and job logic live in the server.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const vscode = require("vscode");
const { LanguageClient, ExecuteCommandRequest, State } = require("vscode-languageclient/node");
const { createChannels } = require("./output");
const { Reviews } = require("./review");

const t = vscode.l10n.t;
const { chatDisposables, onChatReplied } = require("./chat");

const SECTION = "gptLsp";
const SECRET_KEY = "gptLsp.apiKey"; // the default relay's key; `gptLsp.apiKey.<relay>` for others
const DEFAULT_RELAY = "default";
// Settings of the extension itself, not of the server.
const CLIENT_ONLY = new Set(["serverPath", "serverArgs", "trace.server"]);
// Keys the server takes from user-level settings only: where requests go, what they carry, what
// they may cost, and the privacy switches. A workspace can write the gptLsp section (and
// .vscode/settings.json), so they travel only in initializationOptions and
// gptLsp/didChangeUserSettings, read from the user's own settings (inspect().globalValue);
// package.json scopes them application/machine (tests/unit/settings/test_shim_settings.py checks it).
// BEGIN user-only keys (written by scripts/shim_settings.py from settings/models.py)
const USER_ONLY = new Set([
  "baseUrl", "backupUrls", "relays", "relay", "apiKey", "apiKeyEnv", "headers", "proxy",
  "budget", "logContent", "excludeDefaults", "maskSecrets", "completion",
]);
// END user-only keys
const USER_SETTINGS = "gptLsp/didChangeUserSettings";

/** How to get the server, and where gptLsp.serverPath is read in this window. */
function installHint() {
  const hint = t("Install it from a checkout of gpt-lsp (`pipx install .`, see the README), or set gptLsp.serverPath to its full path.");
  if (!isRemoteWindow()) return hint;
  // A remote window reads machine-scoped settings from the remote machine's settings
  // (Machine/settings.json); over SSH or WSL it ignores them in the user settings.
  return `${hint} ${t("This is a remote window ({0}): set gptLsp.serverPath in the Remote settings (Preferences: Open Remote Settings (JSON), the machine's Machine/settings.json), where the server runs; VS Code over SSH or WSL ignores it in your User settings.", remoteName())}`;
}

/** True in a window whose extensions run on another machine (SSH, WSL, containers, code-server). */
function isRemoteWindow() {
  return Boolean(vscode.env.remoteName) || vscode.env.uiKind === vscode.UIKind.Web;
}

function remoteName() {
  return vscode.env.remoteName || (vscode.env.uiKind === vscode.UIKind.Web ? vscode.env.appHost || "web" : "");
}

/** @type {vscode.ExtensionContext} */
let context;
/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.LogOutputChannel} */
let output;
/** @type {vscode.LogOutputChannel} The LSP message trace (gptLsp.trace.server). */
let traceOutput;
/** @type {vscode.StatusBarItem} */
let statusItem;
/** @type {vscode.StatusBarItem} The inline completion switch. */
let completionItem;
/** Jobs running in the server, as its gptLsp.status last said (the spinner). */
let running = 0;
/** The last gptLsp/jobFinished: {status, summary, message?}, for the status bar. */
let lastFinished;
/** Today's and this month's spend lines {today, month}, as gptLsp.status words them (the
 * tooltip shows them); asked again after each job ends. */
let spend;
/** The default relay's model, as the server last said (the status bar shows it). */
let currentModel;
/** Jobs under review, as the server's gptLsp/review notifications draw them. */
let reviews;
/** Keys read from SecretStorage: masked in everything written to the output channel. */
const secrets = new Set();

// ------------------------------------------------------------------ activation

async function activate(ctx) {
  context = ctx;
  ({ output, trace: traceOutput } = createChannels("GPT LSP", secrets));
  statusItem = vscode.window.createStatusBarItem("gpt-lsp.status", vscode.StatusBarAlignment.Right, 100);
  statusItem.name = "GPT LSP";
  statusItem.command = "gpt-lsp.showMenu";
  reviews = new Reviews(() => client);
  completionItem = vscode.window.createStatusBarItem("gpt-lsp.completion", vscode.StatusBarAlignment.Right, 99);
  completionItem.name = "GPT LSP completion";
  completionItem.command = "gpt-lsp.toggleCompletion";
  ctx.subscriptions.push(
    ...reviews.disposables(),
    vscode.commands.registerCommand("gpt-lsp.showDiff", () => reviews.showDiff()),
    output,
    statusItem,
    completionItem,
    vscode.commands.registerCommand("gpt-lsp.toggleCompletion", toggleCompletion),
    vscode.commands.registerCommand("gpt-lsp.inlineChat", inlineChat),
    vscode.commands.registerCommand("gpt-lsp.accept", () => jobAtCursor("gptLsp.accept", "accept")),
    vscode.commands.registerCommand("gpt-lsp.reject", () => jobAtCursor("gptLsp.reject", "reject")),
    vscode.commands.registerCommand("gpt-lsp.cancel", () => jobAtCursor("gptLsp.cancel", "cancel")),
    vscode.commands.registerCommand("gpt-lsp.setApiKey", setApiKey),
    vscode.commands.registerCommand("gpt-lsp.selectModel", selectModel),
    vscode.commands.registerCommand("gpt-lsp.showStatus", showStatus),
    vscode.commands.registerCommand("gpt-lsp.showMenu", showMenu),
    vscode.commands.registerCommand("gpt-lsp.restart", restart),
    ...chatDisposables(() => client, runServerCommand),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
    vscode.workspace.onDidChangeWorkspaceFolders(() => warnWorkspaceValues()),
    ctx.secrets.onDidChange((e) => {
      if (e.key.startsWith(SECRET_KEY)) pushConfiguration();
    }),
  );
  updateStatus();
  warnWorkspaceValues();
  await start();
}

async function deactivate() {
  await stop();
}

// ------------------------------------------------------------------ server process

/** Returns a setting from the user's (or the machine's) settings only, never a workspace's. */
function userValue(key, fallback) {
  const seen = vscode.workspace.getConfiguration(SECTION).inspect(key);
  return seen && seen.globalValue !== undefined ? seen.globalValue : fallback;
}

/** Returns the server executable, or undefined when there is none. */
function findServer() {
  // A workspace naming the executable would run its own program: user settings only.
  const configured = expandHome(String(userValue("serverPath", "")).trim());
  if (configured) {
    if (configured.includes(path.sep) || configured.includes("/")) {
      return isExecutable(configured) ? configured : undefined;
    }
    return onPath(configured);
  }
  // VS Code started from a desktop menu may lack ~/.local/bin (pipx) on PATH.
  return onPath("gpt-lsp") || [path.join(os.homedir(), ".local", "bin", "gpt-lsp")].find(isExecutable);
}

function onPath(name) {
  const exts = process.platform === "win32" ? (process.env.PATHEXT || ".EXE;.CMD;.BAT").split(";") : [""];
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return undefined;
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function expandHome(p) {
  return p.startsWith("~/") || p === "~" ? path.join(os.homedir(), p.slice(1)) : p;
}

async function start() {
  const command = findServer();
  if (!command) {
    const configured = userValue("serverPath", "");
    const what = configured
      ? t("gptLsp.serverPath ({0}) is not an executable file.", configured)
      : t("the `gpt-lsp` server was not found on PATH or in ~/.local/bin.");
    const open = isRemoteWindow() ? t("Open Remote Settings (JSON)") : t("Open Setting");
    // Not awaited: activation must not wait for the user to read the message.
    vscode.window.showErrorMessage(`GPT LSP: ${what} ${installHint()}`, open).then((choice) => {
      if (choice !== open) return;
      if (isRemoteWindow()) vscode.commands.executeCommand("workbench.action.openRemoteSettingsFile");
      else vscode.commands.executeCommand("workbench.action.openSettings", "gptLsp.serverPath");
    });
    updateStatus();
    return;
  }
  const args = userValue("serverArgs", []);
  const serverOptions = { command, args: Array.isArray(args) ? args.map(String) : [], options: { env: process.env } };
  const clientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    // The user's settings and the key travel only here and in gptLsp/didChangeUserSettings;
    // a message trace (gptLsp.trace.server) shows the key masked.
    outputChannel: output,
    traceOutputChannel: traceOutput,
    initializationOptions: await userSettings(),
    middleware: {
      workspace: {
        // The server pulls its section, which the server treats as the project's: answer it
        // without the key and without the keys only the user may set.
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) return answers;
          const ours = projectSettings();
          return params.items.map((item, i) => (item.section === SECTION ? ours : answers[i]));
        },
        // A job's streamed edits go in through its editor without undo stops in between, across
        // its turns (one Ctrl+Z per job); anything else takes the client's usual path.
        handleApplyEdit: (params, next) => reviews.applyEdit(params, next),
      },
      window: {
        // Notes (explain) open beside the code, which keeps the focus.
        showDocument: async (params, token, next) => {
          if (params.external || params.takeFocus) return next(params, token);
          try {
            const uri = client.protocol2CodeConverter.asUri(params.uri);
            const options = { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true, preview: false };
            if (params.selection) options.selection = client.protocol2CodeConverter.asRange(params.selection);
            await vscode.window.showTextDocument(uri, options);
            return { success: true };
          } catch {
            return { success: false };
          }
        },
      },
      // Code actions run gptLsp.run through the client: note their jobs, show refusals plainly.
      executeCommand: async (cmd, cmdArgs, next) => {
        try {
          const result = await next(cmd, cmdArgs);
          noteJob(result);
          return result;
        } catch (error) {
          showRefusal(error);
          return undefined;
        }
      },
    },
  };
  // vscode-languageclient 10+: inline completion (LSP 3.18) is a standard feature; VS Code
  // shows the server's suggestion as ghost text and Tab accepts it.
  client = new LanguageClient("gptLsp", "GPT LSP", serverOptions, clientOptions);
  client.onDidChangeState((e) => {
    if (e.newState === State.Stopped) {
      running = 0;
      reviews.jobs.clear();
      reviews.redrawAll();
      reviews.showCounts();
    }
    updateStatus();
  });
  client.onNotification("gptLsp/jobFinished", onJobFinished);
  client.onNotification("gptLsp/review", (params) => reviews.onReview(params));
  client.onNotification("gptLsp/chatReplied", (params) => onChatReplied(client, params));
  try {
    await client.start();
  } catch (error) {
    output.appendLine(`gpt-lsp failed to start: ${error && error.message ? error.message : error}`);
    vscode.window.showErrorMessage(`GPT LSP: ${t("the server ({0}) failed to start; see the \"GPT LSP\" output.", command)} ${installHint()}`);
    client = undefined;
    updateStatus();
    return;
  }
  updateStatus();
  refreshRunning();
}

async function stop() {
  const old = client;
  client = undefined;
  if (old) {
    try {
      await old.stop();
    } catch {
      // Already gone.
    }
  }
}

async function restart() {
  await stop();
  running = 0;
  lastFinished = undefined;
  await start();
}

// ------------------------------------------------------------------ settings

/** Returns the server's settings keys (the declared gptLsp.* settings of the server). */
function serverKeys() {
  const properties = context.extension.packageJSON.contributes.configuration.properties;
  return Object.keys(properties)
    .map((full) => full.slice(SECTION.length + 1))
    .filter((key) => !CLIENT_ONLY.has(key));
}

/** Returns the user-level settings: the user's own values, plus keys from SecretStorage. */
async function userSettings() {
  const config = vscode.workspace.getConfiguration(SECTION);
  const out = {};
  for (const key of serverKeys()) {
    // Only values the user set: defaults stay the server's, so config.toml and the environment
    // keep their place in the precedence order.
    const seen = config.inspect(key);
    const value = seen && seen.globalValue;
    if (value === null || value === undefined || value === "") continue;
    out[key] = value;
  }
  const key = await context.secrets.get(SECRET_KEY);
  if (key) {
    secrets.add(key);
    out.apiKey = key;
  }
  const relays = out.relays && typeof out.relays === "object" ? out.relays : {};
  for (const name of Object.keys(relays)) {
    if (name === DEFAULT_RELAY) continue;
    const relayKey = await context.secrets.get(`${SECRET_KEY}.${name}`);
    if (relayKey) {
      secrets.add(relayKey);
      out.relays = { ...out.relays, [name]: { ...relays[name], apiKey: relayKey } };
    }
  }
  return out;
}

/** Returns the gptLsp section: what user and workspace set, without the user-only keys. */
function projectSettings() {
  const config = vscode.workspace.getConfiguration(SECTION);
  const out = {};
  for (const key of serverKeys()) {
    if (USER_ONLY.has(key)) continue;
    const seen = config.inspect(key);
    const set = seen && [seen.globalValue, seen.workspaceValue, seen.workspaceFolderValue].some((v) => v !== undefined);
    if (!set) continue;
    const value = config.get(key);
    if (value === null || value === undefined || value === "") continue;
    out[key] = value;
  }
  return out;
}

const warnedSets = new Set();

/** Warns once per distinct set of user-only keys that the workspace's settings try to set. */
async function warnWorkspaceValues() {
  const names = [...USER_ONLY, "serverPath", "serverArgs"];
  const found = new Set();
  const folders = vscode.workspace.workspaceFolders || [];
  for (const name of names) {
    // Keys VS Code does not declare (apiKey, headers, proxy) may show here as workspace values.
    for (const scope of [undefined, ...folders.map((f) => f.uri)]) {
      const seen = vscode.workspace.getConfiguration(SECTION, scope).inspect(name);
      if (seen && (seen.workspaceValue !== undefined || seen.workspaceFolderValue !== undefined)) found.add(name);
    }
  }
  // VS Code drops workspace values of application/machine settings and inspect() does not
  // show them either (Code 1.139): look for the keys in the files themselves.
  const files = folders.map((f) => vscode.Uri.joinPath(f.uri, ".vscode", "settings.json"));
  if (vscode.workspace.workspaceFile && vscode.workspace.workspaceFile.scheme === "file") files.push(vscode.workspace.workspaceFile);
  for (const file of files) {
    let text = "";
    try {
      text = Buffer.from(await vscode.workspace.fs.readFile(file)).toString("utf8");
    } catch {
      continue; // no such file
    }
    text = text.replace(/^\s*\/\/.*$/gm, ""); // a commented-out line sets nothing
    for (const name of names) {
      if (new RegExp(`["']${SECTION}\\.${name}["']\\s*:`).test(text)) found.add(name);
    }
  }
  if (!found.size) return;
  const list = [...found].sort().map((k) => `${SECTION}.${k}`);
  const id = list.join(",");
  if (warnedSets.has(id)) return;
  warnedSets.add(id);
  const message = `GPT LSP: ${t(
    "ignored {0} from the workspace settings. The relay, its hosts, keys, headers, proxy, the budget, completion, the privacy switches and the server executable are taken only from your user settings.",
    list.join(", "),
  )}`;
  output.appendLine(message);
  vscode.window.showWarningMessage(message);
}

async function onConfigurationChanged(event) {
  if (!event.affectsConfiguration(SECTION)) return;
  if (event.affectsConfiguration(`${SECTION}.serverPath`) || event.affectsConfiguration(`${SECTION}.serverArgs`)) {
    await restart();
    return;
  }
  warnWorkspaceValues();
  updateCompletionItem();
  await pushConfiguration();
}

/** Sends the user-level settings again; the server re-reads the gptLsp section with them. */
async function pushConfiguration() {
  if (!client || !client.isRunning()) return;
  await client.sendNotification(USER_SETTINGS, { settings: await userSettings() });
}

async function setApiKey() {
  const relays = Object.keys(userValue("relays", {}) || {}).filter((n) => n !== DEFAULT_RELAY);
  let relay = DEFAULT_RELAY;
  if (relays.length) {
    const picked = await vscode.window.showQuickPick([DEFAULT_RELAY, ...relays], {
      title: `GPT LSP: ${t("API key for which relay?")}`,
      placeHolder: t("default is the relay of gptLsp.baseUrl"),
    });
    if (!picked) return;
    relay = picked;
  }
  const key = await vscode.window.showInputBox({
    title: `GPT LSP: ${t("API key for the {0} relay", relay)}`,
    prompt: t("Stored in VS Code's secret storage, never in settings.json. Leave empty to remove the stored key."),
    password: true,
    ignoreFocusOut: true,
    placeHolder: "sk-...",
  });
  if (key === undefined) return;
  const id = relay === DEFAULT_RELAY ? SECRET_KEY : `${SECRET_KEY}.${relay}`;
  if (key.trim()) {
    secrets.add(key.trim());
    await context.secrets.store(id, key.trim());
    vscode.window.showInformationMessage(`GPT LSP: ${t("API key for the {0} relay saved.", relay)}`);
  } else {
    await context.secrets.delete(id);
    vscode.window.showInformationMessage(`GPT LSP: ${t("API key for the {0} relay removed.", relay)}`);
  }
  // secrets.onDidChange sends the server the user settings again, with the key.
}

// ------------------------------------------------------------------ commands

async function runServerCommand(command, argument) {
  if (!client || !client.isRunning()) {
    vscode.window.showErrorMessage(`GPT LSP: ${t("the server is not running.")} ${installHint()}`);
    return undefined;
  }
  try {
    return await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: argument === undefined ? [] : [argument] });
  } catch (error) {
    showRefusal(error);
    return undefined;
  }
}

function showRefusal(error) {
  const message = error && error.message ? error.message : String(error);
  vscode.window.showErrorMessage(`GPT LSP: ${message}`);
}

async function inlineChat() {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    vscode.window.showInformationMessage(`GPT LSP: ${t("open a file and select code (or place the cursor) first.")}`);
    return;
  }
  const selection = editor.selection;
  // The cursor, or a selection, inside an AI edit under review (the selection a job was started
  // on stays selected around its text): a follow-up turn of that job.
  const refine = reviews.jobHolding(editor.document.uri, selection);
  const instruction = await vscode.window.showInputBox({
    title: `GPT LSP: ${refine ? t("Refine the AI edit") : t("Inline Chat")}`,
    prompt: refine
      ? t("A follow-up instruction: the AI rewrites its edit here (Reject still restores the original).")
      : selection.isEmpty
        ? t("What should be inserted at the cursor?")
        : t("How should the selection be rewritten?"),
    placeHolder: refine ? t("e.g. make it shorter") : selection.isEmpty ? t("e.g. a function that parses ISO dates") : t("e.g. make it async"),
    ignoreFocusOut: true,
  });
  if (!instruction || !instruction.trim() || !client) return;
  const c2p = client.code2ProtocolConverter;
  const argument = refine
    ? { uri: c2p.asUri(editor.document.uri), position: c2p.asPosition(selection.isEmpty ? selection.active : selection.start), instruction: instruction.trim() }
    : { uri: c2p.asUri(editor.document.uri), range: c2p.asRange(selection), instruction: instruction.trim() };
  const result = await runServerCommand("gptLsp.chat", argument);
  noteJob(result);
}

/** A command result {jobId}: a job started. The spinner turns at once; the server's count,
 * asked next, corrects it. */
function noteJob(result) {
  if (!result || typeof result !== "object" || typeof result.jobId !== "string") return;
  running += 1;
  updateStatus();
  refreshRunning();
}

function onJobFinished(params) {
  if (!params || typeof params.jobId !== "string") return;
  // The server's one-line summary, shown as is.
  lastFinished = { status: params.status, summary: params.summary || `AI: ${params.status}`, message: params.message };
  refreshRunning();
}

let refreshes = 0;
/** Asks the server how many jobs run; only the latest answer counts. */
async function refreshRunning() {
  const asked = ++refreshes;
  let status;
  if (client && client.isRunning()) {
    try {
      status = await client.sendRequest(ExecuteCommandRequest.type, { command: "gptLsp.status", arguments: [] });
    } catch {
      status = undefined;
    }
  }
  if (asked !== refreshes) return;
  running = status ? (status.jobs || []).filter((j) => j.status === "running").length : 0;
  const relay = status && (status.relays || []).find((r) => r.default);
  currentModel = relay ? relay.model : undefined;
  spend = status && status.spendLines && status.spendLines.today ? status.spendLines : undefined;
  updateStatus();
}

/** Today's and this month's spend, as tooltip lines ("" while the server has said none). */
function spendLines() {
  return spend ? `\n${spend.today}\n${spend.month}` : "";
}

/** Quick pick of the relay's models (the server lists them), free text when it lists none. */
async function selectModel() {
  const listed = await runServerCommand("gptLsp.selectModel", {});
  if (!listed) return;
  let model;
  if (listed.models && listed.models.length) {
    const items = listed.models.map((m) => ({ label: m, description: m === listed.current ? t("current") : undefined, picked: m === listed.current }));
    items.push({ label: `$(edit) ${t("Type a model name…")}`, alwaysShow: true, typed: true });
    const title = `GPT LSP: ${t("model for the {0} relay (now {1})", listed.relay, listed.current)}`;
    const picked = await vscode.window.showQuickPick(items, { title, placeHolder: listed.current });
    if (!picked) return;
    model = picked.typed ? undefined : picked.label;
    if (!model) model = await askModel(listed);
  } else {
    model = await askModel(listed);
  }
  if (!model || !model.trim()) return;
  const set = await runServerCommand("gptLsp.selectModel", { relay: listed.relay, model: model.trim() });
  if (!set) return;
  if (set.relay === listed.relay) currentModel = set.current;
  updateStatus();
  refreshRunning();
  vscode.window.showInformationMessage(`GPT LSP: ${t("the {0} relay now uses {1}.", set.relay, set.current)}${set.message ? ` ${set.message}` : ""}`);
}

function askModel(listed) {
  return vscode.window.showInputBox({
    title: `GPT LSP: ${t("model for the {0} relay", listed.relay)}`,
    prompt: listed.message || t("Type a model name the relay serves."),
    value: listed.current,
    ignoreFocusOut: true,
  });
}

/** Returns {uri, position} of the active editor's cursor, in the negotiated position encoding. */
function cursorTarget() {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !client) return undefined;
  const c2p = client.code2ProtocolConverter;
  return { uri: c2p.asUri(editor.document.uri), position: c2p.asPosition(editor.selection.active) };
}

/** Accept, reject or cancel at the cursor: the server picks the job whose region holds it,
 * else the file's most recent job (for cancel: its most recent running job). */
async function jobAtCursor(command, what) {
  const nothing = { accept: t("no AI edit to accept"), reject: t("no AI edit to reject"), cancel: t("no AI job running") }[what];
  const target = cursorTarget();
  if (!target) {
    vscode.window.showInformationMessage(`GPT LSP: ${t("{0} (no file is open).", nothing)}`);
    return;
  }
  const result = await runServerCommand(command, target);
  if (result && result.ok !== true) vscode.window.showInformationMessage(`GPT LSP: ${t("{0} at the cursor or in this file.", nothing)}`);
}

async function showStatus() {
  const status = await runServerCommand("gptLsp.status");
  if (!status) return;
  // The server's own lines, in its UI language: relays and models, running jobs, spend.
  const lines = Array.isArray(status.lines) ? status.lines : [`gpt-lsp ${status.version}`];
  output.appendLine(lines.join("\n"));
  const relay = (status.relays || []).find((r) => r.default);
  const summary = relay ? `${relay.name}: ${relay.model} · ${relay.url}` : t("no relay configured (set gptLsp.baseUrl)");
  const today = status.spendLines && status.spendLines.today ? ` · ${status.spendLines.today}` : "";
  const details = t("Show Details");
  const choice = await vscode.window.showInformationMessage(`GPT LSP ${status.version} · ${summary}${today}`, details);
  if (choice === details) output.show(true);
}

async function showMenu() {
  const items = [];
  // What the server has in the active file, asked now (the extension keeps no jobs).
  const target = cursorTarget();
  const status = target && client && client.isRunning() ? await runServerCommand("gptLsp.status") : undefined;
  const here = ((status && status.jobs) || []).filter((j) => target && j.uri === target.uri);
  if (here.some((j) => j.status === "running")) items.push({ label: `$(debug-stop) ${t("Cancel the running job")}`, command: "gpt-lsp.cancel" });
  if (here.some((j) => j.status === "done")) items.push({ label: `$(check) ${t("Accept the AI edit")}`, command: "gpt-lsp.accept" });
  if (here.some((j) => j.status === "done" || j.status === "running")) {
    items.push({ label: `$(discard) ${t("Reject the AI edit (restore the original)")}`, command: "gpt-lsp.reject" });
  }
  items.push({ label: `$(comment-discussion) ${t("Inline chat…")}`, command: "gpt-lsp.inlineChat" });
  items.push({ label: `$(info) ${t("Show status")}`, command: "gpt-lsp.showStatus" });
  items.push({ label: `$(symbol-class) ${t("Select model…")}`, command: "gpt-lsp.selectModel" });
  items.push({ label: `$(key) ${t("Set API key…")}`, command: "gpt-lsp.setApiKey" });
  if (!client) items.push({ label: `$(refresh) ${t("Restart the server")}`, command: "gpt-lsp.restart" });
  const picked = await vscode.window.showQuickPick(items, { title: "GPT LSP" });
  if (picked) vscode.commands.executeCommand(picked.command);
}

// ------------------------------------------------------------------ status bar

/** Turns inline completion on or off in the user's settings (the server takes them live). */
async function toggleCompletion() {
  const config = vscode.workspace.getConfiguration(SECTION);
  const seen = config.inspect("completion");
  const current = seen && seen.globalValue && typeof seen.globalValue === "object" ? seen.globalValue : {};
  await config.update("completion", { ...current, enabled: current.enabled !== true }, vscode.ConfigurationTarget.Global);
  updateStatus();
}

function updateCompletionItem() {
  if (!completionItem) return;
  const seen = vscode.workspace.getConfiguration(SECTION).inspect("completion");
  const on = Boolean(seen && seen.globalValue && seen.globalValue.enabled === true);
  completionItem.text = on ? `$(sparkle) ${t("Completion on")}` : `$(circle-slash) ${t("Completion off")}`;
  completionItem.tooltip = `GPT LSP: ${on ? t("AI completion (ghost text, Tab accepts) is on; click to turn it off") : t("AI completion (ghost text, Tab accepts) is off; click to turn it on")}`;
  completionItem.show();
}

function updateStatus() {
  updateCompletionItem();
  if (!statusItem) return;
  statusItem.backgroundColor = undefined;
  const model = currentModel ? ` · ${currentModel}` : "";
  if (!client) {
    statusItem.text = "$(warning) AI";
    statusItem.tooltip = `GPT LSP: ${t("server not running")}`;
  } else if (running) {
    statusItem.text = `$(sync~spin) AI${running > 1 ? ` ×${running}` : ""}${model}`;
    statusItem.tooltip = `GPT LSP${model}: ${t("writing… click to cancel, accept or reject")}${spendLines()}`;
  } else if (lastFinished) {
    const icon = { done: "$(check)", cancelled: "$(circle-slash)", failed: "$(error)", conflict: "$(warning)" }[lastFinished.status] || "$(sparkle)";
    statusItem.text = `${icon} ${lastFinished.summary}${model}`;
    statusItem.tooltip = `GPT LSP${model}: ${lastFinished.summary}${lastFinished.message ? ` (${lastFinished.message})` : ""}${spendLines()}`;
    if (lastFinished.status === "failed") statusItem.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
  } else {
    statusItem.text = `$(sparkle) AI${model}`;
    statusItem.tooltip = `GPT LSP${model}: ${t("select code, then Ctrl+. for AI actions or Ctrl+Alt+G for inline chat")}${spendLines()}`;
  }
  statusItem.show();
}

module.exports = { activate, deactivate };
