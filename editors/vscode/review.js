// Pending AI edits in VS Code: draws what gptLsp/review says, opens the diff, and applies a
// job's streamed edits as one undo step. The server decides everything: which job, its state,
// its region; this file only draws and forwards.
"use strict";

const vscode = require("vscode");

const t = vscode.l10n.t;

const ORIGINAL_SCHEME = "gpt-lsp-original";
const JOB_LABEL = "gpt-lsp job-"; // a job's own text; "... restore" and repairs go the usual way

class Reviews {
  /** @param {() => import("vscode-languageclient/node").LanguageClient | undefined} getClient */
  constructor(getClient) {
    this.getClient = getClient;
    /** jobId -> { uri: string, status, range: vscode.Range, original: string, turn } */
    this.jobs = new Map();
    /** uri -> { label, version }: the last job edit applied, to join the next one to it. */
    this.lastEdit = new Map();
    /** uri of an original -> its text, for the diff editor. */
    this.originals = new Map();
    this.added = vscode.window.createTextEditorDecorationType({
      isWholeLine: true,
      backgroundColor: new vscode.ThemeColor("diffEditor.insertedLineBackground"),
      overviewRulerColor: new vscode.ThemeColor("editorOverviewRuler.addedForeground"),
      overviewRulerLane: vscode.OverviewRulerLane.Left,
    });
    // Says that an AI edit is pending (the main GPT LSP item shows jobs and the model).
    this.item = vscode.window.createStatusBarItem("gpt-lsp.review", vscode.StatusBarAlignment.Right, 99);
    this.item.name = "GPT LSP: pending AI edits";
    this.item.command = "gpt-lsp.showDiff";
    // The note after the region's first line takes no width (an inline-block of width 0 whose
    // text overflows it): it never widens the line, so it never adds a horizontal scrollbar.
    this.header = vscode.window.createTextEditorDecorationType({
      after: { color: new vscode.ThemeColor("editorCodeLens.foreground"), width: "0" },
    });
  }

  /** The disposables to register: decorations, the original documents, editor changes. */
  disposables() {
    const provider = { provideTextDocumentContent: (uri) => this.originals.get(uri.toString()) || "" };
    return [
      this.item,
      this.added,
      this.header,
      vscode.workspace.registerTextDocumentContentProvider(ORIGINAL_SCHEME, provider),
      vscode.window.onDidChangeVisibleTextEditors(() => this.redrawAll()),
    ];
  }

  /** gptLsp/review: a job's state, region and original. */
  onReview(params) {
    const client = this.getClient();
    if (!client || !params || typeof params.jobId !== "string") return;
    const uri = client.protocol2CodeConverter.asUri(params.uri).toString();
    if (params.status === "ended") {
      this.jobs.delete(params.jobId);
    } else {
      const range = client.protocol2CodeConverter.asRange(params.range);
      this.jobs.set(params.jobId, { uri, status: params.status, range, original: params.original || "", turn: params.turn || 1 });
    }
    // A pending job keeps its undo step open: a follow-up turn's edits join it, so one Ctrl+Z
    // still takes the job back to the text from before its first turn.
    if (params.status === "ended") this.forgetLastEdit(uri, params.jobId);
    this.redraw(uri);
    this.showCounts();
  }

  showCounts() {
    const { pending } = this.counts();
    if (!pending) {
      this.item.hide();
      return;
    }
    this.item.text = `$(diff) ${pending === 1 ? t("1 AI edit pending") : t("{0} AI edits pending", pending)}`;
    this.item.tooltip = `GPT LSP: ${t("accept or reject with the code lenses (or Ctrl+.); click for the diff")}`;
    this.item.show();
  }

  /** Jobs under review (running or pending), for the status bar. */
  counts() {
    let running = 0;
    let pending = 0;
    for (const job of this.jobs.values()) {
      if (job.status === "pending") pending += 1;
      else running += 1;
    }
    return { running, pending };
  }

  /** The job whose region holds a position of a document, newest first; else undefined. */
  jobAt(uri, position) {
    const found = [...this.jobs.entries()].reverse().find(([, job]) => job.uri === uri.toString() && regionHolds(job.range, position));
    return found ? { jobId: found[0], ...found[1] } : undefined;
  }

  /** The job whose region holds a selection (its start, and its end up to the region's end) or
   * an empty selection's cursor, newest first; else undefined. */
  jobHolding(uri, selection) {
    if (selection.isEmpty) return this.jobAt(uri, selection.active);
    const found = [...this.jobs.entries()].reverse().find(([, job]) => job.uri === uri.toString() && regionHolds(job.range, selection.start) && job.range.end.isAfterOrEqual(selection.end));
    return found ? { jobId: found[0], ...found[1] } : undefined;
  }

  /** The job at the cursor, else the document's most recent one. */
  jobFor(editor) {
    const here = this.jobAt(editor.document.uri, editor.selection.active);
    if (here) return here;
    const mine = [...this.jobs.entries()].filter(([, job]) => job.uri === editor.document.uri.toString());
    const last = mine[mine.length - 1];
    return last ? { jobId: last[0], ...last[1] } : undefined;
  }

  redrawAll() {
    for (const editor of vscode.window.visibleTextEditors) this.draw(editor);
  }

