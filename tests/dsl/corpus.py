"""The Cloudify blueprint corpus, as the differential tests and the report see it.

The corpus (``../shared/corpus/cloudify-blueprints``, or ``$CAIRN_CORPUS``) holds real
blueprints, YAML only, and ``oracle/<path>.json``: the reference parser's normalised plan of
each. This module finds it, reads its listings, parses a corpus blueprint with Cairn the way
the oracle parsed it, and brings both plans to one comparable form.

Scripts are not in the corpus; ``RESOURCES.tsv`` lists them by path. Like the oracle we give
the parser empty stand-ins, but in a copy of the blueprint's repository folder rather than in
an extra resource base: Cairn refuses files outside the blueprint's folder and its configured
resource paths, and a copy keeps every path inside. One copy per repository serves all its
blueprints (nothing writes to it).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PLAN_SECTIONS = (
    "inputs",
    "outputs",
    "capabilities",
    "workflows",
    "groups",
    "policies",
    "scaling_groups",
    "labels",
)
NODE_FIELDS = (
    "type",
    "type_hierarchy",
    "properties",
    "relationships",
    "operations",
    "plugins_to_install",
    "scalable",
)
RELATIONSHIP_FIELDS = ("type", "target", "type_hierarchy", "properties")
OPTIONAL_OP_FIELDS = ("executor", "max_retries", "retry_interval", "timeout")


def root() -> Path | None:
    """The corpus folder, or None when it is not on this machine."""
    env = os.environ.get("CAIRN_CORPUS")
    path = Path(env) if env else REPO.parent / "shared" / "corpus" / "cloudify-blueprints"
    return path if (path / "MANIFEST.tsv").is_file() else None


def oracle_python() -> Path | None:
    """The Python that has cloudify-common (the reference parser), or None."""
    env = os.environ.get("CAIRN_ORACLE_PYTHON")
    candidates = [Path(env)] if env else [REPO / ".venv-oracle" / "bin" / "python"]
    for path in candidates:
        if path.is_file():
            return path
    return None


def oracle_script(corpus: Path) -> Path:
    """``shared/tools/cfy_oracle.py`` (the corpus is ``shared/corpus/<name>``)."""
    return corpus.parent.parent / "tools" / "cfy_oracle.py"


# -- listings ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One row of MANIFEST.tsv."""

    path: str
    kind: str
    dsl_version: str
    oracle_strict: str
    oracle_lenient: str
    cairn_expected: str

    @property
    def repo(self) -> str:
        return self.path.split("/", 1)[0]


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for raw in f:
            line = raw.rstrip("\n")
            if line and not line.startswith("#"):
                yield dict(zip(header, line.split("\t"), strict=False))


def manifest(corpus: Path) -> list[Entry]:
    return [
        Entry(
            path=row["path"],
            kind=row.get("kind", ""),
            dsl_version=row.get("dsl_version", ""),
            oracle_strict=row.get("oracle_strict", ""),
            oracle_lenient=row.get("oracle_lenient", ""),
            cairn_expected=row.get("cairn_expected", ""),
        )
        for row in _rows(corpus / "MANIFEST.tsv")
    ]


def blueprints(corpus: Path) -> list[Entry]:
    return [e for e in manifest(corpus) if e.kind == "blueprint"]


def blueprint_imports(corpus: Path) -> dict[str, dict[str, str]]:
    """blueprint path -> {import id: target path}, both relative to the corpus."""
    out: dict[str, dict[str, str]] = {}
    listing = corpus / "BLUEPRINT_IMPORTS.tsv"
    if listing.is_file():
        for row in _rows(listing):
            out.setdefault(row["blueprint"], {})[row["import_id"]] = row["target"]
    return out


def resources(corpus: Path) -> list[str]:
    """Paths (relative to the corpus) of the non-YAML files beside the blueprints."""
    listing = corpus / "RESOURCES.tsv"
    return [row["path"] for row in _rows(listing)] if listing.is_file() else []


def oracle_result(corpus: Path, rel: str) -> dict[str, Any]:
    """The stored reference result ``oracle/<rel>.json``."""
    with (corpus / "oracle" / f"{rel}.json").open(encoding="utf-8") as f:
        result: dict[str, Any] = json.load(f)
    return result


def types_served(result: Mapping[str, Any]) -> list[str]:
    """The types files the oracle served for this blueprint (``types/...``)."""
    return [srv for _url, srv in result.get("imports_served", []) if srv.startswith("types/")]


# -- scratch copies ---------------------------------------------------------------------


