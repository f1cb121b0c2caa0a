"""The journal's files and the masking of secrets, without processes."""

from __future__ import annotations

import datetime
import pathlib

from cairn.connectors import interface, journal, logtail, masking
from cairn.model import executions


def test_masking_longest_first_escaped_and_line_by_line() -> None:
    masker = masking.Masker(["pass", "password123", 'q"uote', "line-one\nline-two\nab", ""])
    assert masker.mask("password123 and pass") == "****** and ******"
    assert masker.mask('{"v": "q\\"uote"}') == '{"v": "******"}'
    assert masker.mask("key: line-two") == "key: ******"
    assert masker.mask("ab stays") == "ab stays"  # too short to mask on its own
    assert not masking.Masker([""])


def test_outcome_round_trip_and_log_cap(tmp_path: pathlib.Path) -> None:
    entry = journal.Entry(str(tmp_path), "ex-1:7:2")
    assert pathlib.Path(entry.folder).name == "ex-1:7:2"
    outcome = executions.Outcome(
        kind=executions.OutcomeKind.RECOVERABLE,
        error="e",
        retry_after=3.0,
        runtime_properties={"a": [1]},
    )
    stamp = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    logs = [
        interface.LogLine(timestamp=stamp, level=interface.LogLevel.INFO, message=str(n))
        for n in range(journal.KEPT_LOG_LINES + 10)
    ]
    entry.write_outcome(outcome, logs)
    report = entry.read_report()
    assert report is not None
    assert report.outcome == outcome
    assert len(report.logs) == journal.KEPT_LOG_LINES + 1
    assert report.logs[0].message == "(10 earlier log lines are not kept in the journal)"
    assert report.logs[-1] == logs[-1]


def test_odd_keys_stay_inside_the_journal(tmp_path: pathlib.Path) -> None:
    for key in ("..", "a/../../b", ".hidden"):
        entry = journal.Entry(str(tmp_path), key)
        assert pathlib.Path(entry.folder).parent == tmp_path


def test_tail_hands_out_complete_lines_until_the_end(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "stdout"
    tail = logtail.Tail(str(path))
    assert tail.read(final=False) == []
    path.write_bytes(b"one\ntw")
    assert tail.read(final=False) == ["one"]
    with path.open("ab") as handle:
        handle.write(b"o\r\nthree")
    assert tail.read(final=False) == ["two"]
    assert tail.read(final=True) == ["three"]


def test_an_exit_file_counts_once_its_newline_is_written(tmp_path: pathlib.Path) -> None:
    """The wrapper writes ``exit`` in place: created empty first, then its code and newline."""
    entry = journal.Entry(str(tmp_path), "ex-1:8:1")
    entry.reset()
    exit_file = pathlib.Path(entry.path("exit"))
    assert entry.exit_code() is None and not entry.has_exit()
    exit_file.write_bytes(b"")
    assert entry.exit_code() is None and not entry.has_exit()
    exit_file.write_bytes(b"12")
    assert entry.exit_code() is None and not entry.has_exit()
    exit_file.write_bytes(b"12\n")
    assert entry.exit_code() == 12 and entry.has_exit()
