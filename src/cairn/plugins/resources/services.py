"""``cairn.nodes.Service``: a long-running process started from a command.

start runs ``/bin/sh -c COMMAND`` in its own session (``setsid``: the agent's signals and
its death do not reach it), stdin from /dev/null, stdout and stderr appended to
``<data dir>/services/<deployment>/<instance>.log``, and waits until the declared TCP
port accepts connections. The process is known again by its pid *and* its start time
(``/proc/<pid>/stat``), both kept in the runtime properties, so a reused pid is never
taken for the service, nor signalled. A service still running is left alone: start is
idempotent. stop sends SIGTERM to the whole process group (the session the service
leads), then SIGKILL after ``stop_timeout`` seconds; delete stops too; update restarts.

The service is a child of the agent until it ends; a service that died is reaped when it
is next looked at, so it never lingers as a zombie that looks alive.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Mapping

from cairn.model.plan import JSON
from cairn.plugins.resources import calls

SHELL = "/bin/sh"
LOG_TAIL = 2000  # characters of the service's log quoted when it fails to start


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    return data.rpartition(")")[2].split()


def start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def alive(pid: int, started: int | None) -> bool:
    """The very process that was started (not a zombie, not a reused pid) still runs."""
    if pid <= 1:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child and has ended
    fields = _stat(pid)
    if not fields or fields[0] in ("Z", "X", "x"):
        return False
    return started is None or int(fields[19]) == started


def listening(host: str, port: int, *, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            # with nothing listening on a port of the ephemeral range, the kernel may pick
            # that very port as the source and connect the socket to itself
            return bool(connection.getsockname() != connection.getpeername())
    except OSError:
        return False


class _Settings:
    def __init__(self, call: calls.Call) -> None:
        self.command = call.text("command", required=True)
        self.port = call.number("port", default=0, high=65535)
        self.host = call.text("host").strip() or "127.0.0.1"
        self.env = call.mapping("env")
        self.start_timeout = call.number("start_timeout", default=30)
        self.stop_timeout = call.number("stop_timeout", default=10)
        folder = os.path.join(call.data_dir, "services", call.deployment_id)
        self.log_path = os.path.join(folder, f"{call.instance_id}.log")
        self.cwd = call.text("cwd").strip() or os.path.join(folder, call.instance_id)
        if not os.path.isabs(self.cwd):
            raise calls.ResourceError(
                f"{call.type_name}: property 'cwd' must be an absolute path (got {self.cwd!r})"
            )


def _recorded(call: calls.Call) -> tuple[int, int | None] | None:
    pid = call.runtime.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool):
        return None
    started = call.runtime.get("pid_start_time")
    return pid, started if isinstance(started, int) else None


def running(call: calls.Call) -> int | None:
    """The pid of the service this instance started, if that process still runs."""
    recorded = _recorded(call)
    if recorded is not None and alive(*recorded):
        return recorded[0]
    return None


def _spawn(call: calls.Call, settings: _Settings) -> int:
    os.makedirs(os.path.dirname(settings.log_path), exist_ok=True)
    os.makedirs(settings.cwd, exist_ok=True)
    append = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    env = {**os.environ, **settings.env}
    # chdir happens in the child: posix_spawn has no cwd, so the shell changes folder first
    argv = [SHELL, "-c", 'cd -- "$0" && exec /bin/sh -c "$1"', settings.cwd, settings.command]
    return os.posix_spawn(
        SHELL,
        argv,
        env,
        file_actions=[
            *((os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds()),
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, settings.log_path, append, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
        setsigdef=(signal.SIGPIPE, signal.SIGINT, signal.SIGTERM, signal.SIGHUP),
        setsigmask=(),
    )


def _inheritable_fds() -> list[int]:
    """Descriptors above stderr that a child would inherit. A service outlives the agent or
    manager that starts it: it must not hold their sockets (``cairn up --detach`` hands its
    listening socket down as an inheritable descriptor) or files open."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):  # the listing's own descriptor, gone now
                if os.get_inheritable(fd):
                    found.append(fd)
    return found


def _log_tail(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - LOG_TAIL))
            return handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _wait_for_port(call: calls.Call, settings: _Settings, pid: int, started: int | None) -> None:
    deadline = time.monotonic() + call.remaining(settings.start_timeout)
    while True:
        if not alive(pid, started):
            tail = _log_tail(settings.log_path)
            raise calls.ResourceError(
                f"{call.type_name} {call.instance_id}: the command ended at start"
                + (f"; its log ends with:\n{tail}" if tail else "")
            )
        if not settings.port or listening(settings.host, settings.port, timeout=0.5):
            return
        if time.monotonic() >= deadline:
            _terminate(pid, started, grace=settings.stop_timeout)
            raise calls.ResourceError(
                f"{call.type_name} {call.instance_id}: nothing listens on "
                f"{settings.host}:{settings.port} {settings.start_timeout}s after start "
                "(stopped it)",
                recoverable=True,
            )
        time.sleep(0.1)


