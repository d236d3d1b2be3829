"""The workspace index: built in a background thread; excluded, ignored, binary, oversized and
tool files are never opened (every open of the process is counted by an audit hook)."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpt_lsp.context.files import SNIFF, Limits, read_source
from gpt_lsp.context.gather import Budgets
from gpt_lsp.context.index import WorkspaceIndex
from gpt_lsp.context.indexer import Indexer
from gpt_lsp.context.service import ContextService
from gpt_lsp.settings import DEFAULT_EXCLUDE, Settings
from gpt_lsp.text.documents import TextDoc

_OPENED: list[str] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """Every path the process opens while the test runs."""
    global _OPENED
    _OPENED = []
    try:
        yield _OPENED
    finally:
        _OPENED = None


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    outside = tmp_path / "outside"
    _write(outside, {"far.py": "def far():\n    pass\n"})
    _write(
        root,
        {
            "src/app.py": "from src.lib import helper\n\ndef main():\n    return helper()\n",
            "src/lib.py": 'def helper():\n    """Helps."""\n    return 1\n',
            "web/view.ts": "export function render(x: number): string {\n  return '';\n}\n",
            "bank/money.go": "package bank\n\ntype Cents int64\n",
            "AGENTS.md": "Use tabs.\n",
            ".gitignore": "ignored_dir/\n*.gen.py\n!keep.gen.py\n",
            "ignored_dir/x.py": "def ignored_x():\n    pass\n",
            "y.gen.py": "def ignored_y():\n    pass\n",
            "keep.gen.py": "def kept():\n    pass\n",
            "sub/.gitignore": "local.py\n",
            "sub/local.py": "def ignored_local():\n    pass\n",
            "sub/other.py": "def other():\n    pass\n",
            "config_secret.py": "KEY = 1\n",  # the built-in *secret* exclude
            "gen/made.py": "def made():\n    pass\n",  # the user's exclude
            "node_modules/lib/index.js": "function dep() {}\n",
            "image.png": b"\x89PNG\r\n\x1a\n\0\0\0",
            "fake.py": b"def x():\0\0\0binary",
            "huge.py": "x = 1\n" * 50_000,  # 300 KB, over maxFileKb 256
        },
    )
    (root / "link").symlink_to(outside, target_is_directory=True)
    return root


NEVER_OPENED = (
    "ignored_dir/x.py",
    "y.gen.py",
    "sub/local.py",
    "config_secret.py",
    "gen/made.py",
    "node_modules/lib/index.js",
    "image.png",
    "huge.py",
    "link/far.py",
)


def _inside(paths: list[str], root: Path) -> set[str]:
    return {os.path.relpath(p, root) for p in paths if p.startswith(str(root))}


def _settings() -> Settings:
    return Settings(exclude=["*/gen/*"])


async def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_the_index_reads_only_what_it_may(workspace: Path, opened: list[str]) -> None:
    service = ContextService(list, _settings)
    service.start([workspace.as_uri()])
    assert service.indexer is not None
    await _until(lambda: service.status()["state"] == "ready", "the scan")
    service.close()
    names = {entry.path for entry in service.index.files.values()}
    assert names == {
        "src/app.py",
        "src/lib.py",
        "web/view.ts",
        "bank/money.go",
        "keep.gen.py",
        "sub/other.py",
    }
    read = _inside(opened, workspace)
    assert not read & set(NEVER_OPENED), read & set(NEVER_OPENED)
    assert "fake.py" in read  # opened, its first bytes found binary (a NUL), and left out
    assert {"src/lib.py", "AGENTS.md", ".gitignore", "sub/.gitignore"} <= read
    status = service.status()
    assert status["files"] == 6 and status["symbols"] >= 6 and status["updated"]


class _Counted(io.BytesIO):
    """A file's bytes, counting how many were read."""

    count = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.count += len(data)
        return data


