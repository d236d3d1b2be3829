// Chat documents: "GPT LSP: New Chat" (beside the editor; the selection goes in), Ctrl+Enter in a
// chat to reply (and "GPT LSP: Reply in Chat"), the cursor under the new heading after a reply.
// The server writes the chat; this file only opens it and forwards.
"use strict";

const vscode = require("vscode");

const t = vscode.l10n.t;
const MARKER = "<!-- gpt-lsp chat";
const CONTEXT = "gptLsp.inChat";

function isChat(document) {
  return document.lineCount > 0 && document.lineAt(0).text.startsWith(MARKER);
}

/** The commands and listeners; `getClient` returns the language client, `run` sends a server
 * command (showing a refusal) and answers its result. */
function chatDisposables(getClient, run) {
  const updateContext = (editor) =>
    vscode.commands.executeCommand("setContext", CONTEXT, Boolean(editor && isChat(editor.document)));
  updateContext(vscode.window.activeTextEditor);

  async function newChat() {
    const editor = vscode.window.activeTextEditor;
    const client = getClient();
    if (!client) return;
    const question = await vscode.window.showInputBox({
      title: `GPT LSP: ${t("New Chat")}`,
      prompt: t("Your question (empty: write it in the chat)"),
      ignoreFocusOut: true,
    });
    if (question === undefined) return; // Escape
    const c2p = client.code2ProtocolConverter;
    const argument = {};
    if (editor && editor.document.uri.scheme === "file") {
      argument.uri = c2p.asUri(editor.document.uri);
      if (!editor.selection.isEmpty) argument.range = c2p.asRange(editor.selection);
      else argument.position = c2p.asPosition(editor.selection.active);
    }
    if (question.trim()) argument.instruction = question.trim();
    const result = await run("gptLsp.chatOpen", argument);
    if (!result || typeof result.uri !== "string") return;
    const document = await vscode.workspace.openTextDocument(client.protocol2CodeConverter.asUri(result.uri));
    const shown = await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: false });
    const end = document.lineAt(document.lineCount - 1).range.end;
    shown.selection = new vscode.Selection(end, end);
  }

  async function reply() {
    const editor = vscode.window.activeTextEditor;
    const client = getClient();
    if (!editor || !client || !isChat(editor.document)) return;
    await editor.document.save(); // the file keeps the conversation
    await run("gptLsp.chatReply", { uri: client.code2ProtocolConverter.asUri(editor.document.uri) });
  }

  async function cancel() {
    const editor = vscode.window.activeTextEditor;
    const client = getClient();
    if (!editor || !client) return;
    await run("gptLsp.chatCancel", { uri: client.code2ProtocolConverter.asUri(editor.document.uri) });
  }

  return [
    vscode.commands.registerCommand("gpt-lsp.chatNew", newChat),
    vscode.commands.registerCommand("gpt-lsp.chatReply", reply),
    vscode.commands.registerCommand("gpt-lsp.chatCancel", cancel),
    vscode.window.onDidChangeActiveTextEditor(updateContext),
  ];
}

/** gptLsp/chatReplied: the cursor goes under the new heading of the chat being looked at. */
function onChatReplied(client, params) {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !params || !params.position) return;
  if (client.code2ProtocolConverter.asUri(editor.document.uri) !== params.uri) return;
  const position = client.protocol2CodeConverter.asPosition(params.position);
  editor.selection = new vscode.Selection(position, position);
  editor.revealRange(new vscode.Range(position, position));
}

module.exports = { chatDisposables, onChatReplied, isChat };
