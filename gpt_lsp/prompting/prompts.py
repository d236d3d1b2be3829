"""Pure prompt building: an action, a slice of a document and an instruction -> chat messages."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Message = dict[str, str]
_PLACEHOLDER = re.compile(
    r"\{(selection|language|languageId|fileName|instruction|diagnostics|before|after|context)\}"
)

# Names of LSP language ids as people write them.
_LANGUAGE_NAMES = {
    "python": "Python",
    "javascript": "JavaScript",
    "javascriptreact": "JavaScript (React)",
    "typescript": "TypeScript",
    "typescriptreact": "TypeScript (React)",
    "go": "Go",
    "rust": "Rust",
    "c": "C",
    "cpp": "C++",
    "csharp": "C#",
    "java": "Java",
    "kotlin": "Kotlin",
    "lua": "Lua",
    "ruby": "Ruby",
    "php": "PHP",
    "shellscript": "shell script",
    "sh": "shell script",
    "bash": "Bash",
    "sql": "SQL",
    "html": "HTML",
    "css": "CSS",
    "markdown": "Markdown",
    "elisp": "Emacs Lisp",
    "emacs-lisp": "Emacs Lisp",
    "vim": "Vim script",
    "yaml": "YAML",
    "toml": "TOML",
    "json": "JSON",
}

_PROSE_LANGUAGES = {
    "zh": "Simplified Chinese",
    "zh-cn": "Simplified Chinese",
    "zh-hans": "Simplified Chinese",
    "zh-tw": "Traditional Chinese",
    "zh-hant": "Traditional Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "ru": "Russian",
}


@dataclass(frozen=True)
class PromptContext:
    """Everything a prompt may use, cut from the document by the caller."""

    language_id: str
    file_name: str
    selection: str
    before: str = ""
    after: str = ""
    diagnostics: Sequence[str] = field(default_factory=tuple)
    instruction: str = ""
    prose_language: str | None = None
    context: str = ""  # context from other places (gpt_lsp.context), rendered and masked


@dataclass(frozen=True)
class ContextWindow:
    """Text around a range, within a character budget, cut at line boundaries."""

    before: str
    after: str
    truncated: bool


def language_name(language_id: str) -> str:
    """Returns a readable language name for an LSP language id."""
    return _LANGUAGE_NAMES.get(language_id.lower(), language_id or "plain text")


def prose_language_name(tag: str | None) -> str | None:
    """Returns the language to write prose in, from a tag such as zh-CN."""
    if not tag:
        return None
    return _PROSE_LANGUAGES.get(tag.lower(), _PROSE_LANGUAGES.get(tag.lower()[:2], tag))


def context_window(before_text: str, after_text: str, budget: int) -> ContextWindow:
    """Returns at most `budget` characters around a range, centred on it; a short side's
    unused share goes to the other side."""
    if budget <= 0:
        return ContextWindow("", "", bool(before_text or after_text))
    half = budget // 2
    take_before = min(len(before_text), max(half, budget - len(after_text)))
    take_after = min(len(after_text), budget - take_before)
    before = before_text[len(before_text) - take_before :] if take_before else ""
    after = after_text[:take_after]
    # Whole lines only: a half line of context confuses more than it helps.
    if take_before < len(before_text):
        cut = before.find("\n")
        before = before[cut + 1 :] if cut >= 0 else ""
    if take_after < len(after_text):
        cut = after.rfind("\n")
        after = after[: cut + 1] if cut >= 0 else ""
    truncated = len(before) < len(before_text) or len(after) < len(after_text)
    return ContextWindow(before, after, truncated)


def system_prompt(output: str, ctx: PromptContext) -> str:
    """Returns the rules for an action's output kind ("code" or "prose")."""
    lang = language_name(ctx.language_id)
    prose = prose_language_name(ctx.prose_language)
    if output == "prose":
        rules = [
            f"You are an expert {lang} programmer explaining code to a colleague.",
            "Answer in Markdown. Be concise and concrete; refer to names in the code.",
        ]
        if prose:
            rules.append(f"Write the explanation in {prose}.")
        return "\n".join(rules)
    rules = [
        f"You are an expert {lang} programmer editing code inside an editor.",
        "Return only the code that replaces the selection: no explanations, no Markdown "
        "fences, no text before or after the code.",
        "Keep the original indentation, style, naming and line structure where you do not "
        "need to change them; the result must be valid in the surrounding file.",
        "Do not repeat the context that comes before or after the selection.",
    ]
    if prose:
        rules.append(f"Write any comments or docstrings you add in {prose}.")
    return "\n".join(rules)


def user_prompt(task: str, ctx: PromptContext) -> str:
    """Returns the user message: the task, the file, the context and the selection."""
    lang = language_name(ctx.language_id)
    parts = [f"Task: {task.strip()}", f"File: {ctx.file_name} ({lang})"]
    if ctx.diagnostics:
        parts.append(
            "Diagnostics in the selection:\n" + "\n".join(f"- {d}" for d in ctx.diagnostics)
        )
    if ctx.context:
        parts.append(ctx.context)
    if ctx.before:
        parts.append(
            "Code before the selection (context only, do not repeat):\n" + fenced(ctx.before)
        )
    if ctx.selection:
        parts.append("Selection:\n" + fenced(ctx.selection))
    else:
        parts.append("Selection: (empty: write new code to insert at this point)")
    if ctx.after:
        parts.append(
            "Code after the selection (context only, do not repeat):\n" + fenced(ctx.after)
        )
    return "\n\n".join(parts)


def build_messages(task: str, output: str, ctx: PromptContext) -> list[Message]:
    """Returns the chat messages for a task; output is "code" or "prose"."""
    return [
        {"role": "system", "content": system_prompt(output, ctx)},
        {"role": "user", "content": user_prompt(task, ctx)},
    ]


def render_template(template: str, ctx: PromptContext) -> str:
    """Fills a user action's prompt template; unknown placeholders are left as written."""
    values: Mapping[str, str] = {
        "selection": ctx.selection,
        "language": language_name(ctx.language_id),
        "languageId": ctx.language_id,
        "fileName": ctx.file_name,
        "instruction": ctx.instruction,
        "diagnostics": "\n".join(ctx.diagnostics),
        "before": ctx.before,
        "after": ctx.after,
        "context": ctx.context,
    }
    # A regex, not str.format: templates hold code, and code holds braces.
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def template_messages(template: str, output: str, ctx: PromptContext) -> list[Message]:
    """Returns messages for a user action; a template without {selection} gets the usual
    file, context and selection sections after it."""
    rendered = render_template(template, ctx)
    content = rendered if "{selection}" in template else user_prompt(rendered, ctx)
    return [
        {"role": "system", "content": system_prompt(output, ctx)},
        {"role": "user", "content": content},
    ]


def fenced(text: str, language: str = "") -> str:
    """Fences text with more backticks than any run inside it (the code cannot close it)."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{_fence_language(language)}\n{body}{fence}"


def _fence_language(language: str) -> str:
    return {"typescriptreact": "tsx", "javascriptreact": "jsx"}.get(language, language)
