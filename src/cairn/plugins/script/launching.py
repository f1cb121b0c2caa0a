"""What to run for a script operation, as Cloudify's script plugin decides it.

Inputs follow ``script_runner.tasks.run``: ``script_path`` (a file of the blueprint, a
``file://`` URL or an absolute path) or ``script_source`` (inline); ``process`` with
``env``, ``cwd``, ``args``, ``command_prefix`` and ``eval_python``; every other input becomes
an environment variable (mappings, lists and booleans as JSON, anything else as ``str()``).

A script runs with the interpreter of its ``#!`` line, or ``/bin/sh`` without one. Python
scripts (a ``#!`` line naming python, a ``.py`` file without one, ``eval_python: true``, or
inline source without ``#!`` that parses as Python, as Cloudify detects it) run with the
manager's own interpreter, so that ``from cloudify import ctx`` finds the compatibility
package on ``PYTHONPATH``.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import shlex
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn import errors
from cairn.plugins import script

JSON = Any
RUNNER_INPUTS = frozenset({"script_path", "script_source", "process", "ssl_cert_content"})
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass(frozen=True, kw_only=True)
class Launch:
    """Everything the connector needs to start one script attempt."""

    command: tuple[str, ...]  # run by the wrapper, in ``cwd``
    env: Mapping[str, str]
    cwd: str
    script_name: str  # the script as the blueprint names it, for messages
    script_file: str  # where the script is written, inside the attempt's folder
    script: bytes
    document: Mapping[str, JSON]  # the context file's first content
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """The folder of one attempt and the manager's environment to start from."""

    folder: str
    bin_dir: str  # holds the ``ctx`` command
    python: str
    environ: Mapping[str, str]


def prepare(
    *,
    attempt: Attempt,
    inputs: Mapping[str, JSON],
    context: Mapping[str, JSON],
    implementation: str,
    task: Mapping[str, JSON],
) -> Launch:
    """Raises :class:`errors.NonRecoverableError` for inputs no retry can fix."""
    process = inputs.get("process") or {}
    if not isinstance(process, Mapping):
        raise errors.NonRecoverableError("the 'process' input must be a mapping")
    name, text = _script(inputs, context, implementation)
    python = _is_python(name, text, process.get("eval_python"))
    if name == "<inline>":
        text = textwrap.dedent(text)
        if not text.startswith("#!") and not python:
            text = "#!/bin/sh\n" + text
    file_name = os.path.basename(name.rstrip("/")) if name != "<inline>" else "script"
    if name == "<inline>":
        file_name += ".py" if python else ".sh"
    script_file = os.path.join(attempt.folder, "script", file_name or "script")
    env, warnings = _environment(attempt, inputs, process, python=python)
    written = document(inputs=inputs, context=context, task=task)
    if written["side"] is None and isinstance(written["context"].get("instance"), Mapping):
        # a node operation: ``ctx instance runtime-properties KEY VALUE`` may skip Python
        env[script.CTX_SETS_ENV] = os.path.join(attempt.folder, script.CTX_SETS_FILE)
    cwd = str(process.get("cwd") or os.path.join(attempt.folder, "work"))
    return Launch(
        command=_command(script_file, process, python=python, interpreter=attempt.python),
        env=env,
        cwd=cwd,
        script_name=name,
        script_file=script_file,
        script=text.encode("utf-8"),
        document=written,
        warnings=tuple(warnings),
    )


def _script(
    inputs: Mapping[str, JSON], context: Mapping[str, JSON], implementation: str
) -> tuple[str, str]:
    path, source = inputs.get("script_path"), inputs.get("script_source")
    if path and source:
        raise errors.NonRecoverableError("Only provide script_path or script_source, not both")
    if source:
        return "<inline>", str(source)
    path = path or implementation
    if not path:
        raise errors.NonRecoverableError("Either script_path or script_source must be provided")
    path = str(path)
    if path.startswith(("http://", "https://")):
        raise errors.NonRecoverableError(
            f"script {path}: scripts from URLs are not supported yet; put it in the blueprint"
        )
    blueprint = context.get("blueprint")
    folder = blueprint.get("resources") if isinstance(blueprint, Mapping) else None
    local = path.removeprefix("file://")
    if not os.path.isabs(local):
        if not folder:
            raise errors.NonRecoverableError(f"script {path}: no blueprint folder to find it in")
        local = os.path.join(str(folder), local)
    try:
        with open(local, "rb") as handle:
            return path, handle.read().decode("utf-8", "replace")
    except OSError as exc:
        raise errors.NonRecoverableError(f"script {path} not found ({exc.strerror})") from None


def _is_python(name: str, text: str, eval_python: object) -> bool:
    if eval_python is True or eval_python is False:
        return eval_python
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    if first.startswith("#!"):
        return "python" in first
    if name == "<inline>":
        try:
            ast.parse(textwrap.dedent(text))
        except (SyntaxError, ValueError):
            return False
        return True
    return name.endswith(".py")


