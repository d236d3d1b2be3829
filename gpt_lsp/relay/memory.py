"""What gpt-lsp learned about each relay, kept between sessions: per base URL, in the user
state directory, with the time it was learned (a record older than `MAX_AGE_DAYS` is tried
afresh, in case the relay changed its mind)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpt_lsp.i18n import _
from gpt_lsp.paths import read_relay_file, write_relay_file

log = logging.getLogger(__name__)

MAX_AGE_DAYS = 30


@dataclass(frozen=True)
class Learned:
    """A relay's quirks as learned from its answers, and the host that answered last."""

    no_stream_options: bool = False
    max_completion_tokens: bool = False
    no_system_role: bool = False
    preferred_url: str | None = None
    model: str | None = None  # picked from the relay's list when none was configured
    # Per model: True when /completions kept `suffix` (fill-in-the-middle), False when not.
    fim: Mapping[str, bool] = field(default_factory=dict)
    learned_at: float = 0.0

    @property
    def anything(self) -> bool:
        """True when there is something to remember."""
        return (
            self.no_stream_options
            or self.max_completion_tokens
            or self.no_system_role
            or self.preferred_url is not None
            or self.model is not None
            or bool(self.fim)
        )

    def describe(self, *, picked: bool = True) -> list[str]:
        """Returns what is known, one phrase each (for `gpt-lsp check`); `picked=False` leaves
        out the model picked for the user (they named one)."""
        out = []
        if self.no_system_role:
            out.append(_("rejects the system role (its text goes into the first user message)"))
        if self.no_stream_options:
            out.append(_("rejects stream_options (usage is estimated when it sends none)"))
        if self.max_completion_tokens:
            out.append(_("wants max_completion_tokens instead of max_tokens"))
        if self.preferred_url is not None:
            out.append(_("answered last on {url}").format(url=self.preferred_url))
        if self.model is not None and picked:
            out.append(
                _("model {model} picked from its list (no model configured)").format(
                    model=self.model
                )
            )
        return out


class RelayMemory:
    """Reads and writes the learned-quirks file; a broken file is ignored (and rewritten)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def recall(self, base_url: str, now: float | None = None) -> Learned | None:
        """Returns what is known of a relay, unless it is too old."""
        entry = self._read().get(base_url)
        if not isinstance(entry, dict):
            return None
        learned = _from_json(entry)
        age = (time.time() if now is None else now) - learned.learned_at
        if age > MAX_AGE_DAYS * 86400:
            return None
        return learned

    def remember(self, base_url: str, learned: Learned) -> None:
        """Stores what was learned of a relay (the file is replaced whole, atomically)."""
        relays = self._read()
        if learned.anything:
            relays[base_url] = _to_json(learned)
        else:
            relays.pop(base_url, None)
        self._write(relays)

    def forget(self, base_url: str) -> bool:
        """Forgets a relay; True when something was known."""
        relays = self._read()
        if relays.pop(base_url, None) is None:
            return False
        self._write(relays)
        return True

    def _read(self) -> dict[str, Any]:
        return read_relay_file(self.path)

    def _write(self, relays: dict[str, Any]) -> None:
        try:
            write_relay_file(self.path, relays)
        except OSError as exc:
            log.warning("relay memory %s not written: %s", self.path, exc)


def _to_json(learned: Learned) -> dict[str, Any]:
    return {
        "noStreamOptions": learned.no_stream_options,
        "maxCompletionTokens": learned.max_completion_tokens,
        "noSystemRole": learned.no_system_role,
        "preferredUrl": learned.preferred_url,
        "model": learned.model,
        "fim": dict(learned.fim),
        "learnedAt": learned.learned_at,
    }


def _from_json(entry: dict[str, Any]) -> Learned:
    preferred = entry.get("preferredUrl")
    model = entry.get("model")
    at = entry.get("learnedAt")
    fim = entry.get("fim")
    return Learned(
        no_stream_options=entry.get("noStreamOptions") is True,
        max_completion_tokens=entry.get("maxCompletionTokens") is True,
        no_system_role=entry.get("noSystemRole") is True,
        preferred_url=preferred if isinstance(preferred, str) else None,
        model=model if isinstance(model, str) and model else None,
        fim={
            str(name): kept
            for name, kept in (fim.items() if isinstance(fim, dict) else ())
            if isinstance(kept, bool)
        },
        learned_at=float(at) if isinstance(at, (int, float)) else 0.0,
    )


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    """Returns the file in the user state directory."""
    from gpt_lsp.paths import state_dir

    return state_dir(environ) / "relays.json"
