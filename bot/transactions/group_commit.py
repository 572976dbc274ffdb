"""Group commit: many small units of work share one transaction.

The one mechanism behind both hot write paths. Stripe webhooks on SQLite: one writer, so
concurrent webhooks run one after another anyway, and what each pays on top of its own
statements is a transaction of its own (session, BEGIN IMMEDIATE, COMMIT), about a sixth
of its time. Delivery records: one "sent" transaction per message capped delivery well
under 1,000/s. Here the units waiting at any moment run in order in one transaction, and
each caller hears back only after that transaction has committed, so an acknowledgement
still means "stored".

A batch goes at the next turn of the event loop, or, with `linger`, up to that long later
for company, unless `ready(queued)` says to go now (see nudge()).

A unit may also say how to run a whole batch of its kind in one call (`together`, see
SetWork): Stripe webhooks then apply a batch set by set, one statement per table for the
whole batch, instead of each event's own statements one after the other.

If anything in a batch fails, nothing of it was committed, and each unit is run again in a
transaction of its own: one bad unit fails alone and the others are not held back by it.

On PostgreSQL, with several instances, two batches can each hold a row the other needs
(events of two users, arriving in opposite orders): PostgreSQL would break that deadlock
only after its deadlock_timeout (a second). With `lock_timeout_ms` a batch gives up
waiting for a lock after that long instead, and its units run again each in a transaction
of its own, all at once, each waiting as long as it takes: the one that needs the held row
waits for it, the others are stored meanwhile. There a lane also keeps its connection from
one batch to the next while units keep coming (KEEP_CONNECTION_IDLE): a checkout from the
pool costs a round trip (its liveness ping) a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from db.faults import describe_fault

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]
Together = Callable[[AsyncSession, Sequence[Any]], Awaitable[Sequence[Any]]]

MAX_BATCH = 32
RERUNS_AT_ONCE = 8  # a failed batch's units re-run concurrently (PostgreSQL), this many
KEEP_CONNECTION_IDLE = 0.5  # seconds a lane keeps its connection with nothing to do


class ShutDownError(Exception):
    """The process stopped before this unit ran; nothing of it was stored."""


class SetWork(Protocol):
    """A unit of work (called with a session, alone) that can also run with the others of
    its batch in one call: `together(session, works)` answers each work's result, in
    order. A batch goes together when all its works name the same `together`."""

    def __call__(self, session: AsyncSession) -> Awaitable[Any]: ...

    @property
    def together(self) -> Together: ...


def _together(batch: Sequence[_Pending[Any]]) -> Together | None:
    """The `together` every work of the batch names, if they all name one."""
    first = getattr(batch[0].work, "together", None)
    if first is None or any(getattr(p.work, "together", None) != first for p in batch):
        return None
    together: Together = first
    return together


class _HeldConnection:
    """A lane's own connection (PostgreSQL), kept from one batch to the next while the
    lane has work: no pool checkout, with its liveness ping, for each batch. Given back
    when the lane ends; dropped after a failure (it may be the connection that failed)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def get(self) -> AsyncConnection:
        if self._connection is None:
            self._connection = await self._engine.connect()
        return self._connection

    async def drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()
            await connection.close()

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


