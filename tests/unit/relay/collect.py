"""The events of a relay's response, read with gpt_lsp.relay.stream (shared by the stream tests)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gpt_lsp.relay.events import StreamEvent, TextDelta
from gpt_lsp.relay.stream import iter_events


async def collect(resp: httpx.Response, **kwargs: Any) -> list[StreamEvent]:
    """Returns every event of a stream that ends well."""
    return [event async for event in iter_events(resp, relay="r", **kwargs)]


async def collect_until_error(resp: httpx.Response) -> tuple[list[StreamEvent], BaseException]:
    """Returns the events yielded before the stream raised, and the error."""
    events: list[StreamEvent] = []
    with pytest.raises(Exception) as caught:
        async for event in iter_events(resp, relay="r"):
            events.append(event)
    return events, caught.value


def texts(events: list[StreamEvent]) -> str:
    """The text of the text deltas among the events."""
    return "".join(e.text for e in events if isinstance(e, TextDelta))
