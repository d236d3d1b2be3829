"""The relay simulator's error answers: one-api JSON errors and Cloudflare's HTML pages."""

from __future__ import annotations

import functools
import json
import random
import time
from typing import Any

from aiohttp import web

from tests.relay_sim.scenario import (
    MSG_INVALID_TOKEN,
    MSG_MODEL_DENIED,
    MSG_NO_CHANNEL,
    MSG_SATURATED,
    Scenario,
)

# Cloudflare's wording for the 5xx pages it generates itself (the origin never answered).
_CF_TITLES: dict[int, str] = {
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway time-out",
    520: "Web server is returning an unknown error",
    521: "Web server is down",
    522: "Connection timed out",
    523: "Origin is unreachable",
    524: "A timeout occurred",
}

# Used when a scenario fails without saying how; mirrors what relays typically say.
_DEFAULT_ERRORS: dict[int, str] = {
    400: "Bad request",
    401: MSG_INVALID_TOKEN,
    403: MSG_MODEL_DENIED,
    404: "Invalid URL",
    429: MSG_SATURATED,
    500: "upstream error: do request failed",
    502: "bad response status code 502",
    503: MSG_NO_CHANNEL,
}

# Go's encoding/json (one-api, new-api) writes non-ASCII as raw UTF-8, not \\u escapes.
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """JSON response the way Go relays encode it."""
    return web.json_response(data, status=status, headers=headers, dumps=_dumps)


def new_request_id() -> str:
    """one-api request id: local timestamp plus eight random digits."""
    return time.strftime("%Y%m%d%H%M%S") + f"{random.randrange(10**8):08d}"


def cf_page(status: int, host: str) -> str:
    """A Cloudflare-style HTML error page."""
    title = _CF_TITLES.get(status, "Error")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en-US"><head><title>{host} | {status}: {title}</title>'
        '<meta charset="UTF-8" /></head><body><div id="cf-wrapper">'
        f'<h1><span class="cf-error-type">Error code {status}</span></h1>'
        f'<h2 class="cf-subheadline">{title}</h2>'
        '<p>Visit <a href="https://www.cloudflare.com/5xx-error-landing">cloudflare.com</a> '
        "for more information.</p>"
        f'<span class="cf-footer-item">Cloudflare Ray ID: <strong>{random.getrandbits(64):016x}'
        "</strong></span></div></body></html>\n"
    )


def error_response(
    status: int,
    message: str,
    *,
    type_: str = "one_api_error",
    code: str | None = None,
    param: str | None = None,
    request_id: bool = True,
    retry_after: str | None = None,
) -> web.Response:
    """A one-api style JSON error."""
    rid = new_request_id()
    err: dict[str, Any] = {
        "message": f"{message} (request id: {rid})" if request_id else message,
        "type": type_,
    }
    if param is not None:
        err["param"] = param
    if code is not None:
        err["code"] = code
    headers = {"X-Oneapi-Request-Id": rid}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return json_response({"error": err}, status=status, headers=headers)


def scenario_error(sc: Scenario, status: int, model: str) -> dict[str, Any]:
    """The scenario's error object, `{model}` filled in."""
    message = sc.error_message
    if message is None:
        message = _DEFAULT_ERRORS.get(status, "upstream error")
    message = message.replace("{model}", model)
    if sc.one_api_request_id:
        message = f"{message} (request id: {new_request_id()})"
    err: dict[str, Any] = {"message": message, "type": sc.error_type}
    if sc.error_code is not None:
        err["code"] = sc.error_code
    return err
