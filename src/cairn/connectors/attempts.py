"""One script attempt on this machine: starting it under the wrapper, and how it ended.

:class:`LocalConnector <cairn.connectors.local.LocalConnector>` decides when; this module
does the work on files and processes: the attempt's folder is filled (``attempt.json``,
``ctx.json``, the script) before the wrapper starts, and once it has ended the outcome is
decided from what the folder holds (:func:`finish`) and journaled; the connector then has
the files that may hold secrets deleted.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cairn import errors
from cairn.connectors import interface, journal, logtail, masking, processes
from cairn.model import executions
from cairn.plugins import script as script_plugin
from cairn.plugins.script import launching, outcome

Clock = Callable[[], Any]
Kind = executions.OutcomeKind


@dataclass(kw_only=True)
class Running:
    """An attempt whose wrapper runs (started here, or found again after a restart)."""

    entry: journal.Entry
    wrapper: processes.Wrapper
    meta: Mapping[str, Any]  # attempt.json
    tails: logtail.Tails
    masker: masking.Masker
    pidfd: int | None = None
    stopping: str | None = None  # outcome.KILLED or outcome.TIMEOUT, once begun
    kill_at: float | None = None  # monotonic time of the SIGKILL
    logs: list[interface.LogLine] = field(default_factory=list)  # all reported so far

    @property
    def key(self) -> str:
        return self.entry.key


@dataclass(frozen=True, kw_only=True)
class Machine:
    """Where and how scripts start on this machine."""

    bin_dir: str  # holds the ``ctx`` command
    python: str
    environ: Mapping[str, str]


Started = tuple[processes.Wrapper, Mapping[str, Any], tuple[str, ...]]


def start(
    entry: journal.Entry, dispatch: interface.Dispatch, machine: Machine
) -> Started | executions.Outcome:
    """Fill the attempt's folder and start its wrapper: the wrapper, ``attempt.json`` and
    warnings; or the outcome when it cannot start (masked)."""
    masker = masking.Masker(dispatch.secrets)
    entry.reset()
    try:
        launch = launching.prepare(
            attempt=launching.Attempt(
                folder=entry.folder,
                bin_dir=machine.bin_dir,
                python=machine.python,
                environ=machine.environ,
            ),
            inputs=dispatch.inputs,
            context=dispatch.context,
            implementation=dispatch.implementation,
            task={
                "task_name": dispatch.operation,
                "task_id": dispatch.task_id,
                "plugin": dispatch.plugin,
                "timeout": dispatch.timeout,
                "timeout_recoverable": dispatch.timeout_recoverable,
            },
        )
    except errors.OperationError as exc:
        recoverable = isinstance(exc, errors.RecoverableError)
        kind = Kind.RECOVERABLE if recoverable else Kind.NON_RECOVERABLE
        return executions.Outcome(kind=kind, error=masker.mask(exc.message))
    meta = _meta(dispatch, launch)
    try:
        _write_files(entry, launch, meta)
        wrapper = processes.spawn(
            folder=entry.folder, cwd=launch.cwd, command=launch.command, env=launch.env
        )
    except OSError as exc:
        error = masker.mask(f"{launch.script_name}: could not start: {exc}")
        return executions.Outcome(kind=Kind.RECOVERABLE, error=error)
    journal.write_json(entry.path("pid.json"), {"pid": wrapper.pid, "start": wrapper.start_time})
    return wrapper, meta, launch.warnings


def _meta(dispatch: interface.Dispatch, launch: launching.Launch) -> dict[str, Any]:
    return {
        "key": dispatch.key,
        "script": launch.script_name,
        "operation": dispatch.operation,
        "timeout": dispatch.timeout,
        "timeout_recoverable": dispatch.timeout_recoverable,
        # as in Cloudify, a timeout of 0 (or none) means no limit
        "deadline": time.time() + dispatch.timeout if dispatch.timeout else None,
        "secrets": list(dispatch.secrets),
        "original": launching.instance_properties(launch.document),
    }


def _write_files(entry: journal.Entry, launch: launching.Launch, meta: Mapping[str, Any]) -> None:
    journal.write_json(entry.path("attempt.json"), meta)
    journal.write_json(entry.path("ctx.json"), launch.document)
    os.makedirs(os.path.dirname(launch.script_file), mode=0o700, exist_ok=True)
    journal.write_atomic(launch.script_file, launch.script, mode=0o700)
    os.makedirs(entry.path("work"), mode=0o700, exist_ok=True)


def watch(
    entry: journal.Entry,
    wrapper: processes.Wrapper,
    meta: Mapping[str, Any],
    *,
    clock: Clock,
    open_pidfd: bool = True,
) -> Running:
    masker = masking.Masker(meta.get("secrets") or [])
    running = Running(
        entry=entry,
        wrapper=wrapper,
        meta=meta,
        masker=masker,
        tails=logtail.Tails(entry.folder, masker=masker, clock=clock),
        pidfd=processes.open_pidfd(wrapper.pid) if open_pidfd else None,
        stopping=entry.stop_reason(),  # a kill or timeout an earlier connector began
    )
    if running.stopping is not None:
        running.kill_at = time.monotonic()
    return running


def meta_of(entry: journal.Entry) -> Mapping[str, Any] | None:
    found = journal.read_json(entry.path("attempt.json"))
    return found if isinstance(found, dict) else None


def recorded_wrapper(entry: journal.Entry) -> processes.Wrapper | None:
    found = journal.read_json(entry.path("pid.json"))
    if not isinstance(found, dict):
        return None
    return processes.Wrapper(pid=int(found["pid"]), start_time=int(found.get("start", -1)))


def ended_unobserved(entry: journal.Entry) -> bool:
    """The wrapper wrote its exit code, or was stopped and is gone: nothing runs any more."""
    if entry.has_exit():
        return True
    if entry.stop_reason() is None:
        return False
    wrapper = recorded_wrapper(entry)
    return wrapper is None or not processes.alive(wrapper)


def finish(running: Running) -> interface.Report:
    """Decide, journal and report the outcome of an attempt whose wrapper has ended."""
    entry, meta = running.entry, running.meta
    processes.reap(running.wrapper.pid)
    close_fd(running.pidfd)
    running.pidfd = None
    tail = running.tails.read(final=True)
    running.logs.extend(tail)
    document = journal.read_json(entry.path("ctx.json"))
    if isinstance(document, dict):
        launching.apply_sets(document, journal.read_bytes(entry.path(script_plugin.CTX_SETS_FILE)))
    ending = outcome.Ending(
        script=str(meta.get("script") or meta.get("operation") or "script"),
        exit_code=entry.exit_code(),
        stopped=running.stopping or entry.stop_reason(),
        timeout=meta.get("timeout"),
        timeout_recoverable=bool(meta.get("timeout_recoverable", True)),
        document=document if isinstance(document, dict) else None,
        original=meta.get("original") or {},
        stderr_tail="\n".join(running.tails.last_stderr[-3:]),
    )
    ended = masked(outcome.decide(ending), running.masker)
    entry.write_outcome(ended, running.logs)  # journaled before anyone hears of it
    # the caller deletes the sensitive files (entry.forget_sensitive), off its thread
    return interface.Report(key=entry.key, logs=tuple(tail), outcome=ended)


def clean_orphans(entry: journal.Entry) -> None:
    """Stop what a dead wrapper's script left running, before the attempt is run again."""
    wrapper = recorded_wrapper(entry)
    if wrapper is not None and wrapper.pid > 0:
        marker = f"{script_plugin.CTX_FILE_ENV}={entry.path('ctx.json')}\0".encode()
        processes.kill_orphans(wrapper.pid, marker)


def masked(ended: executions.Outcome, masker: masking.Masker) -> executions.Outcome:
    if ended.error is None or not masker:
        return ended
    return executions.Outcome(
        kind=ended.kind,
        result=ended.result,
        error=masker.mask(ended.error),
        retry_after=ended.retry_after,
        runtime_properties=ended.runtime_properties,
        target_runtime_properties=ended.target_runtime_properties,
    )


def close_fd(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def install_ctx(bin_dir: str, python: str) -> None:
    """Write the ``ctx`` command for ``python`` into ``bin_dir`` (if it differs)."""
    os.makedirs(bin_dir, mode=0o700, exist_ok=True)
    path = os.path.join(bin_dir, "ctx")
    text = script_plugin.ctx_launcher(python).encode()
    try:
        with open(path, "rb") as handle:
            if handle.read() == text:
                return
    except OSError:
        pass
    journal.write_atomic(path, text, mode=0o755)
