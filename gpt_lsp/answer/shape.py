"""Whether a line of an answer reads as prose or as code, from its shape (pure).

Prose is told by sentence shape: words and spaces, few code marks, a capital or a CJK start,
and an ending in `:` `.` `!` `?` (or their full-width forms); or an opening phrase such as
"Here is" or "以下". Parentheses alone do not make code: sentences have them too.
"""

from __future__ import annotations

import re
from enum import Enum

_CJK = re.compile(
    r"[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]"
)
_PHRASE = re.compile(
    r"(?:here(?:'s|’s|\s+is\b|\s+are\b)|sure\b|certainly\b|of\s+course\b|okay\b"
    r"|below\s+(?:is|are)\b|the\s+following\b|this\s+is\b|i(?:'ve|’ve|\s+have)\b"
    r"|i'm\s+sorry\b|sorry\b|unfortunately\b|i\s+(?:can(?:not|'t|’t)|am\s+unable)\b"
    r"|以下|这是|下面|好的|当然|抱歉|对不起)",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_][^\W_]*(?:['’-][^\W\d_]+)*")
# What code has and sentences rarely do: calls, operators, brackets, statement ends, paths.
_CODE_MARK = re.compile(
    r"[^\W\d]\(|[=;{}<>|&^%$@\\\[\]]|->|::|[^\W\d]\.[^\W\d]|\b[a-z]+_[a-z]|\b[a-z]+[A-Z]\w*|\""
)
# A quoted phrase, or an unclosed quote to the line's end (an answer cut off mid-quote).
_QUOTED = re.compile(r'"[^"]*(?:"|$)')
# A sentence ending inside a line, the next one starting: "the file. Since you".
_BOUNDARY = re.compile(r"[^\W\d_]{2}[.!?]['\")”’]*\s+['\"(“‘]*[A-Z]")
_ENDS = ".:!?。：！？…"
_STOPS = ".!?。！？"
_KEY = re.compile(r"[\w.-]+:\s")  # "description: Adds two numbers." is YAML
_KEYWORD_TEXT = """def class if elif else for while try except finally with return import from async
    await match case switch default public private protected static fn func function let
    const var struct enum impl interface type package namespace module use begin end do then
    when unless select insert update delete create echo export local pub mod trait where
    yield raise throw assert print printf puts go defer"""
KEYWORDS = frozenset(_KEYWORD_TEXT.split())
_PROSE_LANGUAGES = frozenset(
    ("markdown", "plaintext", "text", "restructuredtext", "rst", "asciidoc", "org", "latex")
)
_PROSE_SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".adoc", ".org", ".tex", ".mdx")


# How code lines start and sentences do not: a statement keyword in the form code gives it
# ("return x + 1", "let x =", "def f("; not "return the sum", "let me explain"), an
# assignment, a call, a comment, a decorator or a closing bracket. Anchored at the start and
# open at the end (no `$`), so that a match on a line's beginning is a match on the whole line:
# it lets a line stream before it ends. Other code lines wait for their end.
_CODE_START = re.compile(
    r"[ \t]*(?:"
    r"(?:def|class|struct|enum|interface|namespace|fn|trait|impl|mod)[ \t]+[\w<]"
    r"|(?:async[ \t]+)?function\b[ \t]*\*?[ \t]*[\w$]*[ \t]*\("
    r"|func[ \t]+[\w(]|package[ \t]+[\w.]+[ \t]*;|import[ \t]+(?:[\w.]+[ \t]*[;,]|[{*\"'(])"
    r"|from[ \t]+[\w.]+[ \t]+import\b|(?:const|let|var|local)[ \t]+[\w$]+[ \t]*[=:;,]"
    r"|(?:pub|export)[ \t]+(?:default|const|fn|struct|enum|mod|use|trait|impl|type|class|let"
    r"|function|interface|\{)\b|(?:public|private|protected|static)[ \t]+\w+[ \t]+\w"
    r"|(?:if|for|while|switch|catch)[ \t]*\(|(?:else|try|finally)[ \t]*[:{]|elif[ \t]"
    r"|return(?:[ \t]*;|[ \t]+[\w.]+[ \t]*[-+*/%<>=!&|,.(\[;]|[ \t]*[(\"'\[{\d-])"
    r"|[^\W\d][\w.]*(?:\[[^\]]*\])?[ \t]*(?:[-+*/%|&^]?=(?!=)|:=|\+\+|--)"
    r"|[^\W\d][\w.]*\("
    r"|[@#]|//|/\*|--|[}\])]"
    r")"
)


class LineKind(Enum):
    """How a complete line reads."""

    CODE = 0
    WEAK = 1  # maybe prose ("Code:", four plain words): held, but never dropped on a guess
    STRONG = 2  # clearly prose ("Here is ...", "The function now caches results.")
    BLANK = 3


def unbold(s: str) -> str:
    """Returns a "**bold**" line's text."""
    return s.strip("*").strip() if s.startswith("**") else s


def classify(line: str, *, prose_document: bool = False) -> LineKind:
    """Returns whether a complete line is code or prose (and how sure that is).

    In a prose document (Markdown, plain text) only an opening phrase marks a line as the
    model's own words: everything else may be the document's text.
    """
    s = unbold(line.strip())
    if not s:
        return LineKind.BLANK if not line.strip() else LineKind.CODE
    if _PHRASE.match(s):
        return LineKind.STRONG
    # Comments, list items and quotes: code (or the document's own text).
    if prose_document or s[0] in "*-#/;>'\"":
        return LineKind.CODE
    words = _WORD.findall(s)
    n = len(words)
    marks = len(_CODE_MARK.findall(s))
    first = words[0].lower() if words else ""
    # A statement never ends in a full stop: "let me explain what changed." is a sentence.
    stop = s[-1] in _STOPS and n >= 4 and marks == 0 and not _KEY.match(s)
    if stop:
        return LineKind.STRONG
    if '"' in s and _quoted_sentences(s, before_keywords=True):
        return LineKind.STRONG
    if n == 0 or (first in KEYWORDS and (marks or n <= 3 or not s[0].isupper())):
        return LineKind.CODE
    if '"' in s and _quoted_sentences(s, before_keywords=False):
        return LineKind.STRONG
    plain = marks * 6 <= n and not s.endswith((",", "{", "(", "[", "\\"))
    if not plain:
        return LineKind.CODE
    cjk = len(_CJK.findall(s))
    capital = s[0].isupper() or cjk > 0
    ends = s[-1] in _ENDS
    if cjk >= 2 and marks == 0:
        return LineKind.STRONG if ends or cjk >= 6 else LineKind.WEAK
    if capital and ends and n >= 2:
        return LineKind.STRONG
    if capital and n >= 6 and marks == 0:
        return LineKind.STRONG
    if ends or n >= 4:
        return LineKind.WEAK if marks == 0 else LineKind.CODE
    return LineKind.CODE


def _quoted_sentences(s: str, *, before_keywords: bool) -> bool:
    """Returns whether a line with double quotes is sentences quoting phrases: judged on its
    text outside the quotes (a quote is a code mark, but prose quotes too).

    Before the keyword rule only with a sentence ending outside the quotes ("If you write
    "x", it fails. Then..."; any case): a statement with string arguments has none. After
    it, a capital start and six words outside the quotes do.
    """
    bare = _QUOTED.sub(" ", s)
    if _CODE_MARK.search(bare) or _KEY.match(s):
        return False
    words = len(_WORD.findall(bare))
    if before_keywords:
        return words >= 8 and _BOUNDARY.search(bare) is not None
    return words >= 6 and s[0].isupper()


def starts_like_code(head: str) -> bool:
    """Returns whether a line's beginning is surely code (so it may stream before it ends)."""
    return _CODE_START.match(head) is not None


def is_prose_document(language_id: str, uri: str) -> bool:
    """Returns whether a document is prose (Markdown, plain text...), where sentences belong."""
    if language_id:
        return language_id.lower() in _PROSE_LANGUAGES
    return uri.lower().endswith(_PROSE_SUFFIXES)
