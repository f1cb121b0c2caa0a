"""The ``ctx`` object of Python scripts, read from and written to the attempt's context file.

It mirrors the parts of Cloudify's ``CloudifyContext`` that operations use: node and
instance (and source/target for relationship operations), deployment, blueprint, operation,
logger, resources, and the script plugin's ``returns``/``abort_operation``/
``retry_operation``. Runtime properties are a plain dict in memory, as in Cloudify; their
changes are written back key by key (so that ``ctx`` commands run by the same script are not
overwritten) whenever a key is set, on ``update()`` and when the script ends.

An uncaught exception is recorded in the context file before the traceback is printed, so
the runner can tell ``NonRecoverableError`` from ``RecoverableError`` and other failures.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import sys

import _cairn_ctx as core

from cloudify import _entities

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, NoReturn

_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
}


class _LogHandler(logging.Handler):
    def __init__(self, context_file: core.ContextFile) -> None:
        super().__init__(logging.DEBUG)
        self.context_file = context_file

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = _LEVELS.get(record.levelno, "error" if record.levelno > 40 else "info")
            self.context_file.log(level, self.format(record))
        except Exception:
            self.handleError(record)


class ScriptException(Exception):
    """What ``abort_operation``/``retry_operation`` give back, as in Cloudify's script plugin."""

    def __init__(self, message: object = None, retry: bool = False) -> None:
        super().__init__(message)
        self.retry = retry


class CloudifyContext:
    """Cloudify's operation ``ctx``, for one attempt."""

    def __init__(self, context_file: core.ContextFile) -> None:
        self.context_file = context_file
        self.document = context_file.load()
        self._properties: dict[tuple[str, ...], _entities.RuntimeProperties] = {}
        self._logger: logging.Logger | None = None
        self.operation = _entities.OperationContext(self, "operation")
        self.deployment = _entities.DeploymentContext(self, "deployment")
        self.blueprint = _entities.BlueprintContext(self, "blueprint")

    def reload(self) -> dict[str, Any]:
        self.document = self.context_file.load()
        return self.document

    def runtime_properties(self, keys: list[str]) -> _entities.RuntimeProperties:
        found = self._properties.get(tuple(keys))
        if found is None:
            data = core.dig(self.document.get("context"), [*keys, "runtime_properties"]) or {}
            found = _entities.RuntimeProperties(self, [*keys, "runtime_properties"], dict(data))
            self._properties[tuple(keys)] = found
        return found

    def flush(self) -> None:
        for properties in self._properties.values():
            properties.flush()

    # -- what the operation runs for ------------------------------------------------------

    @property
    def type(self) -> str:
        return core.context_type(self.document)

    @property
    def node(self) -> _entities.NodeContext:
        return _entities.NodeContext(self, self._end("node"))

    @property
    def instance(self) -> _entities.NodeInstanceContext:
        return _entities.NodeInstanceContext(self, self._end("instance"))

    @property
    def source(self) -> _entities.SubjectContext:
        return _entities.SubjectContext(self, self._subject("source"))

    @property
    def target(self) -> _entities.SubjectContext:
        return _entities.SubjectContext(self, self._subject("target"))

    def _end(self, which: str) -> list[str]:
        try:
            return core.end_keys(self.document, which)
        except RuntimeError as exc:
            from cloudify import exceptions

            raise exceptions.NonRecoverableError(str(exc)) from None

    def _subject(self, which: str) -> list[str]:
        try:
            return core.subject_keys(self.document, which)
        except RuntimeError as exc:
            from cloudify import exceptions

            raise exceptions.NonRecoverableError(str(exc)) from None

    @property
    def execution_id(self) -> Any:
        return core.dig(self.document.get("context"), ["execution", "id"])

    @property
    def workflow_id(self) -> Any:
        return core.dig(self.document.get("context"), ["execution", "workflow_id"])

    @property
    def task_name(self) -> Any:
        return self.document.get("task_name")

    @property
    def task_id(self) -> Any:
        return self.document.get("task_id")

    @property
    def plugin(self) -> Any:
        return self.document.get("plugin")

    @property
    def timeout(self) -> Any:
        return self.document.get("timeout")

    @property
    def timeout_recoverable(self) -> Any:
        return self.document.get("timeout_recoverable")

    @property
    def tenant_name(self) -> str:
        return "default_tenant"

    @property
    def workflow_parameters(self) -> dict[str, Any]:
        return {}

    @property
    def resume(self) -> bool:
        return False

    @property
    def logger(self) -> logging.Logger:
        if self._logger is None:
            logger = logging.getLogger("cloudify.ctx")
            logger.setLevel(logging.DEBUG)
            logger.propagate = False
            logger.addHandler(_LogHandler(self.context_file))
            self._logger = logger
        return self._logger

    # -- the script plugin's results ------------------------------------------------------

    def returns(self, value: Any) -> None:
        core.Session(self.context_file).call_returns(value)

    def abort_operation(self, message: str | None = None) -> ScriptException:
        with contextlib.suppress(core.StopOperation):
            core.Session(self.context_file).call_abort_operation(message)
        return ScriptException(message)

    def retry_operation(
        self, message: str | None = None, retry_after: float | None = None
    ) -> ScriptException:
        with contextlib.suppress(core.StopOperation):
            core.Session(self.context_file).call_retry_operation(message, retry_after)
        return ScriptException(message, retry=True)

    # -- resources ------------------------------------------------------------------------

    def _session(self) -> core.Session:
        self.flush()
        return core.Session(self.context_file)

    def download_resource(self, resource_path: str, target_path: str | None = None) -> str:
        return self._session().call_download_resource(resource_path, target_path)

    def download_resource_and_render(
        self,
        resource_path: str,
        target_path: str | None = None,
        template_variables: dict[str, Any] | None = None,
    ) -> str:
        return self._session().call_download_resource_and_render(
            resource_path, target_path, template_variables
        )

    def get_resource(self, resource_path: str) -> bytes:
        return self._session().call_get_resource(resource_path).encode("utf-8")

    def get_resource_and_render(
        self, resource_path: str, template_variables: dict[str, Any] | None = None
    ) -> bytes:
        text = self._session().call_get_resource_and_render(resource_path, template_variables)
        return text.encode("utf-8")


