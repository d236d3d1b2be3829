"""Fixtures for end-to-end tests: a relay simulator and an editor driving the real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import TEST_API_KEY
from tests.e2e.editor import Editor, start_editor
from tests.relay_sim import RelaySim

PROFILES = [("vscode", "utf-16"), ("neovim", "utf-8")]


def relay_options(sim: RelaySim, **extra: Any) -> dict[str, Any]:
    """initializationOptions pointing the server at a simulator."""
    return {"baseUrl": sim.base_url, "apiKey": TEST_API_KEY, "model": "gpt-4", **extra}


@pytest.fixture(params=PROFILES, ids=[p for p, _ in PROFILES])
def profile(request: pytest.FixtureRequest) -> tuple[str, str]:
    """An editor profile and its position encoding."""
    return request.param  # type: ignore[no-any-return]


EditorFactory = Callable[..., Any]


@pytest_asyncio.fixture
async def make_editor(tmp_path: Path) -> AsyncIterator[EditorFactory]:
    """Starts editors (server subprocesses); all shut down at teardown."""
    editors: list[Editor] = []

    async def make(
        options: dict[str, Any],
        profile: str = "vscode",
        encoding: str = "utf-16",
        *,
        answers: bool = True,
        locale: str | None = None,
        folders: list[Path] | None = None,
    ) -> Editor:
        editor = await start_editor(
            tmp_path, profile, encoding, options, answers=answers, locale=locale, folders=folders
        )
        editors.append(editor)
        return editor

    yield make
    for editor in editors:
        try:
            await editor.shutdown()
        finally:
            await editor.client.stop()


@pytest_asyncio.fixture
async def editor(
    make_editor: EditorFactory, relay_sim: RelaySim, profile: tuple[str, str]
) -> Editor:
    """An editor of each profile connected to a server that uses `relay_sim`."""
    name, encoding = profile
    result: Editor = await make_editor(relay_options(relay_sim), name, encoding)
    return result
