"""The update delta and the update workflow's graph (planner.delta, planner.updating)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import plansupport as ps

from cairn.model import executions
from cairn.model.runtime import InstanceState
from cairn.planner import delta, updating

S = InstanceState
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

V1 = """
node_types:
  t.App:
    derived_from: cloudify.nodes.SoftwareComponent
    properties: {version: {default: 0}}
  t.Db:
    derived_from: cloudify.nodes.DBMS
    properties: {size: {default: 0}}
node_templates:
  host:
    type: cloudify.nodes.Compute
    properties: {agent_config: {install_method: none}}
  app:
    type: t.App
    properties: {version: 1}
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
        delete: scripts/delete.sh
    relationships:
      - {type: cloudify.relationships.contained_in, target: host}
  plugin:
    type: cloudify.nodes.SoftwareComponent
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
        delete: scripts/delete.sh
    relationships:
      - {type: cloudify.relationships.contained_in, target: app}
  db:
    type: t.Db
    properties: {size: 1}
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
        update: scripts/update.sh
        delete: scripts/delete.sh
  old:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
        delete: scripts/delete.sh
    relationships:
      - type: cloudify.relationships.connected_to
        target: db
        source_interfaces:
          cloudify.interfaces.relationship_lifecycle:
            unlink: scripts/unlink.sh
"""


def v2(tmp_path: Path) -> ps.Deployment:
    """app's version changes (no update operation: reinstall with plugin), db's size changes
    (it has update: in place), old goes, cache comes with a relationship to db."""
    body = (
        V1.replace("{version: 1}", "{version: 2}")
        .replace("{size: 1}", "{size: 2}")
        .split("  old:")[0]
    )
    body += """
  cache:
    type: cloudify.nodes.Root
    interfaces:
      cloudify.interfaces.lifecycle:
        create: scripts/create.sh
    relationships:
      - type: cloudify.relationships.connected_to
        target: db
        source_interfaces:
          cloudify.interfaces.relationship_lifecycle:
            establish: scripts/establish.sh
