"""Cloudify's ``@operation`` and ``@workflow``: scripts may decorate functions with them."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def operation(func: Any = None, **_: Any) -> Any:
    if func is None:
        return lambda inner: inner
    return func


def workflow(func: Any = None, **_: Any) -> Any:
    return operation(func)
