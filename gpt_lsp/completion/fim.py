"""Fill-in-the-middle (FIM) for completion, the pure part: which path a completion takes to a
relay and model, whether a relay's refusal means it has no FIM, and whether a first answer
shows that the relay dropped `suffix` (a model that never saw it runs on into the text after
the cursor).

A relay's FIM is not knowable from its docs (one-api passes `suffix` only when it passes the
body through): with `fim: "auto"` the first completion per relay and model tries it, and what
that answer shows is remembered with the relay's other quirks (relay/memory.py).
"""

from __future__ import annotations

from typing import Literal

from gpt_lsp.errors import (
    AuthError,
    GatewayError,
    GptLspError,
    QuotaError,
    RateLimitError,
    RelayStatusError,
)
from gpt_lsp.relay.request import FimEndpoint
from gpt_lsp.settings.models import FimSetting

Path = Literal["chat", "fim", "probe", "forced"]
"""chat: the chat prompt; fim: FIM, known served; probe: FIM, not known yet (the answer is
read to its end and judged); forced: FIM whatever happens (`fim: "completions"` or
`"fim/completions"`)."""
Verdict = Literal["kept", "ignored", "unknown"]

ANCHOR_MIN = 8  # non-blank characters of the suffix's start needed to judge an answer by
ANCHOR_MAX = 24  # ... of which this many are looked for in the answer
UNKNOWN_PROBES = 3  # inconclusive probes (the relay took `suffix`, never repeated it): served
# Statuses of a relay that has no such endpoint, or rejects its fields.
_REFUSING = frozenset({400, 404, 405, 415, 422, 501})
# Words of a relay's error naming the FIM request (an upstream's 500 through one-api too).
_NAMES_FIM = ("suffix", "prompt", "/completions", "not supported", "not implemented", "不支持")


def path(fim: FimSetting, served: bool | None) -> Path:
    """Returns how a completion asks, from the setting and what is known of the relay's model
    (None: nothing yet)."""
    if fim == "off":
        return "chat"
    if fim in ("completions", "fim/completions"):
        return "forced"
    if served is None:
        return "probe"
    return "fim" if served else "chat"


def endpoint(fim: FimSetting) -> FimEndpoint:
    """Returns where a FIM request goes: Codestral's endpoint only when the setting names it
    ("auto" tries the legacy one alone: a second probe would cost a relay without either one
    refused request more, and Codestral's own API is set up knowingly)."""
    return "fim/completions" if fim == "fim/completions" else "completions"


def refused(error: GptLspError) -> bool:
    """True when a relay's error to a FIM request says it has no FIM: no such endpoint, or a
    rejected field. A bad key, an empty quota, a rate limit or a gateway page is no answer
    about FIM (and would fail the chat prompt alike)."""
    if not isinstance(error, RelayStatusError):
        return False
    if isinstance(error, (AuthError, QuotaError, RateLimitError, GatewayError)):
        return False
    if error.status in _REFUSING:
        return True
    text = error.relay_message.lower()
    return error.status == 500 and any(word in text for word in _NAMES_FIM)


def anchor(suffix: str) -> str | None:
    """Returns the start of the text after the cursor, blanks left out, that an answer which
    ignored it would repeat; None when too little follows to tell."""
    squeezed = "".join(suffix[: ANCHOR_MAX * 8].split())[:ANCHOR_MAX]
    return squeezed if len(squeezed) >= ANCHOR_MIN else None


def repeat_at(answer: str, suffix: str) -> int | None:
    """Returns where the answer starts repeating the text after the cursor (blanks aside),
    also when it ends partway into it; None when it does not."""
    mark = anchor(suffix)
    if mark is None:
        return None
    where = [index for index, char in enumerate(answer) if not char.isspace()]
    squeezed = "".join(answer[index] for index in where)
    found = squeezed.find(mark)
    if found < 0:  # cut off while repeating it: the end of the answer is the mark's start
        found = next(
            (
                start
                for start in range(max(0, len(squeezed) - len(mark)), len(squeezed))
                if len(squeezed) - start >= ANCHOR_MIN and mark.startswith(squeezed[start:])
            ),
            -1,
        )
    return where[found] if found >= 0 else None


def verdict(answer: str, suffix: str, finish: str | None) -> Verdict:
    """Judges a FIM answer: `ignored` when it repeats the text after the cursor (the relay
    dropped `suffix`), `kept` when it ended by itself without doing so, else `unknown`."""
    if anchor(suffix) is None:
        return "unknown"
    if repeat_at(answer, suffix) is not None:
        return "ignored"
    return "kept" if finish == "stop" else "unknown"