"""
    folder = tmp_path / "v2"
    folder.mkdir()
    return ps.deploy(folder, body, seed=99)


def started(tmp_path: Path) -> ps.Deployment:
    folder = tmp_path / "v1"
    folder.mkdir()
    return ps.deploy(folder, V1, state=S.STARTED)


def plan(current: ps.Deployment, new: ps.Deployment) -> updating.UpdatePlan:
    return updating.plan_update(
        current=current.plan,
        new=new.plan,
        instances=current.instances,
        deployment_id="dep",
        old_revision=1,
        new_revision=2,
    )


def test_plan_changes_list_every_difference_in_a_stable_order(tmp_path: Path) -> None:
    changes = [c.to_json() for c in delta.plan_changes(started(tmp_path).plan, v2(tmp_path).plan)]
    assert {"what": "node", "name": "cache", "change": "added"} in changes
    assert {"what": "node", "name": "old", "change": "removed"} in changes
    assert {
        "what": "property",
        "name": "version",
        "change": "modified",
        "node": "app",
        "old": 1,
        "new": 2,
    } in changes
    assert [c["node"] for c in changes if c["what"] == "property"] == ["app", "db"]
    json.dumps(changes)  # JSON-able


def test_plan_changes_see_operations_relationships_inputs_outputs_workflows() -> None:
    node = {
        "id": "n",
        "type": "t",
        "properties": {},
        "operations": {"a": {"implementation": "x.sh"}},
        "relationships": [{"type": "r", "target": "m"}],
    }
    changed = {**node, "operations": {"a": {"implementation": "y.sh"}}, "relationships": []}
    old = {"inputs": {"p": 1}, "nodes": [node], "outputs": {"o": 1}, "workflows": {"w": {}}}
    new = {"inputs": {"p": 2}, "nodes": [changed], "outputs": {}, "workflows": {"w": {}, "v": {}}}
    found = [c.to_json() for c in delta.plan_changes(old, new)]
    assert found == [
        {"what": "input", "name": "p", "change": "modified", "old": 1, "new": 2},
        {"what": "operation", "name": "a", "change": "modified", "node": "n"},
        {"what": "relationship", "name": "r -> m", "change": "removed", "node": "n"},
        {"what": "output", "name": "o", "change": "removed", "old": 1},
        {"what": "workflow", "name": "v", "change": "added"},
    ]


def test_no_change_gives_an_empty_update(tmp_path: Path) -> None:
    current = started(tmp_path)
    again = ps.prepared(tmp_path / "v1" / "blueprint.yaml", seed=5)
    planned = plan(current, again)
    assert planned.empty
    assert [s.key for s in planned.tasks] == ["apply"]


def test_instances_are_matched_kept_added_and_removed(tmp_path: Path) -> None:
    current, new = started(tmp_path), v2(tmp_path)
    found = plan(current, new).instances
    assert found.removed == (current.one("old"),)
    assert [i.node_id for i in found.added] == ["cache"]
    cache = found.added[0]
    # the new instance points at the db instance that is kept, not at a fresh id
    assert [r["target_id"] for r in cache.relationships] == [current.one("db")]
    assert cache.state is S.UNINITIALIZED
    assert set(found.modified) == {current.one("app"), current.one("db")}


def test_update_graph_phases_update_operations_and_reinstall(tmp_path: Path) -> None:
    current, new = started(tmp_path), v2(tmp_path)
    planned = plan(current, new)
    ps.check_graph(planned)  # type: ignore[arg-type]
    app, plugin, db, old = (current.one(n) for n in ("app", "plugin", "db", "old"))
    cache = planned.added[0].id
    assert planned.updated == (db,)
    # app has no update operation: reinstalled with what it contains (plugin)
    assert set(planned.reinstalled) == {app, plugin}
    keys = [s.key for s in planned.tasks]
    assert f"update/{db}/update" in keys
    assert f"remove/{old}/delete" in keys
    assert f"remove/{old}/rel0/unlink/source" in keys
    assert f"install/{cache}/create" in keys
    assert f"install/{cache}/rel0/establish/source" in keys
    assert f"remove/{app}/delete" in keys and f"install/{app}/create" in keys
    # contained first out, container first in
    assert ps.waits_for(planned, f"remove/{app}/delete", f"remove/{plugin}/delete")  # type: ignore[arg-type]
    assert ps.waits_for(planned, f"install/{plugin}/create", f"install/{app}/create")  # type: ignore[arg-type]
    # phases: remove, then install, then update in place, then apply
    assert ps.waits_for(planned, f"install/{cache}/create", f"remove/{old}/delete")  # type: ignore[arg-type]
    assert ps.waits_for(planned, f"update/{db}/update", f"install/{cache}/create")  # type: ignore[arg-type]
    assert keys[-1] == "apply"
    assert set(ps.ancestors(planned, "apply")) == set(keys[:-1])  # type: ignore[arg-type]
    by_key = {s.key: s for s in planned.tasks}
    assert by_key[f"remove/{old}/delete"].revision == 1
    assert by_key[f"install/{cache}/create"].revision == 2
    apply = by_key["apply"]
    assert apply.kind is executions.TaskKind.APPLY_REVISION
    assert apply.inputs["revision"] == 2 and apply.inputs["remove"] == [old]


def test_drifted_instances_count_as_modified(tmp_path: Path) -> None:
    current = started(tmp_path)
    db = current.one("db")
    drifted = ps.Deployment(
        current.plan,
        [
            replace(i, system_properties={"drift": {"drifted": True}}) if i.id == db else i
            for i in current.instances
        ],
    )
    same = ps.prepared(tmp_path / "v1" / "blueprint.yaml", seed=3)
    planned = plan(drifted, same)
    assert planned.instances.modified == {db: ("drifted",)}
    assert planned.updated == (db,)
    assert [s.key for s in planned.tasks] == [f"update/{db}/update", "apply"]


def test_more_instances_of_a_kept_node_are_added_fewer_removed(tmp_path: Path) -> None:
    body = """
