"""Follow-up turns of a job: the conversation a refine request carries (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from gpt_lsp.prompting.prompts import Message

OMITTED = "(an earlier answer, left out to keep the request short)"


def follow_up_prompt(instruction: str, output: str) -> str:
    """Returns the user message of a follow-up turn ("code" or "prose" output)."""
    if output == "prose":
        return f"Follow-up: {instruction.strip()}"
    return (
        f"Follow-up: {instruction.strip()}\n\n"
        "Rewrite your last answer accordingly, keeping what the earlier instructions asked for. "
        "Return only the code that replaces the original selection, all of it: no "
        "explanations, no Markdown fences, no text before or after the code."
    )


def follow_up(
    history: Sequence[Message],
    previous_answer: str,
    instruction: str,
    output: str,
    *,
    budget_chars: int,
) -> list[Message]:
    """Returns the messages of the next turn: the history (the first turn's system and user
    messages, then earlier answers and follow-ups), the previous answer and the new
    instruction. Beyond the first turn's messages the conversation keeps within
    `budget_chars`: the oldest answers go first, then the oldest follow-ups; the previous
    answer and the new instruction always stay."""
    head = [dict(m) for m in history[:2]]
    middle = [dict(m) for m in history[2:]]
    tail = [
        {"role": "assistant", "content": previous_answer},
        {"role": "user", "content": follow_up_prompt(instruction, output)},
    ]
    fixed = sum(len(m["content"]) for m in tail)
    for role in ("assistant", "user"):
        for message in middle:
            if _size(middle) + fixed <= budget_chars:
                break
            if message["role"] == role and message["content"] != OMITTED:
                message["content"] = OMITTED
    return head + middle + tail


def _size(messages: Sequence[Message]) -> int:
    return sum(len(m["content"]) for m in messages)
