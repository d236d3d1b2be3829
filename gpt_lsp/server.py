"""The language server: a factory and thin handlers; the work lives in other modules."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx
from lsprotocol import types
from pygls.lsp.server import LanguageServer

from . import __version__
from .errors import GptLspError, SettingsError, register_secret
from .logs import set_content_logging
from .relay.pool import RelayPool
from .settings import Settings, load_settings

log = logging.getLogger(__name__)

CONFIG_SECTION = "gptLsp"


class GptLanguageServer(LanguageServer):
    """pygls server holding gpt-lsp's state: settings, relays."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__("gpt-lsp", __version__)
        self.environ = environ
        self.init_options: Mapping[str, Any] | None = None
        self.client_config: Mapping[str, Any] | None = None
        self.settings, problems = load_settings(environ=environ)
        self.pending_problems = problems
        self.relays = RelayPool(self.settings, transport=transport, environ=environ)

    def reload_settings(self) -> list[str]:
        """Re-reads every source; returns the problems found (already logged)."""
        settings, problems = load_settings(
            init_options=self.init_options,
            client_config=self.client_config,
            environ=self.environ,
        )
        for relay in settings.relays.values():
            if relay.api_key is not None:
                register_secret(relay.api_key.get_secret_value())
        self.settings = settings
        self.relays.update(settings)
        set_content_logging(settings.log_content)
        for problem in problems:
            log.warning("settings: %s", problem)
        return problems

    def report_problems(self, problems: list[str]) -> None:
        """Shows settings problems in one message."""
        if problems:
            self.show_error(SettingsError(problems), types.MessageType.Warning)

    def show_error(
        self, error: GptLspError, kind: types.MessageType = types.MessageType.Error
    ) -> None:
        """Shows one error message: the only way errors reach the user."""
        self.window_show_message(types.ShowMessageParams(type=kind, message=error.user_message()))

    def supports_configuration(self) -> bool:
        """True when the client answers workspace/configuration."""
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.configuration)


def create_server(
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    environ: Mapping[str, str] | None = None,
) -> GptLanguageServer:
    """Builds the server with its handlers registered."""
    server = GptLanguageServer(transport=transport, environ=environ)

    @server.feature(types.INITIALIZE)
    def initialize(ls: GptLanguageServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        ls.init_options = options if isinstance(options, Mapping) else None
        ls.pending_problems = ls.reload_settings()

    @server.feature(types.INITIALIZED)
    async def initialized(ls: GptLanguageServer, params: types.InitializedParams) -> None:
        if ls.supports_configuration():
            await _pull_configuration(ls)
            ls.pending_problems = ls.reload_settings()
        ls.report_problems(ls.pending_problems)
        ls.pending_problems = []

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: GptLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if ls.supports_configuration():
            await _pull_configuration(ls)
        elif isinstance(params.settings, Mapping):
            section = params.settings.get(CONFIG_SECTION, params.settings)
            ls.client_config = section if isinstance(section, Mapping) else None
        ls.report_problems(ls.reload_settings())

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: GptLanguageServer, params: None) -> None:
        await ls.relays.aclose()

    return server


async def _pull_configuration(ls: GptLanguageServer) -> None:
    """Asks the client for the gptLsp section; a client that fails it keeps the old one."""
    try:
        result = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
        )
    except Exception as exc:
        log.info("workspace/configuration failed: %s", type(exc).__name__)
        return
    first = result[0] if result else None
    ls.client_config = first if isinstance(first, Mapping) else None


__all__ = ["GptLanguageServer", "Settings", "create_server"]
