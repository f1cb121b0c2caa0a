"""The agent's side of the wire: HTTP(S) calls to the manager, and jittered backoff.

The agent always calls; the manager never does. Every call names the agent's site and
carries its token. Network trouble and answers of a manager that is starting (5xx) raise
:class:`Unreachable`, after which the caller waits :meth:`Backoff.next` and tries again;
a refused token raises :class:`Refused` (a rotated or revoked token: an operator must act).
"""

from __future__ import annotations

import random
import ssl
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from cairn.connectors import interface, wire


class Unreachable(Exception):
    """The manager could not be reached, or answered that it cannot serve now."""


class Refused(Exception):
    """The manager refused the agent's token (401/403) or its request (4xx)."""


class Backoff:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base*2^n))."""

    def __init__(self, *, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        ceiling = min(self.cap, self.base * (2**self.failures))
        self.failures = min(self.failures + 1, 60)
        return self._rng.uniform(self.base / 2, max(self.base / 2, ceiling))

    def reset(self) -> None:
        self.failures = 0


class ManagerClient:
    def __init__(
        self,
        *,
        manager_url: str,
        site: str,
        token: str,
        verify: bool | ssl.SSLContext = True,
        connect_timeout: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        self.site = site
        self._base = f"/api/v1/sites/{site}/agent"
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self._http = httpx.Client(
            base_url=manager_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            timeout=self._timeout,
        )

    def close(self) -> None:
        self._http.close()

    def poll(
        self,
        *,
        version: str,
        running: Sequence[str],
        wait: float,
        limit: int = 100,
        acknowledge: Sequence[str] = (),
    ) -> tuple[list[Mapping[str, Any]], list[str]]:
        """The site's work; ``acknowledge``: keys journaled since the last poll."""
        body: dict[str, Any] = {
            "agent_version": version,
            "running": list(running),
            "wait": wait,
            "limit": limit,
        }
        if acknowledge:  # left out when empty: a manager older than the field takes the poll
            body["acknowledge"] = list(acknowledge)
        timeout = httpx.Timeout(wait + self._timeout.read, connect=self._timeout.connect)  # type: ignore[operator]
        answer = self._call("POST", "/poll", json=body, timeout=timeout)
        return list(answer["attempts"]), list(answer["kill"])

    def report(self, reports: Sequence[interface.Report]) -> dict[str, str]:
        body = {"reports": [wire.report_to_json(r) for r in reports]}
        return dict(self._call("POST", "/reports", json=body)["verdicts"])

    def blueprint(self, blueprint_id: str) -> bytes:
        return self._request("GET", f"/blueprints/{blueprint_id}").content

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._request(method, path, **kwargs).json()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = self._http.request(method, self._base + path, **kwargs)
        except httpx.HTTPError as exc:  # connect, read, write, protocol, TLS
            raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
        if answer.status_code >= 500 or answer.status_code == 429:
            raise Unreachable(f"the manager answered {answer.status_code}")
        if answer.status_code >= 400:
            raise Refused(_message(answer))
        return answer


def _message(answer: httpx.Response) -> str:
    try:
        return f"{answer.status_code}: {answer.json()['error']['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{answer.status_code}: {answer.text[:200]}"
