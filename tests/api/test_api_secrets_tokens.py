"""``/secrets`` and ``/tokens``: values encrypted at rest and never listed; tokens by role."""

from __future__ import annotations

import stat
from pathlib import Path

from api_support import Api, Role

from cairn.services import auth
from cairn.services.manager import Manager

VALUE = "correct-horse-battery-staple"


def test_secret_lifecycle_and_who_sees_values(api: Api) -> None:
    created = api.call("POST", "/secrets", json={"name": "db", "value": VALUE})
    assert created.status_code == 201
    assert VALUE not in created.text
    listed = api.get("/secrets", role=Role.VIEWER)
    assert [s["name"] for s in listed.json()] == ["db"]
    assert VALUE not in listed.text
    assert api.get("/secrets/db", role=Role.OPERATOR).json()["value"] == VALUE
    assert api.get("/secrets/db", role=Role.VIEWER).status_code == 403
    assert api.call("PUT", "/secrets/db", json={"value": "v2"}).status_code == 200
    assert api.get("/secrets/db").json()["value"] == "v2"
    assert api.call("POST", "/secrets", json={"name": "db", "value": "x"}).status_code == 409
    assert api.call("PUT", "/secrets/none", json={"value": "x"}).status_code == 404
    assert api.call("DELETE", "/secrets/db").status_code == 204
    assert api.get("/secrets/db").status_code == 404
    assert api.call("DELETE", "/secrets/db").status_code == 404


def test_secret_values_are_encrypted_at_rest(api: Api, manager: Manager) -> None:
    api.call("POST", "/secrets", json={"name": "db", "value": VALUE})
    stored = manager.store.get_secret("db")
    assert VALUE.encode() not in stored.ciphertext
    database = (manager.data_dir / "cairn.db").read_bytes()
    wal = manager.data_dir / "cairn.db-wal"
    written = database + (wal.read_bytes() if wal.exists() else b"")
    assert VALUE.encode() not in written
    key = manager.data_dir / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_tokens_create_list_revoke(api: Api) -> None:
    created = api.call("POST", "/tokens", json={"role": "viewer", "description": "dash"})
    assert created.status_code == 201
    body = created.json()
    assert body["role"] == "viewer" and len(body["token"]) >= 40
    listed = api.get("/tokens").json()
    assert body["id"] in [t["id"] for t in listed]
    assert body["token"] not in str(listed)
    assert all("digest" not in t and "token" not in t for t in listed)
    viewer = {"Authorization": f"Bearer {body['token']}"}
    assert api.client.get("/api/v1/deployments", headers=viewer).status_code == 200
    assert (
        api.client.post("/api/v1/tokens", headers=viewer, json={"role": "admin"}).status_code == 403
    )
    revoked = api.call("DELETE", f"/tokens/{body['id']}")
    assert revoked.json()["revoked"] is True
    assert api.client.get("/api/v1/deployments", headers=viewer).status_code == 401
    assert api.call("DELETE", "/tokens/nope").status_code == 404
    bad_role = api.call("POST", "/tokens", json={"role": "root"})
    assert bad_role.status_code == 422


def test_admin_token_file(manager: Manager) -> None:
    path = auth.ensure_admin_token(manager)
    assert path == Path(manager.data_dir) / "admin.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    value = path.read_text().strip()
    assert auth.authenticate(manager.store, value) is Role.ADMIN
    assert auth.ensure_admin_token(manager) == path
    assert path.read_text().strip() == value  # kept across restarts
    found = manager.store.find_token(auth.digest(value))
    assert found is not None
    auth.revoke(manager, found.id)
    auth.ensure_admin_token(manager)
    replaced = path.read_text().strip()
    assert replaced != value
    assert auth.authenticate(manager.store, replaced) is Role.ADMIN


def test_only_digests_are_stored(manager: Manager) -> None:
    issued = auth.create(manager, role=Role.OPERATOR, description="x")
    stored = manager.store.find_token(auth.digest(issued.value))
    assert stored is not None and stored.digest != issued.value
    assert issued.value not in repr(manager.store.list_tokens())
