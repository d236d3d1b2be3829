"""Which workspace files may be read for context: source files of a known language, not
excluded, not .gitignored, not in a tool's folder, not oversized, not binary.

Everything is decided from names and `stat` before a file is opened: a file that fails a check
is never read. Only .gitignore files themselves are read to know what they ignore.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from gpt_lsp.context.symbols import language_of_path
from gpt_lsp.prompting.slicing import excluded_by

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox",
        ".nox", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".next", ".cache", "dist",
        "build", "target", "out", ".idea", ".vscode", "site-packages", "bower_components",
    }
)  # fmt: skip
"""Folders of tools, dependencies and build output: never walked."""
INSTRUCTION_FILES = ("AGENTS.md", ".github/copilot-instructions.md", ".gpt-lsp/instructions.md")
"""The project's instructions, the first found in a workspace folder."""
MAX_INSTRUCTIONS_BYTES = 64 * 1024
MAX_GITIGNORE_BYTES = 256 * 1024
MAX_DIRS = 20_000  # folders walked per workspace folder at most
SNIFF = 8192  # bytes looked at for a NUL (a binary file)


@dataclass(frozen=True)
class Limits:
    """What the walk may read: exclude globs, the largest file, how many files."""

    exclude: Sequence[str] = ()
    max_bytes: int = 256 * 1024
    max_files: int = 5000


@dataclass
class Ignores:
    """The .gitignore rules met on the way down a workspace folder, by folder."""

    root: Path
    specs: dict[str, Any] = field(default_factory=dict)  # relative folder -> GitIgnoreSpec

    def load(self, folder: Path) -> None:
        """Reads a folder's .gitignore (bounded), if it has one."""
        path = folder / ".gitignore"
        try:
            if not path.is_file() or path.stat().st_size > MAX_GITIGNORE_BYTES:
                return
            lines = path.read_text("utf-8", "replace").splitlines()
        except OSError:
            return
        try:
            import pathspec

            spec = pathspec.GitIgnoreSpec.from_lines(lines)
        except Exception as exc:  # noqa: BLE001 - a broken .gitignore ignores nothing
            log.info("a .gitignore could not be read: %s", type(exc).__name__)
            return
        self.specs[_relative(folder, self.root)] = spec

    def ignored(self, path: Path, is_dir: bool) -> bool:
        """True when the nearest .gitignore rule that speaks of the path ignores it."""
        rel = _relative(path, self.root)
        verdict = False
        for folder, spec in self.specs.items():
            if folder and not (rel == folder or rel.startswith(folder + "/")):
                continue
            inner = rel[len(folder) + 1 :] if folder else rel
            name = inner + "/" if is_dir else inner
            if hasattr(spec, "check_file"):
                result = spec.check_file(name)
                if result.include is not None:
                    verdict = bool(result.include)
            elif spec.match_file(name):
                verdict = True
        return verdict


def _relative(path: Path, root: Path) -> str:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return "" if rel == "." else rel


def may_index(path: Path, size: int, limits: Limits) -> bool:
    """True for a source file of a known language, not excluded, within the size limit."""
    if language_of_path(path.name) is None or size > limits.max_bytes:
        return False
    return excluded_by(path.as_uri(), limits.exclude) is None


def walk(root: Path, limits: Limits) -> Iterator[tuple[Path, os.stat_result]]:
    """Yields the files of a workspace folder that may be indexed, with their stat: no
    symlinks followed, tool folders and ignored paths skipped, at most `max_files`."""
    ignores = Ignores(root)
    stack = [root]
    count = dirs = 0
    while stack and dirs < MAX_DIRS:
        folder = stack.pop()
        dirs += 1
        ignores.load(folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    if entry.name not in SKIP_DIRS and not ignores.ignored(path, True):
                        subfolders.append(path)
                    continue
                if not entry.is_file():
                    continue
                if language_of_path(entry.name) is None or ignores.ignored(path, False):
                    continue
                stat = entry.stat()
            except OSError:
                continue
            if may_index(path, stat.st_size, limits):
                yield path, stat
                count += 1
                if count >= limits.max_files:
                    return
        stack.extend(reversed(subfolders))


def read_source(path: Path, max_bytes: int) -> bytes | None:
    """Reads a file checked by `may_index`; None when it is binary, too large or gone."""
    try:
        with path.open("rb") as handle:
            return read_checked(handle, max_bytes)
    except OSError:
        return None


def read_checked(handle: BinaryIO, max_bytes: int) -> bytes | None:
    """Reads an open file: its first bytes alone decide it is binary (a NUL), and only then
    is the rest read, up to `max_bytes` (None beyond)."""
    head = handle.read(min(SNIFF, max_bytes + 1))
    if b"\0" in head:
        return None
    data = head + handle.read(max_bytes + 1 - len(head)) if len(head) <= max_bytes else head
    return data if len(data) <= max_bytes else None


def find_instructions(
    root: Path, exclude: Sequence[str], read: Callable[[Path], bytes | None] | None = None
) -> tuple[Path, str] | None:
    """Returns the first instructions file of a workspace folder and its text (bounded)."""
    for name in INSTRUCTION_FILES:
        path = root / name
        try:
            if not path.is_file() or excluded_by(path.as_uri(), exclude) is not None:
                continue
            size = path.stat().st_size
        except OSError:
            continue
        if size > MAX_INSTRUCTIONS_BYTES * 4:
            continue
        data = (read or (lambda p: read_source(p, MAX_INSTRUCTIONS_BYTES * 4)))(path)
        if data is None:
            continue
        return path, data.decode("utf-8", "replace")[:MAX_INSTRUCTIONS_BYTES]
    return None
