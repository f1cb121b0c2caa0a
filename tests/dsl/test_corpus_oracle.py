"""Differential test: Cairn against Cloudify's parser on every corpus blueprint.

For each ``kind == blueprint`` row of the corpus MANIFEST.tsv, Cairn's verdict must be the
``cairn_expected`` column and, for valid blueprints, its plan must equal the oracle's
(``oracle/<path>.json``) on the fields the issue names, after normalisation (corpus.py).

Deliberate differences are listed here, each with its reason; nothing else is excused. An
entry that no longer excuses any difference fails the test, so the list shrinks as Cairn
improves. The only entries today are blueprints for which the oracle served an old
manager's cached types.yaml; the ``oracle``-marked test below re-runs the oracle on them
without that cache and compares in full.

``tests/dsl/corpus_report.py`` shows the same comparison for all blueprints at once.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import corpus
import pytest

# Workflows that Cloudify's types.yaml defines (in some version).
STDLIB_WORKFLOWS = (
    "check_drift", "check_status", "execute_operation", "heal", "install",
    "install_new_agents", "pull", "reinstall", "restart", "rollback", "scale", "start",
    "stop", "uninstall", "update", "validate_agents",
)  # fmt: skip
OLD_TYPES_PATHS = (
    *(f"workflows.{name}" for name in STDLIB_WORKFLOWS),
    *(f"workflows.{name}.*" for name in STDLIB_WORKFLOWS),
    "nodes.*.properties.use_external_resource",
)
COMPONENT_OPS = (
    "nodes.*.operations.cloudify.interfaces.lifecycle.refresh",
    "nodes.*.operations.cloudify.interfaces.lifecycle.start.inputs.interval",
)


def _old_types(version: str, *extra: str) -> corpus.Known:
    """The oracle read an old manager's cached types.yaml for this blueprint's types URL."""
    return corpus.Known(
        reason=(
            f"the oracle served this blueprint's types URL from types/cache/{version}/types.yaml "
            "(an old manager's spec cache), Cairn from its own standard types for the "
            "blueprint's DSL version (the oracle's types_1_3/types_1_4/types.yaml). Re-running "
            "the oracle with that cache removed changes exactly the paths excused here and "
            "nothing else: the standard workflows, cloudify.nodes.Root's "
            "use_external_resource property (added after that version) and, before 6.x, the "
            "Component/SharedResource lifecycle operations"
        ),
        ignore=(*OLD_TYPES_PATHS, *extra),
    )


_SYSTEM_TESTS = "cloudify-system-tests/cosmo_tester/resources"
_MODIFY_INPUTS = (
    "cloudify-manager/tests/integration_tests/resources/dsl/deployment_update/modify_inputs"
)
KNOWN_DIFFERENCES: dict[str, corpus.Known] = {
    "cloudify-azure-plugin/examples/load-balancer-blueprint.yaml": _old_types("6.2.0"),
    "cloudify-fabric-plugin/examples/nohup.yaml": _old_types("5.1.0"),
    "cloudify-gcp-plugin/blueprints/attach-disk.yaml": _old_types("6.1.0"),
    "cloudify-gcp-plugin/blueprints/http-balancer.yaml": _old_types("6.1.0"),
    "cloudify-gcp-plugin/blueprints/https-balancer.yaml": _old_types("6.1.0"),
    "cloudify-gcp-plugin/blueprints/ssl-balancer.yaml": _old_types("6.1.0"),
    "cloudify-gcp-plugin/blueprints/tcp-balancer.yaml": _old_types("6.1.0"),
    "cloudify-kubernetes-plugin/examples/basic.yaml": _old_types("5.0.5"),
    "cloudify-kubernetes-plugin/examples/file-test-persistent-volume.yaml": _old_types("5.0.5"),
    "cloudify-kubernetes-plugin/examples/file-test-with-file-content.yaml": _old_types("5.0.5"),
    "cloudify-kubernetes-plugin/examples/file-test.yaml": _old_types("6.2.0"),
    "cloudify-kubernetes-plugin/examples/storage-class.yaml": _old_types("5.0.5"),
    "cloudify-kubernetes-plugin/examples/test-stateful-set.yaml": _old_types("5.0.5"),
    f"{_MODIFY_INPUTS}/base/modify_inputs_base.yaml": _old_types("5.0.5"),
    f"{_MODIFY_INPUTS}/modification/modify_inputs_modification.yaml": _old_types("5.0.5"),
    f"{_SYSTEM_TESTS}/blueprints/service_composition/component.yaml": _old_types(
        "5.1.0", *COMPONENT_OPS
    ),
    f"{_SYSTEM_TESTS}/blueprints/service_composition/shared_resource.yaml": _old_types(
        "5.1.0", *COMPONENT_OPS
    ),
    f"{_SYSTEM_TESTS}/infrastructure_blueprints/aws/infrastructure-ipv6.yaml": _old_types("5.1.0"),
    f"{_SYSTEM_TESTS}/infrastructure_blueprints/aws/infrastructure.yaml": _old_types("5.1.0"),
    f"{_SYSTEM_TESTS}/infrastructure_blueprints/aws/vm-ipv6.yaml": _old_types("5.1.0"),
    f"{_SYSTEM_TESTS}/infrastructure_blueprints/aws/vm-multi-net.yaml": _old_types("5.1.0"),
    f"{_SYSTEM_TESTS}/infrastructure_blueprints/aws/vm.yaml": _old_types("5.1.0"),
    f"{_SYSTEM_TESTS}/infrastructure_blueprints/openstack/infrastructure.yaml": _old_types("5.0.5"),
    f"{_SYSTEM_TESTS}/infrastructure_blueprints/openstack/vm-multi-net.yaml": _old_types("5.0.5"),
    f"{_SYSTEM_TESTS}/infrastructure_blueprints/openstack/vm.yaml": _old_types("5.0.5"),
    "cloudify-vsphere-plugin/examples/network.yaml": _old_types("5.0.5"),
    "cloudify-vsphere-plugin/examples/resize-blueprint.yaml": _old_types("5.0.5"),
}

CORPUS = corpus.root()
ENTRIES = corpus.blueprints(CORPUS) if CORPUS else []
SHOWN = 15


@pytest.fixture(scope="module")
def overlay() -> Iterator[corpus.Overlay]:
    assert CORPUS is not None
    scratch = corpus.Overlay(corpus=CORPUS)
    yield scratch
    scratch.cleanup()


def _params() -> list[object]:
    if not ENTRIES:
        return [pytest.param(None, marks=pytest.mark.skip(reason="corpus not found"))]
    return [pytest.param(e, id=e.path) for e in ENTRIES]


def test_corpus_is_complete() -> None:
    if CORPUS is None:
        pytest.skip("corpus not found")
    missing = [e.path for e in ENTRIES if not (CORPUS / "oracle" / f"{e.path}.json").is_file()]
    assert ENTRIES and not missing
    assert set(KNOWN_DIFFERENCES) <= {e.path for e in ENTRIES}


@pytest.mark.parametrize("entry", _params())
def test_blueprint_agrees_with_oracle(entry: corpus.Entry, overlay: corpus.Overlay) -> None:
    assert CORPUS is not None
    known = KNOWN_DIFFERENCES.get(entry.path)
    judgement = corpus.check_blueprint(CORPUS, entry, overlay, known)
    outcome = judgement.outcome
    assert outcome.verdict != "crash", outcome.problems[0]
    assert outcome.verdict == entry.cairn_expected, "\n".join(
        (f"expected {entry.cairn_expected}, got {outcome.verdict}", *outcome.problems[:SHOWN])
    )
    shown = [d.render() for d in judgement.unexplained[:SHOWN]]
    more = len(judgement.unexplained) - len(shown)
    assert not judgement.unexplained, "\n".join(
        [*shown, f"... and {more} more"] if more > 0 else shown
    )
    assert not judgement.stale, f"KNOWN_DIFFERENCES[{entry.path!r}] excuses nothing: remove it"


# -- the one known difference, checked without excuses ------------------------------------


def _corpus_without_types_cache(corpus_root: Path, dest: Path) -> Path:
    """A mirror of the corpus (symlinks) whose types/ lacks the old managers' cache."""
    dest.mkdir()
    for item in corpus_root.iterdir():
        if item.name != "types":
            (dest / item.name).symlink_to(item)
    (dest / "types").mkdir()
    for item in (corpus_root / "types").iterdir():
        if item.is_file():
            (dest / "types" / item.name).symlink_to(item)
    return dest


