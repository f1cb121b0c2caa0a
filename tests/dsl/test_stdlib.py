"""Cairn's standard types must say what Cloudify's ``types.yaml`` files say.

The reference files live in the blueprint corpus, outside the repository: set
``CAIRN_CORPUS`` to the corpus folder (the one holding ``types/``), or keep the usual
layout with ``shared/corpus/cloudify-blueprints`` beside the repository. Without it the
comparisons are skipped.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest
import yaml

from cairn.dsl import stdlib, yamlsrc

# Cairn's file -> the Cloudify file a blueprint of that DSL version gets.
REFERENCES = {
    "types_1_3.yaml": "types_1_3.yaml",
    "types_1_4.yaml": "types_1_4.yaml",
    "types_1_5.yaml": "types.yaml",
}
OURS = pathlib.Path(stdlib.__file__).parent


def _corpus() -> pathlib.Path:
    configured = os.environ.get("CAIRN_CORPUS")
    if configured:
        return pathlib.Path(configured)
    return pathlib.Path(__file__).parents[3] / "shared" / "corpus" / "cloudify-blueprints"


def _reference(name: str) -> Any:
    path = _corpus() / "types" / REFERENCES[name]
    if not path.is_file():
        pytest.skip(f"reference types not found at {path} (set CAIRN_CORPUS)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _ours(name: str) -> Any:
    return yaml.safe_load((OURS / name).read_text(encoding="utf-8"))


def _typed(value: Any, *, descriptions: bool) -> Any:
    """The document with every scalar tagged by its type, so that 1 != true != 1.0."""
    if isinstance(value, dict):
        return {
            key: _typed(item, descriptions=descriptions)
            for key, item in value.items()
            if descriptions or key != "description"
        }
    if isinstance(value, list):
        return [_typed(item, descriptions=descriptions) for item in value]
    return (type(value).__name__, value)


def _differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Readable paths where two typed documents differ."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        found = []
        for key in sorted(ours.keys() | theirs.keys(), key=str):
            where = f"{path}/{key}"
            if key not in theirs:
                found.append(f"{where}: only in ours")
            elif key not in ours:
                found.append(f"{where}: missing from ours")
            else:
                found.extend(_differences(ours[key], theirs[key], where))
        return found
    if ours != theirs:
        return [f"{path or '/'}: ours {ours!r}, reference {theirs!r}"]
    return []


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_types_equal_reference_apart_from_descriptions(name: str) -> None:
    theirs = _typed(_reference(name), descriptions=False)
    ours = _typed(_ours(name), descriptions=False)
    assert _differences(ours, theirs) == []


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_workflow_descriptions_equal_reference(name: str) -> None:
    # Cloudify copies workflow parameters, descriptions included, into the plan.
    theirs = _typed(_reference(name)["workflows"], descriptions=True)
    ours = _typed(_ours(name)["workflows"], descriptions=True)
    assert _differences(ours, theirs) == []


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_cairn_loader_reads_what_pyyaml_reads(name: str) -> None:
    # The files use anchors, aliases and merge keys; Cairn's loader must expand them
    # exactly as YAML says.
    text = (OURS / name).read_text(encoding="utf-8")
    ours = _typed(yamlsrc.load(text, file=name), descriptions=True)
    assert ours == _typed(yaml.safe_load(text), descriptions=True)


@pytest.mark.parametrize(
    ("dsl_version", "expected"),
    [
        ("cloudify_dsl_1_0", "types_1_5.yaml"),
        ("cloudify_dsl_1_1", "types_1_5.yaml"),
        ("cloudify_dsl_1_2", "types_1_5.yaml"),
        ("cloudify_dsl_1_3", "types_1_3.yaml"),
        ("1_3", "types_1_3.yaml"),
        ("cloudify_dsl_1_4", "types_1_4.yaml"),
        ("1_4", "types_1_4.yaml"),
        ("cloudify_dsl_1_5", "types_1_5.yaml"),
        ("cloudify_dsl_1_6", "types_1_5.yaml"),
        ("cloudify_dsl_2_0", "types_1_5.yaml"),
    ],
)
def test_path_for_picks_file_by_version(dsl_version: str, expected: str) -> None:
    path = stdlib.path_for(dsl_version)
    assert path.name == expected
    assert path.is_file()


@pytest.mark.parametrize("dsl_version", ["", "cloudify_dsl_", "cloudify_dsl_1", "tosca_1_3", "1_x"])
def test_path_for_rejects_non_versions(dsl_version: str) -> None:
    with pytest.raises(ValueError, match="not a DSL version"):
        stdlib.path_for(dsl_version)


def test_stdlib_url_is_a_pseudo_location() -> None:
    assert stdlib.STDLIB_URL == "cairn:types"
