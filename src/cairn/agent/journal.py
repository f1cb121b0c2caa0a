"""The agent's journal: every attempt it received, and what became of it, in one SQLite file.

Keyed by the attempt's idempotency key. An attempt is written here before it starts
(``received``), and its outcome before it is reported (``finished``); the log lines wait in
``logs`` until the manager has them. So after a lost link, an agent restart or a manager
restart, an attempt delivered again is answered from here and never run a second time, and
nothing produced while the manager was unreachable is lost.

States: ``received`` (journaled, not started yet) -> ``running`` -> ``finished`` (outcome
kept, not yet delivered) -> ``reported`` (the manager has it; ``verdict`` says how it took
it: accepted, late or unknown).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cairn.connectors import interface, wire

FILE = "agent.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (
    key TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    received_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    started_at REAL,
    finished_at REAL,
    reported_at REAL,
    outcome TEXT,
    verdict TEXT
);
CREATE INDEX IF NOT EXISTS ix_attempts_state ON attempts (state);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    line TEXT NOT NULL
);
"""

RECEIVED, RUNNING, FINISHED, REPORTED = "received", "running", "finished", "reported"


@dataclass(frozen=True, kw_only=True)
class Entry:
    key: str
    payload: Mapping[str, Any]
    state: str
    received_at: float
    deliveries: int
    started_at: float | None = None
    finished_at: float | None = None
    reported_at: float | None = None
    outcome: Mapping[str, Any] | None = None
    verdict: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "state": self.state,
            "deliveries": self.deliveries,
            "operation": (self.payload.get("context", {}).get("operation") or {}).get("name"),
            "instance": (self.payload.get("context", {}).get("instance") or {}).get("id"),
            "received_at": self.received_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "reported_at": self.reported_at,
            "outcome": None if self.outcome is None else self.outcome.get("kind"),
            "error": None if self.outcome is None else self.outcome.get("error"),
            "verdict": self.verdict,
        }


@dataclass(frozen=True, kw_only=True)
class Pending:
    """What to send the manager next: log lines (with their row ids) and outcomes."""

    reports: list[interface.Report]
    log_ids: list[int]
    outcome_keys: list[str]


class Journal:
    """Thread-safe (one connection under a lock; every method is one transaction)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a commit survives a crash of the process
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- attempts -----------------------------------------------------------------------

    def receive(self, payload: Mapping[str, Any]) -> tuple[Entry, bool]:
        """Journals a delivered attempt; (its entry, True if it is new). A key seen before
        only counts one more delivery."""
        key = str(payload["key"])
        with self._tx() as db:
            row = db.execute("SELECT * FROM attempts WHERE key = ?", (key,)).fetchone()
            if row is not None:
                db.execute("UPDATE attempts SET deliveries = deliveries + 1 WHERE key = ?", (key,))
                return _entry(row), False
            db.execute(
                "INSERT INTO attempts (key, payload, state, received_at) VALUES (?, ?, ?, ?)",
                (key, json.dumps(payload), RECEIVED, time.time()),
            )
            row = db.execute("SELECT * FROM attempts WHERE key = ?", (key,)).fetchone()
            return _entry(row), True

    def started(self, key: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET state = ?, started_at = COALESCE(started_at, ?) "
                "WHERE key = ? AND state = ?",
                (RUNNING, time.time(), key, RECEIVED),
            )

    def finish(self, report: interface.Report) -> None:
        """An attempt's news: log lines to send; its outcome, once, before it is reported."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO logs (key, line) VALUES (?, ?)",
                [(report.key, json.dumps(wire.log_to_json(line))) for line in report.logs],
            )
            if report.outcome is not None:
                db.execute(
                    "UPDATE attempts SET state = ?, outcome = ?, finished_at = ? "
                    "WHERE key = ? AND state IN (?, ?)",
                    (
                        FINISHED,
                        json.dumps(wire.outcome_to_json(report.outcome)),
                        time.time(),
                        report.key,
                        RECEIVED,
                        RUNNING,
                    ),
                )

    def report_again(self, key: str) -> None:
        """The manager sent a finished attempt again: it lost our report; send it again."""
        with self._tx() as db:
            db.execute(
                "UPDATE attempts SET state = ? WHERE key = ? AND state = ?",
                (FINISHED, key, REPORTED),
            )

    def pending(self, *, limit: int = 200) -> Pending:
        with self._lock:
            logs = self._db.execute(
                "SELECT id, key, line FROM logs ORDER BY id LIMIT ?", (limit * 10,)
            ).fetchall()
            finished = self._db.execute(
                "SELECT key, outcome FROM attempts WHERE state = ? ORDER BY finished_at LIMIT ?",
                (FINISHED, limit),
            ).fetchall()
        lines: dict[str, list[interface.LogLine]] = {}
        for _id, key, line in logs:
            lines.setdefault(key, []).append(wire.log_from_json(json.loads(line)))
        # an outcome goes only with (or after) all of its attempt's log lines
        with_logs_pending = {key for _id, key, _line in logs}
        complete = len(logs) < limit * 10
        outcomes = {
            key: wire.outcome_from_json(json.loads(text))
            for key, text in finished
            if complete or key not in with_logs_pending
        }
        keys = list(dict.fromkeys([*lines, *outcomes]))
        reports = [
            interface.Report(key=k, logs=tuple(lines.get(k, ())), outcome=outcomes.get(k))
            for k in keys
        ]
        return Pending(
            reports=reports, log_ids=[i for i, _k, _l in logs], outcome_keys=list(outcomes)
        )

    def sent(self, pending: Pending, verdicts: Mapping[str, str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM logs WHERE id = ?", [(i,) for i in pending.log_ids])
            now = time.time()
            db.executemany(
                "UPDATE attempts SET state = ?, reported_at = ?, verdict = ? "
                "WHERE key = ? AND state = ?",
                [(REPORTED, now, verdicts.get(k), k, FINISHED) for k in pending.outcome_keys],
            )

    def get(self, key: str) -> Entry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM attempts WHERE key = ?", (key,)).fetchone()
        return None if row is None else _entry(row)

    def in_states(self, states: Sequence[str]) -> list[Entry]:
        marks = ",".join("?" * len(states))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM attempts WHERE state IN ({marks}) ORDER BY received_at",
                tuple(states),
            ).fetchall()
        return [_entry(row) for row in rows]

    def entries(self) -> list[Entry]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM attempts ORDER BY received_at").fetchall()
        return [_entry(row) for row in rows]


_COLUMNS = (
    "key",
    "payload",
    "state",
    "received_at",
    "deliveries",
    "started_at",
    "finished_at",
    "reported_at",
    "outcome",
    "verdict",
)


def _entry(row: Sequence[Any]) -> Entry:
    values = dict(zip(_COLUMNS, row, strict=True))
    return Entry(
        key=values["key"],
        payload=json.loads(values["payload"]),
        state=values["state"],
        received_at=values["received_at"],
        deliveries=values["deliveries"],
        started_at=values["started_at"],
        finished_at=values["finished_at"],
        reported_at=values["reported_at"],
        outcome=None if values["outcome"] is None else json.loads(values["outcome"]),
        verdict=values["verdict"],
    )
