"""The local connector's journal: one folder per dispatched attempt, named by its key.

``<data_dir>/journal/<key>/`` holds, while the attempt runs::

    attempt.json   what the connector must remember (secrets to mask, timeout, the runtime
                   properties the attempt started from), written before the script starts
    ctx.json       the context file that ``ctx`` reads and writes (with ctx.lock, ctx.log,
                   and ctx.sets, appended to by the ``ctx`` command's shell fast path)
    script/        the script, copied from the blueprint or written from inline source
    work/          the script's working directory
    stdout stderr  what the script printed
    pid.json       the wrapper's pid and start time, to know it again after a restart
    stop.json      written before the connector kills the attempt (timeout, kill)
    exit           the script's exit code and a newline, written by the wrapper

and, once the outcome is known, ``outcome.json`` (the outcome and the masked log), written
atomically before the outcome is reported. The files that may hold secrets are deleted
then, on the connector's clean-up thread (:mod:`.background`), and the whole folder once the
outcome is committed. A folder with ``outcome.json`` or ``exit`` is never run again.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from cairn.connectors import interface
from cairn.model import executions

JSON = Any
KEPT_LOG_LINES = 5000
SENSITIVE = (
    "ctx.json",
    "ctx.lock",
    "ctx.log",
    "ctx.sets",
    "stdout",
    "stderr",
    "attempt.json",
    "exit.tmp",
)


def write_atomic(path: str, data: bytes, *, mode: int = 0o600) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_json(path: str, value: JSON) -> None:
    write_atomic(path, json.dumps(value, separators=(",", ":")).encode("utf-8"))


def read_bytes(path: str) -> bytes:
    """The file's content, or nothing when it is missing."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def read_json(path: str) -> Any:
    """The file's JSON content, or None when it is missing or not (yet) valid."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except (OSError, ValueError):
        return None


class Entry:
    """The journal folder of one attempt."""

    def __init__(self, root: str, key: str) -> None:
        self.key = key
        name = urllib.parse.quote(key, safe=":@-_,")
        self.folder = os.path.join(root, "_" + name if name.startswith(".") else name)

    def path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def exists(self) -> bool:
        return os.path.isdir(self.folder)

    def reset(self) -> None:
        """An empty folder for a (new) start: what an attempt lost without outcome left."""
        shutil.rmtree(self.folder, ignore_errors=True)
        os.makedirs(self.folder, mode=0o700)

    def exit_code(self) -> int | None:
        """The script's exit code, once the wrapper wrote all of it (up to its newline)."""
        try:
            with open(self.path("exit"), "rb") as handle:
                data = handle.read()
            return int(data) if data.endswith(b"\n") else None
        except (OSError, ValueError):
            return None

    def has_exit(self) -> bool:
        return self.exit_code() is not None

    def stop_reason(self) -> str | None:
        found = read_json(self.path("stop.json"))
        return str(found["reason"]) if isinstance(found, dict) and "reason" in found else None

    def write_stop(self, reason: str) -> None:
        write_json(self.path("stop.json"), {"reason": reason})

    def has_outcome(self) -> bool:
        return os.path.exists(self.path("outcome.json"))

    def read_report(self) -> interface.Report | None:
        found = read_json(self.path("outcome.json"))
        if not isinstance(found, dict):
            return None
        return interface.Report(
            key=self.key,
            logs=tuple(log_from_json(line) for line in found.get("logs", [])),
            outcome=outcome_from_json(found["outcome"]),
        )

    def write_outcome(self, outcome: executions.Outcome, logs: Sequence[interface.LogLine]) -> None:
        kept = list(logs)
        if len(kept) > KEPT_LOG_LINES:
            dropped = len(kept) - KEPT_LOG_LINES
            note = interface.LogLine(
                timestamp=kept[dropped].timestamp,
                level=interface.LogLevel.WARNING,
                message=f"({dropped} earlier log lines are not kept in the journal)",
            )
            kept = [note, *kept[dropped:]]
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        write_json(
            self.path("outcome.json"),
            {"outcome": outcome_to_json(outcome), "logs": [log_to_json(x) for x in kept]},
        )

    def forget_sensitive(self) -> None:
        """Once the outcome is journaled: drop what may hold secrets, and the script."""
        leftovers = [n for n in _listdir(self.folder) if n.endswith(".tmp")]
        for name in (*SENSITIVE, *leftovers):  # .tmp: writes cut short by a kill
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path(name))
        for name in ("script", "downloads"):
            shutil.rmtree(self.path(name), ignore_errors=True)
        with contextlib.suppress(OSError):
            os.rmdir(self.path("work"))  # kept if the script left files in it

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _listdir(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def outcome_to_json(outcome: executions.Outcome) -> dict[str, JSON]:
    return {
        "kind": outcome.kind.value,
        "result": outcome.result,
        "error": outcome.error,
        "retry_after": outcome.retry_after,
        "runtime_properties": _plain(outcome.runtime_properties),
        "target_runtime_properties": _plain(outcome.target_runtime_properties),
    }


def outcome_from_json(data: Mapping[str, JSON]) -> executions.Outcome:
    return executions.Outcome(
        kind=executions.OutcomeKind(data["kind"]),
        result=data.get("result"),
        error=data.get("error"),
        retry_after=data.get("retry_after"),
        runtime_properties=data.get("runtime_properties"),
        target_runtime_properties=data.get("target_runtime_properties"),
    )


def _plain(value: Mapping[str, JSON] | None) -> dict[str, JSON] | None:
    return None if value is None else dict(value)


def log_to_json(line: interface.LogLine) -> dict[str, str]:
    return {
        "t": line.timestamp.isoformat(),
        "level": line.level.value,
        "message": line.message,
        "stream": line.stream,
    }


def log_from_json(data: Mapping[str, str]) -> interface.LogLine:
    return interface.LogLine(
        timestamp=datetime.datetime.fromisoformat(data["t"]),
        level=interface.LogLevel(data["level"]),
        message=data["message"],
        stream=data.get("stream", "ctx"),
    )
