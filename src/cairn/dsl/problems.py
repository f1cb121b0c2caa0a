"""Collecting located problems, so a blueprint is checked in one pass.

The parser never stops at the first problem: each stage records what it finds here and
goes on with what is still sound. :meth:`Problems.raise_if_any` turns the collection into
one :class:`cairn.errors.BlueprintError` at the end.
"""

from __future__ import annotations

from typing import Any

from cairn import errors
from cairn.dsl import yamlsrc


class Problems:
    def __init__(self) -> None:
        self._found: dict[tuple[str, int, int, str, str], errors.Problem] = {}

    def add(self, mark: yamlsrc.Mark, code: str, message: str) -> None:
        problem = errors.Problem(
            file=mark.file, line=mark.line, col=mark.col, code=code, message=message
        )
        self._found.setdefault((mark.file, mark.line, mark.col, code, message), problem)

    def at_key(
        self, container: Any, key: Any, fallback: yamlsrc.Mark, code: str, message: str
    ) -> None:
        self.add(yamlsrc.key_mark(container, key, fallback), code, message)

    def at_value(
        self, container: Any, key: Any, fallback: yamlsrc.Mark, code: str, message: str
    ) -> None:
        self.add(yamlsrc.value_mark(container, key, fallback), code, message)

    def __bool__(self) -> bool:
        return bool(self._found)

    def __len__(self) -> int:
        return len(self._found)

    def sorted(self) -> list[errors.Problem]:
        return sorted(self._found.values())

    def raise_if_any(self) -> None:
        if self._found:
            raise errors.BlueprintError(self.sorted())
