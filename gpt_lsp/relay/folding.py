"""Request shaping for relays that reject the system role."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def fold_system_messages(messages: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """Moves system text into the first user message, for relays that reject the system role."""
    system = "\n\n".join(m["content"] for m in messages if m.get("role") == "system")
    rest = [dict(m) for m in messages if m.get("role") != "system"]
    if not system:
        return rest
    for message in rest:
        if message.get("role") == "user":
            message["content"] = f"{system}\n\n{message['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]
