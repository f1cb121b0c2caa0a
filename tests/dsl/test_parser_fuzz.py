"""Hostile and random input: the parser gives a plan or located problems, nothing else.

Hypothesis feeds ``parse_path`` random bytes, random YAML built from the DSL's own words,
and corpus blueprints with a key deleted, duplicated or given a value of the wrong type.
The only allowed outcomes are a plan or a BlueprintError whose problems all carry a file,
a line and column >= 1, a code and a message; never another exception, never a hang
(pytest-timeout). Then one explicit test per kind of bad input, checking file, line and code.
"""

from __future__ import annotations

import difflib
import os
import re
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import corpus
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from cairn import errors
from cairn.dsl import parser

CORPUS = corpus.root()
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
HEADER = "tosca_definitions_version: cloudify_dsl_1_3\n"
FUZZ = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def parse_file(path: Path, options: Any = None) -> Any:
    """The plan, or the problems (checked to be located); any other exception propagates."""
    try:
        return parser.parse_path(path, options=options)
    except errors.BlueprintError as exc:
        assert exc.problems, "a BlueprintError without problems"
        for problem in exc.problems:
            assert problem.file, problem
            assert problem.line >= 1, problem
            assert problem.col >= 1, problem
            assert problem.code, problem
            assert problem.message, problem
        return exc.problems


def problems_of(path: Path, options: Any = None) -> list[errors.Problem]:
    result = parse_file(path, options)
    assert isinstance(result, tuple), f"expected problems, got a plan for {path}"
    return list(result)


def assert_problem(
    problems: list[errors.Problem], *, file: Path, line: int, code: str | None = None
) -> errors.Problem:
    """One of ``problems`` is at ``file:line`` (with ``code``); returns it."""
    for problem in problems:
        same_file = os.path.realpath(problem.file) == os.path.realpath(file)
        if same_file and problem.line == line and (code is None or problem.code == code):
            return problem
    rendered = "\n".join(p.render() for p in problems)
    raise AssertionError(f"no problem at {file}:{line} [{code}] among:\n{rendered}")


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- Hypothesis: random input -----------------------------------------------------------

DSL_WORDS = (
    "tosca_definitions_version", "imports", "inputs", "node_types", "node_templates",
    "relationships", "derived_from", "properties", "interfaces", "type", "target", "default",
    "required", "constraints", "outputs", "value", "get_input", "get_property", "concat",
    "get_attribute", "groups", "members", "policies", "targets", "workflows", "plugins",
    "executor", "implementation", "capabilities", "scalable", "data_types", "labels",
    "dsl_definitions", "description", "cloudify.nodes.Root", "cloudify.nodes.Compute",
    "cloudify.relationships.contained_in", "cloudify.interfaces.lifecycle", "create", "SELF",
)  # fmt: skip
words = st.sampled_from(DSL_WORDS) | st.text(string.ascii_letters + "._-", min_size=1, max_size=8)
leaves = st.one_of(
    words,
    st.integers(-5, 10**12),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["cloudify_dsl_1_3", "cloudify_dsl_1_5", "cloudify/types/types.yaml"]),
)
trees = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(words, inner, max_size=5),
    max_leaves=40,
)
documents = (
    st.dictionaries(words, trees, max_size=6).map(
        lambda d: {"tosca_definitions_version": "cloudify_dsl_1_4", **d}
    )
    | trees
)
YAML_NOISE = ":-[]{}&*!|>'\"#%@`,?\t\n  \\"
yamlish_text = st.text(string.ascii_letters + string.digits + YAML_NOISE, max_size=400)


@pytest.mark.timeout(90)
@settings(FUZZ, max_examples=150)
@given(data=st.binary(max_size=3000))
def test_random_bytes_give_a_plan_or_located_problems(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        parse_file(write(Path(tmp), "bp.yaml", data))


@pytest.mark.timeout(90)
@settings(FUZZ, max_examples=150)
@given(text=yamlish_text)
def test_random_yaml_text_gives_a_plan_or_located_problems(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        parse_file(write(Path(tmp), "bp.yaml", HEADER + text))


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=300)
@given(document=documents)
def test_random_dsl_documents_give_a_plan_or_located_problems(document: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp), "scripts/create.sh", "")
        parse_file(write(Path(tmp), "bp.yaml", yaml.safe_dump(document)))


# -- Hypothesis: corpus blueprints, broken a little ----------------------------------------

ENTRIES = corpus.blueprints(CORPUS) if CORPUS else []
KEY_LINE = re.compile(r"^\s*[\w.-]+:")


