"""A scripted editor for end-to-end tests: the real server over stdio, a pytest-lsp client
that applies the server's edits to its own copy of each document, as VS Code or Neovim do.

Profiles:
- "vscode": utf-16; an edit whose version is stale is refused (`applied: false`); an applied
  edit is answered first, then reported as a character diff in several changes, the last
  first (what VS Code 1.139 does).
- "neovim": utf-8; a stale edit is skipped but answered `applied: true`; changes are sent
  debounced, as the minimal diff of the changed lines (Neovim's lsp/sync.lua).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

REPO = Path(__file__).resolve().parents[2]
NEOVIM_DEBOUNCE = 0.05  # Neovim waits 150 ms; shorter keeps the suite fast, same ordering


def utf_units(text: str, encoding: str) -> int:
    """Length of text in code units (written plainly, independent of gpt_lsp)."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def split_keep(text: str) -> list[str]:
    """Lines with their breaks (\\n, \\r\\n, \\r), the last without."""
    lines: list[str] = []
    start = 0
    i = 0
    while i < len(text):
        if text[i] == "\r" and text[i + 1 : i + 2] == "\n":
            lines.append(text[start : i + 2])
            i += 2
            start = i
            continue
        if text[i] in "\r\n":
            lines.append(text[start : i + 1])
            start = i + 1
        i += 1
    lines.append(text[start:])
    return lines


def offset_of(text: str, line: int, character: int, encoding: str) -> int:
    """Offset of an LSP position in text."""
    lines = split_keep(text)
    if line >= len(lines):
        return len(text)
    base = sum(len(x) for x in lines[:line])
    body = lines[line].rstrip("\r\n")
    units = 0
    for index, char in enumerate(body):
        if units >= character:
            return base + index
        units += utf_units(char, encoding)
    return base + len(body)


def position_of(text: str, offset: int, encoding: str) -> types.Position:
    """LSP position of an offset in text."""
    lines = split_keep(text[:offset])
    return types.Position(line=len(lines) - 1, character=utf_units(lines[-1], encoding))


@dataclass
class Doc:
    """The editor's copy of a document."""

    uri: str
    text: str
    version: int = 1
    pending: list[types.TextDocumentContentChangeEvent] = field(default_factory=list)


