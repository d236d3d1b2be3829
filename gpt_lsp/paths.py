"""Where gpt-lsp keeps its files: the user's state directory (learned relay quirks, the usage
ledger), `GPT_LSP_STATE_DIR` when set."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the state directory (not created here)."""
    env = os.environ if environ is None else environ
    named = env.get("GPT_LSP_STATE_DIR")
    if named:
        return Path(named).expanduser()
    import platformdirs

    return Path(platformdirs.user_state_dir("gpt-lsp", appauthor=False))
