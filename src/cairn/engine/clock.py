"""Time, injected: the engine asks a clock, tests fast-forward one instead of sleeping."""

from __future__ import annotations

import datetime
import threading
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime.datetime:
        """An aware UTC datetime."""
        ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Wait up to ``seconds`` for ``event``; True if it was set."""
        ...


class SystemClock:
    def now(self) -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(0.0, seconds))


class FakeClock:
    """A clock that moves only when told to; waiting returns at once."""

    def __init__(self, start: datetime.datetime | None = None) -> None:
        self._now = start or datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime.datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += datetime.timedelta(seconds=seconds)

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(min(seconds, 0.01))
