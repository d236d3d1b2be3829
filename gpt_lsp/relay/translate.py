"""The one place httpx errors become gpt-lsp's error tree."""

from __future__ import annotations

import httpx

from gpt_lsp.errors import (
    ConnectionsBusy,
    RelayConnectError,
    RelayError,
    RelayProtocolError,
    RelayTimeout,
    TruncatedAnswer,
)
from gpt_lsp.i18n import _


def translate_httpx_error(
    exc: httpx.HTTPError, *, relay: str, url: str, started: bool
) -> RelayError:
    """Maps an httpx exception onto the error tree."""
    if isinstance(exc, httpx.ConnectTimeout):
        return RelayTimeout(_("could not connect in time"), phase="connect", relay=relay, url=url)
    if isinstance(exc, httpx.ReadTimeout):
        phase = "silence" if started else "first_byte"
        what = _("the relay went silent mid-answer") if started else _("no answer from the relay")
        return RelayTimeout(what, phase=phase, relay=relay, url=url)
    if isinstance(exc, httpx.PoolTimeout):
        # Local: every connection was taken by this process's own requests.
        text = _("no connection to the relay came free: this editor's other requests had them all")
        return ConnectionsBusy(text, relay=relay, url=url)
    if isinstance(exc, httpx.TimeoutException):
        return RelayTimeout(_("the request timed out"), phase="connect", relay=relay, url=url)
    if isinstance(exc, (httpx.ConnectError, httpx.ProxyError, httpx.UnsupportedProtocol)):
        text = _("cannot connect ({reason})").format(reason=_reason(exc))
        return RelayConnectError(text, relay=relay, url=url)
    if isinstance(exc, (httpx.ReadError, httpx.RemoteProtocolError, httpx.WriteError)):
        if not started:
            text = _("the connection dropped ({reason})").format(reason=_reason(exc))
            return RelayConnectError(text, relay=relay, url=url)
        # Part of the answer arrived: it is cut short, not a wrong API.
        text = _("the connection dropped mid-answer ({reason})").format(reason=_reason(exc))
        return TruncatedAnswer(text, relay=relay, url=url)
    return RelayProtocolError(f"{type(exc).__name__}: {_reason(exc)}", relay=relay, url=url)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if not text and exc.__cause__ is not None:
        text = str(exc.__cause__).strip()
    return (text or type(exc).__name__)[:200]
