"""``cairn.nodes.File``: a file with the declared content, mode and owner.

The content is the ``content`` property, or the ``template`` property rendered with
:class:`string.Template` (``${name}``, ``$$`` for a dollar): names come from the ``vars``
property, then from the deployment's inputs. string.Template rather than Jinja2: Jinja2 is
not a dependency of Cairn, and a template that can only substitute values cannot run code
at the site. A placeholder with no value is an error, so a typo never writes a half file.

create, configure, start and update write the file only where it differs (atomically: a
temporary file renamed over it), then set mode and owner; stop does nothing; delete removes
the file. The applied ``content_sha256`` is kept in the runtime properties.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import string
from collections.abc import Mapping

from cairn.model.plan import JSON
from cairn.plugins.resources import calls, permissions


def path_of(call: calls.Call) -> str:
    path = call.text("path", required=True)
    if not os.path.isabs(path):
        raise calls.ResourceError(
            f"{call.type_name}: property 'path' must be an absolute path (got {path!r})"
        )
    return os.path.normpath(path)


def declared_content(call: calls.Call) -> bytes:
    content = call.text("content")
    template = call.text("template")
    if content and template:
        raise calls.ResourceError(f"{call.type_name}: set either 'content' or 'template', not both")
    if not template:
        return content.encode("utf-8")
    values: dict[str, str] = {str(k): _text(v) for k, v in call.deployment_inputs.items()}
    values.update(call.mapping("vars"))
    try:
        return string.Template(template).substitute(values).encode("utf-8")
    except KeyError as exc:
        raise calls.ResourceError(
            f"{call.type_name}: template placeholder ${{{exc.args[0]}}} has no value "
            "(not in 'vars' nor in the deployment's inputs)"
        ) from None
    except ValueError as exc:
        raise calls.ResourceError(f"{call.type_name}: bad template: {exc}") from None


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else calls.plain(value)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _current(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise calls.ResourceError(f"{path} is a folder, not a file") from None


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.cairn-{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        with contextlib.suppress(FileNotFoundError):
            existing = os.stat(path)
            os.chmod(tmp, existing.st_mode & 0o7777)  # keep the mode unless declared
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def apply(call: calls.Call) -> calls.Done:
    """Make the file so; idempotent."""
    path = path_of(call)
    data = declared_content(call)
    mode = permissions.mode_of(call)
    owner = permissions.owner_of(call)
    changed = []
    if _current(path) != data:
        _write(path, data)
        changed.append("content")
    changed += permissions.apply(call, path, mode=mode, owner=owner)
    call.log(f"{path}: {', '.join(changed)} written" if changed else f"{path}: as declared")
    found = os.stat(path)
    return calls.Done(
        runtime={
            "path": path,
            "content_sha256": sha256(data),
            "mode": permissions.octal(found.st_mode),
        }
    )


def delete(call: calls.Call) -> calls.Done:
    path = path_of(call)
    try:
        os.unlink(path)
        call.log(f"{path}: removed")
    except FileNotFoundError:
        call.log(f"{path}: already gone")
    return calls.Done(runtime={"content_sha256": None, "mode": None})


def differences(call: calls.Call) -> dict[str, JSON]:
    path = path_of(call)
    data = declared_content(call)
    mode = permissions.mode_of(call)
    owner = permissions.owner_of(call)
    current = _current(path)
    if current is None:
        return {"exists": calls.differ(True, False)}
    out: dict[str, JSON] = {}
    if current != data:
        out["content_sha256"] = calls.differ(sha256(data), sha256(current))
    out.update(permissions.differences(os.stat(path), mode=mode, owner=owner))
    return out


def check_drift(call: calls.Call) -> calls.Done:
    return calls.drift(differences(call))


def check_status(call: calls.Call) -> calls.Done:
    path = path_of(call)
    if _current(path) is None:
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
