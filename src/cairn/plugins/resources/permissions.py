"""Mode and owner of a file or folder: read from properties, compared, applied.

A mode is written as an octal string (``'0644'``, ``'755'``); an owner as ``user`` or
``user:group``, by name or number. Both are optional: an empty property leaves that aspect
alone (and out of drift checks). Drift reports modes as four-digit octal strings and owners
as ``user:group`` names, so a difference reads the way the blueprint says it.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass

from cairn.model.plan import JSON
from cairn.plugins.resources import calls

_OCTAL = re.compile(r"0?[0-7]{3,4}")


@dataclass(frozen=True, kw_only=True)
class Owner:
    uid: int
    gid: int | None  # None: keep the group

    def describe(self) -> str:
        user = _user_name(self.uid)
        return user if self.gid is None else f"{user}:{_group_name(self.gid)}"


def mode_of(call: calls.Call) -> int | None:
    text = call.text("mode").strip()
    if not text:
        return None
    if not _OCTAL.fullmatch(text):
        raise calls.ResourceError(
            f"{call.type_name}: property 'mode' must be an octal string like '0644' (got {text!r})"
        )
    return int(text, 8)


def owner_of(call: calls.Call) -> Owner | None:
    text = call.text("owner").strip()
    if not text:
        return None
    user, _, group = text.partition(":")
    uid = _lookup(call, user, "user", lambda n: pwd.getpwnam(n).pw_uid)
    gid = _lookup(call, group, "group", lambda n: grp.getgrnam(n).gr_gid) if group else None
    return Owner(uid=uid, gid=gid)


def _lookup(call: calls.Call, name: str, what: str, find: Callable[[str], int]) -> int:
    if name.isdigit():
        return int(name)
    try:
        return find(name)
    except KeyError:
        raise calls.ResourceError(
            f"{call.type_name}: property 'owner' names an unknown {what} {name!r}"
        ) from None


def octal(mode: int) -> str:
    return f"{stat.S_IMODE(mode):04o}"


def differences(found: os.stat_result, *, mode: int | None, owner: Owner | None) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    if mode is not None and stat.S_IMODE(found.st_mode) != mode:
        out["mode"] = calls.differ(octal(mode), octal(found.st_mode))
    if owner is not None:
        actual = Owner(uid=found.st_uid, gid=found.st_gid if owner.gid is not None else None)
        if actual != owner:
            out["owner"] = calls.differ(owner.describe(), actual.describe())
    return out


def apply(call: calls.Call, path: str, *, mode: int | None, owner: Owner | None) -> list[str]:
    """Set mode and owner where they differ; the names of what changed."""
    found = os.stat(path)
    changed = []
    if mode is not None and stat.S_IMODE(found.st_mode) != mode:
        os.chmod(path, mode)
        changed.append("mode")
    if owner is not None:
        gid = -1 if owner.gid is None else owner.gid
        if found.st_uid != owner.uid or gid not in (-1, found.st_gid):
            try:
                os.chown(path, owner.uid, gid)
            except PermissionError as exc:
                raise calls.ResourceError(
                    f"{call.type_name}: cannot give {path} to {owner.describe()}: {exc.strerror}"
                ) from None
            changed.append("owner")
    return changed


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
