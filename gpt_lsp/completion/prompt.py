"""The prompt for chat models: fill the hole between the text before and after the cursor."""

from __future__ import annotations

from gpt_lsp.completion.context import CompletionContext, Mode

HOLE = "<FILL>"

SYSTEM = (
    "You complete code inside an editor. The user shows a file with one hole marked "
    f"{HOLE}. Answer with exactly the text that belongs in the hole, nothing else: no "
    "explanation, no code fences, no repetition of the text before or after the hole. "
    "Keep the file's indentation and style. If nothing is missing, answer with nothing."
)

_SCOPE = {
    "line": "Fill the hole with the rest of the current line only (no line break).",
    "block": "Fill the hole with at most a few lines: finish the current statement or block, "
    "then stop.",
}


def build_messages(
    ctx: CompletionContext, prefix: str, suffix: str, mode: Mode, context: str = ""
) -> list[dict[str, str]]:
    """Returns the chat messages asking for the hole's text (prefix/suffix already masked);
    `context` is the block of definitions from other files (masked too)."""
    language = ctx.language or "text"
    user = (
        (f"{context}\n\n" if context else "") + f"File: {ctx.file_name} ({language})\n"
        f"<file>\n{prefix}{HOLE}{suffix}\n</file>\n"
        f"{_SCOPE[mode]} The text right before the hole is {_quote(ctx.line_before, tail=True)}; "
        f"right after it is {_quote(ctx.line_after, tail=False)}."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _quote(text: str, *, tail: bool) -> str:
    """Quotes a piece of the cursor line; a long one only by its end (tail) or start."""
    if not text.strip():
        return "nothing on this line"
    if len(text) > 60:
        text = text[-60:] if tail else text[:60]
    return repr(text)
