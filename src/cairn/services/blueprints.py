"""Blueprint use cases: validate a blueprint, show its plan, show its deployment plan.

The CLI (and later the API) calls these and renders what they return; nothing here prints.
The parser and the deployment planner are imported where they are used, so that
``cairn --version`` and ``--help`` stay fast and never depend on the parser loading.

Deployment inputs come the way Cloudify's CLI takes them (``-i`` may be repeated, later
values win):

* ``NAME=VALUE``: VALUE is read as a YAML scalar or flow collection, so ``port=8080`` is an
  integer and ``tags=[a, b]`` a list; text YAML cannot read that way stays a string;
* ``A=1;B=2``: several pairs at once;
* ``{"a": 1}``: a JSON or YAML flow mapping;
* ``inputs.yaml``: a YAML or JSON file holding a mapping (a directory: each ``*.yaml``,
  ``*.yml`` and ``*.json`` file in it, in name order; a quoted wildcard: each match).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cairn import errors
from cairn.dsl import yamlsrc
from cairn.model import plan as plan_model

if TYPE_CHECKING:
    from cairn.dsl import resolver

PLUGIN_PATH_ENV = "CAIRN_PLUGIN_PATH"
DEFAULT_BLUEPRINT_FILE = "blueprint.yaml"

_INPUT_FILE_SUFFIXES = (".yaml", ".yml", ".json")
_GLOB_CHARS = re.compile(r"[*?\[]")
# YAML would drop " # ..." as a comment: such a value is meant as text.
_COMMENT = re.compile(r"\s#")
_INPUTS_HELP = (
    "expected NAME=VALUE, 'A=1;B=2', a JSON/YAML mapping such as '{\"a\": 1}', "
    "or the path of a YAML/JSON file holding a mapping"
)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The outcome of validating one blueprint."""

    problems: tuple[errors.Problem, ...]
    node_count: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems


