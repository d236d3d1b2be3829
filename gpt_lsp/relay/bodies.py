"""Error bodies: JSON error objects, HTML gateway pages, plain text, and Retry-After.

* A JSON body `{"error": {"message", "type", "code"}}` (also `"error": "text"`, or a top-level
  `message`/`msg`/`detail`) is classified by status and message; a numeric `code` or `status`
  in the object wins over an HTTP status that claims success (200 with an error inside).
* An HTML page (a CDN or gateway: Cloudflare 52x) becomes one line: its title and error code.
* Retry-After is delta-seconds or an HTTP date; anything else is ignored.
* Bodies are read up to 64 KiB and messages clipped, so a huge page cannot flood the editor.
* A redirect is an error naming its target (never followed: the key would go along).
"""

from __future__ import annotations

import email.utils
import html
import json
import math
import re
import time
from contextlib import aclosing
from datetime import datetime, timezone
from typing import Any, Final

import httpx

from gpt_lsp.errors import GatewayError, RelayError, RelayStatusError
from gpt_lsp.redaction import redact
from gpt_lsp.relay.classify import GATEWAY_STATUSES, classify_status
from gpt_lsp.relay.reads import byte_chunks, read_bounded

__all__ = [
    "ERROR_BODY_LIMIT",
    "as_int",
    "clip",
    "decode_body",
    "error_fields",
    "error_from_body",
    "excerpt",
    "media_type",
    "parse_retry_after",
    "read_error",
    "status_error",
    "summarize_html",
    "url_of",
]

ERROR_BODY_LIMIT: Final = 64 * 1024
_MESSAGE_LIMIT: Final = 2000


async def read_error(response: httpx.Response, relay: str = "", url: str = "") -> RelayStatusError:
    """Reads a bounded part of an error response and returns the classified error."""
    url = url or url_of(response)
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    chunks = byte_chunks(response)
    async with aclosing(chunks):
        body = await read_bounded(b"", chunks, ERROR_BODY_LIMIT)
    return error_from_body(
        response.status_code,
        decode_body(body, response),
        is_html=media_type(response) == "text/html",
        relay=relay,
        url=url,
        retry_after=retry_after,
    )


async def status_error(response: httpx.Response, *, relay: str, url: str) -> RelayError:
    """Returns the error for a non-2xx answer (or a redirect, which is never followed)."""
    if 300 <= response.status_code < 400:
        await response.aclose()
        target = response.headers.get("location", "")
        return RelayStatusError(
            response.status_code,
            f"the relay redirects to {redact(target)}; "
            "set baseUrl to the new address (redirects are not followed, "
            "so the key is never sent to another host)",
            relay=relay,
            url=url,
        )
    try:
        error = await read_error(response, relay=relay, url=url)
    finally:
        await response.aclose()
    is_html = "html" in response.headers.get("content-type", "")
    gateway = response.status_code in GATEWAY_STATUSES and is_html
    if gateway and not isinstance(error, GatewayError):
        error = GatewayError(error.status, error.relay_message, relay=relay, url=url)
    return error


