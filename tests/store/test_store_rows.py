"""Every field of every stored domain object has a column: a new field fails here first."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
import store_samples as s

from cairn.model import executions, runtime
from cairn.store import rows, tables

_EVENT = runtime.Event(execution_id="e", deployment_id="d", timestamp=s.T0, type="log", message="m")
_SECRET = runtime.Secret(name="n", ciphertext=b"x", created_at=s.T0, updated_at=s.T0)
_TOKEN = runtime.Token(
    id="t", digest="d", role=runtime.Role.VIEWER, description="", created_at=s.T0
)

CASES: list[tuple[Any, Callable[[Any], dict[str, Any]], set[str], dict[str, str]]] = [
    (s.blueprint(), rows.blueprint_to_row, set(), {}),
    (s.deployment(), rows.deployment_to_row, set(), {}),
    (s.instance("vm_1"), rows.instance_to_row, set(), {}),
    (s.execution("e1"), rows.execution_to_row, set(), {}),
    (s.spec("a"), rows.spec_to_row, set(), {"state": "instance_state"}),
    (_EVENT, rows.event_to_row, {"id"}, {}),  # the store numbers events
    (_SECRET, rows.secret_to_row, set(), {}),
    (_TOKEN, rows.token_to_row, set(), {}),
]


@pytest.mark.parametrize(
    ("value", "to_row", "skipped", "renamed"), CASES, ids=lambda v: type(v).__name__
)
def test_every_field_is_stored(
    value: Any,
    to_row: Callable[[Any], dict[str, Any]],
    skipped: set[str],
    renamed: dict[str, str],
) -> None:
    names = {renamed.get(f.name, f.name) for f in dataclasses.fields(value)} - skipped
    assert set(to_row(value)) == names


def test_task_columns_hold_the_spec_and_the_state() -> None:
    spec_columns = set(rows.spec_to_row(s.spec("a")))
    task_fields = {f.name for f in dataclasses.fields(executions.Task)} - {"spec"}
    extra = {"pending_deps"}
    assert set(tables.tasks.c.keys()) == spec_columns | task_fields | extra
