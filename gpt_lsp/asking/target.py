"""Where a request goes and what it sends: the relay and model, the prompt in its request
shape, the parameters. The relay's learned quirks shape the body when it is sent
(`RelayClient.build_body`).

A shape is the only part that knows how the relay is asked: chat messages (`Chat`), or a
fill-in-the-middle prompt (`Fim`: `/completions` with `prompt` and `suffix`); relay/shapes.py
puts each request on the wire to its endpoint.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gpt_lsp.logs import content_logger
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.pool import RelayPool
from gpt_lsp.relay.request import ChatRequest, FimEndpoint, FimRequest, Request
from gpt_lsp.settings import Price, Settings


@dataclass(frozen=True)
class Target:
    """The relay a request goes to (its name and client), the model, and its price."""

    relay: str
    client: RelayClient
    model: str
    price: Price | None


def target(
    relays: RelayPool, settings: Settings, relay: str | None = None, model: str | None = None
) -> Target:
    """Returns where a request goes: the relay named (else the default), the model named,
    else the one chosen in this session, else the relay's; raises RequestRefused."""
    name = relays.resolve_name(relay)
    client = relays.get(name)
    chosen = model or settings.chosen_model(name) or client.default_model
    return Target(name, client, chosen, settings.relays[name].price_for(chosen))


@dataclass(frozen=True)
class Params:
    """The request's parameters; None ones are left out of the body."""

    max_tokens: int | None = None
    temperature: float | None = None
    presence_penalty: float | None = None


R = TypeVar("R", bound=Request, covariant=True)


class Shape(Protocol[R]):
    """A prompt in the form one endpoint of a relay takes (R: its request type)."""

    def request(self, model: str, params: Params) -> R:
        """Returns the request that asks it."""
        ...

    def sent(self) -> tuple[str, ...]:
        """Returns the text sent, for the prompt's token estimate."""
        ...


@dataclass(frozen=True)
class Chat:
    """Chat messages, to /chat/completions: every relay serves it."""

    messages: list[dict[str, str]]

    def request(self, model: str, params: Params) -> ChatRequest:
        """Returns the chat request."""
        return ChatRequest(
            messages=self.messages,
            model=model,
            temperature=params.temperature,
            presence_penalty=params.presence_penalty,
            max_tokens=params.max_tokens,
        )

    def sent(self) -> tuple[str, ...]:
        """Returns the messages' text."""
        return tuple(m["content"] for m in self.messages)


@dataclass(frozen=True)
class Fim:
    """The text before and after a hole, to /completions (or Codestral's /fim/completions):
    a code model fills it natively."""

    prompt: str
    suffix: str
    endpoint: FimEndpoint = "completions"

    def request(self, model: str, params: Params) -> FimRequest:
        """Returns the fill-in-the-middle request."""
        return FimRequest(
            prompt=self.prompt,
            suffix=self.suffix,
            model=model,
            temperature=params.temperature,
            max_tokens=params.max_tokens,
            endpoint=self.endpoint,
        )

    def sent(self) -> tuple[str, ...]:
        """Returns the prompt and suffix."""
        return (self.prompt, self.suffix)


def build(target: Target, shape: Shape[R], params: Params, *, label: str) -> R:
    """Returns the request asking `shape` of the target's model (logged with `label` when
    the user logs content)."""
    if content_logger().isEnabledFor(logging.DEBUG):
        content_logger().debug("prompt for %s: %r", label, shape)
    return shape.request(target.model, params)
