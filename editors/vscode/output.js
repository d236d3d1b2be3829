// The "GPT LSP" output channel, as vscode-languageclient 10+ wants it (a LogOutputChannel), with
// every stored key masked in what it writes; and the channel the client writes its LSP message
// trace to, switched by gptLsp.trace.server (the client itself traces only at the Trace level).
"use strict";

const vscode = require("vscode");

const TRACE_SETTING = "gptLsp.trace.server";

/** Returns {output, trace}: the log channel and the trace channel, both masking `secrets`. */
function createChannels(name, secrets) {
  const channel = vscode.window.createOutputChannel(name, { log: true });
  const mask = (text) => {
    let out = String(text);
    for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join("<api key>");
    return out;
  };
  const output = {
    get name() {
      return channel.name;
    },
    get logLevel() {
      return channel.logLevel;
    },
    onDidChangeLogLevel: channel.onDidChangeLogLevel,
    trace: (text, ...args) => channel.trace(mask(text), ...args.map(mask)),
    debug: (text, ...args) => channel.debug(mask(text), ...args.map(mask)),
    info: (text, ...args) => channel.info(mask(text), ...args.map(mask)),
    warn: (text, ...args) => channel.warn(mask(text), ...args.map(mask)),
    error: (error, ...args) => channel.error(error instanceof Error ? mask(error.stack || error.message) : mask(error), ...args.map(mask)),
    append: (text) => channel.append(mask(text)),
    appendLine: (text) => channel.appendLine(mask(text)),
    replace: (text) => channel.replace(mask(text)),
    clear: () => channel.clear(),
    show: (...args) => channel.show(...args),
    hide: () => channel.hide(),
    dispose: () => channel.dispose(),
  };
  // The client traces when its trace channel's level is Trace: that level follows the setting
  // (or the channel's own level, set to Trace from the Output view), and the messages are
  // written whatever the channel's level is.
  const changed = new vscode.EventEmitter();
  const traceLevel = () => {
    const setting = vscode.workspace.getConfiguration().get(TRACE_SETTING, "off");
    return setting !== "off" ? vscode.LogLevel.Trace : channel.logLevel;
  };
  const trace = {
    ...output,
    get logLevel() {
      return traceLevel();
    },
    onDidChangeLogLevel: changed.event,
    trace: (text) => channel.appendLine(mask(text)),
    dispose: () => {},
  };
  const listeners = [
    changed,
    channel.onDidChangeLogLevel(() => changed.fire(traceLevel())),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(TRACE_SETTING)) changed.fire(traceLevel());
    }),
  ];
  output.dispose = () => {
    for (const listener of listeners) listener.dispose();
    channel.dispose();
  };
  return { output, trace };
}

module.exports = { createChannels };
