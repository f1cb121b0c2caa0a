"""``download-resource`` and ``download-resource-and-render`` for ``ctx``.

Resources are files of the blueprint, named relative to its folder. Cloudify renders them
with Jinja2 and ``ctx`` among the variables; scripts do not get Jinja2 here (the ``ctx``
command runs without ``site``), so this is a small, safe subset of it: ``{{ expression }}``
where the expression is a name followed by ``.attribute``, ``[index]`` or ``['key']``
parts (``{{ ctx.node.properties.port }}``, ``{{ servers[0].name }}``), and ``{# comments #}``.
A value renders as ``str()`` does and a missing one as nothing, as Jinja2's default
``Undefined`` does. A template with ``{% ... %}`` blocks is refused with a clear error
rather than rendered wrong.
"""

from __future__ import annotations

import os
import time

import _cairn_ctx as core

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_MISSING = object()


def source_path(session: core.Session, resource_path: str) -> str:
    if resource_path.startswith("file://"):
        return resource_path[len("file://") :]
    if os.path.isabs(resource_path):
        return resource_path
    folder = core.dig(session.context, ["blueprint", "resources"])
    if not folder:
        raise RuntimeError("this operation has no blueprint folder to take resources from")
    return os.path.join(str(folder), resource_path)


def read(session: core.Session, resource_path: str, *, render: dict[str, Any] | None = None) -> str:
    path = source_path(session, resource_path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise RuntimeError(f"resource {resource_path!r} not found ({exc.strerror})") from None
    text = data.decode("utf-8", "replace")
    if render is None:
        return text
    return render_template(text, session, render)


def download(
    session: core.Session,
    resource_path: str,
    target_path: str | None = None,
    *,
    render: dict[str, Any] | None = None,
) -> str:
    if render is None:
        path = source_path(session, resource_path)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise RuntimeError(f"resource {resource_path!r} not found ({exc.strerror})") from None
    else:
        data = read(session, resource_path, render=render).encode("utf-8")
    target = target_path or _fresh_target(session, resource_path)
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    with open(target, "wb") as handle:
        handle.write(data)
    return target


def _fresh_target(session: core.Session, resource_path: str) -> str:
    name = resource_path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or "resource"
    folder = os.path.join(session.file.folder, "downloads", f"{os.getpid()}-{time.time_ns()}")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)


# -- rendering -----------------------------------------------------------------------------


def render_template(text: str, session: core.Session, variables: dict[str, Any]) -> str:
    if "ctx" in variables:
        raise RuntimeError("Key not allowed - a key named ctx is in template_variables")
    if "{%" in text:
        raise RuntimeError(
            "this template uses {% ... %} blocks; Cairn renders {{ expressions }} and "
            "{# comments #} only"
        )
    out: list[str] = []
    index = 0
    while True:
        start = _next_tag(text, index)
        if start < 0:
            out.append(text[index:])
            return "".join(out)
        out.append(text[index:start])
        closing = "}}" if text.startswith("{{", start) else "#}"
        end = text.find(closing, start + 2)
        if end < 0:
            raise RuntimeError(f"unclosed {text[start : start + 2]} at character {start}")
        if closing == "}}":
            out.append(_render_value(_evaluate(text[start + 2 : end], session, variables)))
        index = end + 2


def _next_tag(text: str, index: int) -> int:
    found = [p for p in (text.find("{{", index), text.find("{#", index)) if p >= 0]
    return min(found) if found else -1


def _render_value(value: object) -> str:
    return "" if value is _MISSING else str(value)


def _parts(expression: str) -> list[str | int]:
    """``a.b[0]['c']`` -> ["a", "b", 0, "c"]."""
    expression = expression.strip()
    parts: list[str | int] = []
    token = ""
    index = 0
    while index < len(expression):
        char = expression[index]
        if char == ".":
            parts.append(token)
            token = ""
        elif char == "[":
            if token:
                parts.append(token)
            end = expression.index("]", index)
            inner = expression[index + 1 : end].strip()
            if inner[:1] in "'\"" and inner[-1:] == inner[:1] and len(inner) >= 2:
                parts.append(inner[1:-1])
            elif inner.lstrip("-").isdigit():
                parts.append(int(inner))
            else:
                raise RuntimeError(f"unsupported expression in template: {expression!r}")
            token = ""
            index = end
            if index + 1 < len(expression) and expression[index + 1] == ".":
                index += 1
        elif char.isalnum() or char == "_":
            token += char
        elif not char.isspace():
            raise RuntimeError(f"unsupported expression in template: {expression!r}")
        index += 1
    if token:
        parts.append(token)
    if not parts or not isinstance(parts[0], str):
        raise RuntimeError(f"unsupported expression in template: {expression!r}")
    return parts


def _evaluate(expression: str, session: core.Session, variables: dict[str, Any]) -> Any:
    parts = _parts(expression)
    head, rest = parts[0], parts[1:]
    if head == "ctx":
        return _walk_ctx(session, rest)
    if head not in variables:
        return _MISSING
    return _descend(variables[head], rest)


def _descend(value: Any, parts: list[str | int]) -> Any:
    for part in parts:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return value


def _walk_ctx(session: core.Session, parts: list[str | int]) -> Any:
    position: core.Position = ("obj", "root", [])
    for index, part in enumerate(parts):
        if position[0] != "obj":
            value = core.dig(session.context, position[2]) if position[0] == "map" else position[1]
            return _descend(value, parts[index:])
        try:
            found = session.attribute(position, part)
        except RuntimeError:
            return _MISSING
        if found is None or found[0] == "call":
            return _MISSING
        position = found
    if position[0] == "map":
        return core.dig(session.context, position[2])
    return _MISSING if position[0] == "obj" else position[1]
