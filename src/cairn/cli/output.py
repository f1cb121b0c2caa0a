"""What the CLI prints: plans as JSON, YAML or tables; problems; one-line errors.

Data goes to stdout, diagnostics to stderr, so ``cairn ... -o json | jq`` always works.
JSON and YAML are written without Rich (no colour codes, no wrapping); tables use Rich,
which drops colour by itself when stdout is not a terminal.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

import yaml
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cairn import errors

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_PIPE_WIDTH = 200  # tables written to a pipe or file: wide enough not to fold most values


class Format(enum.StrEnum):
    json = "json"
    yaml = "yaml"
    table = "table"


def line(text: str, *, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    out.write(text + "\n")


def error(message: str) -> None:
    """One line on stderr, the shape of every CLI error."""
    line(f"cairn: error: {' '.join(message.split())}", stream=sys.stderr)


def problems(found: Iterable[errors.Problem], *, stream: TextIO | None = None) -> int:
    """``FILE:LINE:COL: CODE message`` per problem, FILE relative to the current directory."""
    here = os.getcwd()
    count = 0
    for problem in found:
        line(" ".join(problem.render(relative_to=here).split()), stream=stream)
        count += 1
    return count


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def report(exc: BaseException) -> int:
    """Print what went wrong (never a traceback) and give the exit code."""
    if isinstance(exc, errors.BlueprintError):
        count = problems(exc.problems, stream=sys.stderr)
        error(f"the blueprint is not valid ({plural(count, 'problem')})")
        return EXIT_FAILED
    if isinstance(exc, errors.InputError):
        error(f"invalid inputs: {'; '.join(exc.problems) or exc.message}")
        return EXIT_FAILED
    if isinstance(exc, (errors.UsageError, errors.NotFoundError)):
        error(exc.message)
        return EXIT_USAGE
    if isinstance(exc, errors.CairnError):
        error(exc.message)
        return EXIT_FAILED
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}")
        return EXIT_USAGE
    error(f"internal error: {type(exc).__name__}: {exc} (CAIRN_DEBUG=1 shows the traceback)")
    return EXIT_FAILED


def document(data: Mapping[str, Any], fmt: Format) -> None:
    """``data`` as JSON or YAML on stdout."""
    if fmt is Format.yaml:
        sys.stdout.write(yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100))
    else:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def plan(data: Mapping[str, Any], fmt: Format) -> None:
    if fmt is not Format.table:
        document(data, fmt)
        return
    console = _console()
    nodes = data.get("nodes") or []
    console.print(_nodes_table(nodes))
    console.print()
    console.print(_inputs_table(data.get("inputs") or {}))
    console.print()
    console.print(_values_table("Outputs", data.get("outputs") or {}))
    console.print()
    console.print(
        f"{plural(len(nodes), 'node')}, DSL {data.get('dsl_version') or '?'}, "
        f"{plural(len(data.get('workflows') or {}), 'workflow')}",
        highlight=False,
    )


def deployment_plan(data: Mapping[str, Any], fmt: Format) -> None:
    if fmt is not Format.table:
        document(data, fmt)
        return
    console = _console()
    instances = data.get("node_instances") or []
    console.print(_instances_table(instances))
    console.print()
    console.print(_values_table("Inputs", data.get("inputs") or {}))
    console.print()
    console.print(_values_table("Outputs", data.get("outputs") or {}))
    console.print()
    console.print(plural(len(instances), "node instance"), highlight=False)


def _console() -> Console:
    tty = sys.stdout.isatty()
    width = None if tty or os.environ.get("COLUMNS") else _PIPE_WIDTH
    return Console(file=sys.stdout, width=width, highlight=False)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _nodes_table(nodes: Iterable[Mapping[str, Any]]) -> Table:
    table = _table("Nodes", "node", "type", "host", "instances", "relationships", "operations")
    for node in nodes:
        rels = node.get("relationships") or []
        ops = _count_operations(node.get("operations") or {})
        for rel in rels:
            ops += _count_operations(rel.get("source_operations") or {})
            ops += _count_operations(rel.get("target_operations") or {})
        table.add_row(
            Text(str(node.get("id"))),
            Text(str(node.get("type"))),
            Text(str(node.get("host_id") or "-")),
            Text(_instances(node.get("scalable") or {})),
            Text("\n".join(f"{_short(r.get('type'))} -> {r.get('target')}" for r in rels) or "-"),
            Text(str(ops)),
        )
    return table


def _count_operations(operations: Mapping[str, Any]) -> int:
    """Operations that do something, each once.

    Cloudify's plan lists an operation under its qualified name and, when unambiguous,
    under its short name too; only qualified names hold a dot.
    """
    return sum(
        1
        for name, op in operations.items()
        if "." in name and isinstance(op, Mapping) and op.get("implementation")
    )


def _instances(scalable: Mapping[str, Any]) -> str:
    default = scalable.get("default_instances", 1)
    low, high = scalable.get("min_instances", 0), scalable.get("max_instances", -1)
    if low == 0 and high == -1:
        return str(default)
    return f"{default} ({low}..{'*' if high == -1 else high})"


def _short(type_name: Any) -> str:
    name = str(type_name)
    prefix = "cloudify.relationships."
    return name[len(prefix) :] if name.startswith(prefix) else name


def _inputs_table(inputs: Mapping[str, Any]) -> Table:
    table = _table("Inputs", "input", "type", "default", "constraints", "description")
    for name, given in inputs.items():
        spec = given if isinstance(given, Mapping) else {}
        default = _compact(spec["default"]) if "default" in spec else "(required)"
        if "default" not in spec and spec.get("required") is False:
            default = "-"
        constraints = ", ".join(_compact(c) for c in spec.get("constraints") or [])
        table.add_row(
            Text(str(name)),
            Text(str(spec.get("type") or "-")),
            Text(default),
            Text(constraints or "-"),
            Text(" ".join(str(spec.get("description") or "").split()) or "-"),
        )
    return table


def _values_table(title: str, values: Mapping[str, Any]) -> Table:
    """Outputs (``{name: {value, description}}``) or plain values (``{name: value}``)."""
    described = any(isinstance(v, Mapping) and "value" in v for v in values.values())
    columns = ("value", "description") if described else ("value",)
    table = _table(title, title.lower().rstrip("s"), *columns)
    for name, given in values.items():
        if described:
            spec = given if isinstance(given, Mapping) else {"value": given}
            text = " ".join(str(spec.get("description") or "").split()) or "-"
            table.add_row(Text(str(name)), Text(_compact(spec.get("value"))), Text(text))
        else:
            table.add_row(Text(str(name)), Text(_compact(given)))
    return table


def _instances_table(instances: Iterable[Mapping[str, Any]]) -> Table:
    table = _table("Node instances", "instance", "node", "host", "relationships")
    for instance in instances:
        rels = instance.get("relationships") or []
        table.add_row(
            Text(str(instance.get("id"))),
            Text(str(instance.get("node_id"))),
            Text(str(instance.get("host_id") or "-")),
            Text(
                "\n".join(
                    f"{_short(r.get('type'))} -> {r.get('target_id') or r.get('target_name')}"
                    for r in rels
                )
                or "-"
            ),
        )
    return table


def _compact(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
