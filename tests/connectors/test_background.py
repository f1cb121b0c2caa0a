"""The local connector's background workers: jobs in order, off the caller's thread, none lost at close."""

from __future__ import annotations

import threading

from cairn.connectors import background


def test_jobs_run_in_order_on_their_own_thread_and_close_runs_the_rest() -> None:
    cleaner = background.Worker("cairn-cleanup")
    done: list[tuple[int, str]] = []
    gate = threading.Event()
    cleaner.put(lambda: gate.wait(5))
    for n in range(3):
        cleaner.put(lambda n=n: done.append((n, threading.current_thread().name)))
    assert done == []  # held behind the first job, not run by the caller
    gate.set()
    cleaner.settle()
    assert done == [(0, "cairn-cleanup"), (1, "cairn-cleanup"), (2, "cairn-cleanup")]
    cleaner.put(lambda: done.append((3, threading.current_thread().name)))
    cleaner.close()
    assert done[-1] == (3, "cairn-cleanup")
    cleaner.put(lambda: done.append((4, threading.current_thread().name)))
    assert done[-1] == (4, threading.current_thread().name)  # after close: at once, here


def test_a_failing_job_does_not_stop_the_next(caplog: object) -> None:
    cleaner = background.Worker("cairn-cleanup")
    done: list[int] = []
    cleaner.put(lambda: (_ for _ in ()).throw(OSError("disk")))
    cleaner.put(lambda: done.append(1))
    cleaner.close()
    assert done == [1]
