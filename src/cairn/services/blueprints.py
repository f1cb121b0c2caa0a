"""Blueprint use cases: validate a blueprint, show its plan, show its deployment plan; on a
manager, upload, list, get and delete blueprints.

The CLI and the API call these and render what they return; nothing here prints.
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

import dataclasses
import glob
import os
import pathlib
import posixpath
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cairn import errors
from cairn.dsl import yamlsrc
from cairn.model import plan as plan_model
from cairn.model import runtime
from cairn.services import archives, ids

if TYPE_CHECKING:
    from cairn.dsl import resolver
    from cairn.services import manager as manager_mod

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


def input_value(raw: str) -> Any:
    """One input value written as text, read as ``-i NAME=VALUE`` reads VALUE."""
    return plan_model.jsonable(_scalar_or_flow(raw.strip()))


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


# Blueprints on the manager ---------------------------------------------------------------
#
# An uploaded blueprint is unpacked under ``<data dir>/blueprints/<id>/`` and parsed there;
# the store keeps its id, main file and plan. The folder stays, because operations run the
# scripts it holds and deployments are prepared from it.

BLUEPRINTS_FOLDER = "blueprints"


def folder(manager: manager_mod.Manager, blueprint_id: str) -> pathlib.Path:
    """Where the files of blueprint ``blueprint_id`` are kept on the manager."""
    return pathlib.Path(manager.data_dir) / BLUEPRINTS_FOLDER / blueprint_id


def main_path(manager: manager_mod.Manager, blueprint: runtime.Blueprint) -> pathlib.Path:
    return folder(manager, blueprint.id) / blueprint.main_file


def upload(
    manager: manager_mod.Manager,
    *,
    blueprint_id: str,
    data: bytes,
    main_file: str | None = None,
    description: str | None = None,
    user: str = "admin",
) -> runtime.Blueprint:
    """Store a blueprint sent as a tar.gz/tar/zip archive or as one YAML document.

    ``main_file`` is the main YAML's path inside the archive (default ``blueprint.yaml``),
    or the name to keep a single YAML document under. Raises
    :class:`~cairn.errors.BlueprintError` (file names relative to the blueprint's folder),
    :class:`~cairn.errors.ConflictError` if the id is taken, or a usage error.
    """
    ids.check(blueprint_id, what="blueprint id", field="blueprint_id")
    main = _main_file(main_file)
    _ensure_absent(manager, blueprint_id)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=".upload-", dir=_blueprints_root(manager)))
    try:
        if archives.kind(data) == "yaml":
            (staging / main).parent.mkdir(parents=True, exist_ok=True)
            (staging / main).write_bytes(data)
            root = staging
        else:
            archives.unpack(data, staging)
            root = archives.root_of(staging)
        plan_json = _parse_stored(root, main)
        blueprint = runtime.Blueprint(
            id=blueprint_id,
            main_file=main,
            plan=plan_json,
            created_at=manager.clock.now(),
            description=description if description is not None else _description(plan_json),
            created_by=user,
        )
        return _keep(manager, blueprint, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _blueprints_root(manager: manager_mod.Manager) -> pathlib.Path:
    root = pathlib.Path(manager.data_dir) / BLUEPRINTS_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    return root


def _main_file(given: str | None) -> str:
    name = (given or DEFAULT_BLUEPRINT_FILE).replace("\\", "/")
    clean = posixpath.normpath(name)
    if clean.startswith(("/", "..")) or clean == ".":
        raise ids.FieldError(
            f"main file {given!r} must be a path inside the blueprint", field="main_file"
        )
    return clean


def _ensure_absent(manager: manager_mod.Manager, blueprint_id: str) -> None:
    try:
        manager.store.get_blueprint(blueprint_id)
    except errors.NotFoundError:
        return
    raise errors.ConflictError(f"blueprint '{blueprint_id}' already exists")


def _parse_stored(root: pathlib.Path, main: str) -> dict[str, Any]:
    """Parse ``root/main``; problems name files relative to ``root``, never server paths."""
    from cairn.dsl import parser

    path = root / main
    if not path.is_file():
        raise errors.UsageError(f"the blueprint has no main file '{main}'")
    try:
        parsed = parser.parse_path(str(path), options=parse_options())
    except errors.BlueprintError as exc:
        raise errors.BlueprintError([_relative(p, root) for p in exc.problems]) from None
    return plan_model.to_json(parsed)


def _relative(problem: errors.Problem, root: pathlib.Path) -> errors.Problem:
    where = problem.file
    if os.path.isabs(where):
        try:
            where = pathlib.Path(where).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            where = os.path.basename(where)
    return dataclasses.replace(problem, file=where)


def _description(plan_json: Mapping[str, Any]) -> str | None:
    found = plan_json.get("description")
    return " ".join(found.split()) if isinstance(found, str) and found.strip() else None


def _keep(
    manager: manager_mod.Manager, blueprint: runtime.Blueprint, root: pathlib.Path
) -> runtime.Blueprint:
    """Move the files in place, then record the blueprint; undo the move if that fails.

    A folder left over by a crash between the two steps is not on record, so it is replaced.
    """
    target = folder(manager, blueprint.id)
    if target.exists():
        shutil.rmtree(target)
    os.replace(root, target)
    try:
        manager.store.put_blueprint(blueprint)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return blueprint


def list_(manager: manager_mod.Manager) -> list[runtime.Blueprint]:
    return sorted(manager.store.list_blueprints(), key=lambda b: (b.created_at, b.id))


def get(manager: manager_mod.Manager, blueprint_id: str) -> runtime.Blueprint:
    return manager.store.get_blueprint(blueprint_id)


def delete(manager: manager_mod.Manager, blueprint_id: str) -> None:
    """Forget a blueprint and remove its files (ConflictError while deployments use it)."""
    manager.store.get_blueprint(blueprint_id)
    manager.store.delete_blueprint(blueprint_id)
    shutil.rmtree(folder(manager, blueprint_id), ignore_errors=True)


def package(path: str, *, main_file: str | None = None) -> tuple[bytes, str | None, str | None]:
    """What ``cairn blueprints upload PATH`` sends: (body, main file, local folder).

    A folder is packed as a tar.gz; a YAML file is packed with the folder around it (its
    scripts and imports live there), main file its name; an archive is sent as it is.
    The local folder lets problems the manager finds be shown with local paths.
    """
    if os.path.isdir(path):
        main = main_file or DEFAULT_BLUEPRINT_FILE
        if not os.path.isfile(os.path.join(path, main)):
            raise errors.UsageError(f"{path}: a directory without {main}")
        return archives.pack(pathlib.Path(path)), main, path
    if not os.path.exists(path):
        raise errors.NotFoundError(f"{path}: no such file")
    with open(path, "rb") as handle:
        data = handle.read()
    if archives.kind(data) != "yaml":
        return data, main_file, None
    if main_file is not None:
        raise errors.UsageError("--main-file goes with a folder or an archive, not a YAML file")
    folder_path = os.path.dirname(os.path.abspath(path))
    return archives.pack(pathlib.Path(folder_path)), os.path.basename(path), folder_path
