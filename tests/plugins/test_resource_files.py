"""cairn.nodes.File and cairn.nodes.Directory on real files: apply, drift, correct, undo."""

from __future__ import annotations

import hashlib
import os
import pathlib
import pwd
import stat

import pytest
from resource_support import Instance


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file(tmp_path: pathlib.Path, **properties: object) -> Instance:
    props: dict[str, object] = {"path": str(tmp_path / "site" / "index.html"), "content": "hi\n"}
    props.update(properties)
    return Instance(type_key="file", properties=props, data_dir=tmp_path / "data")


def test_install_writes_the_file_and_records_what_was_applied(tmp_path: pathlib.Path) -> None:
    page = _file(tmp_path, mode="0640")
    page.install()
    path = tmp_path / "site" / "index.html"
    assert path.read_bytes() == b"hi\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert page.runtime["content_sha256"] == _sha(b"hi\n")
    assert page.runtime["mode"] == "0640"
    before = path.stat().st_mtime_ns
    page.install()  # idempotent: nothing rewritten
    assert path.stat().st_mtime_ns == before
    assert page.drift() == {}
    assert page.ok("check_status") == {"path": str(path), "exists": True}


def test_edited_content_and_changed_mode_are_drift_with_the_exact_difference(
    tmp_path: pathlib.Path,
) -> None:
    page = _file(tmp_path, mode="0644")
    page.install()
    path = tmp_path / "site" / "index.html"
    path.write_text("defaced\n")
    path.chmod(0o600)
    assert page.drift() == {
        "content_sha256": {"expected": _sha(b"hi\n"), "actual": _sha(b"defaced\n")},
        "mode": {"expected": "0644", "actual": "0600"},
    }
    page.ok("update")
    assert path.read_bytes() == b"hi\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert page.drift() == {}


def test_a_missing_file_is_drift_and_fails_check_status(tmp_path: pathlib.Path) -> None:
    page = _file(tmp_path)
    page.install()
    (tmp_path / "site" / "index.html").unlink()
    assert page.drift() == {"exists": {"expected": True, "actual": False}}
    error = page.fails("check_status")
    assert "exists" in error and "res_1" in error


def test_a_changed_owner_is_drift(tmp_path: pathlib.Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    nobody = pwd.getpwnam("nobody")
    page = _file(tmp_path, owner="root")
    page.install()
    path = tmp_path / "site" / "index.html"
    os.chown(path, nobody.pw_uid, -1)
    assert page.drift() == {"owner": {"expected": "root", "actual": "nobody"}}
    page.ok("update")
    assert path.stat().st_uid == 0


def test_a_template_is_rendered_with_vars_then_deployment_inputs(tmp_path: pathlib.Path) -> None:
    page = _file(
        tmp_path,
        content="",
        template="<h1>${title}</h1> in ${region}, cost $$5, port ${port}\n",
        vars={"title": "Hello", "port": 8080},
    )
    page.inputs = {"region": "north", "title": "not this one"}
    page.install()
    text = (tmp_path / "site" / "index.html").read_text()
    assert text == "<h1>Hello</h1> in north, cost $5, port 8080\n"
    page.inputs = {"region": "south"}  # a new input value is drift until applied
    assert set(page.drift()) == {"content_sha256"}


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"template": "${nope}", "content": ""}, "placeholder ${nope} has no value"),
        ({"template": "x ${", "content": ""}, "bad template"),
        ({"template": "x", "content": "y"}, "either 'content' or 'template'"),
        ({"mode": "rw-r--r--"}, "property 'mode' must be an octal string"),
        ({"mode": "0999"}, "property 'mode' must be an octal string"),
        ({"path": "relative/file"}, "must be an absolute path"),
        ({"owner": "no-such-user-here"}, "unknown user 'no-such-user-here'"),
        ({"vars": ["a"], "template": "${a}", "content": ""}, "property 'vars' must be a mapping"),
    ],
)
def test_bad_properties_are_clear_errors_and_write_nothing(
    tmp_path: pathlib.Path, properties: dict[str, object], message: str
) -> None:
    page = _file(tmp_path, **properties)
    error = page.fails("create")
    assert message in error
    assert "cairn.nodes.File" in error
    assert not (tmp_path / "site").exists()
    assert page.runtime == {}


def test_delete_removes_the_file_and_is_harmless_twice(tmp_path: pathlib.Path) -> None:
    page = _file(tmp_path)
    page.install()
    page.ok("stop")
    page.ok("delete")
    assert not (tmp_path / "site" / "index.html").exists()
    assert "content_sha256" not in page.runtime
    page.ok("delete")


def test_a_folder_where_the_file_should_be_is_an_error(tmp_path: pathlib.Path) -> None:
    (tmp_path / "site" / "index.html").mkdir(parents=True)
    page = _file(tmp_path)
    assert "is a folder" in page.fails("create")


def _folder(tmp_path: pathlib.Path, **properties: object) -> Instance:
    props: dict[str, object] = {"path": str(tmp_path / "www" / "static")}
    props.update(properties)
    return Instance(type_key="directory", properties=props, data_dir=tmp_path / "data")


def test_a_directory_is_made_with_its_mode_and_its_drift_corrected(
    tmp_path: pathlib.Path,
) -> None:
    folder = _folder(tmp_path, mode="0750")
    folder.install()
    path = tmp_path / "www" / "static"
    assert path.is_dir() and stat.S_IMODE(path.stat().st_mode) == 0o750
    assert folder.drift() == {}
    path.chmod(0o777)
    assert folder.drift() == {"mode": {"expected": "0750", "actual": "0777"}}
    folder.ok("update")
    assert folder.drift() == {}
    path.rmdir()
    assert folder.drift() == {"exists": {"expected": True, "actual": False}}
    assert "exists" in folder.fails("check_status")
    folder.ok("update")
    assert path.is_dir()


def test_delete_leaves_a_directory_that_is_not_empty(tmp_path: pathlib.Path) -> None:
    folder = _folder(tmp_path)
    folder.install()
    path = tmp_path / "www" / "static"
    (path / "keep.txt").write_text("mine")
    result = folder.run("delete")
    assert ("warning", f"{path}: not empty, left in place") in result.logs
    assert (path / "keep.txt").exists()
    (path / "keep.txt").unlink()
    folder.ok("delete")
    assert not path.exists()


def test_a_file_where_the_directory_should_be_is_an_error(tmp_path: pathlib.Path) -> None:
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "static").write_text("x")
    assert "is not a folder" in _folder(tmp_path).fails("create")


def test_an_unknown_operation_is_refused(tmp_path: pathlib.Path) -> None:
    page = _file(tmp_path)
    page.type_key = "socket"
    error = page.fails("create")
    assert "unknown cairn_resources operation 'socket.create'" in error
    assert "file.create" in error
