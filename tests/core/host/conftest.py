"""Fixtures of the host tests: the scenario distributions and an isolated ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from plugin_dists import scenario_target


@pytest.fixture
def isolated_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The host puts discovery paths on ``sys.path``; undo that after each test."""
    monkeypatch.setattr(sys, "path", list(sys.path))


@pytest.fixture(scope="session")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scenario_target(tmp_path_factory)