@pytest.fixture(scope="module")
def overlay() -> Iterator[corpus.Overlay]:
    if CORPUS is None:
        pytest.skip("corpus not found")
    scratch = corpus.Overlay(corpus=CORPUS)
    yield scratch
    scratch.cleanup()


def _walk(data: st.DataObject, tree: Any) -> tuple[Any, Any]:
    """A random (container, key) inside ``tree``."""
    container, key = None, None
    node = tree
    while isinstance(node, (dict, list)) and node:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        container, key = node, data.draw(st.sampled_from(keys))
        node = node[key]
        if data.draw(st.integers(0, 3)) == 0:
            break
    return container, key


def _mutate_tree(data: st.DataObject, text: str) -> str:
    tree = yaml.safe_load(text)
    container, key = _walk(data, tree)
    if container is None:
        return text
    how = data.draw(st.sampled_from(["delete", "replace", "retype"]))
    if how == "delete":
        del container[key]
    elif how == "replace":
        container[key] = data.draw(trees)
    else:
        value = container[key]
        swaps: dict[type, Any] = {dict: ["a", "list"], list: {"a": 1}, str: 42, int: "42"}
        container[key] = swaps.get(type(value), {"k": [value]})
    return yaml.safe_dump(tree, sort_keys=False)


def _mutate_text(data: st.DataObject, text: str) -> str:
    lines = text.splitlines(keepends=True)
    how = data.draw(st.sampled_from(["duplicate", "drop", "truncate"]))
    if how == "truncate":
        return text[: data.draw(st.integers(0, len(text)))]
    candidates = [i for i, line in enumerate(lines) if KEY_LINE.match(line)] or [0]
    i = data.draw(st.sampled_from(candidates))
    if how == "duplicate":
        lines.insert(i, lines[i] if lines else "")
    elif lines:
        del lines[i]
    return "".join(lines)


def _diff(before: str, after: str) -> str:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
    return "\n".join(list(lines)[:40])


@pytest.mark.skipif(not ENTRIES, reason="corpus not found")
@pytest.mark.timeout(180)
# No shrinking: each step re-parses a corpus blueprint, and the draws already say
# which blueprint, which key and which mutation.
@settings(FUZZ, max_examples=300, phases=NO_SHRINK, report_multiple_bugs=False)
@given(data=st.data())
def test_mutated_corpus_blueprints_give_a_plan_or_located_problems(
    data: st.DataObject, overlay: corpus.Overlay
) -> None:
    assert CORPUS is not None
    # An index, not sampled_from(ENTRIES): that strategy's repr is too large to report.
    entry = ENTRIES[data.draw(st.integers(0, len(ENTRIES) - 1))]
    note(f"blueprint: {entry.path}")
    original = overlay.path(entry.path)
    text = original.read_text(encoding="utf-8")
    if data.draw(st.booleans()):
        mutant = _mutate_text(data, text)
    else:
        try:
            mutant = _mutate_tree(data, text)
        except yaml.YAMLError:  # not plain YAML to PyYAML (a corpus error case)
            mutant = text
    path = original.with_name("fuzz-mutant.yaml")
    path.write_text(mutant, encoding="utf-8")
    note(_diff(text, mutant))
    try:
        parse_file(path, corpus.parse_options(CORPUS, entry.path, overlay))
    finally:
        path.unlink()


# -- every value of a small blueprint, given the wrong type ----------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("wrong", corpus.WRONG_VALUES, ids=["list", "map", "bool", "null"])
def test_every_value_retyped_gives_a_plan_or_located_problems(tmp_path: Path, wrong: Any) -> None:
    """The kitchen sink (corpus.py) with each value in turn replaced by ``wrong``."""
    write(tmp_path, "scripts/create.sh", "")
    path = write(tmp_path, "bp.yaml", corpus.KITCHEN_SINK)
    assert not isinstance(parse_file(path), tuple), "the kitchen sink itself must be valid"
    crashes = []
    for where in corpus.value_paths(yaml.safe_load(corpus.KITCHEN_SINK)):
        path.write_text(corpus.retyped(where, wrong), encoding="utf-8")
        try:
            parse_file(path)
        except Exception as exc:  # collect them all: one run shows every crash site
            crashes.append(f"{'.'.join(map(str, where))}: {type(exc).__name__}: {exc}")
    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes)


# -- explicit bad input -------------------------------------------------------------------

TYPES_IMPORT = "imports:\n  - cloudify/types/types.yaml\n"


def test_malformed_yaml_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "bp.yaml", HEADER + "node_templates:\n  a: [1, 2\n  b: {\n")
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].code == "yaml"
    assert os.path.realpath(problems[0].file) == os.path.realpath(path)
    assert problems[0].line in (3, 4)