def start(call: calls.Call) -> calls.Done:
    settings = _Settings(call)
    pid = running(call)
    if pid is not None and call.runtime.get("command") == settings.command:
        call.log(f"already running (pid {pid})")
        _wait_for_port(call, settings, pid, start_time(pid))
        return calls.Done()
    if _recorded(call) is not None:  # a changed command, or leftovers of a dead service
        stop(call)
    pid = _spawn(call, settings)
    started = start_time(pid)
    _wait_for_port(call, settings, pid, started)
    where = f", listening on {settings.host}:{settings.port}" if settings.port else ""
    call.log(f"started (pid {pid}{where}); log: {settings.log_path}")
    return calls.Done(
        runtime={
            "pid": pid,
            "pid_start_time": started,
            "command": settings.command,
            "port": settings.port or None,
            "log": settings.log_path,
        }
    )


def _terminate(pid: int, started: int | None, *, grace: float) -> bool:
    """SIGTERM to the group, SIGKILL after ``grace`` seconds; True when something ran.

    The group is signalled also when its leader (the shell) has gone but a process it
    started still runs: Linux gives no new process a pid still in use as a group id. When
    the pid now belongs to another process, neither it nor its group is ours: left alone."""
    if not alive(pid, started):
        fields = _stat(pid)
        leader_gone = fields is None or fields[0] in ("Z", "X", "x")
        if not (leader_gone and _group_alive(pid)):
            return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    alive(pid, started)  # reap
    return True


def _group_alive(pgid: int) -> bool:
    if pgid <= 1:  # 0 is our own group, 1 is init's: never ours to signal
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = _stat(int(name))
            if fields and len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in "ZXx":
                return True
    return False


def stop(call: calls.Call) -> calls.Done:
    recorded = _recorded(call)
    grace = call.remaining(_Settings(call).stop_timeout) if recorded else 0.0
    if recorded is not None and _terminate(*recorded, grace=grace):
        call.log(f"stopped (pid {recorded[0]})")
    else:
        call.log("not running")
    return calls.Done(runtime={"pid": None, "pid_start_time": None})


def update(call: calls.Call) -> calls.Done:
    """Restart: the declared command, environment or port may have changed."""
    stopped = stop(call)
    after = {**call.runtime, **stopped.runtime}
    restarted = start(_with_runtime(call, after))
    return calls.Done(runtime={**stopped.runtime, **restarted.runtime})


def _with_runtime(call: calls.Call, runtime: Mapping[str, JSON]) -> calls.Call:
    return calls.Call(
        type_name=call.type_name,
        properties=call.properties,
        runtime=runtime,
        deployment_inputs=call.deployment_inputs,
        deployment_id=call.deployment_id,
        instance_id=call.instance_id,
        data_dir=call.data_dir,
        deadline=call.deadline,
        logs=call.logs,
    )


def differences(call: calls.Call) -> dict[str, JSON]:
    settings = _Settings(call)
    out: dict[str, JSON] = {}
    recorded = _recorded(call)
    pid = running(call)
    if pid is None:
        was = f"not running (pid {recorded[0]} is gone)" if recorded else "not running"
        out["process"] = calls.differ("running", was)
    elif call.runtime.get("command") != settings.command:
        out["command"] = calls.differ(settings.command, call.runtime.get("command"))
    if settings.port and not listening(settings.host, settings.port):
        out["port"] = calls.differ(f"listening on {settings.host}:{settings.port}", "not listening")
    return out


def check_drift(call: calls.Call) -> calls.Done:
    return calls.drift(differences(call))


def check_status(call: calls.Call) -> calls.Done:
    found = differences(call)
    found.pop("command", None)  # a stale command is drift, not ill health
    if found:
        raise calls.unhealthy(call, found)
    return calls.Done(result={"pid": running(call), "port": _Settings(call).port or None})


def create(call: calls.Call) -> calls.Done:
    _Settings(call)  # every bad property is reported before anything starts
    return calls.Done()


OPERATIONS: Mapping[str, calls.Operation] = {
    "create": create,
    "configure": create,
    "start": start,
    "stop": stop,
    "delete": stop,
    "update": update,
    "check_drift": check_drift,
    "check_status": check_status,
}
