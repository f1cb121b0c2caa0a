"""``cairn filters``, ``cairn groups``, ``cairn deployments labels`` and filtered lists, as
a user runs them against a real manager, with the real hello-web blueprint from examples/.

Refused commands print one line on stderr, exit non-zero, and leave everything as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import REPO, Manager, one_line_error, running_manager

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    tmp = tmp_path_factory.mktemp("manager")
    with running_manager(tmp) as manager:
        web = str(REPO / "examples" / "hello-web")
        assert manager.cli("blueprints", "upload", web, "-b", "hello-web").returncode == 0
        for name, where, region in (("paris-eu", "48.85,2.35", "eu"), ("lyon-eu", "45.7,4.8",
                                    "eu"), ("ohio-us", "40.4,-82.9", "us")):  # fmt: skip
            made = manager.cli("sites", "create", name, "--location", where, "--label",
                               f"region={region}")  # fmt: skip
            assert made.returncode == 0, made.stderr
        yield manager


def as_json(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def state(manager: Manager) -> tuple[Any, ...]:
    return (
        as_json(manager.cli("deployments", "list", "-o", "json")),
        as_json(manager.cli("groups", "list", "-o", "json")),
        as_json(manager.cli("filters", "list", "-o", "json")),
    )


def ids(result: Any) -> list[str]:
    return sorted(row.get("id") or row.get("name") for row in as_json(result))


def test_groups_from_a_yaml_sites_file(shared: Manager, tmp_path: Path) -> None:
    sites = tmp_path / "sites.yaml"
    sites.write_text(
        "- site: paris-eu\n"
        "  inputs: {port: 9101, stage: prod}\n"
        "  labels: {tier: [edge, small], env: prod}\n"
        "- site: ohio-us\n"
        "  deployment_id: shop-ohio\n"
        "  labels: {env: staging}\n"
    )
    made = shared.cli("groups", "create", "shop", "-b", "hello-web", "--sites-from", str(sites),
                      "-i", "port=9100", "--description", "the shops")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "group shop created with 2 members, 2 deployments created"
    got = as_json(shared.cli("groups", "get", "shop", "-o", "json"))
    assert got["description"] == "the shops"
    assert [(m["deployment_id"], m["site"], m["status"]) for m in got["deployments"]] == [
        ("shop-ohio", "ohio-us", "never_installed"),
        ("shop-paris-eu", "paris-eu", "never_installed"),
    ]
    paris = as_json(shared.cli("deployments", "inputs", "shop-paris-eu", "-o", "json"))
    ohio = as_json(shared.cli("deployments", "inputs", "shop-ohio", "-o", "json"))
    assert (paris["inputs"]["port"], paris["inputs"]["stage"]) == (9101, "prod")
    assert (ohio["inputs"]["port"], ohio["inputs"]["stage"]) == (9100, "dev")
    table = shared.cli("groups", "get", "shop")
    assert "shop-paris-eu" in table.stdout and "tier=edge, tier=small, env=prod" in table.stdout
    listed = shared.cli("deployments", "list", "--filter", "env=prod", "--filter",
                        "id starts-with shop-", "-o", "json")  # fmt: skip
    assert ids(listed) == ["shop-paris-eu"]


def test_groups_from_a_csv_sites_file_and_a_site_filter(shared: Manager, tmp_path: Path) -> None:
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site,deployment_id,input.port,input.site_title,label.tier\n"
        "lyon-eu,,9201,Lyon shop,edge;core\n"
        "ohio-us,csv-ohio,9202,,\n"
    )
    made = shared.cli("groups", "create", "csv", "-b", "hello-web", "--sites-from", str(sites))
    assert made.returncode == 0, made.stderr
    lyon = as_json(shared.cli("deployments", "get", "csv-lyon-eu", "-o", "json"))
    assert (lyon["site"], lyon["inputs"]["port"], lyon["inputs"]["site_title"]) == (
        "lyon-eu", 9201, "Lyon shop"
    )  # fmt: skip
    assert lyon["labels"] == {"tier": ["edge", "core"]}
    ohio = as_json(shared.cli("deployments", "get", "csv-ohio", "-o", "json"))
    assert (ohio["site"], ohio["inputs"]["port"], ohio["labels"]) == ("ohio-us", 9202, {})
    made = shared.cli("groups", "create", "eu", "-b", "hello-web", "--site-filter", "region=eu",
                      "-i", "port=9300", "-o", "json")  # fmt: skip
    assert as_json(made)["created_deployments"] == ["eu-lyon-eu", "eu-paris-eu"]


def test_a_bad_row_creates_nothing(shared: Manager, tmp_path: Path) -> None:
    before = state(shared)
    sites = tmp_path / "sites.csv"
    sites.write_text(
        "site,input.port,input.stage\nparis-eu,9401,prod\nmars,80,prod\nlyon-eu,9402,qa\n"
    )
    refused = shared.cli("groups", "create", "bad", "-b", "hello-web", "--sites-from", str(sites))
    assert refused.returncode == 1
    line = one_line_error(refused)
    assert "row 2 (site mars): site 'mars' does not exist" in line
    assert "row 3 (site lyon-eu)" in line and "stage" in line and "row 1" not in line
    taken = tmp_path / "taken.yaml"
    taken.write_text("- site: paris-eu\n- site: lyon-eu\n  deployment_id: shop-ohio\n")
    refused = shared.cli("groups", "create", "bad", "-b", "hello-web", "--sites-from", str(taken))
    assert refused.returncode == 1
    assert "shop-ohio already exists; nothing was created" in one_line_error(refused)
    (tmp_path / "junk.yaml").write_text("- {site: paris-eu, colour: red}\n- 42\n")
    junk = shared.cli("groups", "create", "bad", "-b", "hello-web", "--sites-from",
                      str(tmp_path / "junk.yaml"))  # fmt: skip
    assert junk.returncode == 2
    assert "row 1: unknown field colour" in one_line_error(junk)
    assert state(shared) == before


def test_filters_groups_and_labels(shared: Manager) -> None:
    for name, env in (("app-1", "prod"), ("app-2", "prod"), ("app-3", "dev")):
        made = shared.cli("deployments", "create", name, "-b", "hello-web", "--label",
                          f"env={env}", "--site", "paris-eu")  # fmt: skip
        assert made.returncode == 0, made.stderr
    labelled = shared.cli("deployments", "labels", "app-3", "--label", "Env=prod", "--remove",
                          "env=dev", "--label", "owner=ops")  # fmt: skip
    assert labelled.returncode == 0, labelled.stderr
    assert labelled.stdout.strip() == "deployment app-3: env=prod, owner=ops"
    shown = as_json(shared.cli("deployments", "labels", "app-3", "-o", "json"))
    assert shown == {"env": ["prod"], "owner": ["ops"]}
    saved = shared.cli("filters", "create", "apps", "--filter", "id starts-with app-",
                       "--filter", "env=prod", "--description", "the apps")  # fmt: skip
    assert saved.stdout.strip() == "filter apps saved: id starts-with app-; env=prod"
    assert "id starts-with app-; env=prod" in shared.cli("filters", "list").stdout
    assert as_json(shared.cli("filters", "get", "apps", "-o", "json"))["kind"] == "deployments"
    assert ids(shared.cli("deployments", "list", "--filter-id", "apps", "-o", "json")) == [
        "app-1", "app-2", "app-3"
    ]  # fmt: skip
    sites = shared.cli("sites", "list", "--filter", "region=eu", "-o", "json")
    assert ids(sites) == ["lyon-eu", "paris-eu"]
    made = shared.cli("groups", "create", "apps", "--filter-id", "apps", "-d", "app-1")
    assert made.stdout.strip() == "group apps created with 3 members"
    shrunk = shared.cli("groups", "shrink", "apps", "--filter", "owner is not null")
    assert shrunk.stdout.strip() == "group apps: 1 deployment removed: app-3 (2 members)"
    extended = shared.cli("groups", "extend", "apps", "-d", "app-3,app-2")
    assert extended.stdout.strip() == "group apps: 1 deployment added: app-3 (3 members)"
    assert "apps" in shared.cli("groups", "list").stdout
    assert shared.cli("groups", "delete", "apps").stdout.strip() == "group apps deleted"
    assert shared.cli("groups", "get", "apps").returncode == 2
    assert shared.cli("deployments", "get", "app-1").returncode == 0
    assert shared.cli("filters", "delete", "apps").returncode == 0


def test_refusals_are_one_line_and_change_nothing(shared: Manager) -> None:
    shared.cli("groups", "create", "keep")
    before = state(shared)
    for args, code, words in (
        (("deployments", "list", "--filter", "env"), 2, "rule 'env': expected KEY=VALUE"),
        (("deployments", "list", "--filter", "id is null"), 2, "is_null applies to labels"),
        (("sites", "list", "--filter", "blueprint starts-with x"), 2, "applies to attributes"),
        (("deployments", "list", "--filter-id", "nope"), 2, "filter 'nope' does not exist"),
        (("filters", "create", "f", "--filter", "a=b", "--filter", "c"), 2, "rule 'c'"),
        (("filters", "create", "f"), 2, "at least one rule"),
        (("groups", "create", "keep"), 1, "group 'keep' already exists"),
        (("groups", "create", "g", "-d", "zed"), 2, "deployment 'zed' not found"),
        (("groups", "extend", "keep"), 2, "nothing to extend"),
        (("groups", "extend", "nope", "-d", "x"), 2, "group 'nope' not found"),
        (("groups", "create", "g", "-b", "hello-web"), 2, "give at least one site filter"),
        (("groups", "create", "g", "-b", "hello-web", "--sites-from", "/no/such.csv"), 2,
         "cannot read the sites file"),
        (("deployments", "labels", "shop-ohio", "--remove", "nope"), 2, "has no label 'nope'"),
    ):  # fmt: skip
        result = shared.cli(*args)
        assert result.returncode == code, (args, result.stderr)
        assert words in one_line_error(result), args
    assert state(shared) == before