def test_duplicate_key_is_located_at_the_second_key(tmp_path: Path) -> None:
    text = HEADER + "inputs:\n  a:\n    default: 1\n  a:\n    default: 2\n"
    path = write(tmp_path, "bp.yaml", text)
    problem = assert_problem(problems_of(path), file=path, line=5, code="duplicate-key")
    assert problem.col == 3


def test_unknown_top_level_key_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "bp.yaml", HEADER + "node_templates: {}\nnode_template: {}\n")
    assert_problem(problems_of(path), file=path, line=3, code="unknown-key")


def test_unknown_node_template_key_is_located(tmp_path: Path) -> None:
    text = (
        HEADER
        + TYPES_IMPORT
        + ("node_templates:\n  vm:\n    type: cloudify.nodes.Root\n    propertees: {}\n")
    )
    path = write(tmp_path, "bp.yaml", text)
    assert_problem(problems_of(path), file=path, line=7, code="unknown-key")


def test_wrong_value_type_is_located(tmp_path: Path) -> None:
    path = write(tmp_path, "bp.yaml", HEADER + "inputs: 5\nnode_templates: [a]\n")
    problems = problems_of(path)
    assert_problem(problems, file=path, line=2, code="type")
    assert_problem(problems, file=path, line=3, code="type")


def test_missing_import_is_located_at_the_import(tmp_path: Path) -> None:
    path = write(tmp_path, "bp.yaml", HEADER + "imports:\n  - common/missing.yaml\n")
    problem = assert_problem(problems_of(path), file=path, line=3, code="import")
    assert "missing.yaml" in problem.message


def test_cyclic_imports_are_located_in_the_importing_file(tmp_path: Path) -> None:
    main = write(tmp_path, "bp.yaml", HEADER + "imports:\n  - a.yaml\nnode_templates: {}\n")
    write(tmp_path, "a.yaml", "imports:\n  - b.yaml\n")
    b = write(tmp_path, "b.yaml", "imports:\n  - a.yaml\n")
    # Cloudify's parser accepts this silently; the issue asks for a located error.
    problems = problems_of(main)
    assert_problem(problems, file=b, line=2, code="import-cycle")


def test_unknown_node_type_is_located_at_the_type(tmp_path: Path) -> None:
    text = HEADER + TYPES_IMPORT + "node_templates:\n  vm:\n    type: cloudify.nodes.Nope\n"
    path = write(tmp_path, "bp.yaml", text)
    problem = assert_problem(problems_of(path), file=path, line=6, code="unknown-type")
    assert "cloudify.nodes.Nope" in problem.message


def test_unknown_relationship_target_is_located(tmp_path: Path) -> None:
    text = (
        HEADER
        + TYPES_IMPORT
        + (
            "node_templates:\n"
            "  vm:\n"
            "    type: cloudify.nodes.Compute\n"
            "  app:\n"
            "    type: cloudify.nodes.Root\n"
            "    relationships:\n"
            "      - type: cloudify.relationships.contained_in\n"
            "        target: mv\n"
        )
    )
    path = write(tmp_path, "bp.yaml", text)
    problem = assert_problem(problems_of(path), file=path, line=11, code="unknown-target")
    assert "mv" in problem.message


def test_relationship_cycle_is_located(tmp_path: Path) -> None:
    text = (
        HEADER
        + TYPES_IMPORT
        + (
            "node_templates:\n"
            "  a:\n"
            "    type: cloudify.nodes.Root\n"
            "    relationships:\n"
            "      - {type: cloudify.relationships.depends_on, target: b}\n"
            "  b:\n"
            "    type: cloudify.nodes.Root\n"
            "    relationships:\n"
            "      - {type: cloudify.relationships.depends_on, target: a}\n"
        )
    )
    path = write(tmp_path, "bp.yaml", text)
    problems = [p for p in problems_of(path) if p.code == "cycle"]
    assert problems, "no cycle problem"
    assert {p.line for p in problems} <= {8, 12}  # the relationships that close it
    assert "a" in problems[0].message and "b" in problems[0].message


@pytest.mark.timeout(20)
def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = [HEADER.rstrip("\n"), "dsl_definitions:", "  l0: &l0 [lol, lol, lol, lol, lol]"]
    for i in range(1, 12):
        refs = ", ".join([f"*l{i - 1}"] * 9)
        lines.append(f"  l{i}: &l{i} [{refs}]")
    lines.append("node_templates: {}")
    path = write(tmp_path, "bp.yaml", "\n".join(lines) + "\n")
    problems = problems_of(path)
    assert [p.code for p in problems] == ["too-large"]
    assert problems[0].line > 3


