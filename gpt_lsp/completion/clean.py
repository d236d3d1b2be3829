"""Post-processing of a model's answer: the text to insert at the cursor, or "" for nothing.

Chat models wrap code in fences, add prose, repeat the text around the hole, run on past
the block and repeat themselves; each step below undoes one of these habits.
"""

from __future__ import annotations

import re

from gpt_lsp.completion.context import BLOCK_OPENER, CompletionContext, Mode
from gpt_lsp.completion.indent import reindent
from gpt_lsp.completion.prompt import HOLE

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {v: k for k, v in OPENERS.items()}
MAX_LINES = 30  # a suggestion longer than this is cut (maxTokens bounds it too)
_ECHO_LIMIT = 1000  # characters of prefix or suffix compared for echoes

_FENCE = re.compile(r"^[ \t]*(```|~~~)[\w+#.-]*[ \t]*$", re.M)
_TAGS = re.compile(
    re.escape(HOLE) + r"|</?(?:completion|code|file|answer|middle)>|<\|?(?:cursor|fim_\w+)\|?>",
    re.I,
)
_PROSE_LINE = re.compile(
    r"^\s*(?:here(?:'s| is| are)|sure\b|certainly\b|okay\b|the (?:missing|completion|code|text)"
    r"|this (?:completes|fills)|to (?:complete|fill)|completion:|answer:).*$",
    re.I,
)
_TRAILING_PROSE = re.compile(
    r"\n\s*\n(?:this|note|explanation|the (?:code|completion|function))\b[^\n]*$", re.I
)
_RUN = re.compile(r"(.{4,}?)\1{3,}")
_WORD = re.compile(r"\w")
_SEPARATORS = " \t([{,;=.+-*/<>!&|:"


def clean(answer: str, ctx: CompletionContext, mode: Mode) -> str:
    """Returns what to insert at the cursor ("" when the answer is empty or useless)."""
    text = answer.replace("\r\n", "\n").replace("\r", "\n")
    text = unwrap(text, ctx.language)
    text = strip_prefix_echo(text, ctx.prefix)
    text = fix_indent(text, ctx)
    text = text.split("\n", 1)[0] if mode == "line" else cut_block(text, ctx)
    text = cut_repeats(text)
    text = strip_suffix_echo(text, ctx.suffix)
    text = cut_at_context_closer(text, ctx.line_after)
    text = "\n".join(line.rstrip() for line in text.split("\n")).rstrip("\n")
    if mode == "line" and ctx.line_after.strip():
        text = text.rstrip()
    if not text.strip() or _only_closers_already_there(text, ctx.suffix):
        return ""
    return text.replace("\n", ctx.eol) if ctx.eol != "\n" else text


def unwrap(text: str, language: str = "") -> str:
    """Takes the code out of fences and tags, dropping prose around it."""
    text = _TAGS.sub("", text)
    if language != "markdown":
        fences = list(_FENCE.finditer(text))
        if fences:
            start = fences[0].end()
            end = fences[1].start() if len(fences) > 1 else len(text)
            text = text[start:end]
            text = text[1:] if text.startswith("\n") else text
            text = text[:-1] if text.endswith("\n") else text
    lines = text.split("\n")
    if len(lines) > 1 and _PROSE_LINE.match(lines[0]) and lines[0].rstrip().endswith(":"):
        text = "\n".join(lines[1:]).lstrip("\n")
    return _TRAILING_PROSE.sub("", text)


def strip_prefix_echo(text: str, prefix: str) -> str:
    """Drops the start of the answer when it repeats the end of the text before the cursor:
    the whole cursor line (and lines before it), or the word the cursor is in."""
    content = prefix.rsplit("\n", 1)[-1].lstrip(" \t")
    limit = min(len(text), len(prefix), _ECHO_LIMIT)
    for k in range(limit, 0, -1):
        piece = text[:k]
        if not piece.strip() or not prefix.endswith(piece):
            continue
        start = len(prefix) - k
        line_start = prefix.rfind("\n", 0, start) + 1
        if k >= len(content) and not prefix[line_start:start].strip():
            return text[k:]
        before = prefix[start - 1] if start else "\n"
        word = k >= 2 and "\n" not in piece and _WORD.match(piece[0]) is not None
        if word and before in _SEPARATORS:
            return text[k:]
    return text


