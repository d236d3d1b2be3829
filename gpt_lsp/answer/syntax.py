"""Whether text parses as code in the document's language (tree-sitter), for doubtful lines.

A sentence does not parse as Python or Go; a line the shape rules are unsure of is asked here
when the document's language has a grammar. Parsing is pure CPU work (no I/O); the checks an
answer may ask for are capped in number and size, so a long answer stays linear.
"""

from __future__ import annotations

from collections.abc import Callable

from gpt_lsp.prompting.definitions import language_of
from gpt_lsp.prompting.definitions import parser_for_language as parser_for
from gpt_lsp.text.documents import TextDoc

Parses = Callable[[str], bool]

MAX_CHECKS = 32  # parses per answer
MAX_CHARS = 4000  # characters per parse


def syntax_check(doc: TextDoc) -> Parses | None:
    """Returns a check "does this parse without errors" for the document's language, or None."""
    language = language_of(doc)
    parser = parser_for(language) if language else None
    if parser is None:
        return None
    left = [MAX_CHECKS]

    def parses(text: str) -> bool:
        if left[0] <= 0 or len(text) > MAX_CHARS:
            return True  # out of budget: no opinion, the shape rules decide
        left[0] -= 1
        return not parser.parse(text.encode("utf-8")).root_node.has_error

    return parses
