"""Cairn's error hierarchy.

Every error a user can see is one of these. The class docstring is the default message;
context (blueprint file and line, deployment, node instance, operation) is attached on the
way up::

    CairnError
    ├── BlueprintError          a blueprint has problems; carries every problem at once
    ├── InputError              deployment inputs are missing, unknown or invalid
    ├── UsageError              a command or request was malformed
    ├── NotFoundError           a named thing does not exist
    ├── ConflictError           the request clashes with the current state (id taken, busy)
    ├── PermissionDenied        the caller's role does not allow the request
    └── OperationError          an operation attempt failed; says whether to retry
        ├── RecoverableError    try again later (``retry_after`` seconds, or the policy's)
        └── NonRecoverableError do not try again
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CairnError(Exception):
    """Cairn failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (type(self).__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, kw_only=True, order=True)
class Problem:
    """One located problem in a blueprint: ``file:line:col: code message``.

    ``line`` and ``col`` are 1-based; ``file`` is the absolute path (or the import URL
    for built-in resources) that holds the YAML node at fault.
    """

    file: str
    line: int
    col: int
    code: str
    message: str

    def render(self, *, relative_to: str | None = None) -> str:
        import os

        where = self.file
        if relative_to is not None and os.path.isabs(where):
            where = os.path.relpath(where, relative_to)
        return f"{where}:{self.line}:{self.col}: {self.code} {self.message}"


class BlueprintError(CairnError):
    """The blueprint is not valid."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0].render() if self.problems else ""
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first}{more}")


class InputError(CairnError):
    """The deployment inputs are not valid."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("; ".join(self.problems) or None)


class UsageError(CairnError):
    """The request was malformed."""


class NotFoundError(CairnError):
    """Not found."""


class ConflictError(CairnError):
    """The request conflicts with the current state."""


class Unavailable(CairnError):
    """Cannot be done now, for a passing reason (a busy database): try again shortly."""


class PermissionDenied(CairnError):
    """Your role does not allow this."""


class OperationError(CairnError):
    """The operation failed."""


class RecoverableError(OperationError):
    """The operation failed and may succeed if tried again."""

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NonRecoverableError(OperationError):
    """The operation failed for good."""
