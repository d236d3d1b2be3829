"""The model each relay's jobs use: chosen with `gptLsp.selectModel` for the session, or kept
from an earlier session in the state dir (`models.json`, per base URL).

A choice remembers the relay's configured `model` it was made over: when the user changes that
setting afterwards, the newer setting wins; otherwise the choice does (a settings reload keeps it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_lsp.errors import RequestRefused
from gpt_lsp.paths import read_relay_file, write_relay_file

if TYPE_CHECKING:
    from gpt_lsp.relay.client import RelayClient
    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.session.arguments import SelectModelArgs
    from gpt_lsp.settings import Settings

log = logging.getLogger(__name__)

NO_LIST = "The relay lists no models (no usable GET /models): type any model name it serves."


@dataclass(frozen=True)
class Choice:
    """A chosen model, and the relay's configured model it was chosen over (None: unset)."""

    model: str
    over: str | None
    chosen_at: float = 0.0


class ModelChoices:
    """The session's chosen models (by relay name), persisted ones (by base URL), model lists."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._session: dict[str, Choice] = {}
        self._persisted: dict[str, Choice] | None = None
        self._lists: dict[tuple[str, str], list[str]] = {}

    def effective(self, settings: Settings) -> dict[str, str]:
        """Returns the chosen model of each relay whose configured model has not changed since."""
        out = {}
        persisted = self._stored()
        for name, relay in settings.relays.items():
            for choice in (self._session.get(name), persisted.get(relay.base_url)):
                if choice is not None and choice.over == relay.model:
                    out[name] = choice.model
                    break
        return out

    def choose(self, settings: Settings, name: str, model: str, *, persist: bool) -> str | None:
        """Sets a relay's model for the session (and the next ones); returns a problem, if any."""
        relay = settings.relays[name]
        choice = Choice(model, relay.model, time.time())
        self._session[name] = choice
        if not persist:
            return None
        stored = self._stored()
        stored[relay.base_url] = choice
        return self._write(stored)

    async def models(self, client: RelayClient, *, refresh: bool) -> list[str] | None:
        """Returns the relay's model list (fetched once a session, or again on refresh)."""
        from gpt_lsp.relay.billing import fetch_models

        key = (client.name, client.current_url)
        if refresh or key not in self._lists:
            found = await fetch_models(client.http, client.current_url)
            if found is None:
                self._lists.pop(key, None)
                return None
            self._lists[key] = found
        return list(self._lists[key])

    def _stored(self) -> dict[str, Choice]:
        if self._persisted is None:
            self._persisted = _read(self.path)
        return self._persisted

    def _write(self, stored: dict[str, Choice]) -> str | None:
        relays = {
            url: {"model": c.model, "over": c.over, "chosenAt": c.chosen_at}
            for url, c in stored.items()
        }
        try:
            write_relay_file(self.path, relays)
        except OSError as exc:
            log.warning("model choices %s not written: %s", self.path, exc)
            return f"The choice holds for this session only: {self.path} is not writable ({exc})."
        return None


def _read(path: Path) -> dict[str, Choice]:
    relays = read_relay_file(path)
    out = {}
    for url, entry in relays.items():
        choice = _from_json(entry)
        if choice is not None:
            out[url] = choice
    return out


def _from_json(entry: Any) -> Choice | None:
    if not isinstance(entry, dict):
        return None
    model, over, at = entry.get("model"), entry.get("over"), entry.get("chosenAt")
    if not isinstance(model, str) or not model:
        return None
    return Choice(
        model,
        over if isinstance(over, str) else None,
        float(at) if isinstance(at, (int, float)) else 0.0,
    )


def default_path(environ: Any = None) -> Path:
    """Returns the file in the user state directory."""
    from gpt_lsp.paths import state_dir

    return state_dir(environ) / "models.json"


def check_relay(settings: Settings, name: str | None) -> str:
    """Returns the relay a command names (the default when none); raises RequestRefused."""
    chosen = name or settings.default_relay_name()
    if chosen is None:
        raise RequestRefused("gptLsp.selectModel: no relay configured: set baseUrl first.")
    if chosen not in settings.relays:
        known = ", ".join(sorted(settings.relays)) or "none"
        raise RequestRefused(f"gptLsp.selectModel: unknown relay '{chosen}' (configured: {known}).")
    return chosen


async def select(
    choices: ModelChoices, settings: Settings, relays: RelayPool, args: SelectModelArgs
) -> dict[str, Any]:
    """gptLsp.selectModel: lists a relay's models, or sets the one its jobs use."""
    name = check_relay(settings, args.relay)
    if args.model is not None:
        problem = choices.choose(settings, name, args.model, persist=args.persist)
        chosen = settings.with_chosen_models(choices.effective(settings))
        answer: dict[str, Any] = {"relay": name, "current": chosen.model_for(name)}
        if problem:
            answer["message"] = problem
        return answer
    models = await choices.models(relays.get(name), refresh=args.refresh)
    answer = {"relay": name, "current": settings.model_for(name), "models": models or []}
    if not models:
        answer["message"] = NO_LIST
    return answer
