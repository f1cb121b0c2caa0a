"""``cairn.nodes.Directory``: a folder with the declared mode and owner.

create, configure, start and update make the folder (and missing parents) and set mode and
owner where they differ; delete removes the folder when it is empty and leaves it, with a
warning, when something is still in it (files a blueprint declares inside it are deleted
before it; anything else there is not Cairn's to remove).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cairn.model.plan import JSON
from cairn.plugins.resources import calls, files, permissions


def _is_dir(path: str) -> bool:
    if os.path.isdir(path):
        return True
    if os.path.lexists(path):
        raise calls.ResourceError(f"{path} exists and is not a folder")
    return False


def apply(call: calls.Call) -> calls.Done:
    path = files.path_of(call)
    mode = permissions.mode_of(call)
    owner = permissions.owner_of(call)
    changed = []
    if not _is_dir(path):
        os.makedirs(path, exist_ok=True)
        changed.append("created")
    changed += permissions.apply(call, path, mode=mode, owner=owner)
    call.log(f"{path}: {', '.join(changed)}" if changed else f"{path}: as declared")
    return calls.Done(runtime={"path": path, "mode": permissions.octal(os.stat(path).st_mode)})


def delete(call: calls.Call) -> calls.Done:
    path = files.path_of(call)
    if not os.path.isdir(path):
        call.log(f"{path}: already gone")
    elif os.listdir(path):
        call.log(f"{path}: not empty, left in place", "warning")
    else:
        os.rmdir(path)
        call.log(f"{path}: removed")
    return calls.Done(runtime={"mode": None})


def differences(call: calls.Call) -> dict[str, JSON]:
    path = files.path_of(call)
    mode = permissions.mode_of(call)
    owner = permissions.owner_of(call)
    if not os.path.isdir(path):
        return {"exists": calls.differ(True, False)}
    return permissions.differences(os.stat(path), mode=mode, owner=owner)


def check_drift(call: calls.Call) -> calls.Done:
    return calls.drift(differences(call))


def check_status(call: calls.Call) -> calls.Done:
    path = files.path_of(call)
    if not os.path.isdir(path):
        raise calls.unhealthy(call, {"exists": calls.differ(True, False)})
    return calls.Done(result={"path": path, "exists": True})


OPERATIONS: Mapping[str, calls.Operation] = {
    "create": apply,
    "configure": apply,
    "start": apply,
    "stop": calls.nothing,
    "delete": delete,
    "update": apply,
    "check_drift": check_drift,
    "check_status": check_status,
}
