"""Rollout settings, waves and the failure threshold (model.rollouts, pure)."""

from __future__ import annotations

import pytest

from cairn.model import rollouts as model


@pytest.mark.parametrize(
    ("marks", "total", "ends"),
    [
        (["1", "10%", "50%", "100%"], 10, [1, 5, 10]),  # 10% of 10 is 1: no empty wave
        (["1", "10%", "50%", "100%"], 1000, [1, 100, 500, 1000]),
        (["1", "25%", "100%"], 10, [1, 3, 10]),  # rounded up
        (["100%"], 7, [7]),
        (["2", "5"], 10, [2, 5, 10]),  # members past the last mark: one more wave
        (["50"], 10, [10]),  # a count past the total ends at the total
        (["1", "100%"], 1, [1]),
    ],
)
def test_wave_ends(marks: list[str], total: int, ends: list[int]) -> None:
    assert model.wave_ends(marks, total) == ends
    waves = model.assign_waves(marks, total)
    assert len(waves) == total
    assert [waves.count(w) for w in range(len(ends))] == [
        end - start for start, end in zip([0, *ends], ends, strict=False)
    ]


@pytest.mark.parametrize(
    ("given", "total", "limit"),
    [("1", 10, 1), ("3", 10, 3), ("10%", 50, 5), ("10%", 10, 1), ("10%", 3, 1), ("50%", 5, 3)],
)
def test_failure_limit(given: str, total: int, limit: int) -> None:
    assert model.failure_limit(given, total) == limit


def test_settings_defaults_and_round_trip() -> None:
    chosen, problems = model.settings_from()
    assert problems == {} and chosen == model.Settings()
    assert (chosen.concurrency, chosen.waves, chosen.max_failures) == (20, ("100%",), "1")
    assert (chosen.on_failure, chosen.offline) == (model.OnFailure.PAUSE, model.Offline.SKIP)
    given, _ = model.settings_from(
        concurrency=5,
        waves="1, 10% ,100%",
        soak="2m",
        max_failures="10 %",
        on_failure="rollback",
        offline="wait",
    )
    assert given is not None
    assert given.waves == ("1", "10%", "100%") and given.soak == 120.0
    assert given.max_failures == "10%"
    assert model.Settings.from_json(given.to_json()) == given


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("concurrency", 0, "from 1 to"),
        ("concurrency", 10**6, "from 1 to"),
        ("waves", "1,,100%", "count like 5"),
        ("waves", "0,100%", "at least one member"),
        ("waves", "1,150%", "more than 100%"),
        ("waves", "", "count like 5"),
        ("soak", "soon", "duration like 30s"),
        ("soak", "8d", "between 0 and 7 days"),
        ("max_failures", "0", "at least 1"),
        ("max_failures", "-1", "count like 5"),
        ("on_failure", "retry", "pause, stop, rollback"),
        ("offline", "ignore", "skip, wait, fail"),
    ],
)
def test_bad_settings_name_the_field(field: str, value: object, said: str) -> None:
    chosen, problems = model.settings_from(**{field: value})  # type: ignore[arg-type]
    assert chosen is None
    assert list(problems) == [field] and said in problems[field], problems


def test_first_line() -> None:
    assert model.first_line("\n  boom: it failed \nTraceback ...") == "boom: it failed"
    assert model.first_line(None) is None and model.first_line("  \n") is None
