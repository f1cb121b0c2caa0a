"""``cairn deployments update | history | revert`` against a real ``cairn up``, with the
hello-web example and its revision 2 (examples/hello-web-v2): the page changes, about.html
comes; revert takes both back."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from cli_support import Manager, free_port, one_line_error, running_manager

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    with running_manager(tmp_path_factory.mktemp("manager")) as manager:
        yield manager


def ok(result: object) -> str:
    assert result.returncode == 0, result.stdout + result.stderr  # type: ignore[attr-defined]
    return str(result.stdout)  # type: ignore[attr-defined]


def test_update_preview_history_and_revert(shared: Manager) -> None:
    port = free_port()
    ok(shared.cli("install", "examples/hello-web", "-d", "web", "-i", f"port={port}"))
    ok(shared.cli("blueprints", "upload", "examples/hello-web-v2", "-b", "hello-web-v2"))
    url = f"http://127.0.0.1:{port}/"
    assert "footer" not in httpx.get(url, timeout=5).text
    shown = ok(shared.cli("deployments", "update", "web", "-b", "hello-web-v2", "--preview"))
    lines = shown.splitlines()
    assert lines[0] == "deployment web: revision 1 -> 2 (blueprint hello-web-v2)"
    assert "  + node about" in lines
    assert "  + property content.footer = Now with an about page." in lines
    assert any(line.startswith("  ~ content_") and "reinstall" in line for line in lines)
    assert any(line.startswith("  + about_") for line in lines)
    preview = json.loads(
        ok(
            shared.cli(
                "deployments", "update", "web", "-b", "hello-web-v2", "--preview", "-o", "json"
            )
        )
    )
    assert preview["execution"] is None and preview["to_revision"] == 2
    assert "about.html" not in httpx.get(url, timeout=5).text  # the preview ran nothing
    updated = ok(shared.cli("deployments", "update", "web", "-b", "hello-web-v2", "--wait"))
    assert updated.splitlines()[-1].endswith("(update on web) succeeded")
    assert "Now with an about page." in httpx.get(url, timeout=5).text
    assert "About this site" in httpx.get(url + "about.html", timeout=5).text
    history = json.loads(ok(shared.cli("deployments", "history", "web", "-o", "json")))
    assert [(r["revision"], r["blueprint_id"], r["status"]) for r in history] == [
        (1, "web", "applied"),
        (2, "hello-web-v2", "applied"),
    ]
    table = ok(shared.cli("deployments", "history", "web"))
    assert "hello-web-v2" in table and "applied" in table
    reverted = ok(shared.cli("deployments", "revert", "web", "--wait"))
    assert "revision 2 -> 3 (blueprint web)" in reverted
    assert "Now with an about page." not in httpx.get(url, timeout=5).text
    assert httpx.get(url + "about.html", timeout=5).status_code == 404
    missing = shared.cli("deployments", "revert", "web", "--to", "9")
    assert missing.returncode != 0 and one_line_error(missing)
    assert "no revision 9" in missing.stderr
    unknown = shared.cli("deployments", "update", "web", "-b", "nope")
    assert unknown.returncode != 0 and "blueprint 'nope'" in unknown.stderr
    bad = shared.cli("deployments", "update", "web", "-i", "port=80", "-i", "colour=red")
    assert bad.returncode == 1 and "port" in bad.stderr and "colour" in bad.stderr
    assert len(json.loads(ok(shared.cli("deployments", "history", "web", "-o", "json")))) == 3
    ok(shared.cli("uninstall", "web"))
