"""check_drift through the engine: scripts report drift with ``ctx returns``, the results land
on the instances they are about, drifted instances get a drift_detected event, and update
operations read the drift back with ``ctx instance drift``."""

from __future__ import annotations

import json
import pathlib

import engine_support as support
from drift_support import blueprint

from cairn.model import executions
from cairn.services.manager import Manager

ES = executions.ExecutionStatus


def instances(manager: Manager) -> dict[str, object]:
    return {i.node_id: i for i in manager.store.list_instances("dep")}


def drift_of(manager: Manager, node: str) -> dict[str, object]:
    found = instances(manager)[node]
    return dict(found.system_properties["drift"])  # type: ignore[attr-defined]


def test_check_drift_records_results_per_instance_and_relationship_end(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    _, control = files
    support.deploy(manager, blueprint(tmp_path, control))
    clean = support.run(manager, "check_drift")
    assert clean.status is ES.SUCCEEDED, clean.error
    record = drift_of(manager, "conf")
    assert record["drifted"] is False
    assert record["execution"] == clean.id
    assert record["instance"] == {
        "drifted": False,
        "differences": {},
        "result": {"drifted": False, "differences": {}},
        "error": None,
    }
    # the target end of user -> conf runs for conf, and its result is kept on conf
    (link,) = record["relationships"]  # type: ignore[misc]
    user = instances(manager)["user"].id  # type: ignore[attr-defined]
    assert (link["side"], link["source"], link["drifted"]) == ("target", user, False)
    assert "drift" not in instances(manager)["plain"].system_properties  # type: ignore[attr-defined]
    assert not _drift_events(manager, clean.id)

    (tmp_path / "app.conf").write_text("edited")
    (control / "link-drifted").touch()
    found = support.run(manager, "check_drift")
    assert found.status is ES.SUCCEEDED, found.error
    record = drift_of(manager, "conf")
    assert record["drifted"] is True and record["execution"] == found.id
    assert record["instance"]["differences"] == {  # type: ignore[index]
        "content": {"expected": "v1", "actual": "edited"}
    }
    assert record["relationships"][0]["differences"] == {  # type: ignore[index]
        "port": {"expected": 80, "actual": 81}
    }
    (event,) = _drift_events(manager, found.id)
    assert event.node_instance_id == instances(manager)["conf"].id  # type: ignore[attr-defined]
    assert set(event.context["differences"]) == {
        "content",
        f"target {user}->{record['relationships'][0]['target']}",
    }  # type: ignore[index]

    # a new check replaces the whole record
    (tmp_path / "app.conf").write_text("v1")
    (control / "link-drifted").unlink()
    again = support.run(manager, "check_drift")
    assert drift_of(manager, "conf")["drifted"] is False
    assert len(drift_of(manager, "conf")["relationships"]) == 1  # type: ignore[arg-type]
    assert drift_of(manager, "conf")["execution"] == again.id


def test_update_operations_read_the_drift_with_ctx_instance_drift(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    _, control = files
    support.deploy(manager, blueprint(tmp_path, control))
    (tmp_path / "app.conf").write_text("edited")
    assert support.run(manager, "check_drift").status is ES.SUCCEEDED
    for operation in ("update", "postupdate"):
        ran = support.run(
            manager,
            "execute_operation",
            operation=f"cloudify.interfaces.lifecycle.{operation}",
            node_ids=["conf"],
        )
        assert ran.status is ES.SUCCEEDED, ran.error
    stored = drift_of(manager, "conf")
    for name in ("update-sh.json", "update-py.json"):
        seen = json.loads((tmp_path / name).read_text())
        assert seen == stored
        assert seen["instance"]["differences"]["content"]["actual"] == "edited"


def test_a_failing_check_is_recorded_and_fails_the_execution(
    manager: Manager, tmp_path: pathlib.Path, files: tuple[pathlib.Path, pathlib.Path]
) -> None:
    _, control = files
    path = blueprint(tmp_path, control)
    (path.parent / "scripts" / "check.sh").write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    support.deploy(manager, path)
    failed = support.run(manager, "check_drift")
    assert failed.status is ES.FAILED
    record = drift_of(manager, "conf")
    assert record["drifted"] is False
    assert record["instance"]["error"]  # type: ignore[index]


def _drift_events(manager: Manager, execution_id: str) -> list[object]:
    return [
        e
        for e in manager.store.list_events(execution_id=execution_id)
        if e.type == "drift_detected"
    ]