def parse_options(
    *, plugin_paths: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> resolver.ParseOptions:
    """Parser options from ``--plugin-path`` values, then ``$CAIRN_PLUGIN_PATH``.

    Directories given on the command line must exist (a typo should not silently hide a
    plugin); entries of the environment variable that do not exist are skipped, as
    ``$PATH`` entries are.
    """
    from cairn.dsl import resolver

    env = os.environ if environ is None else environ
    found: list[str] = []
    for given in plugin_paths:
        if not os.path.isdir(given):
            raise errors.UsageError(f"--plugin-path {given}: no such directory")
        found.append(os.path.abspath(given))
    for entry in env.get(PLUGIN_PATH_ENV, "").split(os.pathsep):
        if entry and os.path.isdir(entry):
            found.append(os.path.abspath(entry))
    unique = tuple(dict.fromkeys(found))
    return resolver.ParseOptions(plugin_paths=unique)


def blueprint_file(path: str) -> str:
    """The blueprint file ``path`` names: the file itself, or ``blueprint.yaml`` in a folder."""
    if os.path.isdir(path):
        inside = os.path.join(path, DEFAULT_BLUEPRINT_FILE)
        if not os.path.isfile(inside):
            raise errors.UsageError(f"{path}: a directory without {DEFAULT_BLUEPRINT_FILE}")
        return inside
    if not os.path.exists(path):
        raise errors.NotFoundError(f"{path}: no such file")
    if not os.path.isfile(path):
        raise errors.UsageError(f"{path}: not a regular file")
    return path


def check(path: str, *, options: resolver.ParseOptions) -> Verdict:
    """Validate a blueprint: every problem it has, or how many nodes it declares."""
    from cairn.dsl import parser

    try:
        parsed = parser.parse_path(blueprint_file(path), options=options)
    except errors.BlueprintError as exc:
        return Verdict(problems=exc.problems)
    return Verdict(problems=(), node_count=len(parsed.nodes))


def validate(path: str, *, options: resolver.ParseOptions) -> list[errors.Problem]:
    """Every problem of the blueprint at ``path``; empty when it is valid."""
    return list(check(path, options=options).problems)


def plan(path: str, *, options: resolver.ParseOptions) -> dict[str, Any]:
    """The parsed, merged plan (docs/plan-format.md), intrinsic functions as written.

    Raises :class:`~cairn.errors.BlueprintError` when the blueprint is not valid.
    """
    from cairn.dsl import parser

    parsed = parser.parse_path(blueprint_file(path), options=options)
    return plan_model.to_json(parsed)


def deployment_plan(
    path: str, *, options: resolver.ParseOptions, inputs: Mapping[str, Any]
) -> dict[str, Any]:
    """The plan with ``inputs`` applied: static functions evaluated, node instances created.

    Raises :class:`~cairn.errors.BlueprintError` or :class:`~cairn.errors.InputError`.
    """
    from cairn.dsl import deployment, parser
    from cairn.model import deployment as deployment_model

    parsed = parser.parse_path(blueprint_file(path), options=options)
    prepared = deployment.prepare(parsed, dict(inputs))
    result: dict[str, Any] = plan_model.jsonable(deployment_model.to_json(prepared))
    return result


def load_inputs(specs: Sequence[str]) -> dict[str, Any]:
    """Deployment inputs from ``-i`` values (see the module docstring); later ones win.

    Raises :class:`~cairn.errors.UsageError` naming the value that cannot be read.
    """
    inputs: dict[str, Any] = {}
    for spec in specs:
        inputs.update(_load_one(spec))
    result: dict[str, Any] = plan_model.jsonable(inputs)
    return result


def _load_one(spec: str) -> dict[str, Any]:
    text = spec.strip()
    if os.path.isfile(spec):
        return _load_file(spec)
    if os.path.isdir(spec):
        names = sorted(n for n in os.listdir(spec) if n.endswith(_INPUT_FILE_SUFFIXES))
        return _merge(_load_file(os.path.join(spec, name)) for name in names)
    if text.startswith("{"):
        return _mapping(_read_yaml(text, where="-i"), where=f"-i {spec}")
    if "=" in text:
        return _load_pairs(text)
    if _GLOB_CHARS.search(text):
        matches = sorted(m for m in glob.glob(text) if os.path.isfile(m))
        if matches:
            return _merge(_load_file(match) for match in matches)
        raise errors.UsageError(f"-i {spec}: no file matches")
    if text.endswith(_INPUT_FILE_SUFFIXES) or os.sep in text:
        raise errors.UsageError(f"-i {spec}: no such inputs file")
    raise errors.UsageError(f"-i {spec}: {_INPUTS_HELP}")


def _merge(parts: Any) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


def _load_pairs(text: str) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise errors.UsageError(
                f"-i {text}: {item.strip()!r} is not NAME=VALUE (pairs are separated by ';')"
            )
        pairs[name] = _scalar_or_flow(raw.strip())
    return pairs


def _scalar_or_flow(raw: str) -> Any:
    """``8080`` -> 8080, ``[a, b]`` -> ["a", "b"], ``{a: 1}`` -> {"a": 1}; else the text."""
    if not raw:
        return ""
    if _COMMENT.search(raw):
        return raw
    try:
        value = yamlsrc.load(raw, file="-i")
    except yamlsrc.YamlProblem:
        return raw
    if isinstance(value, dict) and not raw.startswith("{"):
        return raw  # "a: b" is a block mapping to YAML, but text to whoever typed it
    return value


def _load_file(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(yamlsrc.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise errors.UsageError(f"{path}: cannot read inputs file: {exc.strerror}") from exc
    try:
        text = yamlsrc.decode(data, file=path)
    except yamlsrc.YamlProblem as exc:
        raise _file_problem(exc) from exc
    return _mapping(_read_yaml(text, where=path), where=path)


def _read_yaml(text: str, *, where: str) -> Any:
    try:
        return yamlsrc.load(text, file=where)
    except yamlsrc.YamlProblem as exc:
        raise _file_problem(exc) from exc


def _file_problem(exc: yamlsrc.YamlProblem) -> errors.UsageError:
    mark = exc.mark
    return errors.UsageError(
        f"{mark.file}:{mark.line}:{mark.col}: invalid inputs ({exc.code}): {exc.message}"
    )


def _mapping(value: Any, *, where: str) -> dict[str, Any]:
    if value is None:
        return {}  # an empty file: no inputs
    if not isinstance(value, dict):
        kind = "a list" if isinstance(value, list) else f"the {type(value).__name__} {value!r}"
        raise errors.UsageError(f"{where}: inputs must be a mapping of names to values, not {kind}")
    for key in value:
        if not isinstance(key, str):
            raise errors.UsageError(f"{where}: input name {key!r} is not a string")
    return dict(value)