class _Missing:
    """``ctx`` outside an operation: every use says so."""

    def __getattr__(self, name: str) -> NoReturn:
        from cloudify.state import NotInContext

        raise NotInContext(f"No context set in current execution thread (ctx.{name})")


# -- failures of the script -----------------------------------------------------------------


def _classify(error: BaseException) -> dict[str, Any] | None:
    names = [cls.__name__ for cls in type(error).__mro__]
    if "NonRecoverableError" in names:
        kind = "non_recoverable"
    elif "RecoverableError" in names:
        kind = "recoverable"
    else:
        return None
    retry_after = getattr(error, "retry_after", None)
    return {
        "kind": kind,
        "type": type(error).__name__,
        "message": str(error),
        "retry_after": retry_after if isinstance(retry_after, int | float) else None,
    }


_CURRENT: dict[str, CloudifyContext] = {}  # "ctx": the context of this process


def _excepthook(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    record = _classify(error)
    context = _CURRENT.get("ctx")
    if record is not None and context is not None:
        with contextlib.suppress(Exception):
            context.context_file.update(lambda document: document.__setitem__("error", record))
    sys.__excepthook__(kind, error, trace)


def _at_exit() -> None:
    context = _CURRENT.get("ctx")
    if context is not None:
        context.flush()


def current() -> Any:
    found = _CURRENT.get("ctx")
    if found is not None:
        return found
    try:
        found = _CURRENT["ctx"] = CloudifyContext(core.ContextFile.from_environment())
    except (RuntimeError, OSError, ValueError):
        return _Missing()
    sys.excepthook = _excepthook
    atexit.register(_at_exit)
    return found


def inputs() -> dict[str, Any]:
    context = current()
    if isinstance(context, CloudifyContext):
        return dict(context.document.get("inputs") or {})
    return {}
