"""Group commit for the agents' polls and acknowledgements (``agents.Batched``): requests
arriving while a batch is written go together in the next one, each gets its own answer
or its own error."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from cairn import errors
from cairn.services import agents


def _recorder(delay: float = 0.05) -> tuple[list[list[str]], agents.Batched[str, str]]:
    calls: list[list[str]] = []

    def write(items: list[str]) -> list[str | Exception]:
        calls.append(list(items))
        time.sleep(delay)  # a transaction: the next requests gather meanwhile
        return [ValueError(f"refused {i}") if i.startswith("bad") else i.upper() for i in items]

    return calls, agents.Batched(write, "test-batched")


def test_requests_arriving_meanwhile_share_a_batch_and_get_their_own_answers() -> None:
    calls, batched = _recorder()

    async def go() -> list[str | BaseException]:
        return await asyncio.gather(
            *(batched(f"bad{i}" if i == 7 else f"r{i}") for i in range(50)),
            return_exceptions=True,
        )

    try:
        answers = asyncio.run(go())
    finally:
        batched.close()
    assert answers[:7] == [f"R{i}" for i in range(7)]
    assert isinstance(answers[7], ValueError) and str(answers[7]) == "refused bad7"
    assert answers[8:] == [f"R{i}" for i in range(8, 50)]
    assert sorted(i for call in calls for i in call) == sorted(
        ["bad7", *(f"r{i}" for i in range(50) if i != 7)]
    )
    assert len(calls) <= 3, calls  # not one transaction per request


def test_a_failed_batch_fails_each_of_its_requests_and_the_next_batch_works() -> None:
    failing = threading.Event()
    failing.set()

    def write(items: list[str]) -> list[str | Exception]:
        if failing.is_set():
            failing.clear()
            raise errors.Unavailable("the store is busy")
        return list(items)

    batched: agents.Batched[str, str] = agents.Batched(write, "test-failing")

    async def go() -> tuple[BaseException | str, str]:
        first = (await asyncio.gather(batched("a"), return_exceptions=True))[0]
        return first, await batched("b")

    try:
        first, second = asyncio.run(go())
    finally:
        batched.close()
    assert isinstance(first, errors.Unavailable)
    assert second == "b"


def test_after_close_requests_are_refused() -> None:
    _calls, batched = _recorder(delay=0)
    assert asyncio.run(batched("x")) == "X"
    batched.close()
    with pytest.raises(errors.Unavailable):
        asyncio.run(batched("y"))
