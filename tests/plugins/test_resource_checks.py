"""cairn.nodes.HttpCheck against a real HTTP server, cairn.nodes.Command with real commands."""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Iterator

import pytest
from resource_support import Instance, free_port, stopping_services


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[tuple[int, pathlib.Path]]:
    """A real ``python3 -m http.server`` (run as a cairn.nodes.Service): (port, its folder)."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("<h1>hello from cairn</h1>\n")
    port = free_port()
    with stopping_services(tmp_path) as started:
        web = Instance(
            type_key="service",
            properties={
                "command": f"{sys.executable} -m http.server {port} --bind 127.0.0.1",
                "port": port,
                "cwd": str(root),
            },
            data_dir=tmp_path / "data",
        )
        started.append(web)
        web.install()
        yield port, root


def _check(tmp_path: pathlib.Path, url: str, **properties: object) -> Instance:
    props: dict[str, object] = {"url": url, "timeout": 2, "wait": 1}
    props.update(properties)
    return Instance(type_key="http_check", properties=props, data_dir=tmp_path / "data")


def test_an_answer_as_declared_is_no_drift(
    tmp_path: pathlib.Path, server: tuple[int, pathlib.Path]
) -> None:
    port, _ = server
    check = _check(tmp_path, f"http://127.0.0.1:{port}/", body_pattern="hello from (cairn|x)")
    check.install()
    assert check.runtime == {"url": f"http://127.0.0.1:{port}/", "status": 200}
    assert check.drift() == {}
    assert check.ok("check_status") == {"url": f"http://127.0.0.1:{port}/", "status": 200}


def test_a_changed_body_and_a_wrong_status_are_drift(
    tmp_path: pathlib.Path, server: tuple[int, pathlib.Path]
) -> None:
    port, root = server
    url = f"http://127.0.0.1:{port}/index.html"
    check = _check(tmp_path, url, body_pattern="hello from cairn")
    check.install()
    (root / "index.html").write_text("defaced\n")
    assert check.drift() == {
        "body": {"expected": "matches 'hello from cairn'", "actual": "no match in 'defaced\\n'"}
    }
    assert "body" in check.fails("check_status")
    (root / "index.html").unlink()
    found = check.drift()
    assert found["status"] == {"expected": 200, "actual": 404}
    assert set(found) == {"status", "body"}  # the error page does not match either
    assert "status: expected 200, found 404" in check.fails("check_status")


def test_an_unreachable_url_is_drift_and_start_fails_recoverably(tmp_path: pathlib.Path) -> None:
    port = free_port()  # nothing listens there
    check = _check(tmp_path, f"http://127.0.0.1:{port}/")
    check.ok("create")
    error = check.fails("start", recoverable=True)
    assert "unreachable" in error
    found = check.drift()
    assert list(found) == ["status"]
    assert found["status"]["expected"] == 200
    assert found["status"]["actual"].startswith("unreachable: ")
    assert "unreachable" in check.fails("check_status")


def test_an_expected_error_status_is_as_declared(
    tmp_path: pathlib.Path, server: tuple[int, pathlib.Path]
) -> None:
    port, _ = server
    check = _check(tmp_path, f"http://127.0.0.1:{port}/missing", status=404)
    check.install()
    assert check.drift() == {}


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"url": "ftp://example.invalid/"}, "must be an http:// or https:// URL"),
        ({"url": ""}, "property 'url' must be a non-empty string"),
        ({"body_pattern": "(unclosed"}, "is not a regular expression"),
        ({"status": 42}, "property 'status' must be between 100 and 599"),
    ],
)
def test_bad_check_properties_are_clear_errors(
    tmp_path: pathlib.Path, properties: dict[str, object], message: str
) -> None:
    check = _check(tmp_path, "http://127.0.0.1:9/")
    check.properties.update(properties)
    assert message in check.fails("create")
    assert message in check.fails("check_drift")


def _command(tmp_path: pathlib.Path, **properties: object) -> Instance:
    state = tmp_path / "state.txt"
    props: dict[str, object] = {
        "command": f"cat {state}",
        "apply": f"echo enabled > {state}",
    }
    props.update(properties)
    (tmp_path / "data").mkdir(exist_ok=True)
    return Instance(type_key="command", properties=props, data_dir=tmp_path / "data")


def test_a_command_records_its_output_and_a_changed_output_is_drift(
    tmp_path: pathlib.Path,
) -> None:
    command = _command(tmp_path)
    command.install()
    assert command.runtime["output"] == "enabled"
    assert command.drift() == {}
    (tmp_path / "state.txt").write_text("disabled\n")
    assert command.drift() == {"output": {"expected": "enabled", "actual": "disabled"}}
    command.ok("check_status")  # it still runs fine: drifted, not unhealthy
    command.ok("update")  # apply again, observe again
    assert (tmp_path / "state.txt").read_text() == "enabled\n"
    assert command.drift() == {}


def test_expected_output_is_checked_at_start_and_by_drift(tmp_path: pathlib.Path) -> None:
    command = _command(tmp_path, expected_output="enabled\n")
    command.install()
    (tmp_path / "state.txt").write_text("off")
    assert command.drift() == {"output": {"expected": "enabled", "actual": "off"}}
    wrong = _command(tmp_path, apply="", expected_output="something else")
    assert "not the expected 'something else'" in wrong.fails("start")


def test_a_failing_command_is_drift_and_fails_check_status(tmp_path: pathlib.Path) -> None:
    command = _command(tmp_path)
    command.install()
    (tmp_path / "state.txt").unlink()
    assert command.drift() == {
        "exit_code": {"expected": 0, "actual": 1},
        "output": {"expected": "enabled", "actual": ""},
    }
    assert "exit_code: expected 0, found 1" in command.fails("check_status")


def test_apply_and_undo_failures_are_reported_with_what_they_said(
    tmp_path: pathlib.Path,
) -> None:
    command = _command(tmp_path, apply="echo no permission >&2; exit 4")
    error = command.fails("create")
    assert "apply command exited 4: no permission" in error
    undo = _command(tmp_path, undo=f"rm {tmp_path / 'state.txt'}")
    undo.install()
    undo.ok("delete")
    assert not (tmp_path / "state.txt").exists()
    assert "output" not in undo.runtime


def test_a_command_past_its_timeout_fails_recoverably(tmp_path: pathlib.Path) -> None:
    command = _command(tmp_path, command="sleep 30", timeout=1)
    assert "did not end within 1.0s" in command.fails("start", recoverable=True)
    result = command.run("start", timeout=0.5)  # the operation's own deadline bounds it too
    assert result.outcome.error is not None and "did not end within 0.5s" in result.outcome.error
