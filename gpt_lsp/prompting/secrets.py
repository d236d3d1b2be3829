"""Pure: mask obvious secrets before text leaves the machine, and put them back in answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Obvious secrets only: false positives would corrupt code the model is asked to edit.
_PATTERNS = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
    r"|\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{36,}\b"
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}\b"
)
_PLACEHOLDER = "GPT_LSP_SECRET_{}"
_SHOWN = "[secret]"
_PLACEHOLDER_RE = re.compile(r"GPT_LSP_SECRET_(\d+)")
_PREFIX = "GPT_LSP_SECRET_"


def conceal(text: str) -> str:
    """Returns text for display (a code action's or a job's title) with each secret hidden."""
    return _PATTERNS.sub(_SHOWN, text)


@dataclass
class SecretMask:
    """The secrets masked in one request, for putting them back into the answer."""

    originals: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Returns how many secrets were masked."""
        return len(self.originals)

    def mask(self, text: str) -> str:
        """Replaces each obvious secret with a numbered placeholder."""

        def replace(match: re.Match[str]) -> str:
            secret = match.group(0)
            if secret not in self.originals:
                self.originals.append(secret)
            return _PLACEHOLDER.format(self.originals.index(secret) + 1)

        return _PATTERNS.sub(replace, text)

    def unmask(self, text: str) -> str:
        """Puts the secrets back in place of their placeholders."""

        def replace(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            return self.originals[index] if 0 <= index < len(self.originals) else match.group(0)

        return _PLACEHOLDER_RE.sub(replace, text)


class StreamUnmasker:
    """Unmasks a streamed answer: holds back what may be the start of a placeholder."""

    def __init__(self, mask: SecretMask) -> None:
        self._mask = mask
        self._held = ""

    def feed(self, delta: str) -> str:
        """Returns the text that is safe to pass on."""
        if not self._mask.originals:
            return delta
        text = self._held + delta
        cut = _safe_cut(text)
        self._held = text[cut:]
        return self._mask.unmask(text[:cut])

    def finish(self) -> str:
        """Returns what is still held."""
        text, self._held = self._held, ""
        return self._mask.unmask(text)


def _safe_cut(text: str) -> int:
    """Returns how much of `text` cannot be part of a placeholder still being written."""
    start = text.rfind("G")
    while start >= 0:
        tail = text[start:]
        if _PREFIX.startswith(tail) or (
            tail.startswith(_PREFIX) and tail[len(_PREFIX) :].isdigit()
        ):
            return start
        start = text.rfind("G", 0, start)
    return len(text)