def error_from_body(
    status: int,
    body: str,
    *,
    is_html: bool = False,
    relay: str = "",
    url: str = "",
    retry_after: float | None = None,
) -> RelayStatusError:
    """Returns the classified error for an error body: JSON error object, HTML page or text."""
    stripped = body.strip()
    low = stripped[:1024].lower()
    if is_html or low.startswith("<!doctype html") or "<html" in low:
        return classify_status(
            status,
            summarize_html(stripped),
            relay=relay,
            url=url,
            retry_after=retry_after,
            html=True,
        )
    obj: Any = None
    if stripped[:1] in ("{", "["):
        try:
            obj = json.loads(stripped)
        except (ValueError, RecursionError):
            obj = None
    if isinstance(obj, dict):
        err = error_fields(obj)
        if err is not None:
            message, code, error_type, code_status = err
            # The HTTP status wins unless it claims success.
            if 200 <= status < 300 and code_status:
                status = code_status
            return classify_status(
                status,
                message,
                relay=relay,
                url=url,
                code=code,
                error_type=error_type,
                retry_after=retry_after,
            )
        for key in ("message", "msg", "detail"):
            value = obj.get(key)
            if isinstance(value, str) and value:
                code = obj.get("code")
                return classify_status(
                    status,
                    clip(value),
                    relay=relay,
                    url=url,
                    code=None if code is None else str(code),
                    retry_after=retry_after,
                )
    return classify_status(
        status,
        clip(" ".join(stripped.split()), 500),
        relay=relay,
        url=url,
        retry_after=retry_after,
    )


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_DROP = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_SECONDS = re.compile(r"\d+(\.\d+)?")
_ERROR_CODE = re.compile(r"error code[:\s]*(\d{3,4})", re.IGNORECASE)


def summarize_html(page: str) -> str:
    """Returns a one-line summary of an HTML error page: its title and any error code."""
    page = page[:ERROR_BODY_LIMIT]
    title = ""
    for pattern in (_TITLE, _H1):
        match = pattern.search(page)
        if match:
            title = _plain(match.group(1))
            if title:
                break
    text = _plain(_DROP.sub(" ", page))
    if not title:
        title = clip(text, 120)
    parts = [title] if title else []
    code = _ERROR_CODE.search(text)
    if code and code.group(1) not in title:
        parts.append(f"Error code {code.group(1)}")
    if "cloudflare" in page.lower() and "cloudflare" not in title.lower():
        parts.append("(Cloudflare)")
    return "HTML page: " + " ".join(parts) if parts else "HTML page"


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", fragment)).split())


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Returns Retry-After in seconds from delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max((when - datetime.fromtimestamp(current, timezone.utc)).total_seconds(), 0.0)


def as_int(value: Any) -> int | None:
    """Returns an int from a JSON number or digit string; None for anything else (NaN too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal():
        return int(value.strip())
    return None


def error_fields(obj: dict[str, Any]) -> tuple[str, str | None, str | None, int | None] | None:
    """Returns (message, code, type, numeric status) of an `{"error": ...}` object, if any."""
    err = obj.get("error")
    if isinstance(err, str) and err:
        err = {"message": err, "code": obj.get("code"), "type": obj.get("type")}
    if not isinstance(err, dict) or not err:
        return None
    raw_message = err.get("message")
    if isinstance(raw_message, str):
        message = raw_message
    elif raw_message is None:
        message = ""
    else:
        message = json.dumps(raw_message, ensure_ascii=False)
    if not message:
        message = json.dumps(err, ensure_ascii=False)
    raw_code = err.get("code")
    code = None if raw_code is None or raw_code == "" else str(raw_code)
    raw_type = err.get("type")
    error_type = raw_type if isinstance(raw_type, str) and raw_type else None
    status = None
    for candidate in (err.get("status"), err.get("status_code"), raw_code):
        number = as_int(candidate)
        if number is not None and 100 <= number <= 599:
            status = number
            break
    return clip(message), code, error_type, status


def decode_body(body: bytes, response: httpx.Response) -> str:
    """Returns body as text in the response's charset (UTF-8 if unknown), never raising."""
    charset = response.charset_encoding or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def media_type(response: httpx.Response) -> str:
    """Returns the lower-case media type of the Content-Type header, without parameters."""
    return str(response.headers.get("content-type", "")).partition(";")[0].strip().lower()


def url_of(response: httpx.Response) -> str:
    """Returns the URL of the request behind a response, or "" if it has none."""
    try:
        return str(response.request.url)
    except RuntimeError:
        return ""


def clip(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    """Returns text cut to limit characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def excerpt(text: str, limit: int = 80) -> str:
    """Returns a short quoted one-line excerpt of text, for error messages."""
    return repr(clip(" ".join(text.split()), limit))
