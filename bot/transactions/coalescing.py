"""Requests made together share one query: a Coalescer (the DataLoader pattern).

Long polling hands the bot up to a hundred updates at once, and aiogram runs each as a
task; under load, webhook requests overlap the same way. Each of them registering its
user, or reading its own entitlements, in a transaction of its own paid SQLAlchemy's
session, BEGIN and COMMIT every time: on a small machine ~1 ms of CPU apiece, more than
aiogram's whole handling of the update. A Coalescer collects the keys asked for during one
turn of the event loop and answers them all from one `load(keys)`, one transaction:
per update, what is left is its own row.

What a caller gets is what the load returned for its key, after the load's transaction
committed. If the load fails, every caller of that batch gets its error (a database fault
then retries each update as before); a key asked for twice in one batch is loaded once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
A = TypeVar("A")
V = TypeVar("V")

Load = Callable[[Mapping[K, A]], Awaitable[Mapping[K, V]]]

MAX_BATCH = 500  # keys per load (an IN list, a multi-row INSERT): far under SQL's limits


class Coalescer(Generic[K, A, V]):
    """`await coalescer(key, arg)`: the value `load` gave for `key`, loaded together with
    every other key asked for in the same turn of the event loop. For a key asked for
    twice in one batch, the later `arg` is the one loaded."""

    def __init__(self, load: Load[K, A, V], *, max_batch: int = MAX_BATCH) -> None:
        self._load = load
        self._max_batch = max_batch
        self._pending: dict[K, A] = {}
        self._waiting: dict[K, list[asyncio.Future[V]]] = {}
        self._scheduled: asyncio.Handle | None = None
        self._loads: set[asyncio.Task[None]] = set()  # held: the loop keeps weak refs only

    async def __call__(self, key: K, arg: A) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._pending[key] = arg
        self._waiting.setdefault(key, []).append(future)
        if len(self._pending) >= self._max_batch:
            self._start()
        elif self._scheduled is None:
            # call_soon runs after every task already scheduled for this turn: the other
            # updates of the same getUpdates batch get to ask first.
            self._scheduled = loop.call_soon(self._start)
        return await future

    def _start(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        batch, waiting = self._pending, self._waiting
        self._pending, self._waiting = {}, {}
        task = asyncio.get_running_loop().create_task(self._run(batch, waiting))
        self._loads.add(task)
        task.add_done_callback(self._loads.discard)

    async def _run(self, batch: dict[K, A], waiting: dict[K, list[asyncio.Future[V]]]) -> None:
        try:
            values = await self._load(batch)
        except Exception as error:
            for future in _undecided(waiting):
                future.set_exception(error)
            return
        except BaseException:
            for future in _undecided(waiting):
                future.cancel()
            raise  # cancellation and exits go on up
        for key, futures in waiting.items():
            for future in futures:
                if future.done():  # its caller went away (cancelled)
                    continue
                if key in values:
                    future.set_result(values[key])
                else:
                    future.set_exception(LookupError(f"the load gave nothing for {key!r}"))


def _undecided(waiting: Mapping[K, list[asyncio.Future[V]]]) -> list[asyncio.Future[V]]:
    return [future for futures in waiting.values() for future in futures if not future.done()]
