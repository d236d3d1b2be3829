"""Settings problems in the user's words and language: pydantic's errors and the URL rules'
reasons, translated (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gpt_lsp.i18n import N_, _, pgettext

# pydantic error types -> what a config file's author should read ({limit}: the bound).
_BY_TYPE = {
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "finite_number": N_("must be a number"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "bool_parsing": N_("must be true or false"),
    "bool_type": N_("must be true or false"),
    "string_type": N_("must be text"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be a table (an object)"),
    "model_type": N_("must be a table (an object)"),
    "model_attributes_type": N_("must be a table (an object)"),
    "greater_than": N_("must be greater than {limit}"),
    "greater_than_equal": N_("must be at least {limit}"),
    "less_than": N_("must be less than {limit}"),
    "less_than_equal": N_("must be at most {limit}"),
}
_LIMITS = ("gt", "ge", "lt", "le")

# The reasons validators give (settings.models, relay.urls), as patterns over the English
# text: the URL rules belong to the relay layer, their wording is translated here.
_GOT = r"\(got (?P<got>'.*')\)"
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"is empty"), N_("is empty")),
    (
        re.compile(
            rf"must start with http:// or https:// {_GOT}: write 'https://(?P<text>.*)', "
            r"or 'http://' for a local proxy"
        ),
        N_(
            "must start with http:// or https:// (got {got}): write 'https://{text}', "
            "or 'http://' for a local proxy"
        ),
    ),
    (
        re.compile(rf"must start with http:// or https:// {_GOT}"),
        N_("must start with http:// or https:// (got {got})"),
    ),
    (re.compile(rf"has no host {_GOT}"), N_("has no host (got {got})")),
    (
        re.compile(r"must be an http://, https:// or socks5:// URL"),
        N_("must be an http://, https:// or socks5:// URL"),
    ),
    (
        re.compile(r"give either input and output \(USD per 1M tokens\) or modelRatio"),
        N_("give either input and output (USD per 1M tokens) or modelRatio"),
    ),
)


def reason(error: Mapping[str, Any]) -> str:
    """Returns why a value was refused, in the UI language (pydantic's words when unknown)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in _BY_TYPE:
        limit = next((ctx[k] for k in _LIMITS if k in ctx), "")
        return _(_BY_TYPE[kind]).format(limit=limit)
    if kind == "literal_error" and isinstance(ctx.get("expected"), str):
        return _("must be one of {values}").format(values=_choices(ctx["expected"]))
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    for pattern, template in _REASONS:
        match = pattern.fullmatch(message)
        if match is not None:
            return _(template).format(**match.groupdict())
    return message


def _choices(expected: str) -> str:
    """Returns pydantic's "'a', 'b' or 'c'" as a list in the UI language."""
    head, _sep, last = expected.rpartition(" or ")
    if not head:
        return expected
    items = pgettext("list separator", ", ").join(head.split(", "))
    return _("{items} or {last}").format(items=items, last=last)


def unknown_key(where: str, suggestion: str | None) -> str:
    """Returns the problem line of a key that is no setting."""
    if suggestion is None:
        return _("unknown key '{key}' ignored").format(key=where)
    text = _("unknown key '{key}' ignored (did you mean '{suggestion}'?)")
    return text.format(key=where, suggestion=suggestion)


def replaced(where: str, why: str) -> str:
    """Returns the problem line of a bad value replaced by its default."""
    return _("{key}: {reason}; using the default").format(key=where, reason=why)


def dropped_with(where: str, why: str, section: str) -> str:
    """Returns the problem line of a bad value whose whole section (a relay) was dropped."""
    return _("{key}: {reason}; {section} ignored").format(key=where, reason=why, section=section)


def required(section: str, key: str) -> str:
    """Returns the problem line of a section dropped for a missing key."""
    return _("{section}: ignored ({key} is required)").format(section=section, key=key)
