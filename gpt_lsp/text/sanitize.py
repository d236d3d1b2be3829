"""Make text from a relay safe to show: no terminal escapes, no control or bidi characters.

A relay's words reach terminals (`gpt-lsp check`), logs and editor messages. There an ANSI or
OSC sequence could recolour, retitle or rewrite the screen, a carriage return overwrite what
came before, and bidi controls make text read differently from what it is (CVE-2021-42574).
"""

from __future__ import annotations

import re

# ESC-introduced sequences (ECMA-48): CSI "ESC [" params final; OSC/DCS/SOS/PM/APC strings up
# to BEL or ST; any other ESC plus one character. Their 8-bit C1 forms (0x9b CSI, 0x9d OSC...).
_ESCAPES = re.compile(
    r"""
    (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?          # CSI, the final byte may be cut off
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])     # OSC, DCS, SOS, PM, APC ...
      [^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?    # ... up to BEL or ST (or the end)
    | \x1b[ -/]*[0-~]?                         # any other escape sequence
    """,
    re.VERBOSE,
)
# Line and paragraph breaks, tabs: a space, so words stay apart on the one line.
_BREAKS = re.compile(r" *[\t\n\v\f\r\x1c-\x1e\x85\u2028\u2029]+ *")
# The rest of C0 and C1, DEL, and the bidi controls (embeddings, overrides, isolates, marks).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str, *, limit: int | None = None) -> str:
    """Returns text as one plain line: escapes and controls removed, breaks made spaces."""
    text = _ESCAPES.sub("", text)
    text = _BREAKS.sub(" ", text)
    text = _CONTROLS.sub("", text)
    text = text.strip()
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 3)].rstrip() + "..."
    return text
