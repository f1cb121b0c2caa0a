"""Attempts handed to site agents: how a row moves, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest
import store_samples as s

from cairn import errors
from cairn.model import executions, runtime, sites
from cairn.services import agents
from cairn.store import interface

AS = sites.AttemptState


def _attempt(key: str, site: str = "edge", timeout: float | None = 10.0) -> sites.SiteAttempt:
    return sites.SiteAttempt(
        key=key,
        site=site,
        execution_id="e1",
        task_id=1,
        payload={"key": key, "context": {"deployment": {"id": "dep"}}},
        created_at=s.at(0),
        timeout=timeout,
    )


@pytest.fixture
def work(store: interface.Store) -> interface.Store:
    s.setup_deployment(store)
    store.create_execution(s.execution("e1"), [], queue=False)
    return store


def _deliver(store: interface.Store, site: str, at: float) -> list[str]:
    delivered, _kill = store.deliver_site_attempts(
        site, now=s.at(at), redeliver_before=s.at(at - 15), limit=10
    )
    return [a.key for a in delivered]


def test_queue_is_idempotent_and_delivery_goes_to_the_right_site(work: interface.Store) -> None:
    first = work.queue_site_attempt(_attempt("e1:1:1"))
    again = work.queue_site_attempt(_attempt("e1:1:1", site="other"))
    assert again == first and again.site == "edge"
    work.queue_site_attempt(_attempt("e1:2:1", site="other"))
    assert _deliver(work, "edge", 1) == ["e1:1:1"]
    assert _deliver(work, "edge", 2) == []  # delivered, waiting for the acknowledgement
    assert _deliver(work, "edge", 20) == ["e1:1:1"]  # never acknowledged: sent again
    found = work.get_site_attempt("e1:1:1")
    assert found is not None and found.deliveries == 2 and found.state is AS.DELIVERED
    assert found.deadline == s.at(30)  # the timeout counts from the last delivery


def test_a_delivery_hands_on_the_payload_as_stored_json(work: interface.Store) -> None:
    """The poll writes each dispatch's JSON text into its answer as the store keeps it (not
    parsed and written again): that text is the queued payload, unicode and nesting kept."""
    attempt = _attempt("e1:1:1")
    payload = {**attempt.payload, "inputs": {"motd": "Grüß dich — 你好", "ports": [80, 443]}}
    work.queue_site_attempt(dataclasses.replace(attempt, payload=payload))
    delivered, _kill = work.deliver_site_attempts(
        "edge", now=s.at(1), redeliver_before=s.at(-14), limit=10
    )
    assert json.loads(agents.payload_text(delivered[0].payload)) == payload
    assert delivered[0].payload == payload  # still a mapping for whoever looks into it


def test_acknowledge_report_finish(work: interface.Store) -> None:
    work.queue_site_attempt(_attempt("e1:1:1"))
    _deliver(work, "edge", 1)
    assert work.confirm_site_attempts("edge", ["e1:1:1"], now=s.at(2), acknowledge=True) == [
        "e1:1:1"
    ]
    assert _deliver(work, "edge", 30) == []  # acknowledged: never sent again
    verdicts = work.report_site_attempts(
        "edge", {"e1:1:1": {"kind": "succeeded"}, "e1:9:1": {"kind": "succeeded"}}, now=s.at(3)
    )
    assert verdicts == {"e1:1:1": "accepted", "e1:9:1": "unknown"}
    assert work.reported_site_attempts() == {"e1:1:1": {"kind": "succeeded"}}
    again = work.report_site_attempts("edge", {"e1:1:1": {"kind": "failed"}}, now=s.at(4))
    assert again == {"e1:1:1": "accepted"}  # a repeat changes nothing
    assert work.get_site_attempt("e1:1:1").outcome == {"kind": "succeeded"}  # type: ignore[union-attr]
    work.finish_site_attempts(["e1:1:1"])
    assert work.reported_site_attempts() == {}
    assert work.get_site_attempt("e1:1:1").state is AS.DONE  # type: ignore[union-attr]


def test_another_sites_keys_are_refused_whole(work: interface.Store) -> None:
    work.queue_site_attempt(_attempt("e1:1:1", site="edge"))
    work.queue_site_attempt(_attempt("e1:2:1", site="other"))
    with pytest.raises(errors.PermissionDenied, match="not work of site 'edge'"):
        work.report_site_attempts(
            "edge", {"e1:1:1": {"kind": "succeeded"}, "e1:2:1": {"kind": "succeeded"}}, now=s.at(1)
        )
    with pytest.raises(errors.PermissionDenied):
        work.confirm_site_attempts("edge", ["e1:2:1"], now=s.at(1), acknowledge=True)
    assert work.get_site_attempt("e1:1:1").state is AS.QUEUED  # type: ignore[union-attr]
    assert work.get_site_attempt("e1:2:1").state is AS.QUEUED  # type: ignore[union-attr]


def test_silent_agents_lose_their_attempts_and_late_reports_are_only_noted(
    work: interface.Store,
) -> None:
    work.queue_site_attempt(_attempt("e1:1:1", timeout=10))
    work.queue_site_attempt(_attempt("e1:2:1", timeout=None))  # no timeout: waits forever
    assert _deliver(work, "edge", 0) == ["e1:1:1", "e1:2:1"]
    work.queue_site_attempt(_attempt("e1:3:1", timeout=10))  # never fetched: waits too
    work.confirm_site_attempts("edge", ["e1:1:1"], now=s.at(5), acknowledge=False)
    assert work.abandon_overdue_site_attempts(now=s.at(14)) == []  # deadline 15
    given_up = work.abandon_overdue_site_attempts(now=s.at(16))
    assert [a.key for a in given_up] == ["e1:1:1"]
    late = work.report_site_attempts("edge", {"e1:1:1": {"kind": "succeeded"}}, now=s.at(17))
    assert late == {"e1:1:1": "late"}
    assert work.reported_site_attempts() == {}


def test_withdraw_and_kill(work: interface.Store) -> None:
    work.queue_site_attempt(_attempt("e1:1:1"))
    work.queue_site_attempt(_attempt("e1:2:1"))
    _deliver(work, "edge", 0)
    work.queue_site_attempt(_attempt("e1:3:1"))
    assert work.withdraw_site_attempt("e1:3:1", kill=False) == "withdrawn"
    assert work.withdraw_site_attempt("e1:1:1", kill=False) is None  # the agent has it
    assert work.withdraw_site_attempt("e1:1:1", kill=True) == "kill_requested"
    _delivered, kill = work.deliver_site_attempts(
        "edge", now=s.at(1), redeliver_before=s.at(-14), limit=10
    )
    assert kill == ["e1:1:1"]
    assert work.get_site_attempt("e1:3:1").state is AS.ABANDONED  # type: ignore[union-attr]


def test_deleting_the_execution_deletes_its_attempts(work: interface.Store) -> None:
    work.queue_site_attempt(_attempt("e1:1:1"))
    work.set_execution_status(
        "e1",
        expected=[executions.ExecutionStatus.PENDING],
        status=executions.ExecutionStatus.CANCELLED,
        now=s.at(1),
    )
    work.delete_deployment("dep")
    assert work.get_site_attempt("e1:1:1") is None


def test_times_are_utc(work: interface.Store) -> None:
    work.queue_site_attempt(_attempt("e1:1:1"))
    found = work.get_site_attempt("e1:1:1")
    assert found is not None and found.created_at.tzinfo == datetime.UTC


def test_many_sites_are_served_in_one_go(work: interface.Store) -> None:
    """The agents' group commit: queued work for several sites, a kill request, a site with
    nothing, and a site's limit; queued in one transaction too."""
    stored = work.queue_site_attempts(
        [_attempt("e1:1:1"), _attempt("e1:2:1"), _attempt("e1:3:1", site="far")]
    )
    assert [a.key for a in stored] == ["e1:1:1", "e1:2:1", "e1:3:1"]
    again = work.queue_site_attempts([_attempt("e1:1:1", site="other"), _attempt("e1:4:1", "k")])
    assert [(a.key, a.site) for a in again] == [("e1:1:1", "edge"), ("e1:4:1", "k")]  # kept
    _deliver(work, "k", 1)
    work.confirm_site_attempts("k", ["e1:4:1"], now=s.at(1), acknowledge=True)
    assert work.withdraw_site_attempt("e1:4:1", kill=True) == "kill_requested"

    found = work.deliver_to_sites(
        {"edge": 1, "far": 10, "k": 10, "idle": 10}, now=s.at(2), redeliver_before=s.at(-13)
    )
    assert sorted(found) == ["edge", "far", "k"]
    assert [a.key for a in found["edge"][0]] == ["e1:1:1"]  # its limit: one
    assert ([a.key for a in found["far"][0]], found["far"][1]) == (["e1:3:1"], [])
    assert found["k"] == ([], ["e1:4:1"])
    assert _deliver(work, "edge", 3) == ["e1:2:1"]  # the rest, next time