@pytest.mark.oracle
@pytest.mark.timeout(300)
@pytest.mark.skipif(CORPUS is None, reason="corpus not found")
@pytest.mark.skipif(corpus.oracle_python() is None, reason=".venv-oracle missing")
def test_old_types_blueprints_agree_with_the_oracle_without_its_cache(
    tmp_path: Path, overlay: corpus.Overlay
) -> None:
    """Re-run the oracle on the KNOWN_DIFFERENCES blueprints with the spec cache removed,
    so it serves the types file of the blueprint's DSL version as Cairn does: then the
    plans must agree on every compared field, nothing excused."""
    assert CORPUS is not None
    python = corpus.oracle_python()
    mirror = _corpus_without_types_cache(CORPUS, tmp_path / "corpus")
    out = tmp_path / "oracle"
    rels = sorted(KNOWN_DIFFERENCES)
    cmd = [
        str(python), str(corpus.oracle_script(CORPUS)), "--no-validate-version",
        "--corpus", str(mirror), "--root", str(mirror), "--out-dir", str(out),
        *(str(mirror / rel) for rel in rels),
    ]  # fmt: skip
    subprocess.run(cmd, capture_output=True, text=True, timeout=280, check=False)
    failures: list[str] = []
    for rel in rels:
        result = json.loads((out / f"{rel}.json").read_text(encoding="utf-8"))
        assert result["ok"], (rel, result.get("error"))
        assert not any("cache" in served for _, served in result["imports_served"])
        entry = next(e for e in ENTRIES if e.path == rel)
        outcome = corpus.run_cairn(overlay.path(rel), corpus.parse_options(CORPUS, rel, overlay))
        assert outcome.plan is not None, outcome.problems[:1]
        diffs = corpus.differences(
            corpus.normalise(outcome.plan), corpus.normalise_oracle(result["plan"])
        )
        failures.extend(f"{entry.path}: {d.render()}" for d in diffs[:5])
    assert not failures, "\n".join(failures)