class _Pending(Generic[T]):
    __slots__ = ("future", "work")

    def __init__(self, work: Work[T], future: asyncio.Future[T]) -> None:
        self.work = work
        self.future = future

    def settle(self, result: T) -> None:
        if not self.future.done():  # the caller may have gone (client disconnected)
            self.future.set_result(result)

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class GroupCommit:
    """Runs submitted units of work in shared transactions, in submission order."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        max_batch: int = MAX_BATCH,
        linger: float = 0.0,
        ready: Callable[[int], bool] | None = None,
        lock_timeout_ms: int | None = None,
        lanes: int = 1,
    ) -> None:
        self._session_factory = session_factory
        # Batches run at once, each in its own transaction (PostgreSQL; SQLite has one
        # writer): with 2, one runs its statements while the other waits for its COMMIT.
        self._lanes = lanes
        # PostgreSQL only (see the module's docstring); an int, so safe in the SET. There,
        # each lane also keeps a connection while it has work.
        self._lock_timeout = (
            text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
            if lock_timeout_ms is not None
            else None
        )
        bind = session_factory.kw.get("bind")
        self._engine = bind if isinstance(bind, AsyncEngine) else None
        self._closing = False
        self._max_batch = max_batch
        self._linger = linger
        self._ready = ready
        self._go = asyncio.Event()
        self._arrived = asyncio.Event()  # a unit was queued (a lane keeping a connection waits)
        self._queue: list[_Pending[Any]] = []
        # The batch each running lane has taken.
        self._batches: dict[asyncio.Task[None], list[_Pending[Any]]] = {}

    async def run(self, work: Work[T]) -> T:
        """Run `work(session)` in a transaction; return its result once committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(work, future))
        self._arrived.set()
        # done(), not the entries: a lane that has just ended is still listed until its
        # done callback runs, and a unit queued in between must not wait for nobody.
        if sum(not runner.done() for runner in self._batches) < self._lanes:
            runner = asyncio.create_task(self._drain(), name="group-commit")
            self._batches[runner] = []
            runner.add_done_callback(self._runner_done)
        self.nudge()
        return await future

    def nudge(self) -> None:
        """Go now, without the rest of the linger, if `ready` says the batch is complete."""
        if self._queue and self._ready is not None and self._ready(len(self._queue)):
            self._go.set()

    async def _gather(self) -> None:
        """Let the units that arrive meanwhile join this batch: on SQLite the statements
        run on this thread, so a batch is one long step of the loop."""
        if self._linger <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._go.wait(), self._linger)
        self._go.clear()

    async def _drain(self) -> None:
        lane = asyncio.current_task()
        assert lane is not None
        while self._queue:
            held = None
            if self._lock_timeout is not None and self._engine is not None:
                held = _HeldConnection(self._engine)
            try:
                while await self._next(held is not None):
                    await self._gather()
                    batch = self._queue[: self._max_batch]
                    del self._queue[: self._max_batch]
                    if not batch:
                        break  # another lane took them
                    self._batches[lane] = batch
                    await self._run_batch(batch, held)
                    self._batches[lane] = []
            finally:
                if held is not None:
                    # Units queued meanwhile saw this lane running and started none:
                    # the outer loop takes them.
                    await held.release()

    async def _next(self, keeping: bool) -> bool:
        """Whether there is more to do; a lane keeping a connection waits a moment for it
        (the callers of the last batch are answering, their next events on the way)."""
        if self._queue or not keeping or self._closing:
            return bool(self._queue)
        self._arrived.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), KEEP_CONNECTION_IDLE)
        return bool(self._queue)

    async def close(self) -> None:
        """Let idle lanes end now, giving back the connections they keep; wait for them."""
        self._closing = True
        self._arrived.set()
        await asyncio.gather(*list(self._batches), return_exceptions=True)

    def _runner_done(self, runner: asyncio.Task[None]) -> None:
        """Cancelled (shutting down), perhaps before it even started: nobody waits forever."""
        batch = self._batches.pop(runner, [])
        if runner.cancelled():
            # The batch in progress too, wherever the cancellation caught it (in the shared
            # transaction or re-running one unit alone): fail() skips those already answered.
            for pending in [*batch, *self._queue]:
                pending.fail(ShutDownError("shutting down; not applied"))
            self._queue.clear()

    async def _run_batch(self, batch: list[_Pending[Any]], held: _HeldConnection | None) -> None:
        try:
            results = await self._run_together(batch, held)
        except Exception as error:
            if held is not None:
                await held.drop()  # the failure may be the connection's
            if len(batch) == 1:
                batch[0].fail(error)
                return
            log.info(
                "a batch of %d failed (%s); running each on its own",
                len(batch),
                describe_fault(error),
            )
            await self._rerun(batch)
            return
        for pending, result in zip(batch, results, strict=True):
            pending.settle(result)

    async def _run_together(
        self, batch: list[_Pending[Any]], held: _HeldConnection | None
    ) -> list[Any]:
        """The batch in one transaction (on the lane's connection, if it holds one); each
        unit's result, once committed."""
        bind = {"bind": await held.get()} if held is not None else {}
        results: list[Any] = []
        async with self._session_factory(**bind) as session, session.begin():
            if self._lock_timeout is not None and len(batch) > 1:
                await session.execute(self._lock_timeout)
            together = _together(batch) if len(batch) > 1 else None
            if together is not None:
                results = list(await together(session, [p.work for p in batch]))
            else:
                for pending in batch:
                    results.append(await pending.work(session))
        return results

    async def _rerun(self, batch: list[_Pending[Any]]) -> None:
        """Each unit of a failed batch in a transaction of its own, with no lock timeout."""
        if self._lock_timeout is not None:
            # PostgreSQL: each on its own connection at once (a few at a time: the pool
            # is shared), so one waiting for a held row keeps none waiting.
            room = asyncio.Semaphore(RERUNS_AT_ONCE)

            async def alone(pending: _Pending[Any]) -> None:
                async with room:
                    await self._run_alone(pending)

            await asyncio.gather(*(alone(pending) for pending in batch))
            return
        for pending in batch:  # SQLite: one connection, one at a time anyway
            await self._run_alone(pending)

    async def _run_alone(self, pending: _Pending[Any]) -> None:
        try:
            async with self._session_factory() as session, session.begin():
                result = await pending.work(session)
        except Exception as error:
            pending.fail(error)
        else:
            pending.settle(result)
