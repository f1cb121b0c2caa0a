"""Saved filters, groups and their members, deployment labels: on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import store_samples as s

from cairn import errors
from cairn.model import filters, groups
from cairn.store import interface


def _group(group_id: str = "prod", **changes: object) -> groups.Group:
    fields: dict[str, object] = {
        "id": group_id,
        "created_at": s.T0,
        "description": "production",
        "created_by": "ops",
    }
    fields.update(changes)
    return groups.Group(**fields)  # type: ignore[arg-type]


def _rule(text: str, kind: filters.Kind = filters.Kind.DEPLOYMENTS) -> filters.Rule:
    rule = filters.parse(text, kind=kind)
    assert isinstance(rule, filters.Rule), rule
    return rule


def _filter(
    name: str = "eu-prod", kind: filters.Kind = filters.Kind.DEPLOYMENTS
) -> groups.SavedFilter:
    return groups.SavedFilter(
        name=name,
        kind=kind,
        rules=(_rule("env=prod,staging", kind), _rule("region is not null", kind)),
        created_at=s.T0,
        description="eu",
        created_by="ops",
    )


@pytest.fixture
def deployments(store: interface.Store) -> list[str]:
    for deployment_id in ("web-1", "web-2", "web-3"):
        s.setup_deployment(store, deployment_id, instance_ids=())
    return ["web-1", "web-2", "web-3"]


def test_filters_round_trip_and_list_by_kind(store: interface.Store) -> None:
    store.create_filter(_filter())
    site_rules = groups.SavedFilter(
        name="online", kind=filters.Kind.SITES, rules=(_rule("status=online", filters.Kind.SITES),),
        created_at=s.T0,
    )  # fmt: skip
    store.create_filter(site_rules)
    assert store.get_filter("eu-prod") == _filter()
    assert [f.name for f in store.list_filters()] == ["eu-prod", "online"]
    assert store.list_filters(kind=filters.Kind.SITES) == [site_rules]
    with pytest.raises(errors.ConflictError, match="filter 'eu-prod' already exists"):
        store.create_filter(_filter())
    store.delete_filter("eu-prod")
    with pytest.raises(errors.NotFoundError, match="filter 'eu-prod' not found"):
        store.get_filter("eu-prod")
    with pytest.raises(errors.NotFoundError):
        store.delete_filter("eu-prod")
    assert store.list_filters() == [site_rules]


def test_a_group_keeps_its_members_sorted(store: interface.Store, deployments: list[str]) -> None:
    created = store.create_group(_group(), ["web-3", "web-1", "web-1"])
    assert created == _group(member_count=2)
    assert store.get_group("prod") == created
    assert store.group_member_ids("prod") == ["web-1", "web-3"]
    store.create_group(_group("empty", description=None), [])
    assert [(g.id, g.member_count) for g in store.list_groups()] == [("empty", 0), ("prod", 2)]


def test_extend_and_shrink_answer_what_changed(
    store: interface.Store, deployments: list[str]
) -> None:
    store.create_group(_group(), ["web-1"])
    assert store.add_group_members("prod", ["web-2", "web-1"], now=s.at(5)) == ["web-2"]
    assert store.group_member_ids("prod") == ["web-1", "web-2"]
    assert store.remove_group_members("prod", ["web-1", "web-3"]) == ["web-1"]
    assert store.group_member_ids("prod") == ["web-2"]
    assert store.get_group("prod").member_count == 1


def test_unknown_deployments_store_nothing(store: interface.Store, deployments: list[str]) -> None:
    with pytest.raises(errors.NotFoundError, match="deployments 'nope', 'zed' not found"):
        store.create_group(_group(), ["web-1", "zed", "nope"])
    assert store.list_groups() == []
    store.create_group(_group(), ["web-1"])
    with pytest.raises(errors.NotFoundError, match="deployment 'nope' not found"):
        store.add_group_members("prod", ["web-2", "nope"], now=s.T0)
    assert store.group_member_ids("prod") == ["web-1"]
    with pytest.raises(errors.ConflictError, match="group 'prod' already exists"):
        store.create_group(_group(), ["web-2"])
    assert store.group_member_ids("prod") == ["web-1"]


def test_unknown_groups_are_not_found(store: interface.Store, deployments: list[str]) -> None:
    for call in (
        lambda: store.get_group("nope"),
        lambda: store.group_member_ids("nope"),
        lambda: store.add_group_members("nope", ["web-1"], now=s.T0),
        lambda: store.remove_group_members("nope", ["web-1"]),
        lambda: store.delete_group("nope"),
    ):
        with pytest.raises(errors.NotFoundError, match="group 'nope' not found"):
            call()


def test_deleting_a_group_keeps_its_deployments_and_deleting_a_deployment_leaves_groups(
    store: interface.Store, deployments: list[str]
) -> None:
    store.create_group(_group(), deployments)
    store.create_group(_group("other"), ["web-2"])
    store.delete_deployment("web-2")
    assert store.group_member_ids("prod") == ["web-1", "web-3"]
    assert store.group_member_ids("other") == []
    store.delete_group("prod")
    assert [g.id for g in store.list_groups()] == ["other"]
    assert [d.id for d in store.list_deployments()] == ["web-1", "web-3"]


def test_deployment_labels_are_replaced_whole(
    store: interface.Store, deployments: list[str]
) -> None:
    changed = store.set_deployment_labels("web-1", {"env": ["prod"], "tier": ["a", "b"]})
    assert changed.labels == {"env": ("prod",), "tier": ("a", "b")}
    assert store.get_deployment("web-1").labels == changed.labels
    assert store.get_deployment("web-2").labels == {"env": ("prod", "eu")}
    with pytest.raises(errors.NotFoundError, match="deployment 'nope' not found"):
        store.set_deployment_labels("nope", {})
