"""Fixtures of the engine tests: a real manager (store, engine, local connector) and the
files the recording scripts of engine_support.py write to and read from."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from cairn.engine import executor
from cairn.model import executions
from cairn.services.manager import Manager


@pytest.fixture
def manager(tmp_path: pathlib.Path) -> Iterator[Manager]:
    """No retries unless a test asks for them: a failing script fails at once."""
    settings = executor.Settings(
        idle_wait=0.05, defaults=executions.RetryPolicy(max_retries=0, retry_interval=0)
    )
    with Manager.open(tmp_path / "data", settings=settings) as opened:
        yield opened


@pytest.fixture
def files(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """(the log every recorded operation appends to, the folder of control files)."""
    control = tmp_path / "control"
    control.mkdir()
    return tmp_path / "ops.log", control
