"""Where gpt-lsp keeps its files: the user's state directory (learned relay quirks, the usage
ledger, model choices), `GPT_LSP_STATE_DIR` when set; and its per-relay JSON files."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FORMAT = 1


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the state directory (not created here)."""
    env = os.environ if environ is None else environ
    named = env.get("GPT_LSP_STATE_DIR")
    if named:
        return Path(named).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("gpt-lsp", appauthor=False))


def read_relay_file(path: Path) -> dict[str, Any]:
    """Returns the per-relay entries of a state file; a missing or broken one is empty."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable (%s): starting afresh", path, exc)
        return {}
    relays = data.get("relays") if isinstance(data, dict) else None
    return dict(relays) if isinstance(relays, dict) else {}


def write_relay_file(path: Path, relays: dict[str, Any]) -> None:
    """Replaces a state file whole and atomically (two servers may write it); raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"format": FORMAT, "relays": relays}, out, indent=1, sort_keys=True)
    os.replace(name, path)
