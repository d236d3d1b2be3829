"""Pure URL rules: how a pasted baseUrl becomes the URLs gpt-lsp calls."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

_PASTED_ENDPOINTS = ("/chat/completions", "/completions", "/models")


def normalize_base_url(raw: str) -> str:
    """Returns the API base for a URL as users paste it; raises ValueError when it is no URL.

    The path prefix is kept; `/v1` is appended only when there is no path at all; a pasted
    `/chat/completions` and trailing slashes are dropped (`https://h/chat/completions` -> `https://h`).
    """
    text = raw.strip()
    if not text:
        raise ValueError("is empty")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        if "://" not in text:
            # "127.0.0.1:4000" or "api.relay.com/v1": say what to write instead.
            raise ValueError(
                f"must start with http:// or https:// (got {_shown(text)!r}): "
                f"write 'https://{_shown(text)}', or 'http://' for a local proxy"
            )
        raise ValueError(f"must start with http:// or https:// (got {_shown(text)!r})")
    if not parts.hostname:
        raise ValueError(f"has no host (got {_shown(text)!r})")
    path = parts.path.rstrip("/")
    # A URL with no path at all means the OpenAI layout; a pasted endpoint is taken literally.
    if not path:
        path = "/v1"
    for tail in _PASTED_ENDPOINTS:
        if path.endswith(tail):
            path = path[: -len(tail)].rstrip("/")
            break
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, parts.query, ""))


def chat_completions_url(base: str) -> str:
    """Returns the chat-completions endpoint of a normalized base."""
    return _join(base, "chat/completions")


def completions_url(base: str, form: str = "completions") -> str:
    """Returns a fill-in-the-middle endpoint of a normalized base: the legacy completions
    one, or another form's path (`fim/completions`)."""
    return _join(base, form)


def models_url(base: str) -> str:
    """Returns the model-list endpoint of a normalized base."""
    return _join(base, "models")


def billing_root(base: str) -> str:
    """Returns the base without a trailing `/v1`, where one-api serves /dashboard/billing."""
    parts = urlsplit(base)
    path = parts.path
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def billing_urls(base: str) -> tuple[str, str]:
    """Returns the subscription and usage URLs for a normalized base."""
    root = billing_root(base)
    return (
        _join(root, "dashboard/billing/subscription"),
        _join(root, "dashboard/billing/usage"),
    )


def host_of(url: str) -> str:
    """Returns host[:port] of a URL, without credentials."""
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def _join(base: str, tail: str) -> str:
    parts = urlsplit(base)
    path = parts.path.rstrip("/") + "/" + tail
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _shown(text: str) -> str:
    # Never echo credentials embedded in a URL.
    parts = urlsplit(text)
    if "@" in parts.netloc:
        return urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
    return text[:200]
