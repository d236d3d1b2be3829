"""Indentation of code lines: measured, and what to add to match the original (pure)."""

from __future__ import annotations

import re

ANY_BREAK = re.compile(r"\r\n|\r|\n")


def leading_ws(line: str) -> str:
    """Returns the line's leading spaces and tabs."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def first_indent(original: str) -> str:
    """Returns the indentation of the first non-blank line."""
    for line in ANY_BREAK.split(original):
        if line.strip():
            return leading_ws(line)
    return ""


def _width(ws: str, tab_size: int) -> int:
    col = 0
    for ch in ws:
        col = (col // tab_size + 1) * tab_size if ch == "\t" else col + 1
    return col


def indent_delta(base: str, first: str, tab_size: int) -> str:
    """Returns what to prepend to code lines whose first line is indented by `first`."""
    if not first:
        return base
    missing = _width(base, tab_size) - _width(first, tab_size)
    if missing <= 0:
        return ""
    if "\t" in base:
        return "\t" * (missing // tab_size) + " " * (missing % tab_size)
    return " " * missing
