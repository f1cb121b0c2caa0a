"""``ctx`` for scripts: Cloudify's script-plugin sub-commands, served from a context file.

Cloudify's ``ctx`` asks an HTTP proxy that lives inside the operation's process. Cairn's
scripts may outlive the manager that started them, so there is no server: the runner
writes the attempt's context to a JSON file (``$CAIRN_CTX_FILE``) before the script
starts, every ``ctx`` call reads it (and writes it back under ``flock``, replacing it
atomically), and the runner reads it once the script has ended.

``ctx`` is called many times per operation, so it runs as ``python -SE`` and this module
imports only modules built into the interpreter: ``_json`` instead of ``json`` (which pulls
in ``re``) and ``posix`` instead of ``os`` (which pulls in ``collections.abc``). A call then
costs little more than the interpreter's start. Rare paths (resources, templates) import
what they need when they run; the rest stays in this one file, since every module more is
one more file to find and load on every call.

The sub-commands walk Cloudify's ``ctx`` object exactly as its proxy does
(``cloudify/proxy/server.py``): each argument names an attribute (``-`` may stand for
``_``); a mapping takes one more argument to read a path (``a.b[0]``) or two to set one; a
callable takes the remaining arguments, a trailing JSON object being its keyword
arguments. Arguments starting with ``@`` are JSON; ``-j`` prints the answer as JSON.

This file is shared by the ``ctx`` command and the ``cloudify`` compatibility package.
"""

from __future__ import annotations

import _json
import posix
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")
    Position = tuple[str, Any, list[str]]

CTX_FILE_ENV = "CAIRN_CTX_FILE"
ILLEGAL_RETURN = "ctx may only abort or return once"
READ_ONLY = "Cannot override read only properties"
LEVELS = {
    "debug": "debug",
    "info": "info",
    "warning": "warning",
    "warn": "warning",
    "error": "error",
    "critical": "error",
    "exception": "error",
}


# -- JSON, from the C accelerator alone ---------------------------------------------------


class _Decoding:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "NaN": float("nan"),
        "Infinity": float("inf"),
        "-Infinity": float("-inf"),
    }.__getitem__


