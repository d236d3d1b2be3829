"""The prompt for chat models: fill the hole between the text before and after the cursor."""

from __future__ import annotations

from gpt_lsp.completion.context import CompletionContext, Mode

HOLE = "<FILL>"

# Short: it is sent with every completion (~45 tokens; it was ~130 with a list of don'ts
# that clean.py enforces anyway: fences, repeats of the text around the hole).
SYSTEM = f"Reply with only the text that replaces {HOLE} in the file: no explanation, no fences."

_SCOPE = {
    "line": "Only the rest of the current line.",
    "block": "At most a few lines: finish the statement or block.",
}


def build_messages(
    ctx: CompletionContext, prefix: str, suffix: str, mode: Mode, context: str = ""
) -> list[dict[str, str]]:
    """Returns the chat messages asking for the hole's text (prefix/suffix already masked);
    `context` is the block of definitions from other files (masked too). The cursor line is
    in the file once (its repeat cost ~25 tokens a completion)."""
    language = ctx.language or "text"
    user = (
        f"{context}\n\n" if context else ""
    ) + f"{ctx.file_name} ({language})\n<file>\n{prefix}{HOLE}{suffix}\n</file>\n{_SCOPE[mode]}"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
