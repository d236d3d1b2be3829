"""What a request looks like on the wire: its endpoint and its JSON body, shaped by what is
known of the relay (its quirks). Chat goes to `/chat/completions`; fill-in-the-middle to the
legacy `/completions` with `prompt` and `suffix`, or to Codestral's `/fim/completions` (the
same fields; its schema rejects any other, so no `stream_options`: its last chunk carries the
usage anyway)."""

from __future__ import annotations

from typing import Any

from gpt_lsp.relay.folding import fold_system_messages
from gpt_lsp.relay.request import ChatRequest, FimRequest, RelayQuirks, Request
from gpt_lsp.urls import chat_completions_url, completions_url


def endpoint(base: str, request: Request) -> str:
    """Returns the URL a request is sent to on one host."""
    if isinstance(request, FimRequest):
        return completions_url(base, request.endpoint)
    return chat_completions_url(base)


def body(request: Request, quirks: RelayQuirks) -> dict[str, Any]:
    """Returns the JSON body of a request."""
    out: dict[str, Any] = {"model": request.model}
    if isinstance(request, FimRequest):
        out.update(prompt=request.prompt, suffix=request.suffix)
    else:
        messages = request.messages
        out["messages"] = fold_system_messages(messages) if quirks.no_system_role else messages
    out["stream"] = True
    codestral = isinstance(request, FimRequest) and request.endpoint == "fim/completions"
    if not quirks.no_stream_options and not codestral:
        out["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        out["temperature"] = request.temperature
    if isinstance(request, ChatRequest) and request.presence_penalty is not None:
        out["presence_penalty"] = request.presence_penalty
    if request.max_tokens is not None:
        # The legacy endpoint knows max_tokens only.
        newer = isinstance(request, ChatRequest) and quirks.max_completion_tokens
        out["max_completion_tokens" if newer else "max_tokens"] = request.max_tokens
    return out
