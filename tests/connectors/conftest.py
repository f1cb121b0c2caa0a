"""Fixtures for connector tests: a blueprint folder and connectors that clean up after."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import signal
from collections.abc import Callable, Iterator

import pytest

from cairn.connectors import interface, local


@pytest.fixture
def blueprint(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "blueprint"
    (folder / "scripts").mkdir(parents=True)
    (folder / "templates").mkdir()
    (folder / "templates" / "app.conf").write_text(
        "listen {{ ctx.node.properties.port }} on {{ ctx.instance.host_ip }}\n"
    )
    return folder


@pytest.fixture
def data_dir(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    folder = tmp_path / "data"
    yield folder
    # whatever a test left running (dropped connectors, crashed managers) is stopped here
    for pid_file in (folder / "journal").glob("*/pid.json"):
        pid = json.loads(pid_file.read_text())["pid"]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


@pytest.fixture
def make_connector(data_dir: pathlib.Path) -> Iterator[Callable[..., local.LocalConnector]]:
    made: list[local.LocalConnector] = []

    def make(**options: object) -> local.LocalConnector:
        capacity = options.pop("capacity", None)
        connector = local.LocalConnector(
            data_dir=data_dir,
            capacity=capacity if isinstance(capacity, interface.Capacity) else None,
            kill_grace=float(options.pop("kill_grace", 1.0)),  # type: ignore[arg-type]
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()


def write_script(folder: pathlib.Path, name: str, text: str) -> str:
    path = folder / "scripts" / name
    path.write_text(text)
    path.chmod(0o755)
    return f"scripts/{name}"
