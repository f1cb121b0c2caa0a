"""The connector the engine talks to: each attempt goes where its dispatch says it runs.

``Dispatch.site`` is ``local`` for operations that run on the manager (the built-in site,
and ``central_deployment_agent`` operations of any site) and a site's name for those its
agent runs; the dispatcher decides (:mod:`cairn.engine.dispatching`).
"""

from __future__ import annotations

from collections.abc import Sequence

from cairn.connectors import interface
from cairn.connectors.sites import SiteConnector
from cairn.model.sites import LOCAL


class Router:
    def __init__(self, *, local: interface.Connector, sites: SiteConnector) -> None:
        self.local = local
        self.sites = sites

    def _for(self, key: str) -> interface.Connector:
        return self.sites if self.sites.holds(key) else self.local

    def submit(self, dispatch: interface.Dispatch) -> None:
        (self.local if dispatch.site == LOCAL else self.sites).submit(dispatch)

    def submit_all(self, dispatches: Sequence[interface.Dispatch]) -> None:
        self.local.submit_all([d for d in dispatches if d.site == LOCAL])
        self.sites.submit_all([d for d in dispatches if d.site != LOCAL])

    def poll(self, *, timeout: float = 0.0) -> list[interface.Report]:
        reports = self.sites.poll(timeout=0.0)
        return reports + self.local.poll(timeout=0.0 if reports else timeout)

    def recover(self, key: str) -> interface.Recovered:
        found = self.sites.recover(key)
        if found.state is None and found.report is None:
            return self.local.recover(key)
        return found

    def forget(self, key: str) -> None:
        self._for(key).forget(key)

    def kill(self, key: str) -> None:
        self._for(key).kill(key)

    def withdraw(self, key: str) -> bool:
        return self._for(key).withdraw(key)

    def close(self) -> None:
        self.sites.close()
        self.local.close()