class Overlay:
    """Per-repository copies of the corpus with empty stand-ins for listed resources."""

    def __init__(self, *, corpus: Path) -> None:
        self.corpus = corpus
        self.base = Path(tempfile.mkdtemp(prefix="cairn-corpus-"))
        self._made: set[str] = set()
        self._resources: list[str] | None = None

    def __repr__(self) -> str:  # short: Hypothesis prints it with every failing example
        return f"Overlay(base={str(self.base)!r})"

    def path(self, rel: str) -> Path:
        """The scratch copy of corpus path ``rel`` (its repository copied on first use)."""
        top = rel.split("/", 1)[0]
        if top not in self._made:
            self._copy_repo(top)
            self._made.add(top)
        return self.base / rel

    def _copy_repo(self, top: str) -> None:
        shutil.copytree(self.corpus / top, self.base / top, symlinks=False, dirs_exist_ok=True)
        if self._resources is None:
            self._resources = resources(self.corpus)
        listed = [r for r in self._resources if r.split("/", 1)[0] == top]
        parents = {str(Path(r).parent) for r in listed}
        for rel in listed:
            dest = self.base / rel
            if dest.exists() or rel in parents:  # a YAML we copied, or a folder
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.touch()

    def prepare(self, tops: Iterable[str]) -> None:
        """Copy these repository folders now (before forking workers, say)."""
        for top in tops:
            self.path(f"{top}/")

    def cleanup(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def parse_options(corpus: Path, rel: str, overlay: Overlay) -> Any:
    """ParseOptions for a corpus blueprint: corpus plugins, its blueprint imports.

    The corpus' ``types/`` is deliberately not offered: Cairn resolves standard types
    imports to its own library.
    """
    from cairn.dsl import resolver

    imports = {
        key: str(overlay.path(target))
        for key, target in blueprint_imports(corpus).get(rel, {}).items()
    }
    return resolver.ParseOptions(
        plugin_paths=(str(corpus / "plugins"),),
        blueprint_imports=imports,
        validate_version=True,
    )


# -- running Cairn ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What Cairn made of one blueprint."""

    verdict: str  # "ok", "error" (BlueprintError) or "crash" (any other exception)
    plan: dict[str, Any] | None = None  # cairn.model.plan.to_json output
    problems: tuple[str, ...] = ()  # rendered problems, or the traceback of a crash
    codes: tuple[str, ...] = ()
    seconds: float = 0.0


def run_cairn(path: Path, options: Any, *, relative_to: Path | None = None) -> Outcome:
    """Parse ``path`` with Cairn; never raises."""
    import time

    from cairn import errors

    start = time.perf_counter()
    try:
        from cairn.dsl import parser
        from cairn.model import plan as plan_model

        plan = parser.parse_path(path, options=options)
        as_json = plan_model.to_json(plan)
    except errors.BlueprintError as exc:
        base = str(relative_to) if relative_to else None
        return Outcome(
            verdict="error",
            problems=tuple(p.render(relative_to=base) for p in exc.problems),
            codes=tuple(p.code for p in exc.problems),
            seconds=time.perf_counter() - start,
        )
    except Exception as exc:
        return Outcome(
            verdict="crash",
            problems=(traceback.format_exc(),),
            codes=(f"crash {type(exc).__name__}: {str(exc)[:60]}",),
            seconds=time.perf_counter() - start,
        )
    return Outcome(verdict="ok", plan=as_json, seconds=time.perf_counter() - start)


# -- normal form ------------------------------------------------------------------------


def _operations(ops: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, op in sorted((ops or {}).items()):
        implementation = (op or {}).get("implementation") or ""
        if not implementation:  # no-ops: the oracle drops them
            continue
        entry: dict[str, Any] = {
            "implementation": implementation,
            "inputs": op.get("inputs") or {},
        }
        for key in OPTIONAL_OP_FIELDS:
            if op.get(key) is not None:
                entry[key] = op[key]
        out[name] = entry
    return out


def _relationship(rel: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: rel.get(key) for key in RELATIONSHIP_FIELDS}
    out["properties"] = out["properties"] or {}
    out["source_operations"] = _operations(rel.get("source_operations"))
    out["target_operations"] = _operations(rel.get("target_operations"))
    return out


def _node(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": node.get("type"),
        "type_hierarchy": list(node.get("type_hierarchy") or []),
        "properties": node.get("properties") or {},
        "relationships": [_relationship(r) for r in node.get("relationships") or []],
        "operations": _operations(node.get("operations")),
        "plugins_to_install": sorted(set(node.get("plugins_to_install") or [])),
        "scalable": node.get("scalable"),
    }


def _sorted_members(group: Any) -> Any:
    """Group members in name order: Cloudify's scaling-group code reorders them through
    sets, so its order changes from run to run (hash seed) and means nothing."""
    if isinstance(group, dict) and isinstance(group.get("members"), list):
        return {**group, "members": sorted(group["members"], key=str)}
    return group


def _restrict(
    plan: Mapping[str, Any], nodes: Iterable[tuple[str, Mapping[str, Any]]]
) -> dict[str, Any]:
    out: dict[str, Any] = {key: plan.get(key) or {} for key in PLAN_SECTIONS}
    for key in ("groups", "scaling_groups"):
        out[key] = {name: _sorted_members(group) for name, group in out[key].items()}
    out["nodes"] = {node_id: _node(node) for node_id, node in nodes}
    return out


def normalise(plan_json: Mapping[str, Any]) -> dict[str, Any]:
    """Cairn's ``to_json(plan)`` in the oracle's normal form, on the compared fields."""
    nodes = plan_json.get("nodes") or []
    return _restrict(plan_json, ((n["id"], n) for n in nodes))


def normalise_oracle(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The oracle's normalised plan (``oracle/<path>.json``'s ``plan``), same fields."""
    return _restrict(plan, sorted((plan.get("nodes") or {}).items()))


# -- differences ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Difference:
    path: str  # dotted JSON path, list items as [i]
    cairn: Any
    oracle: Any

    def render(self, *, width: int = 160) -> str:
        text = f"{self.path}: cairn={_short(self.cairn)} oracle={_short(self.oracle)}"
        return text if len(text) <= width else text[: width - 3] + "..."


_MISSING = "<missing>"


def _short(value: Any) -> str:
    if value is _MISSING:
        return "<missing>"
    return json.dumps(value, sort_keys=True, default=repr)


def differences(cairn: Any, oracle: Any, path: str = "") -> list[Difference]:
    """Every leaf-most place where the two JSON values differ."""
    if isinstance(cairn, dict) and isinstance(oracle, dict):
        out: list[Difference] = []
        for key in sorted(set(cairn) | set(oracle), key=str):
            sub = f"{path}.{key}" if path else str(key)
            out.extend(differences(cairn.get(key, _MISSING), oracle.get(key, _MISSING), sub))
        return out
    if isinstance(cairn, list) and isinstance(oracle, list) and len(cairn) == len(oracle):
        out = []
        for i, (a, b) in enumerate(zip(cairn, oracle, strict=True)):
            out.extend(differences(a, b, f"{path}[{i}]"))
        return out
    if cairn == oracle and type(cairn) is type(oracle):
        return []
    if cairn == oracle and {type(cairn), type(oracle)} <= {int, float}:
        return []  # 1 == 1.0 in JSON
    return [Difference(path=path, cairn=cairn, oracle=oracle)]


OP_KEYS = frozenset({"implementation", "inputs", *OPTIONAL_OP_FIELDS})


def category(path: str) -> str:
    """A difference path with node, operation and item names folded: a category.

    ``nodes.vm.operations.cloudify.interfaces.lifecycle.create.inputs.x`` becomes
    ``nodes.*.operations.*.inputs``; ``workflows.install.parameters`` ``workflows.install``.
    """
    parts = path.replace("[", ".[").split(".")
    if parts[0] != "nodes" or len(parts) < 3:
        return ".".join(parts[:2])
    head, rest = ["nodes", "*", parts[2]], parts[3:]
    if parts[2] == "relationships" and rest:
        head.append("[]")
        rest = rest[1:]
        if rest:
            head.append(rest[0])
            rest = rest[1:]
    if head[-1].endswith("operations") and rest:
        field = next((p for p in rest if p in OP_KEYS), None)
        return ".".join([*head, "*", field] if field else [*head, "*"])
    if rest:
        head.append("[]" if rest[0].startswith("[") else rest[0])
    return ".".join(head)


# -- a small blueprint with every section ------------------------------------------------

# Valid for Cairn and for Cloudify (and their plans agree): every section in a few lines.
KITCHEN_SINK = """\
tosca_definitions_version: cloudify_dsl_1_5
description: every section, small
imports:
  - cloudify/types/types.yaml
metadata:
  owner: tests
blueprint_labels:
  tier:
    values: [gold]
labels:
  env:
    values: [dev]
dsl_definitions:
  common: &common
    default_instances: 1
plugins:
  p0:
    executor: central_deployment_agent
    install: false
data_types:
  test.Port:
    properties:
      number: {type: integer, default: 80}
      proto: {type: string, required: false}
inputs:
  name:
    type: string
    default: app
    constraints:
      - pattern: '^[a-z]+$'
      - max_length: 10
  count:
    type: integer
    default: 2
    constraints:
      - in_range: [1, 5]
  tags:
    type: list
    item_type: string
    default: [a]
node_types:
  test.Server:
    derived_from: cloudify.nodes.Compute
    properties:
      port: {type: test.Port}
      label: {type: string, default: x}
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          implementation: scripts/create.sh
          inputs:
            level: {type: integer, default: 1}
          max_retries: 2
        start: p0.tasks.start
relationships:
  test.link:
    derived_from: cloudify.relationships.connected_to
    properties:
      weight: {default: 1}
    source_interfaces:
      cloudify.interfaces.relationship_lifecycle:
        establish: scripts/create.sh
node_templates:
  server:
    type: test.Server
    properties:
      port: {number: 443}
      label: {concat: [{get_input: name}, '-', {get_property: [SELF, port, number]}]}
    interfaces:
      cloudify.interfaces.lifecycle:
        create:
          inputs:
            level: 3
        configure:
          implementation: scripts/create.sh
          executor: central_deployment_agent
          timeout: 30
    capabilities:
      scalable:
        properties:
          default_instances: {get_input: count}
  app:
    type: cloudify.nodes.SoftwareComponent
    capabilities:
      scalable:
        properties: *common
    relationships:
      - type: cloudify.relationships.contained_in
        target: server
      - type: test.link
        target: server
        properties:
          weight: 2
groups:
  g:
    members: [server]
policies:
  scale:
    type: cloudify.policies.scaling
    properties:
      default_instances: 1
    targets: [g]
workflows:
  wf:
    mapping: p0.workflows.run
    parameters:
      x: {default: 1, type: integer}
outputs:
  url:
    description: where
    value: {concat: ['http://', {get_attribute: [server, ip]}]}
capabilities:
  endpoint:
    value: {get_attribute: [server, ip]}
"""
WRONG_VALUES: tuple[Any, ...] = (["x"], {"a": [1]}, True, None)


def value_paths(tree: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path in a YAML tree, parents before children."""
    if isinstance(tree, dict):
        items: Iterable[tuple[Any, Any]] = tree.items()
    elif isinstance(tree, list):
        items = enumerate(tree)
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from value_paths(value, (*prefix, key))


def retyped(where: tuple[Any, ...], wrong: Any, text: str = "") -> str:
    """``text`` (the kitchen sink by default) with the value at ``where`` replaced."""
    import yaml

    tree = yaml.safe_load(text or KITCHEN_SINK)
    container = tree
    for key in where[:-1]:
        container = container[key]
    container[where[-1]] = copy.deepcopy(wrong)
    return yaml.safe_dump(tree, sort_keys=False)


# -- one blueprint, judged --------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Known:
    """A deliberate difference from the oracle: why, and which difference paths it covers.

    ``ignore`` holds fnmatch patterns over difference paths (``nodes.*.operations.*``).
    """

    reason: str
    ignore: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Judgement:
    entry: Entry
    outcome: Outcome
    unexplained: tuple[Difference, ...] = ()
    excused: int = 0  # differences covered by a Known entry
    stale: bool = False  # a Known entry that excuses nothing: delete it

    @property
    def verdict_agrees(self) -> bool:
        return self.outcome.verdict == self.entry.cairn_expected

    @property
    def agrees(self) -> bool:
        return self.verdict_agrees and not self.unexplained


def judge(corpus: Path, entry: Entry, outcome: Outcome, known: Known | None = None) -> Judgement:
    """Compare Cairn's outcome for a corpus blueprint with what it must be."""
    if outcome.verdict != "ok" or entry.cairn_expected != "ok":
        return Judgement(entry=entry, outcome=outcome, stale=known is not None)
    import fnmatch

    assert outcome.plan is not None
    reference = oracle_result(corpus, entry.path).get("plan") or {}
    diffs = differences(normalise(outcome.plan), normalise_oracle(reference))
    patterns = known.ignore if known else ()
    unexplained = tuple(
        d for d in diffs if not any(fnmatch.fnmatchcase(d.path, p) for p in patterns)
    )
    excused = len(diffs) - len(unexplained)
    return Judgement(
        entry=entry,
        outcome=outcome,
        unexplained=unexplained,
        excused=excused,
        stale=known is not None and not excused,
    )


def check_blueprint(
    corpus: Path, entry: Entry, overlay: Overlay, known: Known | None = None
) -> Judgement:
    """Parse one corpus blueprint with Cairn and judge the result."""
    path = overlay.path(entry.path)
    try:
        options = parse_options(corpus, entry.path, overlay)
    except Exception:
        outcome = Outcome(verdict="crash", problems=(traceback.format_exc(),), codes=("crash",))
    else:
        outcome = run_cairn(path, options, relative_to=overlay.base)
    return judge(corpus, entry, outcome, known)
