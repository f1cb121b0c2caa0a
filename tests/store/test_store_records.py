"""Events, secrets and tokens."""

from __future__ import annotations

import dataclasses

import pytest
import store_samples as s

from cairn import errors
from cairn.model import runtime
from cairn.store import interface


def _event(n: int, execution_id: str = "e1", deployment_id: str = "dep") -> runtime.Event:
    return runtime.Event(
        execution_id=execution_id,
        deployment_id=deployment_id,
        timestamp=s.at(n),
        type="log",
        message=f"line {n}",
        level="warning",
        node_instance_id="vm_1",
        operation="cloudify.interfaces.lifecycle.create",
        task_id=7,
        attempt=2,
        context={"stream": "stdout", "n": n},
    )


def _two_executions(store: interface.Store) -> None:
    s.setup_deployment(store, "dep")
    s.setup_deployment(store, "other", instance_ids=())
    store.create_execution(s.execution("e1", "dep"), [], queue=False)
    store.create_execution(s.execution("e2", "other"), [], queue=False)


def test_events_are_numbered_in_order(store: interface.Store) -> None:
    _two_executions(store)
    store.add_events([_event(0), _event(1)])
    store.add_events([_event(2, "e2", "other"), _event(3)])
    store.add_events([])
    listed = store.list_events()
    assert [e.message for e in listed] == ["line 0", "line 1", "line 2", "line 3"]
    ids = [e.id for e in listed if e.id is not None]
    assert len(ids) == 4
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert dataclasses.replace(listed[0], id=None) == _event(0)


def test_events_filter_and_page(store: interface.Store) -> None:
    _two_executions(store)
    store.add_events([_event(n, *(("e1", "dep") if n % 2 else ("e2", "other"))) for n in range(10)])
    of_e1 = store.list_events(execution_id="e1")
    assert [e.message for e in of_e1] == [f"line {n}" for n in (1, 3, 5, 7, 9)]
    assert store.list_events(deployment_id="other", execution_id="e1") == []
    page = store.list_events(execution_id="e1", limit=2)
    assert [e.message for e in page] == ["line 1", "line 3"]
    assert page[-1].id is not None
    rest = store.list_events(execution_id="e1", after_id=page[-1].id)
    assert [e.message for e in rest] == ["line 5", "line 7", "line 9"]
    assert rest[-1].id is not None
    assert store.list_events(execution_id="e1", after_id=rest[-1].id) == []
    by_deployment = store.list_events(deployment_id="other", after_id=0, limit=3)
    assert [e.message for e in by_deployment] == ["line 0", "line 2", "line 4"]


def test_events_of_unknown_executions_are_refused(store: interface.Store) -> None:
    _two_executions(store)
    with pytest.raises(errors.ConflictError, match="execution or deployment that does not exist"):
        store.add_events([_event(0), _event(1, "nope")])
    assert store.list_events() == []


def _secret(name: str, value: bytes, *, seconds: float = 0) -> runtime.Secret:
    return runtime.Secret(
        name=name, ciphertext=value, created_at=s.at(seconds), updated_at=s.at(seconds)
    )


def test_secret_create_and_update(store: interface.Store) -> None:
    store.put_secret(_secret("db", b"\x00cipher\xff"), create=True)
    assert store.get_secret("db") == _secret("db", b"\x00cipher\xff")
    with pytest.raises(errors.ConflictError, match="secret 'db' already exists"):
        store.put_secret(_secret("db", b"other"), create=True)
    assert store.get_secret("db").ciphertext == b"\x00cipher\xff"
    store.put_secret(
        dataclasses.replace(_secret("db", b"new", seconds=60), created_by="bob"), create=False
    )
    updated = store.get_secret("db")
    assert (updated.ciphertext, updated.created_at, updated.updated_at) == (b"new", s.T0, s.at(60))
    assert updated.created_by == "admin"
    with pytest.raises(errors.NotFoundError, match="secret 'nope' not found"):
        store.put_secret(_secret("nope", b"x"), create=False)
    with pytest.raises(errors.NotFoundError, match="secret 'nope' not found"):
        store.get_secret("nope")


def test_secret_listing_and_delete(store: interface.Store) -> None:
    store.put_secret(_secret("b", b"2"), create=True)
    store.put_secret(_secret("a", b"1"), create=True)
    assert [x.name for x in store.list_secrets()] == ["a", "b"]
    store.delete_secret("a")
    assert [x.name for x in store.list_secrets()] == ["b"]
    with pytest.raises(errors.NotFoundError, match="secret 'a' not found"):
        store.delete_secret("a")


def _token(token_id: str, digest: str, role: runtime.Role = runtime.Role.OPERATOR) -> runtime.Token:
    return runtime.Token(
        id=token_id, digest=digest, role=role, description=f"token {token_id}", created_at=s.T0
    )


def test_tokens(store: interface.Store) -> None:
    store.put_token(_token("t1", "d1", runtime.Role.ADMIN))
    store.put_token(_token("t2", "d2"))
    assert store.find_token("d2") == _token("t2", "d2")
    assert store.find_token("unknown") is None
    assert [t.id for t in store.list_tokens()] == ["t1", "t2"]
    store.revoke_token("t2")
    revoked = store.find_token("d2")
    assert revoked is not None and revoked.revoked
    assert store.find_token("d1") == _token("t1", "d1", runtime.Role.ADMIN)
    with pytest.raises(errors.NotFoundError, match="token 'nope' not found"):
        store.revoke_token("nope")


def test_token_id_and_digest_are_unique(store: interface.Store) -> None:
    store.put_token(_token("t1", "d1"))
    with pytest.raises(errors.ConflictError, match="token 't1' already exists"):
        store.put_token(_token("t1", "d9"))
    with pytest.raises(errors.ConflictError, match="token 't2' already exists, or its digest"):
        store.put_token(_token("t2", "d1"))
    assert [t.id for t in store.list_tokens()] == ["t1"]
