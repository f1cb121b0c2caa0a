"""``/blueprints``: uploads as YAML, tar.gz and zip; problems listed; ids and archives checked."""

from __future__ import annotations

import io
import tarfile
import zipfile

from api_support import BLUEPRINT, Api, Role

from cairn.services import blueprints

SCRIPT_BLUEPRINT = BLUEPRINT.replace(
    "        type: cloudify.nodes.WebServer\n",
    "        type: cloudify.nodes.WebServer\n"
    "        interfaces:\n"
    "          cloudify.interfaces.lifecycle:\n"
    "            create: scripts/create.sh\n",
)


def _tar(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_upload_yaml_then_list_get_delete(api: Api) -> None:
    created = api.upload("bp1", role=Role.OPERATOR)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"] == "bp1"
    assert body["main_file"] == "blueprint.yaml"
    assert body["description"] == "A server and nothing else."
    assert body["nodes"] == 1
    assert "install" in body["workflows"]
    assert body["created_by"].startswith("token:")
    assert [b["id"] for b in api.get("/blueprints", role=Role.VIEWER).json()] == ["bp1"]
    assert "plan" not in api.get("/blueprints").json()[0]
    detail = api.get("/blueprints/bp1", role=Role.VIEWER).json()
    assert detail["plan"]["nodes"][0]["id"] == "server"
    folder = blueprints.folder(api.manager, "bp1")
    assert (folder / "blueprint.yaml").read_text() == BLUEPRINT
    assert api.call("DELETE", "/blueprints/bp1", role=Role.OPERATOR).status_code == 204
    assert api.get("/blueprints/bp1").status_code == 404
    assert not folder.exists()


def test_upload_tar_gz_unwraps_the_top_folder_and_keeps_scripts(api: Api) -> None:
    data = _tar({"app/main.yaml": SCRIPT_BLUEPRINT, "app/scripts/create.sh": "#!/bin/sh\n"})
    answer = api.call("PUT", "/blueprints/app", content=data, params={"main_file": "main.yaml"})
    assert answer.status_code == 201, answer.text
    folder = blueprints.folder(api.manager, "app")
    assert (folder / "main.yaml").is_file()
    assert (folder / "scripts" / "create.sh").read_text() == "#!/bin/sh\n"


def test_upload_zip(api: Api) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("blueprint.yaml", BLUEPRINT)
    answer = api.call("PUT", "/blueprints/z", content=buffer.getvalue())
    assert answer.status_code == 201, answer.text


def test_problems_are_all_listed_with_relative_files(api: Api) -> None:
    broken = BLUEPRINT.replace("cloudify.nodes.WebServer", "no.such.Type").replace(
        "outputs:", "  other:\n    type: no.other.Type\noutputs:"
    )
    answer = api.upload("broken", broken)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_blueprint"
    assert len(error["problems"]) >= 2
    for problem in error["problems"]:
        assert problem["file"] == "blueprint.yaml"
        assert problem["line"] > 0 and problem["col"] > 0 and problem["code"]
    assert "/tmp" not in answer.text and str(api.manager.data_dir) not in answer.text
    assert api.get("/blueprints").json() == []
    assert [p.name for p in (api.manager.data_dir / "blueprints").iterdir()] == []


def test_missing_main_file_and_bad_archives(api: Api) -> None:
    answer = api.call("PUT", "/blueprints/a", content=_tar({"other.yaml": BLUEPRINT}))
    assert answer.status_code == 422
    assert "no main file 'blueprint.yaml'" in answer.json()["error"]["message"]
    evil = api.call("PUT", "/blueprints/b", content=_tar({"../../evil.yaml": "x"}))
    assert evil.status_code == 422
    assert "outside the archive" in evil.json()["error"]["message"]
    escape = api.upload("c", params={"main_file": "../x.yaml"})
    assert escape.status_code == 422
    assert escape.json()["error"]["field"] == "main_file"
    empty = api.call("PUT", "/blueprints/d", content=b"")
    assert empty.status_code == 422


def test_ids_are_checked_and_taken_ids_conflict(api: Api) -> None:
    bad = api.upload("bad id!")
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "blueprint_id"
    assert api.upload("bp").status_code == 201
    again = api.upload("bp")
    assert again.status_code == 409
    assert "already exists" in again.json()["error"]["message"]


def test_a_blueprint_in_use_cannot_be_deleted(api: Api) -> None:
    api.upload("bp")
    api.call("POST", "/secrets", json={"name": "db_password", "value": "pw"})
    assert api.deploy("d1", "bp").status_code == 201
    answer = api.call("DELETE", "/blueprints/bp")
    assert answer.status_code == 409
    assert blueprints.folder(api.manager, "bp").is_dir()
