"""Chat files: a folder per workspace in the user's data directory (never in the project),
new chats written there, recent ones listed with their titles (no model call)."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gpt_lsp.chat.document import is_chat, parse, title_of
from gpt_lsp.prompting.slicing import uri_path

MAX_LISTED = 50  # chats chatList answers, newest first
HEAD_BYTES = 64 * 1024  # read of a chat file for its title
_UNSAFE = re.compile(r"[^\w.-]+")


def default_base() -> Path:
    """Returns the user's data directory for chats (XDG_DATA_HOME on Linux)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("gpt-lsp", appauthor=False)) / "chats"


def workspace_folder(base: Path, roots: Sequence[str]) -> Path:
    """Returns the folder of a workspace's chats: its name and a hash of its path (two
    projects of the same name stay apart); `_` when the client named no workspace."""
    if not roots:
        return base / "_"
    root = uri_path(roots[0]).rstrip("/") or "/"
    digest = hashlib.sha256(root.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    name = _UNSAFE.sub("-", os.path.basename(root)).strip("-") or "root"
    return base / f"{name[:40]}-{digest}"


def create(folder: Path, source: str | None, text: str) -> Path:
    """Writes a new chat file (never over another) and returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    # Only the source's base name and our own words name the file: no answer decides it.
    base = os.path.splitext(os.path.basename(uri_path(source)))[0] if source else "chat"
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{_UNSAFE.sub('-', base)[:40] or 'chat'}"
    for number in itertools.count(1):
        path = folder / (f"{stem}.md" if number == 1 else f"{stem}-{number}.md")
        try:
            with path.open("x", encoding="utf-8", newline="") as out:
                out.write(text)
            return path
        except FileExistsError:
            if number > 1000:
                raise
    raise AssertionError("unreachable")


def recent(folder: Path, limit: int = MAX_LISTED) -> list[dict[str, Any]]:
    """Returns the folder's chats, newest first: {uri, title, updated}."""
    try:
        paths = [p for p in folder.glob("*.md") if p.is_file()]
    except OSError:
        return []
    dated = sorted(((_mtime(p), p) for p in paths), reverse=True)[:limit]
    out: list[dict[str, Any]] = []
    for mtime, path in dated:
        try:
            with path.open("rb") as handle:
                head = handle.read(HEAD_BYTES).decode("utf-8", errors="replace")
        except OSError:
            continue
        lines = head.splitlines()
        if not lines or not is_chat(lines[0]):
            continue
        title = title_of(parse(lines)) or path.stem
        updated = datetime.fromtimestamp(mtime, timezone.utc).isoformat(timespec="seconds")
        out.append({"uri": path.as_uri(), "title": title, "updated": updated})
    return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
