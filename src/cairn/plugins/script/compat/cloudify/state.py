"""Cloudify's ``cloudify.state``: the current ``ctx`` and the operation's inputs."""

from __future__ import annotations

from cloudify import _context

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class NotInContext(RuntimeError):
    """Attempted accessing a context, but no context is available."""


class CtxParameters(dict[str, "Any"]):
    def __getattr__(self, attr: str) -> Any:
        if attr in self:
            return self.get(attr)
        raise KeyError(attr)


ctx = _context.current()
ctx_parameters = CtxParameters(_context.inputs())
