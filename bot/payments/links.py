"""A user's payment links, made once and handed out again while they are valid: a Stripe
Checkout Session per plan (24 hours by default, while Stripe still says `open`) and a Stars
invoice link. One request of a user makes each link; a second one at the same moment is
told to wait, in every instance (the claim is a row, taken by compare-and-set).

The rows live in payment_links, one per user and offer. A row without a url is a claim: a
request is making that link now (a claim older than CLAIM_SECONDS was left by a crash and is
taken over). The decision is pure (`verdict`); the shell reads, asks Stripe whether a
session is still open, claims, makes the missing links outside any transaction, and stores
them.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import users
from bot.accounts.attempt_limits import Limiter, limiter_for
from bot.core.errors import DomainError
from bot.core.settings import Settings
from bot.transactions.unit_of_work import UnitOfWork
from db.models import PaymentLink

# A request making a link holds its claim this long at most (Stripe's and Telegram's calls
# take well under it); after that a crashed request's claim is taken over.
CLAIM_SECONDS = 30
# A link this close to its end is not handed out: the user needs time to pay.
REUSE_MARGIN = timedelta(minutes=10)

_LINKS = cast(Table, PaymentLink.__table__)


# Per user, the requests that reach Stripe or make an invoice (/subscribe and its buttons,
# /manage's portal, the Mini App's checkout, portal and Stars invoice): five at once, then
# one every ten seconds. Reused links keep a second tap from making anything anyway.
PAY_BURST = 5
PAY_PER_SECOND = 1 / 10


class PleaseWaitError(DomainError):
    """Too many requests of this user just now, or one of theirs is making the same link:
    nothing was made; try again after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("billing.please_wait")
        self.retry_after = max(1, round(retry_after))


@dataclass(frozen=True, slots=True)
class Issued:
    """A link just made: its url, the Checkout Session's id, and when it stops working."""

    url: str
    ref: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Stored:
    url: str | None
    ref: str | None
    expires_at: datetime | None
    claim: str
    claimed_at: datetime


class Verdict(enum.StrEnum):
    REUSE = "reuse"  # a link still valid by its stored end (Stripe's is checked as well)
    BUSY = "busy"  # another request is making it
    MAKE = "make"  # none, expired, or a crashed request's claim


def verdict(stored: Stored | None, now: datetime) -> Verdict:
    """What to do for one offer, given its row."""
    if stored is None:
        return Verdict.MAKE
    if stored.url is None:
        # Either way: a claim dated ahead (written by a clock since put back, or another
        # instance's clock ahead) holds the user off no longer than one dated behind.
        fresh = abs(now - stored.claimed_at) < timedelta(seconds=CLAIM_SECONDS)
        return Verdict.BUSY if fresh else Verdict.MAKE
    if stored.expires_at is not None and stored.expires_at - REUSE_MARGIN > now:
        return Verdict.REUSE
    return Verdict.MAKE


def busy_for(stored: Stored, now: datetime) -> float:
    """Seconds until a claim is finished or can be taken over."""
    left = CLAIM_SECONDS - abs((now - stored.claimed_at).total_seconds())
    return max(1.0, min(float(CLAIM_SECONDS), left))


Make = Callable[[str], Awaitable[Issued]]
StillOpen = Callable[[Stored], Awaitable[bool]]


