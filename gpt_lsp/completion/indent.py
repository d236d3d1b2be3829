"""A block suggestion's indentation fitted to the file (pure).

The first line is inserted at the cursor, after the indentation the line already has; later
lines must land where the block needs them. Models write blocks in their own frame: indented
as if from column 0, with the first line indented or not, in 2 or 4 spaces or tabs. Each
later line keeps its place relative to the first line, in the file's unit and tabs or spaces.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Sequence

from gpt_lsp.completion.context import BLOCK_OPENER

TAB = 4  # columns a tab counts for (the editor's setting is not known here)
_UNITS = frozenset({2, 3, 4, 8})  # indentation steps worth converting between
_CONTEXT_LINES = 40  # lines around the cursor read for the file's indentation step


def width(line: str) -> int:
    """Returns the columns a line's indentation takes."""
    column = 0
    for char in line:
        if char == " ":
            column += 1
        elif char == "\t":
            column += TAB - column % TAB
        else:
            break
    return column


def unit_of(widths: Sequence[int]) -> int | None:
    """Returns the usual step between consecutive indentations (ties: the smaller)."""
    steps = Counter(abs(b - a) for a, b in itertools.pairwise(widths) if a != b)
    if not steps:
        return None
    return min(steps, key=lambda step: (-steps[step], step))


def file_unit(prefix: str, suffix: str) -> int | None:
    """Returns the file's indentation step, from the lines around the cursor (the cursor's
    own line counts with the indentation before the cursor)."""
    before = prefix.split("\n")[-_CONTEXT_LINES:]
    after = suffix.split("\n")[1 : _CONTEXT_LINES // 2]
    lines = [line for line in before[:-1] if line.strip()] + [before[-1]]
    lines += [line for line in after if line.strip()]
    return unit_of([width(line) for line in lines])


def reindent(text: str, cursor: str, prefix: str, suffix: str) -> str:
    """Returns the answer with its first line's indentation dropped (the cursor has it) and
    later lines placed relative to the first; `cursor` is the cursor line's indentation.

    An answer already in the file's columns (its first line at the cursor's, or bare with the
    rest at the cursor's or deeper) keeps them; any other is taken as indented from its first
    line, in its own step, converted to the file's.
    """
    lines = text.split("\n")
    here, step = width(cursor), file_unit(prefix, suffix)
    first = lines[0]
    lead = width(first) if first.strip() else 0
    later = [width(line) if line.strip() else -1 for line in lines[1:]]
    shown = [column for column in later if column >= 0]
    if lead == 0:
        in_place = _bare_first(first, shown, here) and _fits(_step(lines[1:], shown), step)
    else:
        in_place = lead >= here and _fits(_step(lines, [lead, *shown]), step)
    columns: Callable[[int], int] = _same
    if in_place:
        origin = here
    else:
        columns = _converter(_step(lines, [lead, *shown]), step)
        origin = columns(lead)
    tabs = "\t" in cursor
    extra = max(0, columns(lead) - origin)
    head = _render(here + extra, tabs)
    out = [(head[len(cursor) :] if head.startswith(cursor) else " " * extra) + first.lstrip(" \t")]
    for line, column in zip(lines[1:], later, strict=True):
        if column < 0:
            out.append(line)
        else:
            out.append(_render(max(0, here + columns(column) - origin), tabs) + line.lstrip(" \t"))
    return "\n".join(out)


def _step(lines: Sequence[str], columns: Sequence[int]) -> int | None:
    """Returns an answer's indentation step: a tab when it indents with tabs only."""
    indents = [line[: len(line) - len(line.lstrip(" \t"))] for line in lines if line.strip()]
    if any(indents) and all(set(indent) <= {"\t"} for indent in indents):
        return TAB
    return unit_of(columns)


def _fits(model: int | None, step: int | None) -> bool:
    """Returns whether an answer's step is the file's (or either is unknown)."""
    return model is None or step is None or model == step or not {model, step} <= _UNITS


def _same(column: int) -> int:
    return column


def _converter(model: int | None, step: int | None) -> Callable[[int], int]:
    """Returns how the answer's columns map to the file's: whole steps of the answer's unit
    become steps of the file's (2 spaces to 4, 4 to a tab); a remainder (an alignment) stays."""
    if model is None or step is None or _fits(model, step):
        return _same  # (None checks for the type checker: _fits covers them)
    return lambda column: column // model * step + column % model


def _bare_first(first: str, later: Sequence[int], here: int) -> bool:
    """Returns whether an answer whose first line has no indentation wrote the later lines
    at the file's columns (the first line is written after the cursor's indentation): none
    is left of the cursor, and a block the first line opens is indented past it."""
    if any(column < here for column in later):
        return False
    opens = BLOCK_OPENER.search(first.rstrip()) is not None
    return not (opens and later and later[0] <= here)


def _render(column: int, tabs: bool) -> str:
    """Returns indentation of `column` columns, in tabs (then spaces) or spaces."""
    if tabs:
        return "\t" * (column // TAB) + " " * (column % TAB)
    return " " * column