def test_acknowledgements_in_one_go_refuse_only_the_foreign_request(
    work: interface.Store,
) -> None:
    work.queue_site_attempts([_attempt("e1:1:1"), _attempt("e1:2:1", site="far")])
    _deliver(work, "edge", 1)
    _deliver(work, "far", 1)
    answers = work.acknowledge_site_attempts(
        [
            ("edge", ["e1:1:1"], s.at(2)),
            ("edge", ["e1:2:1"], s.at(3)),  # far's attempt: refused, nothing written for it
            ("far", ["e1:2:1"], s.at(4)),
            ("far", [], s.at(5)),
        ]
    )
    assert answers[0] == ["e1:1:1"] and answers[2] == ["e1:2:1"] and answers[3] == []
    assert isinstance(answers[1], errors.PermissionDenied)
    first, second = work.get_site_attempt("e1:1:1"), work.get_site_attempt("e1:2:1")
    assert first is not None and second is not None
    assert (first.state, first.acknowledged_at) == (AS.ACKNOWLEDGED, s.at(2))
    assert (second.state, second.acknowledged_at) == (AS.ACKNOWLEDGED, s.at(4))


def _log(message: str) -> runtime.Event:
    return runtime.Event(
        execution_id="e1", deployment_id="dep", timestamp=s.at(1), type="log", message=message
    )