def _command(
    script_file: str, process: Mapping[str, JSON], *, python: bool, interpreter: str
) -> tuple[str, ...]:
    args = [str(a) for a in process.get("args") or []]
    if python:
        return (interpreter, script_file, *args)
    prefix = process.get("command_prefix")
    if prefix or args:
        line = " ".join([*([str(prefix)] if prefix else []), shlex.quote(script_file), *args])
        return ("/bin/sh", "-c", line)
    return (script_file,)


def env_value(value: JSON) -> str:
    """Cloudify's rule: mappings, lists and booleans as JSON, the rest as ``str()``."""
    if isinstance(value, dict | list | set | bool):
        return json.dumps(sorted(value) if isinstance(value, set) else value)
    return str(value)


def _environment(
    attempt: Attempt, inputs: Mapping[str, JSON], process: Mapping[str, JSON], *, python: bool
) -> tuple[dict[str, str], list[str]]:
    env = {k: v for k, v in attempt.environ.items() if not k.startswith("CAIRN_")}
    extra = {k: v for k, v in inputs.items() if k not in RUNNER_INPUTS}
    extra.update(process.get("env") or {})
    warnings = []
    for key, value in extra.items():
        text = env_value(value)
        if not key or "=" in key or "\0" in key or "\0" in text:
            warnings.append(f"input {key!r} cannot be an environment variable; left out")
            continue
        env[key] = text
    env[script.CTX_FILE_ENV] = os.path.join(attempt.folder, "ctx.json")
    env["PATH"] = f"{attempt.bin_dir}:{env.get('PATH') or DEFAULT_PATH}"
    previous = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{script.COMPAT_DIR}:{previous}" if previous else str(script.COMPAT_DIR)
    if python:
        env["PYTHONUNBUFFERED"] = "1"
    return env, warnings


def document(
    *, inputs: Mapping[str, JSON], context: Mapping[str, JSON], task: Mapping[str, JSON]
) -> dict[str, JSON]:
    """The context file's first content (see ``compat/_cairn_ctx.py``).

    For a relationship operation ``side`` says which end runs, and ``node``/``instance``
    are left out: ``ctx node`` and ``ctx instance`` then read that end under
    ``source``/``target``, so each instance is written in one place only.
    """
    written = copy.deepcopy(dict(context))
    side = relationship_side(written)
    if side is not None:
        written.pop("node", None)
        written.pop("instance", None)
    return {
        "context": written,
        "side": side,
        "inputs": copy.deepcopy(dict(inputs)),
        **task,
        "result": None,
        "retry": None,
        "error": None,
    }


def apply_sets(document: dict[str, JSON], data: bytes) -> None:
    """Apply the runtime properties that the ``ctx`` command's shell fast path appended to
    the sets file (``KEY NUL VALUE NUL``, see :func:`cairn.plugins.script.ctx_launcher`)
    after ``document["sets_applied"]`` bytes, as every later ``ctx`` call does first
    (``_cairn_ctx.ContextFile.apply_sets``, its twin); an unfinished last record waits."""
    done = document.get("sets_applied") or 0
    fields = data[done:].split(b"\0")[:-1]
    pairs = len(fields) // 2
    if not pairs:
        return
    context = document.setdefault("context", {})
    if not isinstance(context.get("instance"), dict):
        context["instance"] = {}
    instance = context["instance"]
    if not isinstance(instance.get("runtime_properties"), dict):
        instance["runtime_properties"] = {}
    properties = instance["runtime_properties"]
    for index in range(pairs):
        key, value = fields[2 * index], fields[2 * index + 1]
        properties[key.decode("utf-8", "surrogateescape")] = value.decode(
            "utf-8", "surrogateescape"
        )
        done += len(key) + len(value) + 2
    document["sets_applied"] = done


def relationship_side(context: Mapping[str, JSON]) -> str | None:
    source, target = context.get("source"), context.get("target")
    if not isinstance(source, Mapping) or not isinstance(target, Mapping):
        return None
    running = _instance_id(context)
    return "target" if running is not None and running == _instance_id(target) else "source"


def _instance_id(end: Mapping[str, JSON]) -> JSON:
    instance = end.get("instance")
    return instance.get("id") if isinstance(instance, Mapping) else None


def instance_properties(document: Mapping[str, JSON]) -> dict[str, dict[str, JSON]]:
    """The runtime properties in a context document, by end: ``instance`` for a node
    operation, ``source`` and ``target`` for a relationship operation."""
    context = document.get("context") or {}
    ends = ("source", "target") if document.get("side") else ("instance",)
    found: dict[str, dict[str, JSON]] = {}
    for end in ends:
        holder = context.get(end)
        instance = holder.get("instance") if end != "instance" and holder else holder
        if isinstance(instance, Mapping):
            found[end] = dict(instance.get("runtime_properties") or {})
    return found