def test_a_binary_file_is_dropped_after_its_first_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the first bytes of a file with a NUL are read, not the whole (up to maxFileKb)."""
    contents = {
        "binary.py": b"def x():\0" + b"y" * 200_000,
        "late_nul.py": b"y" * SNIFF + b"\0",  # a NUL past the sniffed bytes: text
        "source.py": b"x = 1\n" * 2_000,
        "huge.py": b"x = 1\n" * 50_000,
    }
    handles: dict[str, _Counted] = {}

    def open_(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> io.BytesIO:
        handles[path.name] = _Counted(contents[path.name])
        return handles[path.name]

    monkeypatch.setattr(Path, "open", open_)
    limit = 256 * 1024
    assert read_source(tmp_path / "binary.py", limit) is None
    assert handles["binary.py"].count <= SNIFF
    assert read_source(tmp_path / "late_nul.py", limit) == contents["late_nul.py"]
    assert read_source(tmp_path / "source.py", limit) == contents["source.py"]
    assert read_source(tmp_path / "huge.py", limit) is None
    assert handles["huge.py"].count == limit + 1


async def test_saves_and_watched_files_keep_it_current(workspace: Path, opened: list[str]) -> None:
    service = ContextService(list, _settings)
    service.start([workspace.as_uri()])
    await _until(lambda: service.status()["state"] == "ready", "the scan")
    new = workspace / "src" / "new.py"
    new.write_text("def fresh():\n    pass\n")
    service.watched([(new.as_uri(), 1)])
    await _until(
        lambda: any(f.symbol.name == "fresh" for f in service.index.lookup("fresh")), "fresh"
    )
    (workspace / "src" / "lib.py").write_text("def renamed():\n    pass\n")
    service.saved((workspace / "src" / "lib.py").as_uri())
    await _until(lambda: not list(service.index.lookup("helper")), "helper gone")
    service.watched([(new.as_uri(), 3)])
    assert not list(service.index.lookup("fresh"))
    ignored = workspace / "sub" / "local.py"
    opened.clear()
    service.saved(ignored.as_uri())
    service.saved((workspace / "huge.py").as_uri())
    service.saved((workspace / "src" / "app.py").as_uri())  # a marker that the queue ran
    before = service.index.files[(workspace / "src" / "app.py").as_uri()]
    await _until(lambda: service.index.files.get(before.uri) is not before, "app.py re-read")
    service.close()
    assert not [p for p in opened if p.endswith(("local.py", "huge.py"))]
    assert (workspace / "sub" / "local.py").as_uri() not in service.index.files


async def test_a_definition_from_an_unopened_file_reaches_the_context(workspace: Path) -> None:
    service = ContextService(list, _settings)
    service.start([workspace.as_uri()])
    await _until(lambda: service.status()["state"] == "ready", "the scan")
    service.close()
    app = workspace / "src" / "app.py"
    doc = TextDoc(app.as_uri(), app.read_text(), 1, "python")
    pack = service.gather_for(
        doc, (2, 3), "def main():\n    return helper()\n", Budgets(500, 0, 0, 200)
    )
    assert [(p.source, p.label) for p in pack.pieces] == [
        ("instructions", "AGENTS.md"),
        ("definition", "src/lib.py"),
    ]
    assert '"""Helps."""' in pack.render()
    # An exclude added later hides what the index already holds.
    hidden = ContextService(list, lambda: Settings(exclude=["*/lib.py", "AGENTS.md"]))
    hidden.index, hidden.indexer, hidden.folders = service.index, service.indexer, service.folders
    assert hidden.gather_for(doc, (2, 3), "helper()", Budgets(500, 0, 0, 200)).pieces == ()


def test_the_index_is_a_map_by_name() -> None:
    index = WorkspaceIndex()
    assert list(index.lookup("x")) == [] and len(index) == 0
    indexer = Indexer(index, lambda callback: callback(), Limits(DEFAULT_EXCLUDE))
    indexer.deleted("file:///nothing.py")  # nothing to drop: no error
    assert index.updated is None


async def test_a_completion_gets_a_small_budget_and_parses_nothing(workspace: Path) -> None:
    service = ContextService(list, _settings)
    service.start([workspace.as_uri()])
    await _until(lambda: service.status()["state"] == "ready", "the scan")
    service.close()
    app = workspace / "src" / "app.py"
    doc = TextDoc(app.as_uri(), app.read_text() + "x = helper(", 2, "python")
    pack = service.for_completion(doc, 4, (0, 4), 150)
    assert [(p.source, p.label, p.title) for p in pack.pieces] == [
        ("definition", "src/lib.py", "helper")
    ]
    assert pack.tokens <= 150
    assert doc.uri not in service._parsed  # nothing parsed while the user types
    assert service.for_completion(doc, 4, (0, 4), 0).pieces == ()
