"""How remote answers are printed: times, event lines, labels and parameters."""

from __future__ import annotations

import pytest

from cairn import errors
from cairn.cli import client, options, views


def test_times_are_shown_in_utc() -> None:
    assert views.when("2026-01-01T12:00:00.123456Z") == "2026-01-01 12:00:00Z"
    assert views.when("2026-01-01T14:00:00+02:00") == "2026-01-01 12:00:00Z"
    assert views.when(None) == "-"


def test_event_lines() -> None:
    line = views.event_line(
        {
            "timestamp": "2026-01-01T12:00:00Z",
            "node_instance_id": "web_1",
            "operation": "cloudify.interfaces.lifecycle.create",
            "message": "made\n  it",
            "type": "log",
        }
    )
    assert line.plain == "2026-01-01 12:00:00Z  web_1  lifecycle.create  made it"
    bare = views.event_line({"timestamp": "2026-01-01T12:00:00Z", "type": "workflow_started"})
    assert bare.plain == "2026-01-01 12:00:00Z  -  -  workflow_started"


def test_labels_and_parameters() -> None:
    assert options.labels(["env=prod", "env=eu", "team = web"]) == {
        "env": ["prod", "eu"],
        "team": ["web"],
    }
    with pytest.raises(errors.UsageError, match="--label nope"):
        options.labels(["nope"])
    assert options.parameters(["delta=2", "name=web"]) == {"delta": 2, "name": "web"}
    with pytest.raises(errors.UsageError, match=r"^-p junk"):
        options.parameters(["junk"])


def test_api_errors_become_cairn_errors() -> None:
    blueprint = client.from_error(
        "invalid_blueprint",
        "bad",
        [{"file": "b.yaml", "line": 3, "col": 5, "code": "unknown-type", "message": "no type"}],
    )
    assert isinstance(blueprint, errors.BlueprintError)
    assert blueprint.problems[0].render() == "b.yaml:3:5: unknown-type no type"
    inputs = client.from_error("invalid_inputs", "x", [{"message": "a"}, {"message": "b"}])
    assert isinstance(inputs, errors.InputError) and inputs.problems == ("a", "b")
    assert isinstance(client.from_error("not_found", "m", []), errors.NotFoundError)
    assert isinstance(client.from_error("conflict", "m", []), errors.ConflictError)
    assert isinstance(client.from_error("invalid_request", "m", []), errors.UsageError)
    assert type(client.from_error("internal", "m", [])) is errors.CairnError