  redraw(uri) {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() === uri) this.draw(editor);
    }
  }

  draw(editor) {
    const uri = editor.document.uri.toString();
    const added = [];
    const headers = [];
    for (const job of this.jobs.values()) {
      if (job.uri !== uri) continue;
      const lines = wholeLines(job.range);
      const original = originalLines(job.original);
      const running = job.status === "running";
      const hover = new vscode.MarkdownString();
      const title = running ? t("AI edit (writing)") : t("AI edit (pending)");
      hover.appendMarkdown(`**${title}**: ${original.length ? t("the original") : t("the original was empty")}\n`);
      if (original.length) hover.appendCodeblock(original.join("\n"), editor.document.languageId);
      hover.appendMarkdown(`\n${t("`GPT LSP: Show Diff` compares it with the new text.")}`);
      if (lines) added.push({ range: lines, hoverMessage: hover });
      const count = original.length;
      const note = running
        ? count === 1 ? t("AI edit writing: replaces 1 line (hover to see it)") : t("AI edit writing: replaces {0} lines (hover to see them)", count)
        : count === 1 ? t("AI edit pending: replaces 1 line (hover to see it)") : t("AI edit pending: replaces {0} lines (hover to see them)", count);
      // At the end of the region's first line: the code itself stays where it was.
      const first = editor.document.lineAt(Math.min(job.range.start.line, editor.document.lineCount - 1)).range.end;
      headers.push({
        range: new vscode.Range(first, first),
        // Two em spaces keep it apart from the code without a margin (a margin takes width).
        renderOptions: { after: { contentText: `\u2003\u2003${note}`, width: "0" } },
        hoverMessage: hover,
      });
    }
    editor.setDecorations(this.added, added);
    editor.setDecorations(this.header, headers);
  }

  /** workspace/applyEdit: a job's text goes in through the editor, joined to the job's previous
   * edit when nothing changed the document in between (one undo step per job). Anything else,
   * or a document not shown in an editor, takes the usual path (`fallback`). */
  async applyEdit(params, fallback) {
    const client = this.getClient();
    const label = params && typeof params.label === "string" ? params.label : "";
    const changes = (params && params.edit && params.edit.documentChanges) || [];
    if (!client || !label.startsWith(JOB_LABEL) || label.includes(" ", JOB_LABEL.length) || changes.length !== 1 || !Array.isArray(changes[0].edits)) {
      return fallback(params);
    }
    const change = changes[0];
    const uri = client.protocol2CodeConverter.asUri(change.textDocument.uri).toString();
    const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri);
    if (!editor) return fallback(params);
    const document = editor.document;
    const version = change.textDocument.version;
    if (typeof version === "number" && document.version !== version) return { applied: false };
    const last = this.lastEdit.get(uri);
    const joined = Boolean(last && last.label === label && last.version === document.version);
    const edits = change.edits.map((e) => ({ range: client.protocol2CodeConverter.asRange(e.range), text: e.newText }));
    const applied = await editor.edit(
      (builder) => {
        for (const e of edits) builder.replace(e.range, e.text);
      },
      { undoStopBefore: !joined, undoStopAfter: false },
    );
    if (applied) this.lastEdit.set(uri, { label, version: document.version });
    return { applied };
  }

  /** The job has ended: no later edit joins its undo step. (The user's typing starts an undo
   * step of its own in any case: VS Code puts one before typing that follows another edit.) */
  forgetLastEdit(uri, jobId) {
    const last = this.lastEdit.get(uri);
    if (last && last.label === JOB_LABEL + jobId.replace(/^job-/, "")) this.lastEdit.delete(uri);
  }

  /** GPT LSP: Show Diff: the original (before the job's first turn) <-> the document now. */
  async showDiff() {
    const editor = vscode.window.activeTextEditor;
    const job = editor && this.jobFor(editor);
    if (!editor || !job) {
      vscode.window.showInformationMessage(`GPT LSP: ${t("no AI edit under review in this file.")}`);
      return;
    }
    const document = editor.document;
    const text = document.getText();
    const before = text.slice(0, document.offsetAt(job.range.start));
    const after = text.slice(document.offsetAt(job.range.end));
    const original = vscode.Uri.from({ scheme: ORIGINAL_SCHEME, path: document.uri.path, query: job.jobId });
    this.originals.set(original.toString(), before + job.original + after);
    const name = document.uri.path.split("/").pop();
    const title = t("{0}: original ↔ AI edit ({1})", name, job.jobId);
    await vscode.commands.executeCommand("vscode.diff", original, document.uri, title);
  }
}

function regionHolds(range, position) {
  if (range.isEmpty) return range.start.isEqual(position);
  if (range.contains(position) && !position.isEqual(range.end)) return true;
  return position.isEqual(range.end) && range.end.character > 0;
}

/** The lines a region covers: a region of whole lines ends before its last line's first column. */
function wholeLines(range) {
  if (range.isEmpty) return undefined;
  const last = range.end.character === 0 && range.end.line > range.start.line ? range.end.line - 1 : range.end.line;
  return new vscode.Range(range.start.line, 0, last, 0);
}

function originalLines(text) {
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

module.exports = { Reviews, JOB_LABEL };
