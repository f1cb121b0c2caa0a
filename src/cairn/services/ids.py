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


def edit_labels(
    current: Mapping[str, Sequence[str]],
    *,
    add: Mapping[str, Sequence[str]],
    remove: Sequence[str] = (),
    replace: bool = False,
    owner: str,
) -> dict[str, tuple[str, ...]]:
    """Labels after a change, for sites and deployments alike: with ``replace`` the current
    ones are dropped; then ``remove`` (``KEY`` drops a key, ``KEY=VALUE`` one value) and
    ``add`` apply. Removing what ``owner`` (``the site``) does not have is a FieldError."""
    added = labels(add)
    kept = {} if replace else {key: tuple(values) for key, values in current.items()}
    for spec in remove:
        key, sep, value = spec.partition("=")
        key = check_label_key(key.strip(), field="remove_labels").lower()
        if key not in kept:
            raise FieldError(f"{owner} has no label {key!r}", field="remove_labels")
        if not sep:
            del kept[key]
            continue
        if value.strip() not in kept[key]:
            raise FieldError(f"label {key!r} has no value {value.strip()!r}", field="remove_labels")
        kept[key] = tuple(v for v in kept[key] if v != value.strip())
        if not kept[key]:
            del kept[key]
    for key, values in added.items():
        kept[key] = tuple(dict.fromkeys((*kept.get(key, ()), *values)))
    return kept
