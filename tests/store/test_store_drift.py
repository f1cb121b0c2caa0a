"""Drift policies and their schedule: the compare-and-set claims scheduled checks rely on."""

from __future__ import annotations

import threading

import pytest
import store_samples as samples

from cairn import errors
from cairn.model import runtime
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
    claim = interface.DriftClaim(
        deployment_id="a", expected=samples.at(60), next_at=samples.at(120)
    )
    assert store.claim_drift_checks([claim]) == {"a"}
    # a second scheduler that read the same due time loses
    assert store.claim_drift_checks([claim]) == set()
    assert store.get_deployment("a").drift_next_at == samples.at(120)


def test_claims_in_one_call_each_compare_their_own_due_time(store: interface.Store) -> None:
    seeded(store, "a", "b")
    store.set_drift_policy("a", policy=POLICY, next_at=samples.at(60))
    store.set_drift_policy("b", policy=POLICY, next_at=samples.at(90))  # moved meanwhile
    claims = [
        interface.DriftClaim(deployment_id=d, expected=samples.at(60), next_at=None)
        for d in ("a", "b", "gone")
    ]
    assert store.claim_drift_checks(claims) == {"a"}
    assert store.get_deployment("a").drift_next_at is None
    assert store.get_deployment("b").drift_next_at == samples.at(90)
    assert store.claim_drift_checks([]) == set()


def test_installed_deployments(store: interface.Store) -> None:
    seeded(store, "a", "b", "c")
    store.update_instance("a_vm", state=runtime.InstanceState.STARTED)
    store.update_instance("c_vm", state=runtime.InstanceState.DELETED)
    assert store.installed_deployments(["a", "b", "c", "gone"]) == {"a"}
    assert store.installed_deployments([]) == set()


def test_two_stores_racing_on_one_database_claim_once(store_url: str) -> None:
    first, second = open_store(store_url), open_store(store_url)
    try:
        ids = ["a", "b", "c"]
        seeded(first, *ids)
        for deployment_id in ids:
            first.set_drift_policy(deployment_id, policy=POLICY, next_at=samples.at(60))
        claims = [
            interface.DriftClaim(deployment_id=d, expected=samples.at(60), next_at=samples.at(120))
            for d in ids
        ]
        won: list[set[str]] = []
        barrier = threading.Barrier(8)

        def claim(store: interface.Store) -> None:
            barrier.wait()
            won.append(store.claim_drift_checks(claims))

        threads = [threading.Thread(target=claim, args=(s,)) for s in [first, second] * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # every deployment's check claimed by exactly one of the eight
        assert sorted(d for found in won for d in found) == ids
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


def test_a_policy_naming_the_key_elsewhere_or_empty_is_not_found(store: interface.Store) -> None:
    """The key is looked for in the policies' text first: a text that names it as a value,
    in a longer key, or with an empty value is no match once parsed."""
    seeded(store, "a", "b", "c", "d")
    store.set_drift_policy("a", policy={**POLICY, "note": "awaiting"}, next_at=None)
    store.set_drift_policy("b", policy={**POLICY, "awaiting_x": "e1"}, next_at=None)
    store.set_drift_policy("c", policy={**POLICY, "awaiting": None}, next_at=None)
    store.set_drift_policy("d", policy={**POLICY, "awaiting": "e4"}, next_at=None)
    assert [d.id for d in store.deployments_with_policy_key("awaiting")] == ["d"]
