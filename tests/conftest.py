"""Suite-wide rules: a test may not leave threads running behind it (kopf's rule).

A leaked thread (an engine that was never stopped, a server left serving) keeps working
while later tests run and makes them flaky; failing the test that leaked it points at the
cause instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

GRACE_SECONDS = 2.0
# Worker threads of a server that a module-scoped fixture runs: the server owns them, they
# idle between requests and end with it.
POOLED = ("AnyIO worker thread",)


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + GRACE_SECONDS
    leaked: list[threading.Thread] = []
    while time.monotonic() < deadline:
        leaked = [
            t
            for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.name.startswith(POOLED)
        ]
        if not leaked:
            return
        time.sleep(0.05)
    names = ", ".join(sorted(t.name for t in leaked))
    pytest.fail(f"the test left threads running: {names}")
