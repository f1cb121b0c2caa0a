"""How the remote commands print what the manager answers: JSON/YAML, Rich tables, event lines.

``-o json`` (and ``-o yaml``) print the API's answer as it came, so scripts see the
documented REST shapes. Tables are for people: a few columns per row, times shortened.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import yaml
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from cairn.cli import output

Column = tuple[str, str | Callable[[Mapping[str, Any]], Any]]
_LEVEL_STYLES = {"error": "red", "warning": "yellow", "warn": "yellow", "debug": "dim"}
_FAILED_TYPES = ("failed", "error")


def dump(data: Any, fmt: output.Format) -> None:
    """``data`` (any JSON value) as JSON or YAML on stdout."""
    if fmt is output.Format.yaml:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))
    else:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


_PIPE_WIDTH = 200


def console() -> Console:
    """Rich on stdout: coloured on a terminal, plain and wide when piped."""
    import os

    tty = sys.stdout.isatty()
    width = None if tty or os.environ.get("COLUMNS") else _PIPE_WIDTH
    return Console(file=sys.stdout, width=width, highlight=False)


def show(data: Any, fmt: output.Format, render: Callable[[Any], Iterable[Table | str]]) -> None:
    """``data`` as JSON/YAML, or as the tables (and lines) ``render`` makes of it."""
    if fmt is not output.Format.table:
        dump(data, fmt)
        return
    out = console()
    for index, part in enumerate(render(data)):
        if index:
            out.print()
        out.print(part)


def records(title: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell(row, key)) for _, key in columns))
    if not rows:
        table.caption = "(none)"
        table.caption_justify = "left"
    return table


def fields(title: str, row: Mapping[str, Any], keys: Sequence[Column]) -> Table:
    """One record as a two-column table: field, value."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for header, key in keys:
        table.add_row(Text(header), Text(cell(row, key)))
    return table


def values(title: str, found: Mapping[str, Any], *, described: bool = False) -> Table:
    """Named values: inputs ({name: value}), outputs ({name: {value, description}})."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("name")
    table.add_column("value", overflow="fold")
    if described:
        table.add_column("description", overflow="fold")
    for name, given in found.items():
        if described:
            spec = given if isinstance(given, Mapping) else {"value": given}
            table.add_row(
                Text(name), Text(text(spec.get("value"))), Text(text(spec.get("description")))
            )
        else:
            table.add_row(Text(name), Text(text(given)))
    if not found:
        table.caption = "(none)"
        table.caption_justify = "left"
    return table


def cell(row: Mapping[str, Any], key: str | Callable[[Mapping[str, Any]], Any]) -> str:
    value = key(row) if callable(key) else row.get(key)
    if isinstance(key, str) and key.endswith("_at"):
        return when(value)
    return text(value)


def text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def when(value: Any) -> str:
    """An API timestamp as ``YYYY-MM-DD HH:MM:SS`` UTC (with a ``Z``)."""
    if not isinstance(value, str) or not value:
        return "-"
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") + "Z"


def ago(value: Any, *, now: datetime.datetime | None = None) -> str:
    """An API timestamp as the time since then: ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``
    (``-`` when there is none)."""
    if not isinstance(value, str) or not value:
        return "-"
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    seconds = max(0, int(((now or datetime.datetime.now(datetime.UTC)) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def labels(row: Mapping[str, Any]) -> str:
    found = row.get("labels") or {}
    return ", ".join(f"{k}={v}" for k, vs in found.items() for v in vs) or "-"


def event_line(event: Mapping[str, Any]) -> Text:
    """``TIME  NODE-INSTANCE  OPERATION  message``, coloured by level on a terminal."""
    operation = str(event.get("operation") or "")
    operation = operation.removeprefix("cloudify.interfaces.")
    stamp = when(event.get("timestamp"))
    line = Text(f"{stamp}  ")
    line.append(f"{event.get('node_instance_id') or '-'}  ", style="cyan")
    line.append(f"{operation or '-'}  ", style="blue")
    level = str(event.get("level") or "info").lower()
    kind = str(event.get("type") or "")
    style = _LEVEL_STYLES.get(level, "")
    if any(word in kind for word in _FAILED_TYPES):
        style = "red"
    line.append(" ".join(str(event.get("message") or "").split()) or kind, style=style)
    return line


def print_events(events: Iterable[Mapping[str, Any]], out: Console | None = None) -> None:
    target = out or console()
    for event in events:
        target.print(event_line(event), soft_wrap=True)
