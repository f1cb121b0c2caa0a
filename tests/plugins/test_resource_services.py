"""cairn.nodes.Service, HttpCheck and Command with real processes, ports and HTTP."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import sys
import time
from collections.abc import Iterator

import pytest
from resource_support import Instance, free_port, stopping_services

from cairn.plugins.resources import services


@pytest.fixture
def started(tmp_path: pathlib.Path) -> Iterator[list[Instance]]:
    with stopping_services(tmp_path) as instances:
        yield instances


def _web(tmp_path: pathlib.Path, started: list[Instance], **properties: object) -> Instance:
    root = tmp_path / "www"
    root.mkdir(exist_ok=True)
    (root / "index.html").write_text("<h1>hello from cairn</h1>\n")
    port = free_port()
    props: dict[str, object] = {
        "command": f"{sys.executable} -m http.server {port} --bind 127.0.0.1",
        "port": port,
        "cwd": str(root),
        "start_timeout": 20,
        "stop_timeout": 5,
    }
    props.update(properties)
    web = Instance(type_key="service", properties=props, data_dir=tmp_path / "data")
    started.append(web)
    return web


def _gone(pid: int) -> bool:
    return not services.alive(pid, None)


def test_a_service_starts_detached_listens_and_stops_with_its_group(
    tmp_path: pathlib.Path, started: list[Instance]
) -> None:
    web = _web(tmp_path, started)
    web.install()
    pid = web.runtime["pid"]
    port = web.properties["port"]
    assert services.listening("127.0.0.1", port)  # type: ignore[arg-type]
    assert os.getpgid(pid) == pid and os.getsid(pid) == pid  # its own session
    assert web.runtime["port"] == port
    assert web.runtime["log"] == str(tmp_path / "data" / "services" / "dep" / "res_1.log")
    assert web.drift() == {}
    assert web.ok("check_status") == {"pid": pid, "port": port}
    web.ok("start")  # idempotent: still the same process
    assert web.runtime["pid"] == pid
    web.ok("stop")
    assert _gone(pid)
    assert not services.listening("127.0.0.1", port)  # type: ignore[arg-type]
    assert "pid" not in web.runtime
    web.ok("delete")


def test_a_killed_service_is_drift_fails_check_status_and_update_restarts_it(
    tmp_path: pathlib.Path, started: list[Instance]
) -> None:
    web = _web(tmp_path, started)
    web.install()
    pid = web.runtime["pid"]
    port = web.properties["port"]
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10  # the shell and the server it started both end
    while time.monotonic() < deadline and (not _gone(pid) or services.listening("127.0.0.1", port)):
        time.sleep(0.05)
    assert web.drift() == {
        "process": {"expected": "running", "actual": f"not running (pid {pid} is gone)"},
        "port": {"expected": f"listening on 127.0.0.1:{port}", "actual": "not listening"},
    }
    error = web.fails("check_status")
    assert "process" in error and "port" in error
    web.ok("update")
    assert web.runtime["pid"] != pid
    assert web.drift() == {}


def test_a_port_that_does_not_listen_is_drift(
    tmp_path: pathlib.Path, started: list[Instance]
) -> None:
    """The process runs but its port is closed (here: it never opened the declared one)."""
    web = _web(tmp_path, started)
    web.install()
    other = free_port()
    web.properties["port"] = other
    assert web.drift() == {
        "port": {"expected": f"listening on 127.0.0.1:{other}", "actual": "not listening"}
    }
    assert "port" in web.fails("check_status")


def test_a_changed_command_is_drift_and_update_runs_the_new_one(
    tmp_path: pathlib.Path, started: list[Instance]
) -> None:
    web = _web(tmp_path, started)
    web.install()
    old = web.properties["command"]
    web.properties["command"] = f"{old} --directory {tmp_path / 'www'}"
    assert web.drift() == {"command": {"expected": web.properties["command"], "actual": old}}
    web.ok("check_status")  # a stale command is drift, not ill health
    first = web.runtime["pid"]
    web.ok("update")
    assert web.runtime["command"] == web.properties["command"]
    assert _gone(first)
    assert web.drift() == {}


def test_a_command_that_ends_at_start_fails_with_its_log(
    tmp_path: pathlib.Path, started: list[Instance]
) -> None:
    web = _web(tmp_path, started, command="echo broken config >&2; exit 3")
    error = web.fails("start")
    assert "the command ended at start" in error
    assert "broken config" in error


def test_a_port_that_never_listens_fails_recoverably_and_stops_the_process(
    tmp_path: pathlib.Path, started: list[Instance]
) -> None:
    # a duration no other process on the machine uses, to find this one by its command line
    duration = f"60.{os.getpid()}{time.monotonic_ns() % 10_000}"
    web = _web(tmp_path, started, command=f"exec sleep {duration}", start_timeout=1, stop_timeout=1)
    error = web.fails("start", recoverable=True)
    assert "nothing listens on 127.0.0.1" in error
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = pathlib.Path(f"/proc/{name}/cmdline").read_bytes()
            except OSError:
                continue
            assert cmdline != f"sleep\x00{duration}\x00".encode()


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"command": ""}, "property 'command' must be a non-empty string"),
        ({"port": 70000}, "property 'port' must be between 0 and 65535"),
        ({"port": "http"}, "property 'port' must be an integer"),
        ({"cwd": "relative"}, "property 'cwd' must be an absolute path"),
        ({"env": "A=1"}, "property 'env' must be a mapping"),
    ],
)
def test_bad_service_properties_are_clear_errors_and_start_nothing(
    tmp_path: pathlib.Path, started: list[Instance], properties: dict[str, object], message: str
) -> None:
    web = _web(tmp_path, started, **properties)
    assert message in web.fails("create")
    assert message in web.fails("start")
    assert web.runtime == {}


def test_a_service_inherits_no_descriptor_of_the_process_that_starts_it(
    tmp_path: pathlib.Path, started: list[Instance]
) -> None:
    """``cairn up --detach`` hands its listening socket down inheritable: a service that
    kept it would hold the manager's port after the manager stopped."""
    read_end, write_end = os.pipe()
    os.set_inheritable(read_end, True)
    try:
        quiet = _web(tmp_path, started, command="exec sleep 60", port=0)
        quiet.install()
        pid = quiet.runtime["pid"]
        ours = os.readlink(f"/proc/self/fd/{read_end}")
        # once its shell has become `sleep` (until then the shell opens and closes its own)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep"):
                break
            time.sleep(0.05)
        theirs = _descriptors(pid)
        assert ours.startswith("pipe:") and ours not in theirs
        quiet.ok("stop")
    finally:
        os.close(read_end)
        os.close(write_end)


def _descriptors(pid: int) -> list[str]:
    """What the process's open descriptors point to; one closed while we look is skipped
    (an inherited one stays open: it is what we look for)."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):
            found.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return found


def test_what_the_service_started_is_stopped_even_when_its_shell_is_gone(
    tmp_path: pathlib.Path, started: list[Instance]
) -> None:
    port = free_port()
    command = f"{sys.executable} -m http.server {port} --bind 127.0.0.1; true"
    web = _web(tmp_path, started, command=command, port=port)
    web.install()
    shell = web.runtime["pid"]
    os.kill(shell, signal.SIGKILL)  # the server it started lives on in the group
    deadline = time.monotonic() + 10
    while not _gone(shell) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(web.drift()) == {"process"}  # the port still answers
    web.ok("stop")
    assert not services.listening("127.0.0.1", port)
