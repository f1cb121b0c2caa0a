"""``cairn sites ...`` and placing deployments, as a user runs them against a real manager.

Every refused command is one line on stderr with the documented exit code (2 for bad usage
and unknown names, 1 for refusals by the manager) and leaves sites and deployments as they
were.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import Manager, one_line_error, running_manager, write_blueprint

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    tmp = tmp_path_factory.mktemp("manager")
    with running_manager(tmp) as manager:
        bp = write_blueprint(tmp / "bp")
        uploaded = manager.cli("blueprints", "upload", str(bp), "-b", "bp")
        assert uploaded.returncode == 0, uploaded.stderr
        yield manager


def as_json(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def state(manager: Manager) -> tuple[Any, Any]:
    return (
        as_json(manager.cli("sites", "list", "-o", "json")),
        as_json(manager.cli("deployments", "list", "-o", "json")),
    )


def test_create_list_get_update_delete(shared: Manager) -> None:
    created = shared.cli(
        "sites", "create", "lyon", "--location", "45.76,4.84", "--label", "Region=eu",
        "--label", "tier=edge", "--description", "a rack in Lyon",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "site lyon created at 45.76,4.84"
    table = shared.cli("sites", "list")
    assert table.returncode == 0
    (row,) = [line for line in table.stdout.splitlines() if line.strip().startswith("lyon")]
    assert "never_seen" in row and "45.76,4.84" in row and "region=eu, tier=edge" in row
    assert "local" in table.stdout
    got = as_json(shared.cli("sites", "get", "lyon", "-o", "json"))
    assert got["labels"] == {"region": ["eu"], "tier": ["edge"]}
    assert got["status"] == "never_seen" and got["deployments"] == 0
    assert "a rack in Lyon" in shared.cli("sites", "get", "lyon").stdout
    updated = shared.cli(
        "sites", "update", "lyon", "--location", "45.7,4.8", "--label", "tier=core",
        "--remove-label", "tier=edge", "--remove-label", "region", "--description", "moved",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    got = as_json(shared.cli("sites", "get", "lyon", "-o", "json"))
    assert got["location"] == {"latitude": 45.7, "longitude": 4.8}
    assert (got["labels"], got["description"]) == ({"tier": ["core"]}, "moved")
    deleted = shared.cli("sites", "delete", "lyon")
    assert (deleted.returncode, deleted.stdout.strip()) == (0, "site lyon deleted")
    assert shared.cli("sites", "get", "lyon").returncode == 2


def test_tokens_go_to_stdout_or_a_private_file(shared: Manager, tmp_path: Path) -> None:
    assert shared.cli("sites", "create", "nantes", "--location", "47.2,-1.55").returncode == 0
    printed = shared.cli("sites", "token", "nantes")
    assert printed.returncode == 0, printed.stderr
    first = printed.stdout.strip()
    assert len(first) > 30 and "shown only this once" in printed.stderr
    path = tmp_path / "agent" / "nantes.token"
    written = shared.cli("sites", "token", "nantes", "--output-file", str(path))
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = path.read_text().strip()
    assert second and second != first
    tokens = as_json(shared.cli("tokens", "list", "-o", "json"))
    agents = [
        (t["role"], t["revoked"]) for t in tokens if t["description"] == "agent of site nantes"
    ]
    assert agents == [("agent", True), ("agent", False)]
    # an agent token is no token for people
    refused = shared.cli("sites", "list", env={"CAIRN_TOKEN": second})
    assert refused.returncode == 1
    assert "needs the viewer role" in one_line_error(refused)
    assert shared.cli("sites", "delete", "nantes").returncode == 0


def test_deployments_are_placed_and_moved(shared: Manager) -> None:
    assert shared.cli("sites", "create", "lille", "--location", "50.63,3.06").returncode == 0
    created = shared.cli("deployments", "create", "dl", "-b", "bp", "--site", "lille")
    assert created.returncode == 0, created.stderr
    assert "on site lille" in created.stdout
    assert as_json(shared.cli("deployments", "get", "dl", "-o", "json"))["site"] == "lille"
    (row,) = [
        line for line in shared.cli("deployments", "list").stdout.splitlines() if "dl" in line
    ]
    assert "lille" in row
    assert as_json(shared.cli("sites", "get", "lille", "-o", "json"))["deployments"] == 1
    refused = shared.cli("sites", "delete", "lille")
    assert refused.returncode == 1
    assert "1 deployment placed on it (dl)" in one_line_error(refused)
    moved = shared.cli("deployments", "set-site", "dl", "local")
    assert (moved.returncode, moved.stdout.strip()) == (0, "deployment dl moved to site local")
    assert "local" in shared.cli("deployments", "get", "dl").stdout
    assert shared.cli("sites", "delete", "lille").returncode == 0
    assert shared.cli("deployments", "delete", "dl").returncode == 0


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (("sites", "create", "x", "--location", "91,0"), 2, "latitude 91.0 is not between"),
        (("sites", "create", "x", "--location", "north"), 2, "expected LAT,LONG"),
        (("sites", "create", "x", "--location", "1,2", "--label", "nope"), 2, "KEY=VALUE"),
        (("sites", "create", "x", "--location", "1,2", "--label", "a b=c"), 2, "label key"),
        (("sites", "create", "bad/name", "--location", "1,2"), 2, "may hold only letters"),
        (("sites", "create", "local", "--location", "1,2"), 1, "site 'local' already exists"),
        (("sites", "update", "nope", "--description", "x"), 2, "site 'nope' not found"),
        (("sites", "update", "local", "--remove-label", "k"), 2, "has no label 'k'"),
        (("sites", "delete", "local"), 1, "built in and cannot be deleted"),
        (("sites", "token", "local"), 1, "has no agent token"),
        (("sites", "token", "nope"), 2, "site 'nope' not found"),
        (("deployments", "create", "dx", "-b", "bp", "--site", "nope"), 2, "does not exist"),
        (("deployments", "set-site", "nope", "local"), 2, "deployment 'nope' not found"),
        (("tokens", "create", "--role", "agent"), 2, "cairn sites token"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else str(value),
)
def test_bad_input_is_one_line_and_changes_nothing(
    shared: Manager, args: tuple[str, ...], code: int, words: str
) -> None:
    before = state(shared)
    result = shared.cli(*args)
    assert result.returncode == code, result.stderr
    assert words in one_line_error(result)
    assert state(shared) == before
