"""Shared fixtures: relay simulators started and stopped around each test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
from hypothesis import settings

from tests.relay_sim import RelaySim

# CI runs the same examples every time (a red run is then reproducible, never a dice roll);
# runs on a developer's machine keep exploring and remember what failed.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

TEST_API_KEY = "sk-test-0123456789abcdef"


@pytest.fixture(autouse=True)
def _english_ui() -> Iterator[None]:
    """Each test starts in English: the UI language is per process (gpt_lsp.i18n)."""
    from gpt_lsp.i18n import set_language

    set_language("en")
    yield
    set_language("en")


class RelaySimFactory(Protocol):
    """Creates and starts a RelaySim; all are stopped at teardown."""

    def __call__(self, **kwargs: Any) -> RelaySim:
        """Start a simulator with RelaySim(**kwargs)."""
        ...


@pytest.fixture
def relay_sim() -> Iterator[RelaySim]:
    """A started simulator under /v1 that wants TEST_API_KEY."""
    with RelaySim(prefix="/v1", api_key=TEST_API_KEY) as sim:
        yield sim


@pytest.fixture
def relay_sim_factory() -> Iterator[RelaySimFactory]:
    """Factory for extra simulators (backup hosts, other tiers), stopped at teardown."""
    started: list[RelaySim] = []

    def make(**kwargs: Any) -> RelaySim:
        kwargs.setdefault("api_key", TEST_API_KEY)
        kwargs.setdefault("name", f"sim{len(started)}")
        sim = RelaySim(**kwargs).start()
        started.append(sim)
        return sim

    yield make
    for sim in reversed(started):
        sim.stop()
