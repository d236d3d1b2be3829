"""`gpt-lsp check`: one small streamed request, reported the way a user needs it."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

import httpx

from gpt_lsp.accounting.usage import format_cost, local_token_count
from gpt_lsp.errors import GptLspError, ModelDeniedError
from gpt_lsp.i18n import _, ljust, pgettext, set_language_from_environ
from gpt_lsp.redaction import redact
from gpt_lsp.relay.billing import Balance, fetch_balance, fetch_models
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.events import Finish, TextDelta, Usage
from gpt_lsp.relay.memory import RelayMemory, default_path
from gpt_lsp.relay.models import pick_model
from gpt_lsp.relay.pool import RelayPool
from gpt_lsp.relay.request import Attempt, ChatRequest
from gpt_lsp.settings import Settings, load_settings
from gpt_lsp.text.sanitize import sanitize
from gpt_lsp.urls import chat_completions_url

CHECK_PROMPT = "Reply with the single word: OK"
EXIT_OK = 0
EXIT_RELAY_ERROR = 1
EXIT_CONFIG_ERROR = 2
LABEL_COLUMNS = 13


@dataclass
class CheckResult:
    """What one check measured."""

    relay: str
    url: str
    model: str
    answer: str
    first_token_s: float
    total_s: float
    usage: Usage
    usage_reported: bool
    finish: str


def run_check(
    relay: str | None = None,
    model: str | None = None,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    environ: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    relearn: bool = False,
) -> int:
    """Runs the check and returns the process exit code."""
    env = os.environ if environ is None else environ
    set_language_from_environ(env)
    settings, problems = load_settings(environ=environ)
    set_language_from_environ(env, settings.language)  # a terminal in C: config.toml's
    for problem in problems:
        print(_("warning: {problem}").format(problem=_plain(problem)), file=err)
    return asyncio.run(
        _check(
            settings,
            relay,
            model,
            out=out,
            err=err,
            environ=environ,
            transport=transport,
            relearn=relearn,
        )
    )


async def _check(
    settings: Settings,
    relay: str | None,
    model: str | None,
    *,
    out: TextIO,
    err: TextIO,
    environ: Mapping[str, str] | None,
    transport: httpx.AsyncBaseTransport | None,
    relearn: bool = False,
) -> int:
    memory = RelayMemory(default_path(environ))
    if relearn:
        try:
            name = RelayPool(settings).resolve_name(relay)
        except GptLspError as exc:
            print(_("error: {message}").format(message=exc.user_message(cli=True)), file=err)
            return EXIT_CONFIG_ERROR
        if memory.forget(settings.relays[name].base_url):
            _row(_("known"), _("forgotten; learning {relay} afresh").format(relay=name), out)
    pool = RelayPool(settings, transport=transport, environ=environ, memory=memory)
    try:
        try:
            client = pool.get(relay)
        except GptLspError as exc:
            print(_("error: {message}").format(message=exc.user_message(cli=True)), file=err)
            return EXIT_CONFIG_ERROR
        picked_note = ""
        if not model and client.config.model is None and client.picked_model is None:
            # No model named anywhere: one the relay lists beats a default it may not have.
            listed = await client.list_models()
            picked = pick_model(listed or [])
            if picked is not None:
                client.picked_model = picked
                pool.remember(client)
                picked_note = "  " + _("(picked from the relay's list: set `model` to choose)")
        chosen_model = model or client.default_model
        request = ChatRequest(
            messages=[{"role": "user", "content": CHECK_PROMPT}],
            model=chosen_model,
            max_tokens=settings.max_tokens,
        )
        try:
            result = await _stream(client, request)
        except GptLspError as exc:
            if isinstance(exc, ModelDeniedError):
                # Its hint sends the user here for the model list: give it.
                exc.models = await fetch_models(client.http, client.current_url)
            print(_("error: {message}").format(message=exc.user_message(cli=True)), file=err)
            return EXIT_RELAY_ERROR
        note = picked_note if result.model == chosen_model else ""
        if model:
            note = "  " + _("(named with --model; the relay accepted it)")
        _print_result(result, settings, out, note)
        models, balance = await asyncio.gather(
            fetch_models(client.http, client.current_url),
            fetch_balance(client.http, client.current_url),
        )
        _print_extras(models, balance, out)
        if model and models and model not in models:
            unlisted = _(
                "the relay's model list does not name {model}: it took the name, but may "
                "answer (and bill) with another model"
            )
            _row(_("warning"), unlisted.format(model=model), out)
        # A model named here is the user's choice: not the one picked for them earlier.
        for fact in client.learned().describe(picked=not model):
            _row(_("known"), fact, out)
        for fact in _fim_facts(settings, client, chosen_model):
            _row(_("fim"), fact, out)
        return EXIT_OK
    finally:
        await pool.aclose()


async def _stream(client: RelayClient, request: ChatRequest) -> CheckResult:
    """Streams the check request to the end, timing it."""
    attempt = Attempt()
    pieces: list[str] = []
    usage: Usage | None = None
    finish = ""
    stream = client.stream_chat(request, attempt)
    try:
        async for event in stream:
            if isinstance(event, TextDelta):
                pieces.append(event.text)
            elif isinstance(event, Usage):
                usage = event
            elif isinstance(event, Finish):
                finish = event.reason
    finally:
        await stream.aclose()
    done = time.monotonic()
    answer = "".join(pieces)
    reported = usage is not None
    if usage is None:
        prompt_text = "".join(m["content"] for m in request.messages)
        usage = Usage(local_token_count(prompt_text), local_token_count(answer))
    first = attempt.first_token_at or done
    return CheckResult(
        relay=client.name,
        url=attempt.url,
        model=request.model,
        answer=answer,
        first_token_s=first - attempt.started,
        total_s=done - attempt.started,
        usage=usage,
        usage_reported=reported,
        finish=finish,
    )


def _print_result(
    result: CheckResult, settings: Settings, out: TextIO, model_note: str = ""
) -> None:
    relay = settings.relays[result.relay]
    # Equality, not a prefix test: a backup may live under the main URL's path.
    note = "" if result.url == chat_completions_url(relay.base_url) else "  " + _("(backup host)")
    source = _("reported by the relay") if result.usage_reported else _("counted locally, estimate")
    price = relay.price_for(result.model)
    cost = format_cost(price, result.usage) if price else _("no price configured")
    shown = sanitize(result.answer, limit=80)
    usage = _("{prompt} prompt + {completion} completion tokens ({source})").format(
        prompt=result.usage.prompt_tokens, completion=result.usage.completion_tokens, source=source
    )
    rows = [
        (_("relay"), result.relay),
        (_("url"), result.url + note),
        (_("model"), result.model + model_note),
        (_("answer"), shown or _("(empty)")),
        (_("first token"), _("{ms:.0f} ms").format(ms=result.first_token_s * 1000)),
        (pgettext("check", "total"), _("{ms:.0f} ms").format(ms=result.total_s * 1000)),
        (_("usage"), usage),
        (_("cost"), cost),
    ]
    for label, value in rows:
        _row(label, value, out)


def _fim_facts(settings: Settings, client: RelayClient, model: str) -> list[str]:
    """Returns, per model, the path completion takes on this relay: fill-in-the-middle yes,
    no, or not known yet (learned at the first completion: checking costs no request more)."""
    completion = settings.completion
    on_this = (completion.relay or settings.default_relay_name()) == client.name
    models = [model, *([completion.model] if on_this and completion.model else [])]
    setting = settings.completion_fim(client.name)
    facts = []
    for name in dict.fromkeys([*models, *sorted(client.quirks.fim)]):
        served = client.fim_served(name)
        if setting == "off":
            text = _("{model}: off (completion uses the chat prompt; setting fim)")
        elif setting == "completions":
            text = _("{model}: always (POST /completions with suffix; setting fim)")
        elif setting == "fim/completions":
            text = _("{model}: always (POST /fim/completions, Codestral's form; setting fim)")
        elif served:
            text = _("{model}: yes (completion uses POST /completions with suffix)")
        elif served is False:
            text = _("{model}: no (completion uses the chat prompt)")
        else:
            text = _("{model}: not known yet (tried at the first completion)")
        facts.append(text.format(model=sanitize(name, limit=80)))
    return facts


def _print_extras(models: list[str] | None, balance: Balance | None, out: TextIO) -> None:
    if models:
        more = (
            ", " + _("... ({count} in all)").format(count=len(models)) if len(models) > 12 else ""
        )
        listed = ", ".join(sanitize(m, limit=80) for m in models[:12]) + more
        _row(_("models"), listed, out)
    if balance is not None:
        limit = _("{usd} ({quota} quota)").format(
            usd=f"${balance.limit_usd:,.2f}", quota=f"{Balance.quota(balance.limit_usd):,}"
        )
        remaining = balance.remaining_usd
        if remaining is None:
            text = _("limit {limit}").format(limit=limit)
        else:
            text = _("{usd} left ({quota} quota) of {limit}").format(
                usd=f"${remaining:,.2f}", quota=f"{Balance.quota(remaining):,}", limit=limit
            )
        _row(_("balance"), text, out)


def _row(label: str, value: str, out: TextIO) -> None:
    """Prints one `label: value` line (label translated), the values in one column."""
    head = _("{label}:").format(label=label)
    print(ljust(head, LABEL_COLUMNS) + _plain(value), file=out)


def _plain(text: str) -> str:
    """Returns one line fit for a terminal: a relay's words carry no escapes, no key shows."""
    return redact(sanitize(text))