class Editor:
    """Drives the server like an editor with one of the profiles."""

    def __init__(self, client: LanguageClient, profile: str, encoding: str) -> None:
        self.client = client
        self.profile = profile
        self.encoding = encoding
        self.docs: dict[str, Doc] = {}
        self.finished: list[dict[str, Any]] = []
        self.edits_received = 0
        self.edits_applied = 0
        self.edits_skipped = 0
        self.before_apply: Callable[[types.ApplyWorkspaceEditParams], Any] | None = None
        self.show_documents = True
        self.closed = False
        self.client_tmp = Path("/tmp")
        self._flushers: dict[str, asyncio.TimerHandle] = {}
        self.release = asyncio.Event()  # ends the handlers that never answer

    # ------------------------------------------------------------ documents

    def open(
        self, name: str, text: str, language: str = "python", folder: Path | None = None
    ) -> str:
        """Opens a document and returns its URI."""
        path = (folder or Path("/tmp/gpt-lsp-e2e")) / name
        return self.open_uri(path.as_uri(), text, language)

    def open_uri(self, uri: str, text: str, language: str) -> str:
        """Opens a document by URI."""
        self.docs[uri] = Doc(uri, text)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )
        return uri

    def text(self, uri: str) -> str:
        """The editor's current text of a document."""
        return self.docs[uri].text

    def type_at(self, uri: str, offset: int, inserted: str, removed: int = 0) -> None:
        """The user edits the document: replaces `removed` characters at `offset`."""
        doc = self.docs[uri]
        start = position_of(doc.text, offset, self.encoding)
        end = position_of(doc.text, offset + removed, self.encoding)
        doc.text = doc.text[:offset] + inserted + doc.text[offset + removed :]
        doc.version += 1
        self._changed(doc, types.Range(start=start, end=end), inserted)

    def _changed(self, doc: Doc, rng: types.Range, text: str) -> None:
        change = types.TextDocumentContentChangePartial(range=rng, text=text)
        if self.profile == "neovim":
            doc.pending.append(change)
            if doc.uri not in self._flushers:
                loop = asyncio.get_running_loop()
                self._flushers[doc.uri] = loop.call_later(NEOVIM_DEBOUNCE, self.flush, doc.uri)
        else:
            # After the applyEdit answer, and in order with the user's own changes.
            version = doc.version
            asyncio.get_running_loop().call_soon(self._send, doc, [change], version)

    def flush(self, uri: str) -> None:
        """Sends pending (debounced) changes."""
        handle = self._flushers.pop(uri, None)
        if handle is not None:
            handle.cancel()
        doc = self.docs[uri]
        if doc.pending:
            changes, doc.pending = doc.pending, []
            self._send(doc, changes)

    def _send(self, doc: Doc, changes: list[Any], version: int | None = None) -> None:
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=doc.uri, version=doc.version if version is None else version
                ),
                content_changes=changes,
            )
        )

    # ------------------------------------------------------------ the server's edits

    def apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        """Applies a workspace edit the way the profile's editor does."""
        self.edits_received += 1
        if self.before_apply is not None:
            self.before_apply(params)
        for uri, edits in (params.edit.changes or {}).items():
            for edit in sorted(
                edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
            ):
                self._apply_one(self.docs[uri], edit)
        for change in params.edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit)
            doc = self.docs.get(change.text_document.uri)
            if doc is None:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="not open")
            stale = change.text_document.version not in (None, doc.version)
            if stale:
                self.edits_skipped += 1
                if self.profile == "neovim":
                    return types.ApplyWorkspaceEditResult(applied=True)  # Neovim's behaviour
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="version")
            for edit in sorted(
                change.edits,
                key=lambda e: (e.range.start.line, e.range.start.character),
                reverse=True,
            ):
                self._apply_one(doc, edit)
        self.edits_applied += 1
        return types.ApplyWorkspaceEditResult(applied=True)

    def _apply_one(self, doc: Doc, edit: Any) -> None:
        start = offset_of(
            doc.text, edit.range.start.line, edit.range.start.character, self.encoding
        )
        end = offset_of(doc.text, edit.range.end.line, edit.range.end.character, self.encoding)
        old = doc.text
        doc.text = old[:start] + edit.new_text + old[end:]
        doc.version += 1
        if self.profile == "neovim":
            rng, text = minimal_line_diff(
                old, doc.text, start, end, len(edit.new_text), self.encoding
            )
            self._changed(doc, rng, text)
        else:
            changes = split_character_diff(old, doc.text, self.encoding)
            version = doc.version
            asyncio.get_running_loop().call_soon(self._send, doc, changes, version)

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Sends shutdown and exit (once) and waits for the server to exit."""
        if self.closed:
            return
        self.closed = True
        self.release.set()
        await asyncio.sleep(0.05)
        await asyncio.wait_for(self.client.shutdown_session(), timeout)

    # ------------------------------------------------------------ waiting

    async def wait_finished(self, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Waits for gptLsp/jobFinished of a job."""
        async with asyncio.timeout(timeout):
            while True:
                for params in self.finished:
                    if params.get("jobId") == job_id:
                        return params
                await asyncio.sleep(0.01)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Polls a condition."""
        async with asyncio.timeout(timeout):
            while not predicate():  # noqa: ASYNC110 - the condition is the editor's text
                await asyncio.sleep(0.01)

    async def command(self, name: str, argument: Any = None, timeout: float = 10.0) -> Any:
        """Runs workspace/executeCommand."""
        arguments = [] if argument is None else [argument]
        async with asyncio.timeout(timeout):
            result = await self.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=name, arguments=arguments)
            )
        return _plain(result)

    async def code_actions(
        self, uri: str, rng: types.Range, diagnostics: list[types.Diagnostic] | None = None
    ) -> list[types.CodeAction]:
        """Asks for code actions on a range."""
        async with asyncio.timeout(10):
            result = await self.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=rng,
                    context=types.CodeActionContext(diagnostics=diagnostics or []),
                )
            )
        return [a for a in result or [] if isinstance(a, types.CodeAction)]


def split_character_diff(old: str, new: str, encoding: str) -> list[Any]:
    """VS Code's report of an applied edit: a character diff, one change per differing run,
    the last first (so each change's range is valid after the ones before it)."""
    import difflib

    changes = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag != "equal":
            rng = types.Range(
                start=position_of(old, i1, encoding), end=position_of(old, i2, encoding)
            )
            changes.append(types.TextDocumentContentChangePartial(range=rng, text=new[j1:j2]))
    return changes


def minimal_line_diff(
    old: str, new: str, start: int, end: int, inserted: int, encoding: str
) -> tuple[types.Range, str]:
    """The change Neovim reports: the minimal diff within the changed lines."""
    prefix = 0
    limit = min(len(old), len(new))
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[len(old) - 1 - suffix] == new[len(new) - 1 - suffix]:
        suffix += 1
    rng = types.Range(
        start=position_of(old, prefix, encoding),
        end=position_of(old, len(old) - suffix, encoding),
    )
    return rng, new[prefix : len(new) - suffix]


def server_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An isolated environment for a server process (no user config, no proxies)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GPT_LSP_", "OPENAI_"))}
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(key, None)
    env.update(
        {
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "XDG_STATE_HOME": str(tmp / "state"),
            "GPT_LSP_CONFIG": str(tmp / "config" / "none.toml"),
            "PYTHONPATH": str(REPO),
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    env.update(extra or {})
    return env


def capabilities(profile: str, encoding: str) -> types.ClientCapabilities:
    """The real client's capabilities, with the encoding under test."""
    caps = client_capabilities("visual-studio-code" if profile == "vscode" else "neovim")
    general = caps.general or types.GeneralClientCapabilities()
    general.position_encodings = [encoding]
    caps.general = general
    return caps


UNANSWERED = (
    types.WINDOW_WORK_DONE_PROGRESS_CREATE,
    types.WINDOW_SHOW_DOCUMENT,
    types.WORKSPACE_CONFIGURATION,
)


async def start_editor(
    tmp: Path, profile: str, encoding: str, options: dict[str, Any], *, answers: bool = True
) -> Editor:
    """Starts the server and an editor connected to it.

    `answers=False`: the editor never answers the server's progress, showDocument and
    configuration requests (as lsp-mode 8.0 drops them; docs/clients.md).
    """
    client = make_test_lsp_client()
    editor = Editor(client, profile, encoding)
    editor.client_tmp = tmp

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return editor.apply_edit(params)

    # Like a real editor, open what the server asks to show (pytest-lsp only records it).
    client.protocol.fm.features.pop(types.WINDOW_SHOW_DOCUMENT, None)

    @client.feature(types.WINDOW_SHOW_DOCUMENT)
    def on_show_document(params: types.ShowDocumentParams) -> types.ShowDocumentResult:
        client.shown_documents.append(params)
        if editor.show_documents:
            path = Path(params.uri.removeprefix("file://"))
            editor.open_uri(params.uri, path.read_text(encoding="utf-8"), "markdown")
        return types.ShowDocumentResult(success=editor.show_documents)

    @client.feature("gptLsp/jobFinished")
    def on_finished(params: Any) -> None:
        editor.finished.append(_plain(params))

    if not answers:
        for method in UNANSWERED:
            client.protocol.fm.features.pop(method, None)

            @client.feature(method)
            async def never(params: Any) -> Any:
                # Released at shutdown (pygls cannot fail a pending handler task), bounded.
                await asyncio.wait_for(editor.release.wait(), 120)

    _fix_code_action_structuring(client)
    await client.start_io(
        sys.executable,
        "-m",
        "gpt_lsp",
        "--debug",  # resource counts in gptLsp.status, for the leak tests
        *os.environ.get("GPT_LSP_TEST_SERVER_ARGS", "").split(),
        env=server_env(tmp),
    )
    await asyncio.wait_for(
        client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities(profile, encoding),
                initialization_options=options,
                client_info=types.ClientInfo(name=f"test-{profile}"),
            )
        ),
        15,
    )
    return editor


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "_asdict"):  # pygls parses unknown params into namedtuples
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value


def _fix_code_action_structuring(client: LanguageClient) -> None:
    """lsprotocol reads a CodeAction with a command as a Command (docs/clients.md, pygls 6)."""
    converter = client.protocol._converter

    def structure(data: Any, _: Any) -> Any:
        if isinstance(data, dict) and ("kind" in data or isinstance(data.get("command"), dict)):
            return converter.structure(data, types.CodeAction)
        return converter.structure(data, types.Command)

    converter.register_structure_hook(types.Command | types.CodeAction, structure)
    converter.register_structure_hook(types.CodeAction | types.Command, structure)