# -- the comparison itself ----------------------------------------------------------------


def _cairn_json(**node: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "vm",
        "type": "T",
        "type_hierarchy": ["cloudify.nodes.Root", "T"],
        "properties": {"a": {"get_input": "x"}},
        "relationships": [],
        "operations": {
            "cloudify.interfaces.lifecycle.create": {
                "implementation": "scripts/c.sh",
                "plugin": "script",
                "operation": "script_runner.tasks.run",
                "executor": None,
                "inputs": {"script_path": "scripts/c.sh"},
                "max_retries": None,
                "retry_interval": None,
                "timeout": None,
                "timeout_recoverable": None,
            },
            "cloudify.interfaces.lifecycle.stop": {"implementation": "", "inputs": {}},
        },
        "plugins_to_install": ["b", "a"],
        "scalable": {"default_instances": 1},
        "host_id": "ignored",
    }
    base.update(node)
    return {"inputs": {}, "groups": {"g": {"members": ["z", "a"]}}, "nodes": [base]}


def test_normal_forms_of_both_sides_meet() -> None:
    oracle_plan = {
        "inputs": None,
        "groups": {"g": {"members": ["a", "z"]}},
        "nodes": {
            "vm": {
                "type": "T",
                "type_hierarchy": ["cloudify.nodes.Root", "T"],
                "properties": {"a": {"get_input": "x"}},
                "relationships": [],
                "operations": {
                    "cloudify.interfaces.lifecycle.create": {
                        "implementation": "scripts/c.sh",
                        "plugin": "script",
                        "inputs": {"script_path": "scripts/c.sh"},
                    }
                },
                "plugins_to_install": ["a", "b"],
                "scalable": {"default_instances": 1},
                "host_id": "other",
            }
        },
    }
    cairn = corpus.normalise(_cairn_json())
    oracle = corpus.normalise_oracle(oracle_plan)
    assert corpus.differences(cairn, oracle) == []
    changed = corpus.normalise(_cairn_json(properties={"a": 1}, type_hierarchy=["T"]))
    paths = [d.path for d in corpus.differences(changed, oracle)]
    assert paths == ["nodes.vm.properties.a", "nodes.vm.type_hierarchy"]


def test_difference_paths_fold_into_categories() -> None:
    diffs = corpus.differences(
        {"nodes": {"vm": {"relationships": [{"target": "a"}], "x": 1}}, "workflows": {"w": 1}},
        {"nodes": {"vm": {"relationships": [{"target": "b"}]}}, "workflows": {"w": 1.0}},
    )
    assert [(d.path, d.cairn, d.oracle) for d in diffs] == [
        ("nodes.vm.relationships[0].target", "a", "b"),
        ("nodes.vm.x", 1, "<missing>"),
    ]
    assert corpus.category(diffs[0].path) == "nodes.*.relationships.[].target"
    assert corpus.category("nodes.vm.operations.cloudify.interfaces.lifecycle.create") == (
        "nodes.*.operations.*"
    )
    assert corpus.category("workflows.install.parameters") == "workflows.install"
    assert corpus.differences(True, 1) != []
