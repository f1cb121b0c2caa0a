"""What a site's agent may do: fetch its site's work, acknowledge it, report on it.

Every call names the site and is checked against the caller's agent token
(:func:`cairn.services.auth.require_agent`): an agent sees and reports its own site's
attempts only. Fetching is a long-poll: the agent asks, and the answer waits (up to ``wait``
seconds) until the engine queues work for the site, which rings the :class:`Doorbell`. A
poll is also the agent's heartbeat: it records the agent's version and address, and moves
the deadline of every attempt the agent says it still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cairn import errors
from cairn.connectors import interface, wire
from cairn.model import runtime, sites
from cairn.services import archives, blueprints
from cairn.store import rows
from cairn.store.interface import SiteReport, SiteSeen

if TYPE_CHECKING:
    from cairn.services import manager as manager_mod

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")

REDELIVER_AFTER = 15.0  # seconds before an attempt delivered but never acknowledged goes again
MAX_WAIT = 30.0  # longest long-poll, seconds
MAX_BATCH = 100  # attempts per answer


class Doorbell:
    """Wakes the long-polls waiting for a site's work. ``ring`` may be called from any
    thread (the engine's); waiters live on the API's event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def ring(self, site: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(site, ()))
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # its loop has closed
                loop.call_soon_threadsafe(event.set)

    @contextmanager
    def listening(self, site: str) -> Iterator[asyncio.Event]:
        """An event set when ``site`` gets work; register before looking, so no ring is lost."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.setdefault(site, set()).add(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                found = self._waiters.get(site)
                if found is not None:
                    found.discard(entry)
                    if not found:
                        del self._waiters[site]


class Heartbeats:
    """Agents' polls, written in batches: one transaction per ``every`` seconds for all the
    sites heard from meanwhile, and a site's ``last_seen`` at most every ``refresh`` seconds
    (sooner when its agent's version or address changes). A thousand polling agents then
    cost about one write a second instead of a thousand; a site stays online for 45 s after
    a poll, so the delay costs nothing. A thread does the writing; :meth:`close` flushes."""

    def __init__(self, store: Any, *, every: float = 1.0, refresh: float = 5.0) -> None:
        self.store = store
        self.every = every
        self.refresh = refresh
        self._lock = threading.Lock()
        self._written: dict[str, tuple[datetime.datetime, str | None, str | None]] = {}
        self._pending: dict[str, SiteSeen] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self, site: str, now: datetime.datetime, version: str | None, address: str | None
    ) -> None:
        with self._lock:
            last = self._written.get(site)
            if (
                last is not None
                and last[1:] == (version, address)
                and (now - last[0]).total_seconds() < self.refresh
            ):
                return
            self._written[site] = (now, version, address)
            self._pending[site] = SiteSeen(
                name=site, now=now, agent_version=version, agent_address=address
            )
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="cairn-heartbeats", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = list(self._pending.values()), {}
        if batch:
            try:
                self.store.sites_seen(batch)
            except errors.CairnError:
                log.exception("could not record %d agent heartbeats", len(batch))

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            self.flush()
            self._stop.wait(self.every)


class Batched(Generic[In, Out]):
    """Group commit for the agents' hot path: requests that arrive while a batch is being
    written wait for the next one, which one thread writes in one transaction for them all
    (``write`` takes the items and returns an answer per item, or the exception for that
    item). A thousand agents polling and acknowledging at once then cost a few
    transactions and thread hand-overs, not one each; alone, a request waits for nothing.
    A request is answered only once its batch is committed."""

    def __init__(self, write: Callable[[list[In]], Sequence[Out | Exception]], name: str) -> None:
        self.write = write
        self.name = name
        self._lock = threading.Lock()
        self._queue: list[tuple[In, asyncio.AbstractEventLoop, asyncio.Future[Out]]] = []
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    async def __call__(self, item: In) -> Out:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out] = loop.create_future()
        with self._lock:
            if self._stop:
                raise errors.Unavailable("the manager is shutting down")
            self._queue.append((item, loop, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        self._wake.set()
        return await future

    def close(self) -> None:
        with self._lock:
            self._stop = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(5.0)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                batch, self._queue = self._queue, []
                stop = self._stop
            if batch:
                self._answer(batch)
            if stop:
                return

    def _answer(
        self, batch: list[tuple[In, asyncio.AbstractEventLoop, asyncio.Future[Out]]]
    ) -> None:
        answers: Sequence[Out | Exception]
        try:
            answers = self.write([item for item, _, _ in batch])
        except Exception as failed:  # the whole batch: each request gets the error
            answers = [failed] * len(batch)
        for (_, loop, future), answer in zip(batch, answers, strict=True):
            with contextlib.suppress(RuntimeError):  # its loop has closed
                loop.call_soon_threadsafe(_settle, future, answer)


def _settle(future: asyncio.Future[Out], answer: Out | Exception) -> None:
    if future.done():  # the request was cancelled (its client went away)
        return
    if isinstance(answer, Exception):
        future.set_exception(answer)
    else:
        future.set_result(answer)


@dataclass(frozen=True, kw_only=True)
class Work:
    attempts: list[str]  # dispatches, each as its JSON text
    kill: list[str]


def payload_text(payload: Mapping[str, Any]) -> str:
    """A dispatch as JSON text: the text as stored when it was read as text (a delivery
    then neither parses nor writes it again), else written now."""
    return payload.text if isinstance(payload, rows.LazyJSON) else json.dumps(dict(payload))


def heartbeat(
    manager: manager_mod.Manager,
    site: str,
    *,
    agent_version: str | None,
    address: str | None,
    running: Sequence[str] = (),
) -> None:
    """The agent is there: note it, and move the deadlines of the attempts it runs."""
    now = manager.clock.now()
    manager.heartbeats.record(site, now, agent_version, address)
    if running:
        manager.store.confirm_site_attempts(site, running, now=now, acknowledge=False)


def deliver_batch(
    manager: manager_mod.Manager, wanted: list[tuple[str, int]]
) -> list[Work | Exception]:
    """The work of many polls at once (site, limit): one read finds the sites with
    work, one transaction delivers it. Two polls of one site (an agent that reconnected)
    share nothing: the first gets the work, the second an empty answer."""
    now = manager.clock.now()
    limits: dict[str, int] = {}
    for site, limit in wanted:
        limits.setdefault(site, max(1, min(limit, MAX_BATCH)))
    found = manager.store.deliver_to_sites(
        limits, now=now, redeliver_before=now - datetime.timedelta(seconds=REDELIVER_AFTER)
    )
    answers: list[Work | Exception] = []
    for site, _ in wanted:
        delivered, kill = found.pop(site, ([], []))
        answers.append(Work(attempts=[payload_text(a.payload) for a in delivered], kill=kill))
    return answers


def acknowledge_batch(
    manager: manager_mod.Manager, batch: list[tuple[str, Sequence[str], datetime.datetime]]
) -> list[list[str] | Exception]:
    """The acknowledgements of many requests (site, keys, when each arrived), in one
    transaction; a request naming another site's attempt gets PermissionDenied alone."""
    return list(manager.store.acknowledge_site_attempts(batch))


def report_batch(
    manager: manager_mod.Manager, batch: list[tuple[str, Sequence[interface.Report]]]
) -> list[dict[str, str] | Exception]:
    """Stores what agents report, for many requests (site, reports) at once: log lines
    become events now; outcomes wait for the engine; one transaction for all. Per request,
    the verdict of each key: ``accepted``, ``late`` (given up before: noted in the events,
    never applied) or ``unknown``; or PermissionDenied, alone, for a request naming another
    site's attempt. The attempts (their payloads) are read only where log lines need them."""
    now = manager.clock.now()
    attempts = manager.store.get_site_attempts(
        {r.key for _, reports in batch for r in reports if r.logs or r.outcome is None}
    )
    items = []
    for site, reports in batch:
        outcomes: dict[str, Mapping[str, Any]] = {}
        events: list[runtime.Event] = []
        for one in reports:
            attempt = attempts.get(one.key)
            if attempt is not None and attempt.site == site:  # the store refuses another's
                events.extend(_log_events(attempt, one.logs))
            if one.outcome is not None:  # the store says "unknown" for a key it lacks
                outcomes[one.key] = wire.outcome_to_json(one.outcome)
        items.append(SiteReport(site=site, outcomes=outcomes, now=now, events=events))
    answers: list[dict[str, str] | Exception] = []
    late: list[tuple[str, Mapping[str, Any]]] = []
    for (_, reports), item, verdicts in zip(
        batch, items, manager.store.report_to_sites(items), strict=True
    ):
        if isinstance(verdicts, Exception):
            answers.append(verdicts)
            continue
        late.extend((k, item.outcomes[k]) for k, verdict in verdicts.items() if verdict == "late")
        for one in reports:
            if one.outcome is None and one.key not in attempts:
                verdicts[one.key] = "unknown"
        answers.append(verdicts)
    if late:  # given up before: noted in the events, never applied
        given_up = manager.store.get_site_attempts({k for k, _ in late})
        manager.store.add_events(
            [_late_event(given_up[k], outcome, now) for k, outcome in late if k in given_up]
        )
    if any(item.outcomes for item in items):
        manager.site_reports_arrived()
    return answers


def _log_events(
    attempt: sites.SiteAttempt, lines: Sequence[interface.LogLine]
) -> list[runtime.Event]:
    context: Any = attempt.payload.get("context", {})
    instance = (context.get("instance") or {}).get("id")
    operation = (context.get("operation") or {}).get("name")
    return [
        runtime.Event(
            execution_id=attempt.execution_id,
            deployment_id=attempt.deployment_id,
            timestamp=line.timestamp,
            type="log",
            message=line.message,
            level=str(line.level),
            node_instance_id=instance,
            operation=operation,
            task_id=attempt.task_id,
            attempt=int(attempt.payload.get("attempt", 0)) or None,
            context={"stream": line.stream, "site": attempt.site},
        )
        for line in lines
    ]


def _late_event(
    attempt: sites.SiteAttempt, outcome: Mapping[str, Any], now: datetime.datetime
) -> runtime.Event:
    context: Any = attempt.payload.get("context", {})
    return runtime.Event(
        execution_id=attempt.execution_id,
        deployment_id=attempt.deployment_id,
        timestamp=now,
        type="task_late",
        message=(
            f"Late result of attempt {attempt.key} from site '{attempt.site}' ignored "
            f"(it was given up before): {outcome.get('kind')}"
        ),
        level="warning",
        node_instance_id=(context.get("instance") or {}).get("id"),
        operation=(context.get("operation") or {}).get("name"),
        task_id=attempt.task_id,
        context={"site": attempt.site},
    )


def blueprint_archive(manager: manager_mod.Manager, site: str, blueprint_id: str) -> bytes:
    """The files of a blueprint that a deployment on ``site`` uses, now or in one of its
    revisions, as a tar.gz (scripts and resources its operations need at the site);
    PermissionDenied for any other blueprint."""
    if not manager.store.site_uses_blueprint(site, blueprint_id):
        raise errors.PermissionDenied(
            f"no deployment on site '{site}' uses blueprint '{blueprint_id}'"
        )
    return archives.pack(blueprints.folder(manager, blueprint_id))
