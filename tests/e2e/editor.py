"""A scripted editor for end-to-end tests: the real server over stdio, a pytest-lsp client
whose documents are the shared editor fake (tests/fakes/editor.py): it applies the server's
edits and reports changes exactly as the profile's editor does (VS Code, Neovim, eglot)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

from tests.fakes import editor as fake

REPO = Path(__file__).resolve().parents[2]


def offset_of(text: str, line: int, character: int, encoding: str) -> int:
    """Offset of an LSP position in text."""
    return fake.offset_of(text, (line, character), encoding)


def position_of(text: str, offset: int, encoding: str) -> types.Position:
    """LSP position of an offset in text."""
    line, character = fake.position_of(text, offset, encoding)
    return types.Position(line=line, character=character)


def _range(change: fake.Change) -> types.Range:
    (l1, c1), (l2, c2), _ = change
    return types.Range(
        start=types.Position(line=l1, character=c1), end=types.Position(line=l2, character=c2)
    )


class Editor:
    """Drives the server like an editor with one of the profiles."""

    def __init__(self, client: LanguageClient, profile: str, encoding: str) -> None:
        self.client = client
        self.profile = profile
        self.encoding = encoding
        self.docs: dict[str, fake.FakeDocument] = {}
        self.behaviour = replace(fake.PROFILES[profile], encoding=encoding)  # type: ignore[arg-type]
        self.finished: list[dict[str, Any]] = []
        self.reviews: list[dict[str, Any]] = []  # gptLsp/review notifications
        self.replied: list[dict[str, Any]] = []  # gptLsp/chatReplied notifications
        self.lens_refreshes = 0
        self.registrations: list[types.Registration] = []  # client/registerCapability
        self.edits_received = 0
        self.edits_applied = 0
        self.edits_skipped = 0
        self.before_apply: Callable[[types.ApplyWorkspaceEditParams], Any] | None = None
        self.show_documents = True
        self.closed = False
        self.client_tmp = Path("/tmp")
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
        self.docs[uri] = fake.FakeDocument(uri, text, self.behaviour, self._report)
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
        self.docs[uri].type_at(offset, inserted, removed)

    def undo_to(self, uri: str, text: str) -> None:
        """The user's undo: the document becomes `text`, reported as the editor does."""
        self.docs[uri].undo_to(text)

    def flush(self, uri: str) -> None:
        """Sends pending (debounced) changes."""
        self.docs[uri].flush()

    def _report(self, uri: str, version: int, changes: list[fake.Change]) -> None:
        if self.closed:
            return
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=_range(c), text=c[2])
                    for c in changes
                ],
            )
        )

    # ------------------------------------------------------------ the server's edits

    def apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        """Applies a workspace edit the way the profile's editor does."""
        self.edits_received += 1
        if self.before_apply is not None:
            self.before_apply(params)
        for uri, edits in (params.edit.changes or {}).items():
            self.docs[uri].apply_edit(None, [_change(e) for e in edits])
        for change in params.edit.document_changes or []:
            assert isinstance(change, types.TextDocumentEdit)
            doc = self.docs.get(change.text_document.uri)
            if doc is None:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="not open")
            skipped = doc.edits_skipped
            applied = doc.apply_edit(
                change.text_document.version, [_change(e) for e in change.edits]
            )
            if doc.edits_skipped > skipped:
                self.edits_skipped += 1
            if not applied:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="version")
            if doc.edits_skipped > skipped:
                return types.ApplyWorkspaceEditResult(applied=True)  # Neovim's behaviour
        self.edits_applied += 1
        return types.ApplyWorkspaceEditResult(applied=True)

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

    async def code_lenses(self, uri: str) -> list[types.CodeLens]:
        """Asks for a document's code lenses."""
        async with asyncio.timeout(10):
            result = await self.client.text_document_code_lens_async(
                types.CodeLensParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )
        return list(result or [])

    def review_of(self, job_id: str) -> dict[str, Any] | None:
        """The job's last gptLsp/review notification."""
        mine = [r for r in self.reviews if r["jobId"] == job_id]
        return mine[-1] if mine else None

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


def _change(edit: types.TextEdit | Any) -> fake.Change:
    rng = edit.range
    return (rng.start.line, rng.start.character), (rng.end.line, rng.end.character), edit.new_text


def server_env(tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """An isolated environment for a server process (no user config, no proxies)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GPT_LSP_", "OPENAI_"))}
    # No proxy; and the command line (`gpt-lsp usage`) in English unless a test asks.
    for key in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(key, None)
    for key in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        env.pop(key, None)
    env["LANG"] = "C.UTF-8"
    env.update(
        {
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_CACHE_HOME": str(tmp / "cache"),
            "XDG_DATA_HOME": str(tmp / "data"),  # chat documents
            "XDG_STATE_HOME": str(tmp / "state"),
            "GPT_LSP_CONFIG": os.devnull,
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
    tmp: Path,
    profile: str,
    encoding: str,
    options: dict[str, Any],
    *,
    answers: bool = True,
    locale: str | None = None,
    folders: list[Path] | None = None,
) -> Editor:
    """Starts the server and an editor connected to it (`folders`: its workspace folders).

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

    @client.feature("gptLsp/chatReplied")
    def on_replied(params: Any) -> None:
        editor.replied.append(_plain(params))

    @client.feature("gptLsp/review")
    def on_review(params: Any) -> None:
        editor.reviews.append(_plain(params))

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def on_lens_refresh(params: Any) -> None:
        editor.lens_refreshes += 1

    # Like VS Code and Neovim, take dynamic registrations (the index's watched files).
    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(params: types.RegistrationParams) -> None:
        editor.registrations += params.registrations

    @client.feature(types.CLIENT_UNREGISTER_CAPABILITY)
    def on_unregister(params: types.UnregistrationParams) -> None:
        gone = {u.id for u in params.unregisterations}
        editor.registrations = [r for r in editor.registrations if r.id not in gone]

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
                locale=locale,
                workspace_folders=[
                    types.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders or []
                ]
                or None,
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
