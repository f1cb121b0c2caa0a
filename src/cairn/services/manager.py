"""The embedded manager: one store, one engine, and its connectors, wired together.

Operations run by the local connector (on this machine) or by a site's agent, through the
site connector; the doorbell wakes the agents' long-polls when work for their site is queued.

``cairn up`` opens a :class:`Manager` on a data directory; the API's routes and the tests
call services with it. Several managers may share one PostgreSQL database later: nothing
here holds state that another process could not rebuild from the store.
"""

from __future__ import annotations

import datetime
import functools
import os
import pathlib
from collections.abc import Sequence
from typing import Any

from cairn import errors
from cairn.connectors import local, routing
from cairn.connectors import sites as site_connectors
from cairn.connectors.interface import Report
from cairn.engine import clock as clocks
from cairn.engine import dispatching, executor
from cairn.model import sites as site_model
from cairn.services import agents, auth, secrets, sites
from cairn.store import interface, open_store

OFFLINE_AFTER_VARIABLE = "CAIRN_SITE_OFFLINE_AFTER"


def _offline_after() -> datetime.timedelta:
    """How long a site's agent may stay unseen before the site counts as offline: 45 s, or
    the seconds in ``$CAIRN_SITE_OFFLINE_AFTER`` (for agents that poll more often)."""
    given = os.environ.get(OFFLINE_AFTER_VARIABLE, "").strip()
    if not given:
        return site_model.ONLINE_WINDOW
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1.0
    if not 1.0 <= seconds <= 86400.0:
        raise errors.UsageError(
            f"{OFFLINE_AFTER_VARIABLE} must be a number of seconds from 1 to 86400, not {given!r}"
        )
    return datetime.timedelta(seconds=seconds)


class Manager:
    def __init__(
        self,
        *,
        data_dir: pathlib.Path,
        store: interface.Store,
        clock: clocks.Clock,
        cipher: secrets.Cipher,
        engine: executor.Engine | None,
    ) -> None:
        self.data_dir = data_dir
        self.store = store
        self.clock = clock
        self.cipher = cipher
        self.engine = engine
        self.doorbell = agents.Doorbell()
        self.heartbeats = agents.Heartbeats(store)
        self.callers = auth.Callers()
        self.callers.start(store.find_tokens)
        # the agents' polls, acknowledgements and reports, written in batches (group commit)
        self.deliveries: agents.Batched[tuple[str, int], agents.Work] = agents.Batched(
            functools.partial(agents.deliver_batch, self), "cairn-deliveries"
        )
        self.acks: agents.Batched[tuple[str, Sequence[str], datetime.datetime], list[str]] = (
            agents.Batched(functools.partial(agents.acknowledge_batch, self), "cairn-acks")
        )
        self.reports: agents.Batched[tuple[str, Sequence[Report]], dict[str, str]] = agents.Batched(
            functools.partial(agents.report_batch, self), "cairn-reports"
        )
        self.site_connector: site_connectors.SiteConnector | None = None
        self.scheduler: Any = None  # services.drift.Scheduler, when started
        self.rollouts: Any = None  # services.rollout_runner.Runner, when started
        # a site is offline once its agent has not been seen for this long
        self.offline_after = _offline_after()

    @classmethod
    def open(
        cls,
        data_dir: pathlib.Path,
        *,
        database_url: str | None = None,
        clock: clocks.Clock | None = None,
        start_engine: bool = True,
        settings: executor.Settings | None = None,
        start_scheduler: bool | None = None,
    ) -> Manager:
        """``start_scheduler`` (default: with the engine) starts the drift scheduler."""
        data_dir = pathlib.Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o700)
        clock = clock or clocks.SystemClock()
        store = open_store(database_url, data_dir=data_dir)
        cipher = secrets.Cipher.load_or_create(data_dir / "secret.key")
        manager = cls(data_dir=data_dir, store=store, clock=clock, cipher=cipher, engine=None)
        sites.ensure_local(store, now=clock.now())
        if start_engine:
            manager.engine = manager._engine(settings)
            manager.engine.start()
        if start_engine if start_scheduler is None else start_scheduler:
            from cairn.services import drift  # it uses this module: imported when needed

            manager.scheduler = drift.Scheduler(manager)
            manager.scheduler.start()
        if start_engine:
            from cairn.services import rollout_runner  # it uses this module: imported when needed

            manager.rollouts = rollout_runner.Runner(manager)
            manager.rollouts.start()
        return manager

    def _engine(self, settings: executor.Settings | None) -> executor.Engine:
        self.site_connector = site_connectors.SiteConnector(
            store=self.store, clock=self.clock.now, doorbell=self.doorbell.ring
        )
        connector = routing.Router(
            local=local.LocalConnector(data_dir=self.data_dir), sites=self.site_connector
        )
        dispatcher = dispatching.Dispatcher(
            self.store,
            blueprints_dir=self.data_dir / "blueprints",
            secret=self.secret_value,
            defaults=(settings or executor.Settings()).defaults,
        )
        return executor.Engine(
            store=self.store,
            connector=connector,
            dispatcher=dispatcher,
            clock=self.clock,
            settings=settings,
        )

    def blueprint_dir(self, blueprint_id: str) -> pathlib.Path:
        return self.data_dir / "blueprints" / blueprint_id

    def secret_value(self, name: str) -> str:
        """A secret's plain value, for get_secret at run time."""
        return self.cipher.decrypt(self.store.get_secret(name).ciphertext)

    def site_reports_arrived(self) -> None:
        """An agent's outcomes are stored: the engine looks at once."""
        if self.site_connector is not None:
            self.site_connector.wake()

    def wake(self) -> None:
        if self.engine is not None:
            self.engine.wake()

    def close(self) -> None:
        if self.rollouts is not None:
            self.rollouts.stop()
            self.rollouts = None
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self.engine is not None:
            self.engine.stop()
            self.engine.connector.close()
            self.engine = None
        self.deliveries.close()
        self.acks.close()
        self.reports.close()
        self.heartbeats.close()
        self.callers.close()
        self.store.close()

    def __enter__(self) -> Manager:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
