"""Names users give to things: blueprint and deployment ids, secret names, label keys.

An id doubles as a folder name on the manager (blueprints are stored under their id) and
as a path segment in the API, so ids are kept to letters, digits, ``_``, ``-`` and ``.``,
starting with a letter or digit. A bad one is a :class:`FieldError`: a usage error that
says which request field is at fault, so the API can point at it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cairn import errors

MAX_LENGTH = 256
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_LABEL_KEY = re.compile(r"[A-Za-z0-9_.-]+")


class FieldError(errors.UsageError):
    """A request field has a bad value."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def check(value: str, *, what: str, field: str) -> str:
    """``value`` when it is a valid id, else :class:`FieldError` naming ``field``."""
    if not value:
        raise FieldError(f"{what} must not be empty", field=field)
    if len(value) > MAX_LENGTH:
        raise FieldError(f"{what} is longer than {MAX_LENGTH} characters", field=field)
    if not _ID.fullmatch(value):
        raise FieldError(
            f"{what} {value!r} may hold only letters, digits, '_', '-' and '.', "
            "and must start with a letter or digit",
            field=field,
        )
    return value


def check_label_key(key: str, *, field: str = "labels") -> str:
    if not _LABEL_KEY.fullmatch(key) or len(key) > MAX_LENGTH:
        raise FieldError(
            f"label key {key!r} may hold only letters, digits, '_', '-' and '.'", field=field
        )
    return key


def labels(
    given: Mapping[str, Sequence[str]], *, field: str = "labels"
) -> dict[str, tuple[str, ...]]:
    """Labels as stored, for deployments and sites alike: keys checked and lower-cased (so
    ``Env`` and ``env`` are one key), values kept in order without repeats."""
    merged: dict[str, list[str]] = {}
    for key, values in given.items():
        check_label_key(key, field=field)
        merged.setdefault(key.lower(), []).extend(str(v) for v in values)
    return {key: tuple(dict.fromkeys(values)) for key, values in merged.items()}