class PaymentLinks:
    """Hands out each user's links for a set of offers, making only those missing; and the
    per-user brake on requests that reach Stripe or make an invoice."""

    def __init__(self, uow: UnitOfWork, limiter: Limiter) -> None:
        self._uow = uow
        self._limiter = limiter

    async def brake(self, user_id: int) -> None:
        """Take one of the user's requests from their budget; PleaseWaitError when spent.
        Called once per request, before anything reaches Stripe or Telegram."""
        wait = await self._limiter.attempt(f"pay:{user_id}")
        if wait:
            raise PleaseWaitError(wait)

    async def get(
        self,
        user_id: int,
        offers: Sequence[str],
        make: Make,
        now: datetime,
        *,
        still_open: StillOpen | None = None,
    ) -> dict[str, str]:
        """The url of each offer: reused while valid, else made by `make(offer)`; raises
        PleaseWaitError (nothing made) while another request of the user makes one."""
        stored = await self._read(user_id, offers)
        reuse = await _reusable(stored, offers, now, still_open)
        missing = [offer for offer in offers if offer not in reuse]
        if not missing:
            return reuse
        claim = await self._claim(user_id, missing, stored, now)
        try:
            issued = await asyncio.gather(*(make(offer) for offer in missing))
        except Exception:  # nothing made: the next request need not wait for the claim
            await self._release(user_id, missing, claim)
            raise
        made = dict(zip(missing, issued, strict=True))
        await self._store(user_id, made, claim)
        return {**reuse, **{offer: link.url for offer, link in made.items()}}

    async def _read(self, user_id: int, offers: Sequence[str]) -> dict[str, Stored]:
        async with self._uow.reading() as session:
            rows = await session.execute(
                select(_LINKS).where(_LINKS.c.user_id == user_id, _LINKS.c.offer.in_(offers))
            )
            return {
                row.offer: Stored(row.url, row.ref, row.expires_at, row.claim, row.claimed_at)
                for row in rows
            }

    async def _claim(
        self, user_id: int, offers: list[str], seen: dict[str, Stored], now: datetime
    ) -> str:
        """Claim every offer in one transaction, each only if its row is still what was
        read; if another request got there first, none is claimed."""
        claim = secrets.token_hex(8)
        async with self._uow() as session:
            await users.ensure_user_id(await session.connection(), user_id)
            for offer in offers:
                if not await _take(session, user_id, offer, seen.get(offer), claim=claim, now=now):
                    raise PleaseWaitError(CLAIM_SECONDS / 10)  # rolls the others back
        return claim

    async def _store(self, user_id: int, made: dict[str, Issued], claim: str) -> None:
        async with self._uow() as session:
            for offer, issued in made.items():
                await session.execute(
                    update(_LINKS)
                    .where(_mine(user_id, offer, claim))
                    .values(url=issued.url, ref=issued.ref, expires_at=issued.expires_at)
                )

    async def _release(self, user_id: int, offers: list[str], claim: str) -> None:
        async with self._uow() as session:
            for offer in offers:
                await session.execute(delete(_LINKS).where(_mine(user_id, offer, claim)))


async def _reusable(
    stored: dict[str, Stored], offers: Sequence[str], now: datetime, still_open: StillOpen | None
) -> dict[str, str]:
    """The offers whose link can be handed out again; PleaseWaitError while another
    request is making one."""
    reuse: dict[str, str] = {}
    for offer in offers:
        row = stored.get(offer)
        decided = verdict(row, now)
        if row is None or decided is Verdict.MAKE:
            continue
        if decided is Verdict.BUSY:
            raise PleaseWaitError(busy_for(row, now))
        if row.url is not None and (still_open is None or await still_open(row)):
            reuse[offer] = row.url
    return reuse


def _mine(user_id: int, offer: str, claim: str) -> Any:
    return and_(_LINKS.c.user_id == user_id, _LINKS.c.offer == offer, _LINKS.c.claim == claim)


async def _take(
    session: AsyncSession,
    user_id: int,
    offer: str,
    seen: Stored | None,
    *,
    claim: str,
    now: datetime,
) -> bool:
    """Compare-and-set: a new row when there was none, else the row read, unchanged since."""
    values = {"url": None, "ref": None, "expires_at": None, "claim": claim, "claimed_at": now}
    if seen is None:
        dialect = session.get_bind().dialect.name
        insert = _insert_ignoring_conflicts(dialect)
        done = await session.execute(insert.values(user_id=user_id, offer=offer, **values))
    else:
        done = await session.execute(
            update(_LINKS).where(_mine(user_id, offer, seen.claim)).values(**values)
        )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _insert_ignoring_conflicts(dialect: str) -> Any:
    """INSERT .. ON CONFLICT (user_id, offer) DO NOTHING for this dialect (only the one in
    use is loaded, as db.engine.upsert_on does)."""
    module = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
    return module.insert(_LINKS).on_conflict_do_nothing(
        index_elements=[_LINKS.c.user_id, _LINKS.c.offer]
    )


def payment_links(settings: Settings, uow: UnitOfWork) -> PaymentLinks:
    """The links and the per-user brake: its budget shared by every instance on PostgreSQL,
    in this process on SQLite (one process)."""
    limiter = limiter_for(settings.database_url, uow, burst=PAY_BURST, per_second=PAY_PER_SECOND)
    return PaymentLinks(uow, limiter)
