"""A session's configuration: the user's and the project's editor settings, the settings they
load into, the models chosen with gptLsp.selectModel, and the relay clients they configure.
Settings (pydantic) and the relay clients (httpx) load on first use, after `initialize`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gpt_lsp.errors import SettingsError
from gpt_lsp.i18n import set_language
from gpt_lsp.logs import set_content_logging
from gpt_lsp.port import ClientPort
from gpt_lsp.redaction import register_secret

if TYPE_CHECKING:
    import httpx

    from gpt_lsp.relay.pool import RelayPool
    from gpt_lsp.session.models import ModelChoices
    from gpt_lsp.settings import Settings

log = logging.getLogger(__name__)


class Configuration:
    """The settings of one client's session, reloaded from every source on demand."""

    def __init__(
        self,
        port: ClientPort,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        state_dir: Path | None = None,
        reloaded: Callable[[], None] | None = None,
    ) -> None:
        self.port = port
        self.reloaded = reloaded  # told after every reload (the workspace index rescans)
        self.transport = transport
        self.environ = environ
        self.state_dir = state_dir  # None: the user state dir (platformdirs)
        self.locale: str | None = None  # the client's UI language, from initialize
        self.user_options: Mapping[str, Any] | None = None  # initializationOptions
        self.project_options: Mapping[str, Any] | None = None  # the gptLsp section
        self._warned_ignored: set[tuple[str, ...]] = set()
        self._settings: Settings | None = None
        self._relays: RelayPool | None = None
        self._models: ModelChoices | None = None

    def connect(self, init_options: Any, locale: str | None) -> None:
        """Takes initialize's options (the user's own) and the client's language."""
        self.user_options = init_options if isinstance(init_options, Mapping) else None
        self.locale = locale
        set_language(locale)  # until the settings (`language`) load

    @property
    def settings(self) -> Settings:
        """Returns the settings, loading them on first use."""
        if self._settings is None:
            self.reload()
        assert self._settings is not None
        return self._settings

    @property
    def relays(self) -> RelayPool:
        """Returns the relay clients."""
        if self._relays is None:
            from gpt_lsp.relay.memory import RelayMemory, default_path
            from gpt_lsp.relay.pool import RelayPool

            path = self.state_dir / "relays.json" if self.state_dir else default_path(self.environ)
            self._relays = RelayPool(
                self.settings,
                transport=self.transport,
                environ=self.environ,
                memory=RelayMemory(path),
            )
        return self._relays

    @property
    def model_choices(self) -> ModelChoices:
        """Returns the models chosen with gptLsp.selectModel (kept through settings reloads)."""
        if self._models is None:
            from gpt_lsp.session.models import ModelChoices, default_path

            path = self.state_dir / "models.json" if self.state_dir else default_path(self.environ)
            self._models = ModelChoices(path)
        return self._models

    def set_user(self, settings: Any) -> bool:
        """Takes gptLsp/didChangeUserSettings: they replace initializationOptions."""
        if not isinstance(settings, Mapping):
            log.warning("gptLsp/didChangeUserSettings without a settings object: ignored")
            return False
        self.user_options = settings
        return True

    def set_project(self, section: Any) -> None:
        """Takes the client's `gptLsp` configuration section (None: none)."""
        self.project_options = section if isinstance(section, Mapping) else None

    def reload(self) -> list[str]:
        """Re-reads every source; returns the problems found (already logged)."""
        from gpt_lsp.errors import ProjectSettingsIgnored
        from gpt_lsp.settings import load_sources

        # initializationOptions (and gptLsp/didChangeUserSettings) are the user's own; the
        # gptLsp section is project-level: a project can write it (.dir-locals.el, workspace).
        settings, problems, ignored = load_sources(
            user_options=self.user_options,
            project_options=self.project_options,
            environ=self.environ,
        )
        # One setting for both: who wants explanations in Chinese reads the menus in Chinese.
        set_language(settings.language, self.locale)
        if ignored and ignored not in self._warned_ignored:
            self._warned_ignored.add(ignored)  # once per distinct set, not at every reload
            warning = ProjectSettingsIgnored(ignored).user_message()
            log.warning("settings: %s", warning)
            self.port.show_message("warning", warning)
        settings = settings.with_chosen_models(self.model_choices.effective(settings))
        for relay in settings.relays.values():
            if relay.api_key is not None:
                register_secret(relay.api_key.get_secret_value())
        self._settings = settings
        if self._relays is not None:
            self._relays.update(settings)
        set_content_logging(settings.log_content)
        if self.reloaded is not None:
            self.reloaded()
        for problem in problems:
            log.warning("settings: %s", problem)
        return problems

    def report(self, problems: list[str]) -> None:
        """Shows settings problems in one message."""
        if problems:
            self.port.show_message("warning", SettingsError(problems).user_message())

    def models_chosen(self) -> None:
        """Applies the models chosen with gptLsp.selectModel to the settings."""
        self._settings = self.settings.with_chosen_models(
            self.model_choices.effective(self.settings)
        )

    async def close(self) -> None:
        """Closes the relay connection pools (if any were opened)."""
        if self._relays is not None:
            await self._relays.aclose()
