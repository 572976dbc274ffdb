"""The Coalescer on its own: what is asked for in one turn of the event loop is loaded once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from bot.transactions.coalescing import Coalescer


class Loads:
    """A load that records each batch it was given and answers key * 10 + arg."""

    def __init__(self, *, fail_with: Exception | None = None, skip: int | None = None) -> None:
        self.batches: list[dict[int, int]] = []
        self.fail_with = fail_with
        self.skip = skip
        self.started = asyncio.Event()  # a load has begun
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, batch: Mapping[int, int]) -> dict[int, int]:
        self.batches.append(dict(batch))
        self.started.set()
        await self.release.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return {key: key * 10 + arg for key, arg in batch.items() if key != self.skip}


async def test_keys_asked_for_together_share_one_load() -> None:
    loads = Loads()
    coalescer: Coalescer[int, int, int] = Coalescer(loads)
    values = await asyncio.gather(*(coalescer(key, 1) for key in range(5)))
    assert values == [1, 11, 21, 31, 41]
    assert loads.batches == [{0: 1, 1: 1, 2: 1, 3: 1, 4: 1}]


async def test_a_key_asked_for_twice_is_loaded_once_with_the_later_argument() -> None:
    loads = Loads()
    coalescer: Coalescer[int, int, int] = Coalescer(loads)
    values = await asyncio.gather(coalescer(7, 1), coalescer(8, 1), coalescer(7, 2))
    assert list(values) == [72, 81, 72]
    assert loads.batches == [{7: 2, 8: 1}]


async def test_what_is_asked_while_a_load_runs_goes_in_the_next() -> None:
    loads = Loads()
    loads.release.clear()
    coalescer: Coalescer[int, int, int] = Coalescer(loads)
    first = asyncio.gather(coalescer(1, 0), coalescer(2, 0))
    await loads.started.wait()
    second = asyncio.gather(coalescer(3, 0))
    loads.release.set()
    assert list(await first) == [10, 20]
    assert list(await second) == [30]
    assert loads.batches == [{1: 0, 2: 0}, {3: 0}]


async def test_a_full_batch_goes_at_once() -> None:
    loads = Loads()
    coalescer: Coalescer[int, int, int] = Coalescer(loads, max_batch=3)
    values = await asyncio.gather(*(coalescer(key, 0) for key in range(7)))
    assert values == [key * 10 for key in range(7)]
    assert [sorted(batch) for batch in loads.batches] == [[0, 1, 2], [3, 4, 5], [6]]


async def test_a_failed_load_fails_every_caller_of_its_batch_and_only_those() -> None:
    loads = Loads(fail_with=ConnectionError("database down"))
    coalescer: Coalescer[int, int, int] = Coalescer(loads)
    results = await asyncio.gather(coalescer(1, 0), coalescer(2, 0), return_exceptions=True)
    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    loads.fail_with = None
    assert await coalescer(1, 0) == 10  # the next batch is loaded afresh


async def test_a_key_the_load_left_out_is_an_error_for_its_caller_alone() -> None:
    coalescer: Coalescer[int, int, int] = Coalescer(Loads(skip=2))
    results = await asyncio.gather(coalescer(1, 0), coalescer(2, 0), return_exceptions=True)
    assert results[0] == 10
    assert isinstance(results[1], LookupError) and "2" in str(results[1])


async def test_a_caller_that_goes_away_leaves_the_others_their_answers() -> None:
    loads = Loads()
    loads.release.clear()
    coalescer: Coalescer[int, int, int] = Coalescer(loads)
    leaving = asyncio.create_task(coalescer(1, 0))
    staying = asyncio.create_task(coalescer(2, 0))
    await loads.started.wait()
    leaving.cancel()
    loads.release.set()
    assert await staying == 20
    with pytest.raises(asyncio.CancelledError):
        await leaving
