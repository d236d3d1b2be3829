"""How one line of a model's answer reads: a fence, prose or code; and its indentation (pure)."""

from __future__ import annotations

import re
from enum import Enum

BREAK_CHAR = re.compile(r"[\r\n]")
ANY_BREAK = re.compile(r"\r\n|\r|\n")
_OPEN_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")
BARE_FENCE = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*")

# Characters that prose before code hardly ever contains but code usually does.
CODE_CHARS = re.compile(r"[()\[\]{}<>=+/\\|&^%$#@;_]")
_CJK = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]"
)
_PHRASE = re.compile(
    r"(?:here(?:'s|’s|\s+is\b|\s+are\b)|sure\b|certainly\b|of\s+course\b|okay\b"
    r"|below\s+(?:is|are)\b|the\s+following\b|this\s+is\b|i(?:'ve|’ve|\s+have)\b"
    r"|以下|这是|下面|好的|当然)",
    re.IGNORECASE,
)
# Literal forms of _PHRASE, to tell whether a line's beginning may still grow into one.
_PHRASE_STARTS = (
    "here's", "here’s", "here is", "here are", "sure", "certainly", "of course", "okay",
    "below is", "below are", "the following", "this is", "i've", "i’ve", "i have",
    "以下", "这是", "下面", "好的", "当然",
)  # fmt: skip
# How much of a held first line is looked at again on every delta: enough for any phrase.
PHRASE_HEAD = 32
# First words that make a sentence-like line code ("for item in items:", "else:").
_KEYWORD_TEXT = """def class if elif else for while try except finally with return import from async
    await match case switch default public private protected static fn func function let
    const var struct enum impl interface type package namespace module use begin end do then
    when unless select insert update delete create echo export local pub mod trait where
    yield raise throw assert print printf puts go defer"""
_KEYWORDS = frozenset(_KEYWORD_TEXT.split())


class LineKind(Enum):
    CODE = 0
    WEAK = 1  # maybe prose ("Code:", four plain words): held, but never dropped on a guess
    STRONG = 2  # clearly prose ("Here is ...", "The function now caches results.")
    BLANK = 3


def leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def first_indent(original: str) -> str:
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


def opening_fence(line: str) -> tuple[str, int, bool] | None:
    """Returns (fence char, fence length, has an info string) when `line` opens a fence."""
    m = _OPEN_FENCE.fullmatch(line)
    if m is None:
        return None
    run, info = m.group(1), m.group(2).strip()
    if run[0] == "`" and "`" in info:
        return None  # ```a``` is inline code, not a fence (CommonMark)
    return run[0], len(run), bool(info)


def unbold(s: str) -> str:
    return s.strip("*").strip() if s.startswith("**") else s


def phrase_possible(head: str) -> bool:
    """Returns whether a line starting with `head` may turn out to open with a prose phrase."""
    p = " ".join(head.split()).lower()
    return bool(_PHRASE.match(p)) or any(ph.startswith(p) for ph in _PHRASE_STARTS)


def classify_line(line: str) -> LineKind:
    """Returns whether a complete line is code or prose (and how sure we are)."""
    s = unbold(line.strip())
    if not s:
        return LineKind.BLANK if not line.strip() else LineKind.CODE
    if _PHRASE.match(s):
        return LineKind.STRONG
    # A leading "*" or "-" is a comment continuation or a list item: keep it as code.
    if CODE_CHARS.search(s) or s[0] in "*-":
        return LineKind.CODE
    words = s.split()
    if words[0] in _KEYWORDS:
        return LineKind.CODE
    cjk = _CJK.search(s) is not None
    if s[-1] in ":：":
        return LineKind.STRONG if cjk or len(words) >= 2 else LineKind.WEAK
    if s[-1] in ".。!！?？":
        return LineKind.STRONG if cjk or len(words) >= 2 else LineKind.WEAK
    return LineKind.WEAK if cjk or len(words) >= 4 else LineKind.CODE