@pytest.mark.timeout(20)
def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    depth = 10_000
    path = write(tmp_path, "bp.yaml", HEADER + "description: " + "[" * depth + "]" * depth + "\n")
    problems = problems_of(path)
    assert [p.code for p in problems] == ["too-deep"]
    assert problems[0].line == 2


@pytest.mark.timeout(20)
def test_deep_block_nesting_is_refused(tmp_path: Path) -> None:
    depth = 1_000  # indentation grows with depth: 10,000 levels would be a 50 MB file
    body = "".join(f"{' ' * i}k:\n" for i in range(depth))
    path = write(tmp_path, "bp.yaml", HEADER + "description:\n" + body)
    problems = problems_of(path)
    assert [p.code for p in problems] == ["too-deep"]


@pytest.mark.timeout(30)
def test_huge_file_is_refused(tmp_path: Path) -> None:
    filler = "# " + "x" * 1022 + "\n"
    path = write(tmp_path, "bp.yaml", HEADER + filler * (20 * 1024))
    assert path.stat().st_size > 20 * 1024 * 1024
    problems = problems_of(path)
    assert [(p.code, p.line) for p in problems] == [("too-large", 1)]


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    data = HEADER.encode() + b"description: caf\xe9 au lait\n"
    path = write(tmp_path, "bp.yaml", data)
    problems = problems_of(path)
    assert [(p.code, p.line, p.col) for p in problems] == [("encoding", 2, 17)]


def test_non_utf8_import_is_located_in_the_import(tmp_path: Path) -> None:
    path = write(tmp_path, "bp.yaml", HEADER + "imports:\n  - other.yaml\n")
    other = write(tmp_path, "other.yaml", b"description: ok\nx: \xff\n")
    assert_problem(problems_of(path), file=other, line=2, code="encoding")


def _outside(tmp_path: Path) -> Path:
    """A valid-looking YAML file outside the blueprint's folder (``tmp/etc/passwd``)."""
    return write(tmp_path, "etc/passwd", "node_templates: {oops: {type: nothing}}\n")


def test_import_escaping_the_blueprint_folder_is_refused(tmp_path: Path) -> None:
    _outside(tmp_path)
    path = write(tmp_path / "a" / "b", "bp.yaml", HEADER + "imports:\n  - ../../etc/passwd\n")
    problems = problems_of(path)
    assert [(p.code, p.line) for p in problems] == [("path-escape", 3)]
    assert os.path.realpath(problems[0].file) == os.path.realpath(path)


def test_import_of_the_real_etc_passwd_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "bp.yaml", HEADER + "imports:\n  - " + "../" * 40 + "etc/passwd\n")
    problems = problems_of(path)
    assert [(p.code, p.line) for p in problems] == [("path-escape", 3)]


def test_absolute_import_is_refused(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    text = HEADER + f"imports:\n  - {outside}\n  - /etc/passwd\n"
    path = write(tmp_path / "bp", "bp.yaml", text)
    problems = problems_of(path)
    assert [(p.code, p.line) for p in problems] == [("path-escape", 3), ("path-escape", 4)]


def test_symlink_escaping_the_blueprint_folder_is_refused(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    folder = tmp_path / "bp"
    path = write(folder, "bp.yaml", HEADER + "imports:\n  - common.yaml\n")
    (folder / "common.yaml").symlink_to(outside)
    problems = problems_of(path)
    assert [(p.code, p.line) for p in problems] == [("path-escape", 3)]


def test_script_escaping_the_blueprint_folder_is_not_a_script(tmp_path: Path) -> None:
    outside = write(tmp_path, "evil.sh", "#!/bin/sh\n")
    folder = tmp_path / "bp"
    (folder / "scripts").mkdir(parents=True)
    (folder / "scripts" / "link.sh").symlink_to(outside)
    text = (
        HEADER
        + TYPES_IMPORT
        + (
            "node_templates:\n"
            "  a:\n"
            "    type: cloudify.nodes.Root\n"
            "    interfaces:\n"
            "      cloudify.interfaces.lifecycle:\n"
            "        create: ../evil.sh\n"
            "        start: scripts/link.sh\n"
        )
    )
    path = write(folder, "bp.yaml", text)
    problems = problems_of(path)
    assert_problem(problems, file=path, line=9, code="operation")  # create: ../evil.sh
    assert_problem(problems, file=path, line=10, code="operation")  # start: the escaping link