def _not_serializable(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_scan = _json.make_scanner(_Decoding())  # type: ignore[arg-type]
_encode = _json.make_encoder(
    None, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True
)


def loads(text: str) -> Any:
    text = text.strip()
    try:
        value, end = _scan(text, 0)
    except StopIteration as exc:
        raise ValueError(f"invalid JSON at character {exc.value}: {text[:60]!r}") from None
    if end != len(text):
        raise ValueError(f"invalid JSON: extra data at character {end}: {text[:60]!r}")
    return value


def dumps(value: object) -> str:
    return "".join(_encode(value, 0))


# -- the context file ----------------------------------------------------------------------


class ContextFile:
    """``ctx.json`` of one attempt, with ``ctx.lock`` and ``ctx.log`` next to it."""

    def __init__(self, path: str) -> None:
        self.path = path
        folder = path.rpartition("/")[0] or "."
        self.folder = folder
        self.lock_path = folder + "/ctx.lock"
        self.log_path = folder + "/ctx.log"
        self.sets_path = folder + "/ctx.sets"

    @classmethod
    def from_environment(cls) -> ContextFile:
        path = posix.environ.get(CTX_FILE_ENV.encode())
        if not path:
            raise RuntimeError(
                f"{CTX_FILE_ENV} is not set: ctx only works inside an operation run by Cairn"
            )
        return cls(path.decode())

    def load(self) -> dict[str, Any]:
        with open(self.path, "rb") as handle:
            document: dict[str, Any] = loads(handle.read().decode("utf-8"))
        self.apply_sets(document)
        return document

    def apply_sets(self, document: dict[str, Any]) -> None:
        """Apply what the ``ctx`` command's shell fast path appended to ``ctx.sets`` since
        this document last did (``KEY NUL VALUE NUL`` records; an unfinished last record
        waits). Twin of :func:`cairn.plugins.script.launching.apply_sets`."""
        done = document.get("sets_applied") or 0
        try:
            fd = posix.open(self.sets_path, posix.O_RDONLY | posix.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            posix.lseek(fd, done, 0)
            data = b""
            while chunk := posix.read(fd, 65536):
                data += chunk
        finally:
            posix.close(fd)
        fields = data.split(b"\0")[:-1]
        pairs = len(fields) // 2
        if not pairs:
            return
        context = document.setdefault("context", {})
        if not isinstance(context.get("instance"), dict):
            context["instance"] = {}
        instance = context["instance"]
        if not isinstance(instance.get("runtime_properties"), dict):
            instance["runtime_properties"] = {}
        properties = instance["runtime_properties"]
        for index in range(pairs):
            key, value = fields[2 * index], fields[2 * index + 1]
            properties[key.decode("utf-8", "surrogateescape")] = value.decode(
                "utf-8", "surrogateescape"
            )
            done += len(key) + len(value) + 2
        document["sets_applied"] = done

    def store(self, document: dict[str, Any]) -> None:
        tmp = f"{self.path}.{posix.getpid()}.tmp"
        flags = posix.O_WRONLY | posix.O_CREAT | posix.O_TRUNC | posix.O_CLOEXEC
        fd = posix.open(tmp, flags, 0o600)
        with open(fd, "wb") as handle:
            handle.write(dumps(document).encode("utf-8"))
        posix.replace(tmp, self.path)

    def update(self, change: Callable[[dict[str, Any]], T]) -> T:
        """Read, change and write back the document under an exclusive lock."""
        import fcntl

        fd = posix.open(self.lock_path, posix.O_RDWR | posix.O_CREAT | posix.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            document = self.load()
            result = change(document)
            self.store(document)
            return result
        finally:
            posix.close(fd)

    def log(self, level: str, message: str) -> None:
        record = {"t": time.time(), "level": LEVELS.get(level, "info"), "message": message}
        flags = posix.O_WRONLY | posix.O_APPEND | posix.O_CREAT | posix.O_CLOEXEC
        fd = posix.open(self.log_path, flags, 0o600)
        try:
            posix.write(fd, (dumps(record) + "\n").encode("utf-8"))
        finally:
            posix.close(fd)


# -- paths inside mappings (Cloudify's PathDictAccess) ------------------------------------


def _illegal(path: str) -> RuntimeError:
    return RuntimeError(f"illegal path: {path}")


def _indexed(segment: str) -> tuple[str, int] | None:
    """``name[3]`` -> ("name", 3)."""
    if not segment.endswith("]"):
        return None
    name, _, index = segment[:-1].rpartition("[")
    if not name or not index.isdigit():
        return None
    return name, int(index)


def get_path(mapping: dict[str, Any], path: str) -> Any:
    current: Any = mapping
    for segment in path.split("."):
        indexed = _indexed(segment)
        try:
            if indexed is not None:
                listed = current[indexed[0]]
                if not isinstance(listed, list):
                    raise _illegal(path)
                current = listed[indexed[1]]
            elif isinstance(current, dict) and segment in current:
                current = current[segment]
            else:
                raise _illegal(path)
        except (KeyError, IndexError, TypeError):
            raise _illegal(path) from None
    return current


def set_path(mapping: dict[str, Any], path: str, value: object) -> None:
    """Set ``path``, creating missing intermediate mappings (as Cloudify does)."""
    *parents, last = path.split(".")
    current: Any = mapping
    for segment in parents:
        indexed = _indexed(segment)
        if indexed is not None:
            listed = current.get(indexed[0]) if isinstance(current, dict) else None
            if not isinstance(listed, list) or indexed[1] >= len(listed):
                raise _illegal(path)
            current = listed[indexed[1]]
        elif isinstance(current, dict):
            current = current.setdefault(segment, {})
        else:
            raise _illegal(path)
    if not isinstance(current, dict):
        raise _illegal(path)
    indexed = _indexed(last)
    listed = current.get(indexed[0]) if indexed is not None else None
    if indexed is not None and isinstance(listed, list) and indexed[1] < len(listed):
        listed[indexed[1]] = value
    else:
        current[last] = value


def dig(value: Any, keys: list[str]) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


# -- the document's shape ------------------------------------------------------------------


def context_type(document: dict[str, Any]) -> str:
    if document.get("side"):
        return "relationship-instance"
    if (document.get("context") or {}).get("instance"):
        return "node-instance"
    return "deployment"


def end_keys(document: dict[str, Any], which: str) -> list[str]:
    """Where ``ctx.node`` or ``ctx.instance`` lives: the end whose operation runs."""
    side = document.get("side")
    if side:
        return [side, which]
    if not (document.get("context") or {}).get(which):
        raise RuntimeError(
            "ctx.node/ctx.instance can only be used in a node-instance context but used in a "
            f"{context_type(document)} context."
        )
    return [which]


def subject_keys(document: dict[str, Any], which: str) -> list[str]:
    if not document.get("side"):
        raise RuntimeError(
            "ctx.source/ctx.target can only be used in a relationship-instance context but "
            f"used in a {context_type(document)} context."
        )
    return [which]


def set_result(document: dict[str, Any], result: dict[str, Any]) -> bool:
    """Record ``returns``/``abort``/``retry``; False (and the slot spoiled) if already set."""
    if document.get("result") is not None:
        document["result"] = {"kind": "illegal", "message": ILLEGAL_RETURN}
        return False
    document["result"] = result
    return True


# -- walking the ctx object ----------------------------------------------------------------


class StopOperation(Exception):
    """``abort-operation`` or ``retry-operation``: the ctx call fails with this message."""


def _value(keys: list[str]) -> Callable[[Session, list[str]], Position]:
    return lambda session, base: ("value", dig(session.context, base + keys), base)


def _mapping(key: str, writable: bool) -> Callable[[Session, list[str]], Position]:
    return lambda session, base: ("map", writable, [*base, key])


def _object(kind: str, keys: list[str]) -> Callable[[Session, list[str]], Position]:
    return lambda session, base: ("obj", kind, base + keys)


def _call(name: str) -> Callable[[Session, list[str]], Position]:
    return lambda session, base: ("call", name, base)


def _constant(value: object) -> Callable[[Session, list[str]], Position]:
    return lambda session, base: ("value", value, base)


_ATTRIBUTES: dict[str, dict[str, Callable[[Session, list[str]], Position]]] = {
    "root": {
        "node": lambda s, _: ("obj", "node", end_keys(s.document, "node")),
        "instance": lambda s, _: ("obj", "instance", end_keys(s.document, "instance")),
        "source": lambda s, _: ("obj", "subject", subject_keys(s.document, "source")),
        "target": lambda s, _: ("obj", "subject", subject_keys(s.document, "target")),
        "deployment": _object("deployment", ["deployment"]),
        "blueprint": _object("blueprint", ["blueprint"]),
        "operation": _object("operation", ["operation"]),
        "logger": _object("logger", []),
        "execution_id": _value(["execution", "id"]),
        "workflow_id": _value(["execution", "workflow_id"]),
        "task_name": lambda s, b: ("value", s.document.get("task_name"), b),
        "task_id": lambda s, b: ("value", s.document.get("task_id"), b),
        "plugin": lambda s, b: ("value", s.document.get("plugin"), b),
        "timeout": lambda s, b: ("value", s.document.get("timeout"), b),
        "timeout_recoverable": lambda s, b: ("value", s.document.get("timeout_recoverable"), b),
        "type": lambda s, b: ("value", context_type(s.document), b),
        "tenant_name": _constant("default_tenant"),
        "returns": _call("returns"),
        "abort_operation": _call("abort_operation"),
        "retry_operation": _call("retry_operation"),
        "download_resource": _call("download_resource"),
        "download_resource_and_render": _call("download_resource_and_render"),
        "get_resource": _call("get_resource"),
        "get_resource_and_render": _call("get_resource_and_render"),
    },
    "node": {
        "id": _value(["name"]),  # Cloudify's node id is its name
        "name": _value(["name"]),
        "type": _value(["type"]),
        "type_hierarchy": _value(["type_hierarchy"]),
        "number_of_instances": _value(["number_of_instances"]),
        "properties": _mapping("properties", False),
    },
    "instance": {
        "id": _value(["id"]),
        "host_ip": _value(["host_ip"]),
        "relationships": _value(["relationships"]),
        "index": _value(["index"]),
        "scaling_groups": _value(["scaling_groups"]),
        "runtime_properties": _mapping("runtime_properties", True),
        "drift": _value(["drift"]),
        "update": _call("noop"),
        "refresh": _call("noop"),
    },
    "subject": {"node": _object("node", ["node"]), "instance": _object("instance", ["instance"])},
    "deployment": {
        "id": _value(["id"]),
        "blueprint_id": _value(["blueprint_id"]),
        "display_name": lambda s, b: (
            "value",
            dig(s.context, [*b, "display_name"]) or dig(s.context, [*b, "id"]),
            b,
        ),
        "creator": _value(["creator"]),
        "tenant_name": _constant("default_tenant"),
        "inputs": _mapping("inputs", False),
    },
    "blueprint": {"id": _value(["id"])},
    "operation": {
        "name": _value(["name"]),
        "retry_number": _value(["retry_number"]),
        "max_retries": _value(["max_retries"]),
        "retry": _call("retry"),
    },
    "logger": {name: _call(f"log:{level}") for name, level in LEVELS.items()},
}


class Session:
    """One look at the context file, for one ``ctx`` call or one template."""

    def __init__(self, context_file: ContextFile, document: dict[str, Any] | None = None) -> None:
        self.file = context_file
        self.document: dict[str, Any] = context_file.load() if document is None else document

    @property
    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = self.document.get("context") or {}
        return context

    def attribute(self, position: Position, name: object) -> Position | None:
        if not isinstance(name, str):
            return None
        table = _ATTRIBUTES.get(position[1], {})
        found = table.get(name) or table.get(name.replace("-", "_"))
        return None if found is None else found(self, position[2])

    def process(self, args: list[Any]) -> Any:
        position: Position = ("obj", "root", [])
        for index, arg in enumerate(args):
            kind = position[0]
            if kind == "obj":
                found = self.attribute(position, arg)
                if found is None:
                    raise RuntimeError(f"{arg} cannot be processed in {args}")
                position = found
            elif kind == "map":
                return self._access(position, args[index:])
            elif kind == "call":
                return self._call(position, args[index:])
            else:
                raise RuntimeError(f"{arg} cannot be processed in {args}")
        if position[0] == "call":
            return self._call(position, [])
        if position[0] == "map":
            return dig(self.context, position[2])
        if position[0] == "obj":
            raise RuntimeError(f"{' '.join(map(str, args)) or 'ctx'} is not a value")
        return position[1]

    def _access(self, position: Position, rest: list[Any]) -> Any:
        if len(rest) > 2:
            raise RuntimeError("Illegal argument while accessing dict")
        mapping = dig(self.context, position[2])
        if not isinstance(mapping, dict):
            mapping = {}
        if len(rest) == 1:
            return get_path(mapping, str(rest[0]))
        if not position[1]:
            raise RuntimeError(READ_ONLY)
        keys, path, value = position[2], str(rest[0]), rest[1]

        def change(document: dict[str, Any]) -> None:
            current = document.setdefault("context", {})
            for key in keys:
                current = current.setdefault(key, {}) if current.get(key) is None else current[key]
            set_path(current, path, value)

        self.file.update(change)
        return None

    def _call(self, position: Position, rest: list[Any]) -> Any:
        name: str = position[1]
        method: Callable[..., Any]
        if name.startswith("log:"):
            method = self.log
            args: list[Any] = [name[4:], *rest]
        else:
            method = getattr(self, f"call_{name}")
            args = list(rest)
        # Cloudify takes a trailing JSON object as keyword arguments; when its keys are not
        # parameter names (``ctx returns @'{"a": 1}'``) it is the value itself
        kwargs: dict[str, Any] = {}
        if args and isinstance(args[-1], dict):
            code = getattr(method, "__code__", None)  # a bound method shows its function's
            names = code.co_varnames[1 : code.co_argcount] if code is not None else ()
            if args[-1] and all(key in names for key in args[-1]):
                kwargs = args.pop()
        return method(*args, **kwargs)

    # -- callables -------------------------------------------------------------------------

    def log(self, level: str, message: object = "", *args: object) -> None:
        text = str(message)
        if args:
            text = text % args
        self.file.log(level, text)

    def call_noop(self) -> None:
        return None

    def call_returns(self, value: object) -> None:
        if not self.file.update(lambda d: set_result(d, {"kind": "returns", "value": value})):
            raise RuntimeError(ILLEGAL_RETURN)

    def call_abort_operation(self, message: object = None) -> None:
        result = {"kind": "abort", "message": None if message is None else str(message)}
        if not self.file.update(lambda d: set_result(d, result)):
            raise RuntimeError(ILLEGAL_RETURN)
        raise StopOperation(message)

    def call_retry_operation(self, message: object = None, retry_after: object = None) -> None:
        retry = {"message": None if message is None else str(message), "retry_after": retry_after}

        def change(document: dict[str, Any]) -> bool:
            document["retry"] = retry
            return set_result(document, {"kind": "retry", **retry})

        if not self.file.update(change):
            raise RuntimeError(ILLEGAL_RETURN)
        raise StopOperation(message)

    def call_retry(self, message: object = None, retry_after: object = None) -> None:
        retry = {"message": None if message is None else str(message), "retry_after": retry_after}
        self.file.update(lambda document: document.__setitem__("retry", retry))

    def call_download_resource(self, resource_path: str, target_path: str | None = None) -> str:
        import _cairn_ctx_resources as resources

        return resources.download(self, resource_path, target_path)

    def call_download_resource_and_render(
        self,
        resource_path: str,
        target_path: str | None = None,
        template_variables: dict[str, Any] | None = None,
    ) -> str:
        import _cairn_ctx_resources as resources

        return resources.download(self, resource_path, target_path, render=template_variables or {})

    def call_get_resource(self, resource_path: str) -> str:
        import _cairn_ctx_resources as resources

        return resources.read(self, resource_path)

    def call_get_resource_and_render(
        self, resource_path: str, template_variables: dict[str, Any] | None = None
    ) -> str:
        import _cairn_ctx_resources as resources

        return resources.read(self, resource_path, render=template_variables or {})


# -- the command ---------------------------------------------------------------------------

_VALUED_OPTIONS = ("-t", "--timeout", "--socket-url", "--json-arg-prefix")


def _is_negative_number(arg: str) -> bool:
    body = arg[1:]
    return bool(body) and body.replace(".", "", 1).isdigit()


def parse_command_line(argv: list[str]) -> tuple[bool, list[Any]]:
    """Cloudify's options (``-j``, ``--json-arg-prefix``; ``-t`` and ``--socket-url`` are
    accepted and ignored) and the arguments, JSON-decoded where they start with the prefix."""
    json_output, prefix, plain = False, "@", []
    index, only_args = 0, False
    while index < len(argv):
        arg = argv[index]
        index += 1
        if only_args or not arg.startswith("-") or arg == "-" or _is_negative_number(arg):
            plain.append(arg)
        elif arg == "--":
            only_args = True
        elif arg in ("-j", "--json-output"):
            json_output = True
        elif arg.split("=", 1)[0] in _VALUED_OPTIONS:
            if "=" in arg:
                value = arg.split("=", 1)[1]
            elif index < len(argv):
                value, index = argv[index], index + 1
            else:
                raise SystemExit(f"ctx: error: argument {arg}: expected one argument")
            if arg.startswith("--json-arg-prefix"):
                prefix = value
        else:
            raise SystemExit(f"ctx: error: unrecognized arguments: {arg}")
    args = [loads(a[1:]) if prefix and a.startswith(prefix) else a for a in plain]
    return json_output, args


def render_output(value: object, *, json_output: bool) -> str:
    if json_output:
        return dumps(value)
    return str(value) if value else ""


def main(argv: list[str] | None = None) -> int:
    try:
        json_output, args = parse_command_line(sys.argv[1:] if argv is None else argv)
        session = Session(ContextFile.from_environment())
        output = render_output(session.process(args), json_output=json_output)
    except StopOperation as stop:
        sys.stderr.write(f"{stop.args[0] if stop.args and stop.args[0] is not None else ''}\n")
        return 1
    except SystemExit as exit_:
        sys.stderr.write(f"{exit_.code}\n")
        return 2
    except Exception as exc:
        sys.stderr.write(f"ctx: {type(exc).__name__}: {exc}\n")
        return 1
    sys.stdout.write(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
