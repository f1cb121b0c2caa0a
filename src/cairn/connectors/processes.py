"""The wrapper that runs a script so that it survives the manager, and finding it again.

Every script runs under a small ``/bin/sh`` wrapper started in its own session (so the
manager's death, its terminal or its process group do not reach it), writing to files (no
pipe breaks when the manager dies). When the script ends, the wrapper writes its exit code
and a newline to ``exit`` in one ``write``; a later manager reads it from there. The
newline marks a complete file: an ``exit`` without it (a wrapper killed between creating
and writing it) counts as no exit code, as a missing one does. No ``mv`` of a temporary
file: that was one more process per attempt.

A wrapper is known again by its pid and its start time (``/proc/<pid>/stat``, so a reused
pid is not mistaken for it), and by its command line, which names the attempt's folder.
The script's process group is the wrapper's pid, so ``kill`` reaches everything it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MARKER = "cairn-attempt"
SHELL = "/bin/sh"
WRAPPER = (
    "d=$1; w=$2; shift 2\n"
    'if cd -- "$w"; then "$@"; c=$?; else c=126; fi\n'
    'printf \'%s\\n\' "$c" > "$d/exit"\n'
)
_RESET_SIGNALS = (
    signal.SIGPIPE,
    signal.SIGXFSZ,
    signal.SIGINT,
    signal.SIGTERM,
    signal.SIGHUP,
    signal.SIGQUIT,
)


@dataclass(frozen=True, kw_only=True)
class Wrapper:
    pid: int
    start_time: int  # clock ticks after boot, from /proc/<pid>/stat


def spawn(*, folder: str, cwd: str, command: Sequence[str], env: Mapping[str, str]) -> Wrapper:
    """Start ``command`` under the wrapper, in a new session, writing into ``folder``."""
    argv = [SHELL, "-c", WRAPPER, MARKER, folder, cwd, *command]
    append = os.O_WRONLY | os.O_CREAT | os.O_APPEND
    pid = os.posix_spawn(
        SHELL,
        argv,
        dict(env),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.path.join(folder, "stdout"), append, 0o600),
            (os.POSIX_SPAWN_OPEN, 2, os.path.join(folder, "stderr"), append, 0o600),
        ],
        setsid=True,
        setsigdef=_RESET_SIGNALS,
        setsigmask=(),
    )
    start = start_time(pid)
    return Wrapper(pid=pid, start_time=-1 if start is None else start)


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    return data.rpartition(")")[2].split()


def start_time(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def alive(wrapper: Wrapper) -> bool:
    """The same process still runs (not a zombie, not a reused pid)."""
    fields = _stat(wrapper.pid)
    if not fields or fields[0] in ("Z", "X", "x"):
        return False
    return wrapper.start_time < 0 or int(fields[19]) == wrapper.start_time


def _cmdline_marker(folder: str) -> bytes:
    return f"\0{MARKER}\0{folder}\0".encode()


def is_wrapper_of(pid: int, folder: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return _cmdline_marker(folder) in handle.read()
    except OSError:
        return False


def find(folder: str) -> Wrapper | None:
    """The live wrapper of ``folder``, searched in /proc (when its pid was not recorded)."""
    for name in _pids():
        pid = int(name)
        if is_wrapper_of(pid, folder):
            start = start_time(pid)
            if start is not None:
                return Wrapper(pid=pid, start_time=start)
    return None


def _pids() -> list[str]:
    try:
        return [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def signal_group(pgid: int, signum: int) -> bool:
    """Send ``signum`` to the process group; False when the group is gone."""
    if pgid <= 1:  # 0 is our own group, 1 is init's: never ours to signal
        return False
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def group_alive(pgid: int) -> bool:
    """Some process of group ``pgid`` still runs (zombies waiting for init do not count)."""
    if not signal_group(pgid, 0):
        return False
    for name in _pids():
        fields = _stat(int(name))
        if fields and len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in "ZXx":
            return True
    return False


def kill_orphans(pgid: int, marker: bytes) -> int:
    """SIGKILL what is left of a dead wrapper's group: processes in group ``pgid`` whose
    environment holds ``marker`` (their context file), so a reused group id is left alone."""
    killed = 0
    if pgid <= 1:
        return killed
    for name in _pids():
        fields = _stat(int(name))
        if not fields or len(fields) < 3 or fields[2] != str(pgid):
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                if marker not in handle.read():
                    continue
            os.kill(int(name), signal.SIGKILL)
            killed += 1
        except OSError:
            continue
    return killed


def reap(pid: int) -> None:
    """Collect the exit status of a wrapper this process started (no zombie left)."""
    if pid > 0:  # -1 would collect any child of this process, not only ours
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def open_pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` ends (any process, not only ours)."""
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None