node_templates:
  w:
    type: cloudify.nodes.Root
    capabilities: {scalable: {properties: {default_instances: COUNT}}}
    interfaces:
      cloudify.interfaces.lifecycle: {create: scripts/c.sh}
"""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    two = ps.deploy(tmp_path / "a", body.replace("COUNT", "2"), state=S.STARTED)
    three = ps.deploy(tmp_path / "b", body.replace("COUNT", "3"), seed=1)
    grown = plan(two, three).instances
    assert len(grown.added) == 1 and not grown.removed and not grown.modified
    one = ps.deploy(tmp_path / "b", body.replace("COUNT", "1"), seed=1)
    shrunk = plan(two, one).instances
    assert shrunk.removed == (two.instances[1].id,) and not shrunk.added


def test_relationships_gained_and_lost_between_kept_instances(tmp_path: Path) -> None:
    body = """
node_templates:
  a:
    type: cloudify.nodes.Root
  b:
    type: cloudify.nodes.Root
    relationships:
      - type: cloudify.relationships.connected_to
        target: TARGET
        source_interfaces:
          cloudify.interfaces.relationship_lifecycle:
            establish: scripts/e.sh
            unlink: scripts/u.sh
  c:
    type: cloudify.nodes.Root
"""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    to_a = ps.deploy(tmp_path / "a", body.replace("TARGET", "a"), state=S.STARTED)
    to_c = ps.deploy(tmp_path / "b", body.replace("TARGET", "c"), seed=2)
    planned = plan(to_a, to_c)
    b, c = to_a.one("b"), to_a.one("c")
    keys = [s.key for s in planned.tasks]
    assert f"remove/{b}/rel0/unlink/source" in keys
    assert f"install/{b}/rel1/establish/source" in keys
    assert planned.extended[b][1]["target_id"] == c  # appended: old indices stay valid
    assert [r["target_id"] for r in planned.instances.relationships[b]] == [c]
    # b has no update operations: it is reinstalled (its node changed)
    assert b in planned.reinstalled


def test_hello_web_v2_preview(tmp_path: Path) -> None:
    current = ps.prepared(EXAMPLES / "hello-web" / "blueprint.yaml", state=S.STARTED)
    new = ps.prepared(EXAMPLES / "hello-web-v2" / "blueprint.yaml", seed=11)
    planned = plan(current, new)
    summary = planned.summary()
    assert {(c["what"], c["name"], c["change"]) for c in summary["changes"]} == {
        ("node", "about", "added"),
        ("property", "footer", "added"),
        ("property", "file", "added"),  # the page's file name, index.html by default
    }
    content = current.one("content")
    assert planned.reinstalled == (content,)
    assert [i.node_id for i in planned.added] == ["about"]
    assert not planned.instances.removed
    json.dumps(summary)


def test_an_input_a_file_template_reads_makes_the_file_modified() -> None:
    """web-drift's page renders ${greeting} from the inputs at run time: a new greeting
    changes no property of the page, yet the page must be written again."""
    blueprint = EXAMPLES / "web-drift" / "blueprint.yaml"
    current = ps.prepared(blueprint, state=S.STARTED)
    new = ps.prepared(blueprint, inputs={"greeting": "Hello again"}, seed=11)
    planned = plan(current, new)
    page = current.one("page")
    assert planned.instances.modified[page] == ("input greeting changed (its template uses it)",)
    assert page in planned.updated  # File has an update operation: rewritten in place
    assert current.one("site_root") not in planned.instances.modified
    same = plan(current, ps.prepared(blueprint, seed=11))
    assert page not in same.instances.modified


def test_template_inputs_skip_vars_and_escaped_dollars() -> None:
    node = {
        "type_hierarchy": ["cloudify.nodes.Root", "cairn.nodes.File"],
        "properties": {"template": "$$x ${a} $b ${c}", "vars": {"c": "given"}},
    }
    assert delta.template_inputs(node) == {"a", "b"}
    assert delta.template_inputs({**node, "type_hierarchy": ["cloudify.nodes.Root"]}) == set()
