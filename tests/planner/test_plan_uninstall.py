"""uninstall, reinstall and rollback: reverse order, unlink, and states left half-done."""

from __future__ import annotations

from pathlib import Path

import pytest
from planblueprints import CHAIN, CONTAINMENT, LIFECYCLE_HOOKS, RELATIONSHIP_OPS
from plansupport import (
    Deployment,
    ancestors,
    chain_order,
    check_graph,
    deploy,
    first,
    instance_keys,
    keys,
    last,
    operations_of,
    touched,
    waits_for,
)

from cairn.model.runtime import InstanceState

UNINSTALL_STEPS = [
    "state/stopping",
    "stop",
    "state/stopped",
    "state/deleting",
    "delete",
    "state/deleted",
]


@pytest.fixture
def chain(tmp_path: Path) -> Deployment:
    return deploy(tmp_path, CHAIN, state=InstanceState.STARTED)


def test_uninstall_steps(chain: Deployment) -> None:
    plan = chain.run("uninstall")
    check_graph(plan)
    a = chain.one("a")
    assert instance_keys(plan, a) == [f"{a}/{step}" for step in UNINSTALL_STEPS]
    assert chain_order(plan, instance_keys(plan, a))
    assert not plan.ignore_failure_keys


def test_uninstall_reverses_the_install_order(chain: Deployment) -> None:
    plan = chain.run("uninstall")
    a, b, c = chain.one("a"), chain.one("b"), chain.one("c")
    assert waits_for(plan, first(plan, b), last(plan, c))
    assert waits_for(plan, first(plan, a), last(plan, b))
    assert not ancestors(plan, first(plan, c))


def test_contained_instances_go_before_their_host(tmp_path: Path) -> None:
    dep = deploy(tmp_path, CONTAINMENT, state=InstanceState.STARTED)
    plan = dep.run("uninstall")
    check_graph(plan)
    for app in [*dep.ids("app1"), *dep.ids("app2")]:
        host = dep.instance(app).host_id
        assert host is not None
        assert waits_for(plan, first(plan, host), last(plan, app))
    for app3 in dep.ids("app3"):
        (container,) = [r["target_id"] for r in dep.instance(app3).relationships]
        assert waits_for(plan, first(plan, container), last(plan, app3))


def test_unlink_runs_in_reverse_relationship_order(tmp_path: Path) -> None:
    dep = deploy(tmp_path, RELATIONSHIP_OPS, state=InstanceState.STARTED)
    plan = dep.run("uninstall")
    check_graph(plan)
    web = dep.one("web")
    assert chain_order(
        plan,
        [
            f"{web}/stop",
            f"{web}/state/stopped",
            f"{web}/rel1/unlink/source",
            f"{web}/rel0/unlink/target",
            f"{web}/state/deleting",
            f"{web}/delete",
        ],
    )
    assert set(plan.task(f"{web}/rel0/unlink/source").depends_on) == {
        f"{web}/rel1/unlink/source",
        f"{web}/rel1/unlink/target",
    }


def test_uninstalling_a_target_alone_unlinks_the_intact_source(tmp_path: Path) -> None:
    dep = deploy(tmp_path, RELATIONSHIP_OPS, state=InstanceState.STARTED)
    db, web = dep.one("db"), dep.one("web")
    plan = dep.run("uninstall", node_instance_ids=[db])
    check_graph(plan)
    unlinks = [f"{web}/rel0/unlink/source", f"{web}/rel0/unlink/target"]
    assert [k for k in keys(plan) if k.startswith(web)] == unlinks
    assert waits_for(plan, first(plan, db), unlinks[1])
    # Cloudify ignores failures of the intact side's unlink operations
    assert plan.ignore_failure_keys == frozenset(unlinks)


def test_uninstall_hooks(tmp_path: Path) -> None:
    dep = deploy(tmp_path, LIFECYCLE_HOOKS, state=InstanceState.STARTED)
    full = dep.one("full")
    plan = dep.run("uninstall")
    assert operations_of(plan, full) == [
        "cloudify.interfaces.validation.delete",
        "cloudify.interfaces.monitoring.stop",
        "cloudify.interfaces.lifecycle.prestop",
        "cloudify.interfaces.lifecycle.stop",
        "cloudify.interfaces.lifecycle.delete",
        "cloudify.interfaces.lifecycle.postdelete",
    ]


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (InstanceState.DELETED, []),
        (InstanceState.STOPPED, ["state/deleting", "delete", "state/deleted"]),
        (InstanceState.CONFIGURED, UNINSTALL_STEPS[2:]),
        (InstanceState.UNINITIALIZED, ["state/stopped", "state/deleted"]),
        (InstanceState.DELETING, ["state/deleting", "delete", "state/deleted"]),
        (InstanceState.CREATING, UNINSTALL_STEPS),
        (InstanceState.STARTING, UNINSTALL_STEPS),
    ],
)
def test_uninstall_skips_what_is_not_there(
    chain: Deployment, state: InstanceState, expected: list[str]
) -> None:
    a = chain.one("a")
    plan = chain.with_states({"a": state}).run("uninstall")
    assert instance_keys(plan, a) == [f"{a}/{step}" for step in expected]


