"""Fixtures of the editor tests."""

from __future__ import annotations

import pytest

from tests.editors.vscode_session import prepare_tools


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> None:
    """VS Code's tools and the extension installed (skips without them, fails under CI)."""
    prepare_tools(tmp_path_factory)
