"""Relay clients by name, built lazily from settings and kept while their config holds."""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from gpt_lsp.errors import RequestRefused
from gpt_lsp.i18n import _
from gpt_lsp.relay.client import RelayClient
from gpt_lsp.relay.memory import RelayMemory
from gpt_lsp.settings import Settings


class RelayPool:
    """Owns one RelayClient per configured relay."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        memory: RelayMemory | None = None,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._environ = environ
        self.memory = memory
        self._clients: dict[str, RelayClient] = {}
        self._stale: list[RelayClient] = []

    def update(self, settings: Settings) -> None:
        """Takes new settings; clients whose relay config changed are replaced."""
        self.settings = settings
        for name, client in list(self._clients.items()):
            if settings.relays.get(name) != client.config:
                # Running jobs may still read from it: close it later, in aclose().
                self._stale.append(self._clients.pop(name))

    def resolve_name(self, name: str | None = None) -> str:
        """Returns the relay name to use, or raises RequestRefused when none is configured."""
        chosen = name or self.settings.default_relay_name()
        if chosen is None:
            raise RequestRefused(
                _(
                    "No relay configured: set baseUrl and apiKey (or GPT_LSP_BASE_URL and "
                    "GPT_LSP_API_KEY), or define relays in the settings."
                )
            )
        if chosen not in self.settings.relays:
            known = ", ".join(sorted(self.settings.relays)) or "none"
            text = _("Unknown relay '{relay}' (configured: {known}).")
            raise RequestRefused(text.format(relay=chosen, known=known))
        return chosen

    def get(self, name: str | None = None) -> RelayClient:
        """Returns the client of a relay, creating it on first use."""
        chosen = self.resolve_name(name)
        client = self._clients.get(chosen)
        if client is None:
            config = self.settings.relays[chosen]
            env = os.environ if self._environ is None else self._environ
            key = config.resolve_key(chosen, env)
            learned = self.memory.recall(config.base_url) if self.memory else None
            client = RelayClient(
                chosen,
                config,
                key,
                transport=self._transport,
                learned=learned,
                on_learned=self.remember,
            )
            self._clients[chosen] = client
        return client

    def remember(self, client: RelayClient) -> None:
        """Keeps what a client learned, for the next session (and the next server)."""
        if self.memory is not None:
            self.memory.remember(client.config.base_url, client.learned())

    def active(self) -> dict[str, RelayClient]:
        """Returns the clients created so far."""
        return dict(self._clients)

    async def aclose(self) -> None:
        """Closes every connection pool."""
        for client in [*self._clients.values(), *self._stale]:
            await client.aclose()
        self._clients.clear()
        self._stale.clear()