def test_ignore_failure_covers_every_uninstall_task(chain: Deployment) -> None:
    plan = chain.run("uninstall", ignore_failure=True)
    assert plan.ignore_failure_keys == frozenset(keys(plan))
    assert plan.parameters["ignore_failure"] is True


def test_reinstall_uninstalls_everything_then_installs(chain: Deployment) -> None:
    plan = chain.run("reinstall")
    check_graph(plan)
    a, c = chain.one("a"), chain.one("c")
    assert plan.task("uninstall/done").depends_on
    assert waits_for(plan, first(plan, a, "install"), last(plan, a, "uninstall"))
    # the install of the first target waits for the whole uninstall, the last source too
    assert waits_for(plan, first(plan, a, "install"), last(plan, c, "uninstall"))
    assert instance_keys(plan, a, "install")[0] == f"install/{a}/state/creating"
    assert instance_keys(plan, c, "uninstall")[0] == f"uninstall/{c}/state/stopping"


# --- rollback ------------------------------------------------------------------------------


def test_rollback_returns_half_done_instances_to_their_last_stable_state(
    chain: Deployment,
) -> None:
    dep = chain.with_states(
        {"a": InstanceState.STARTING, "b": InstanceState.CONFIGURING, "c": InstanceState.CREATING}
    )
    plan = dep.run("rollback")
    check_graph(plan)
    a, b, c = dep.one("a"), dep.one("b"), dep.one("c")
    assert instance_keys(plan, a) == [
        f"{a}/state/stopping",
        f"{a}/stop",
        f"{a}/state/configured",
    ]
    for half_created in (b, c):
        assert instance_keys(plan, half_created) == [
            f"{half_created}/state/deleting",
            f"{half_created}/delete",
            f"{half_created}/state/uninitialized",
        ]
    # reverse order, like uninstall
    assert waits_for(plan, first(plan, b), last(plan, c))
    assert waits_for(plan, first(plan, a), last(plan, b))
    # rollback goes on when an operation fails, as Cloudify's does
    assert plan.ignore_failure_keys == frozenset(keys(plan))


def test_rollback_leaves_stable_instances_alone(chain: Deployment) -> None:
    dep = chain.with_states({"a": InstanceState.STARTED, "b": InstanceState.STARTING})
    plan = dep.run("rollback")
    assert touched(plan) == {dep.one("b")}


def test_rollback_unlinks_relationships_of_half_created_instances(tmp_path: Path) -> None:
    dep = deploy(tmp_path, RELATIONSHIP_OPS, state=InstanceState.STARTED).with_states(
        {"web": InstanceState.CONFIGURING}
    )
    web = dep.one("web")
    plan = dep.run("rollback")
    assert chain_order(
        plan,
        [
            f"{web}/rel1/unlink/source",
            f"{web}/rel0/unlink/source",
            f"{web}/state/deleting",
            f"{web}/delete",
            f"{web}/state/uninitialized",
        ],
    )


def test_full_rollback_then_uninstalls_from_the_rolled_back_states(chain: Deployment) -> None:
    dep = chain.with_states(
        {"a": InstanceState.STARTED, "b": InstanceState.STARTING, "c": InstanceState.CREATING}
    )
    a, b, c = dep.one("a"), dep.one("b"), dep.one("c")
    plan = dep.run("rollback", full_rollback=True)
    check_graph(plan)
    assert instance_keys(plan, b, "rollback")[-1] == f"rollback/{b}/state/configured"
    # b is configured after the rollback: uninstall does not stop it again
    assert instance_keys(plan, b, "uninstall") == [
        f"uninstall/{b}/state/stopped",
        f"uninstall/{b}/state/deleting",
        f"uninstall/{b}/delete",
        f"uninstall/{b}/state/deleted",
    ]
    # c is uninitialized after the rollback
    assert instance_keys(plan, c, "uninstall") == [
        f"uninstall/{c}/state/stopped",
        f"uninstall/{c}/state/deleted",
    ]
    assert instance_keys(plan, a, "uninstall")[1] == f"uninstall/{a}/stop"
    assert waits_for(plan, first(plan, c, "uninstall"), "rollback/done")
    assert not ({k for k in keys(plan, "uninstall/")} & plan.ignore_failure_keys)
