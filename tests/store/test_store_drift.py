"""Drift policies and their schedule: the compare-and-set claims scheduled checks rely on."""

from __future__ import annotations

import threading

import pytest
import store_samples as samples

from cairn import errors
from cairn.store import interface, open_store

POLICY = {"mode": "detect", "interval": 60.0}


def seeded(store: interface.Store, *ids: str) -> None:
    store.put_blueprint(samples.blueprint())
    for deployment_id in ids:
        store.create_deployment(
            samples.deployment(deployment_id),
            [samples.instance(f"{deployment_id}_vm", deployment_id)],
        )


def test_policy_and_due_checks(store: interface.Store) -> None:
    seeded(store, "a", "b", "c")
    stored = store.set_drift_policy("a", policy=POLICY, next_at=samples.at(60))
    assert stored.drift_policy == POLICY and stored.drift_next_at == samples.at(60)
    store.set_drift_policy("b", policy=POLICY, next_at=samples.at(30))
    assert store.due_drift_checks(now=samples.at(10)) == []
    assert [d.id for d in store.due_drift_checks(now=samples.at(60))] == ["b", "a"]
    assert [d.id for d in store.due_drift_checks(now=samples.at(60), limit=1)] == ["b"]
    off = store.set_drift_policy("a", policy=None, next_at=None)
    assert off.drift_policy is None and off.drift_next_at is None
    with pytest.raises(errors.NotFoundError):
        store.set_drift_policy("nope", policy=POLICY, next_at=None)


def test_claim_moves_the_next_check_once(store: interface.Store) -> None:
    seeded(store, "a")
    store.set_drift_policy("a", policy=POLICY, next_at=samples.at(60))
    assert store.claim_drift_check("a", expected=samples.at(60), next_at=samples.at(120))
    # a second scheduler that read the same due time loses
    assert not store.claim_drift_check("a", expected=samples.at(60), next_at=samples.at(120))
    assert store.get_deployment("a").drift_next_at == samples.at(120)


def test_two_stores_racing_on_one_database_claim_once(store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    try:
        seeded(first, "a")
        first.set_drift_policy("a", policy=POLICY, next_at=samples.at(60))
        won: list[bool] = []
        barrier = threading.Barrier(8)

        def claim(store: interface.Store) -> None:
            barrier.wait()
            won.append(
                store.claim_drift_check("a", expected=samples.at(60), next_at=samples.at(120))
            )

        threads = [threading.Thread(target=claim, args=(s,)) for s in [first, second] * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(won) == [False] * 7 + [True]
    finally:
        first.close()
        second.close()


def test_swap_policy_is_a_compare_and_set(store: interface.Store) -> None:
    seeded(store, "a")
    assert store.swap_drift_policy("a", expected=None, policy=POLICY)
    assert not store.swap_drift_policy("a", expected=None, policy={"mode": "off"})
    waiting = {**POLICY, "awaiting": "exec-1"}
    assert store.swap_drift_policy("a", expected=POLICY, policy=waiting)
    assert not store.swap_drift_policy("a", expected=POLICY, policy={"mode": "off"})
    assert store.get_deployment("a").drift_policy == waiting


def test_instance_system_properties_of_many_deployments(store: interface.Store) -> None:
    seeded(store, "a", "b")
    store.update_instance("a_vm", system_properties={"drift": {"drifted": True}})
    found = store.instance_system_properties()
    assert found["a"] == [("a_vm", {"drift": {"drifted": True}})]
    assert found["b"] == [("b_vm", {})]
    assert list(store.instance_system_properties(["b"])) == ["b"]


def test_deployments_with_a_policy_key(store: interface.Store) -> None:
    seeded(store, "a", "b", "c")
    store.set_drift_policy("a", policy={**POLICY, "awaiting": "e1"}, next_at=None)
    store.set_drift_policy("b", policy=POLICY, next_at=None)
    found = store.deployments_with_policy_key("awaiting")
    assert [d.id for d in found] == ["a"]
    assert found[0].drift_policy == {**POLICY, "awaiting": "e1"}
    assert store.deployments_with_policy_key("nothing") == []
