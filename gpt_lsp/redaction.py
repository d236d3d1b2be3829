"""API keys out of every message and log line, in the forms a relay echoes them.

The process remembers every key it has seen (`register_secret`); `redact` removes from text:

* a known key in any letter case, URL-encoded, or base64-encoded (standard or URL-safe, at any
  byte offset, so inside a longer encoded string too);
* any run of 8 or more characters of a known key's secret part (the key without a public
  prefix such as `sk-` or `sk-proj-`), in any letter case: what a relay that echoes a key in
  pieces or half masked (`sk-abc...****...xyz`) gives away;
* key-shaped strings of keys it never saw: `sk-...`, `Bearer ...`, `"apiKey": "..."`.

Shorter pieces stay: six characters of a key are also in ordinary words and paths (`test-0` of
`sk-test-0123...` is in `pytest-0`), and removing them garbled messages and paths.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, quote_plus

__all__ = ["MIN_PIECE", "redact", "register_secret", "secret_part"]

MIN_PIECE = 8
"""Characters of a key's secret part that are removed wherever they turn up together."""
REDACTED = "[redacted]"
_MIN_SECRET = 4

# A public prefix segment: "sk-", "proj-", "ant-", "api03-", "or-", "v1-" (letters first).
_PREFIX_SEGMENT = re.compile(r"[A-Za-z][A-Za-z0-9]{0,7}[-_]")
# Key shapes of keys never registered; a word boundary first, so `task-runner` stays.
_KEY_PATTERNS = re.compile(
    r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+[A-Za-z0-9._\-~+/=*]{6,}", re.IGNORECASE
)
# A key inside a logged settings object: "apiKey": "...", 'api_key': '...', apiKey=...
_KEY_FIELDS = re.compile(
    r"""(["']?api_?key["']?\s*[:=]\s*)(["'])(?:(?!\2).){1,500}\2""", re.IGNORECASE
)
# Every API key the process has seen; user messages and log lines are scrubbed of them.
_SECRETS: dict[str, None] = {}


def register_secret(secret: str) -> None:
    """Remembers a key so that `redact` removes it (and its forms and pieces) everywhere."""
    if secret and len(secret) >= _MIN_SECRET:
        _SECRETS[secret] = None


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Returns text without any known key (whole, encoded or in pieces) or key-shaped string."""
    lower = text.lower()
    for secret in (*secrets, *_SECRETS):
        if secret and len(secret) >= _MIN_SECRET:
            forms = _forms(secret)
            if forms.found_in(text, lower):
                text = forms.remove(text)
                lower = text.lower()
    text = _KEY_FIELDS.sub(rf"\1\2{REDACTED}\2", text)
    return _KEY_PATTERNS.sub(REDACTED, text)


def secret_part(secret: str) -> str:
    """Returns the key without its public prefix segments (`sk-`, `sk-proj-`), at least 8 long."""
    start = 0
    while match := _PREFIX_SEGMENT.match(secret, start):
        if len(secret) - match.end() < 2 * MIN_PIECE:
            break
        start = match.end()
    return secret[start:]


@dataclass(frozen=True)
class _Forms:
    """The patterns that find one key in text."""

    exact: re.Pattern[str] | None  # base64 forms: case matters
    anycase: re.Pattern[str]  # the key, URL-encoded too, in any letter case
    pieces: re.Pattern[str] | None  # any MIN_PIECE run of the secret part, any case
    part: str  # the secret part, lower case
    cores: tuple[str, ...]  # what `exact` finds
    folded: tuple[str, ...]  # what the others find, lower case: a quick test first

    def found_in(self, text: str, lower: str) -> bool:
        """True when some form of the key may be in text (plain substring tests, fast)."""
        return any(f in lower for f in self.folded) or any(c in text for c in self.cores)

    def remove(self, text: str) -> str:
        """Returns text with every form of the key replaced."""
        if self.exact is not None:
            text = self.exact.sub(REDACTED, text)
        text = self.anycase.sub(REDACTED, text)
        if self.pieces is None:
            return text
        out: list[str] = []
        at = 0
        for match in self.pieces.finditer(text):
            if match.start() < at:
                continue  # inside a run already removed
            # Extend to the whole run: the rest of the key may follow the first piece.
            end = match.end()
            offset = self.part.find(match.group().lower())
            while offset >= 0 and end < len(text):
                index = offset + end - match.start()
                if index >= len(self.part) or text[end].lower() != self.part[index]:
                    break
                end += 1
            out += [text[at : match.start()], REDACTED]
            at = end
        if not out:
            return text
        out.append(text[at:])
        return "".join(out)


@functools.lru_cache(maxsize=64)
def _forms(secret: str) -> _Forms:
    encoded = {quote(secret, safe=""), quote_plus(secret)} - {secret}
    literal = sorted({secret, *encoded}, key=len, reverse=True)
    if len(secret) < MIN_PIECE:
        # A short key is also an ordinary word: removed only where it stands alone.
        anycase = re.compile(
            r"(?<![A-Za-z0-9])(?:" + "|".join(map(re.escape, literal)) + r")(?![A-Za-z0-9])",
            re.IGNORECASE,
        )
    else:
        anycase = re.compile("|".join(map(re.escape, literal)), re.IGNORECASE)
    cores = _base64_cores(secret)
    exact = re.compile("|".join(map(re.escape, cores))) if cores else None
    part = secret_part(secret).lower()
    windows = {part[i : i + MIN_PIECE] for i in range(len(part) - MIN_PIECE + 1)}
    pieces = None
    if len(part) >= MIN_PIECE:
        pieces = re.compile("|".join(map(re.escape, sorted(windows))), re.IGNORECASE)
    folded = {form.lower() for form in literal} | windows
    return _Forms(exact, anycase, pieces, part, tuple(cores), tuple(sorted(folded)))


def _base64_cores(secret: str) -> list[str]:
    """Returns the base64 text that encodes the key at each of the three byte offsets.

    Only the characters that depend on the key alone: inside a longer encoded string (say
    `user:KEY` or a JSON object), the key's bytes start at any offset modulo three.
    """
    raw = secret.encode("utf-8")
    cores: set[str] = set()
    for pad in range(3):
        text = base64.b64encode(b"\0" * pad + raw).decode("ascii")
        first = -(-8 * pad // 6)  # the first character made of the key's bits only
        last = (8 * (pad + len(raw))) // 6
        core = text[first:last]
        if len(core) >= MIN_PIECE:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return sorted(cores, key=len, reverse=True)