def test_reports_in_one_go_refuse_only_the_foreign_request(work: interface.Store) -> None:
    """The reports' group commit: each request gets its verdicts, or PermissionDenied alone
    (its outcomes and log lines are not stored); a report acknowledges what it reports."""
    work.queue_site_attempts([_attempt("e1:1:1"), _attempt("e1:2:1", site="far")])
    _deliver(work, "edge", 1)
    _deliver(work, "far", 1)
    work.confirm_site_attempts("far", ["e1:2:1"], now=s.at(2), acknowledge=True)
    answers = work.report_to_sites(
        [
            interface.SiteReport(
                site="edge",
                outcomes={"e1:1:1": {"kind": "succeeded"}, "e1:9:1": {"kind": "failed"}},
                now=s.at(3),
                events=[_log("from edge")],
            ),
            interface.SiteReport(  # far's attempt: refused whole
                site="edge",
                outcomes={"e1:2:1": {"kind": "failed"}},
                now=s.at(4),
                events=[_log("refused")],
            ),
            interface.SiteReport(
                site="far", outcomes={"e1:2:1": {"kind": "succeeded"}}, now=s.at(5)
            ),
            interface.SiteReport(  # the same outcome again, in the same batch: a repeat
                site="edge", outcomes={"e1:1:1": {"kind": "failed"}}, now=s.at(6)
            ),
        ]
    )
    assert answers[0] == {"e1:1:1": "accepted", "e1:9:1": "unknown"}
    assert isinstance(answers[1], errors.PermissionDenied)
    assert answers[2] == {"e1:2:1": "accepted"} and answers[3] == {"e1:1:1": "accepted"}
    first, second = work.get_site_attempt("e1:1:1"), work.get_site_attempt("e1:2:1")
    assert first is not None and second is not None
    assert (first.state, first.outcome, first.reported_at) == (
        AS.REPORTED,
        {"kind": "succeeded"},
        s.at(3),
    )
    assert first.acknowledged_at == s.at(3)  # reported before any acknowledgement
    assert (second.state, second.outcome) == (AS.REPORTED, {"kind": "succeeded"})
    assert second.acknowledged_at == s.at(2)  # kept
    assert [e.message for e in work.list_events(execution_id="e1")] == ["from edge"]