def fix_indent(text: str, ctx: CompletionContext) -> str:
    """Fits the answer's indentation to the cursor: no repeat of the indentation before it,
    later lines placed relative to the first in the file's indentation (`indent.reindent`),
    and a body written after a block opener put on the next line."""
    line = ctx.line_before
    if line.strip():
        if BLOCK_OPENER.search(line) and text[:1] in (" ", "\t"):
            return "\n" + text
        return text
    if not line:
        return text
    return reindent(text, line, ctx.prefix, ctx.suffix)


def cut_block(text: str, ctx: CompletionContext) -> str:
    """Stops at the end of the enclosing block, or where the suffix's next line comes back."""
    lines = text.split("\n")[:MAX_LINES]
    opener = BLOCK_OPENER.search(ctx.line_before) is not None
    base = _indent(ctx.line_before if opener else ctx.indent)
    following = _next_line(ctx.suffix)
    kept: list[str] = []
    for number, line in enumerate(lines):
        stripped = line.strip()
        if (number or not ctx.line_before.strip()) and following and stripped == following:
            break
        if number and stripped:
            indent = _indent(line)
            if opener and indent <= base:
                if _closers_only(stripped):
                    kept.append(line)
                break
            if not opener and indent < base:
                break
        kept.append(line)
    return "\n".join(kept)


def cut_repeats(text: str) -> str:
    """Cuts runaway repetition: a group of lines three times over, or a piece of a line
    four times over, is kept once."""
    lines = text.split("\n")
    bare = [line.strip() for line in lines]
    for start in range(len(lines)):
        for size in (1, 2, 3):
            group = bare[start : start + size]
            if len(group) < size or not "".join(group):
                continue
            if (
                bare[start + size : start + 2 * size]
                == group
                == bare[start + 2 * size : start + 3 * size]
            ):
                lines = lines[: start + size]
                bare = bare[: start + size]
                break
    out = []
    for line in lines:
        indent = line[: len(line) - len(line.lstrip())]  # indentation is no repetition
        body = line[len(indent) :]
        match = _RUN.search(body)
        out.append(indent + (body[: match.start() + len(match.group(1))] if match else body))
    return "\n".join(out)


def strip_suffix_echo(text: str, suffix: str) -> str:
    """Drops the end of the answer when it repeats the start of the text after the cursor,
    unless that would remove a bracket closing one the answer opened."""
    suffix = suffix[:_ECHO_LIMIT]
    for k in range(min(len(text), len(suffix)), 0, -1):
        piece = text[len(text) - k :]
        if not piece.strip() or not suffix.startswith(piece):
            continue
        kept = text[: len(text) - k]
        if kept and _WORD.match(kept[-1]) and _WORD.match(piece[0]):
            continue  # would split a word: "ba" + "r)" is no echo of "r)"
        if any(c in CLOSERS for c in piece) and _open_inside(kept):
            continue
        return kept
    return text


def cut_at_context_closer(text: str, line_after: str) -> str:
    """Cuts the answer at a bracket that closes the context's when the line already does."""
    rest = line_after.lstrip()
    if not rest or rest[0] not in CLOSERS:
        return text
    depth: list[str] = []
    for index, char in enumerate(text):
        if char in OPENERS:
            depth.append(char)
        elif char in CLOSERS:
            if depth and depth[-1] == CLOSERS[char]:
                depth.pop()
            elif not depth and char == rest[0]:
                return text[:index]
    return text


def _open_inside(text: str) -> bool:
    """True when the text leaves a bracket of its own open."""
    depth: list[str] = []
    for char in text:
        if char in OPENERS:
            depth.append(char)
        elif char in CLOSERS and depth and depth[-1] == CLOSERS[char]:
            depth.pop()
    return bool(depth)


def _only_closers_already_there(text: str, suffix: str) -> bool:
    stripped = text.strip()
    return _closers_only(stripped) and suffix.lstrip().startswith(stripped)


def _closers_only(text: str) -> bool:
    return bool(text) and all(c in CLOSERS or c in " ;," for c in text)


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip(" "))


def _next_line(suffix: str) -> str:
    """Returns the first non-blank line after the cursor's line."""
    for line in suffix.split("\n")[1:6]:
        if line.strip():
            return line.strip()
    return ""


def settled(answer: str, ctx: CompletionContext, mode: Mode) -> bool:
    """True when more text could no longer change the suggestion: the stream may stop."""
    text = clean(answer, ctx, mode)
    # Probes: more text on the last line, at its start and indented deeper than anything.
    probes = ("\x00x", " " * 32 + "\x00x")
    return text != "" and all(clean(answer + probe, ctx, mode) == text for probe in probes)
