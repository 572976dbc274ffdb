"""Reconciliation of Stars: read the bot's transactions (getStarTransactions, 100 a page)
from where the last run stopped, and book every payment and refund the bot missed (it was
down, or an update was lost) through the same ledger writes as the live updates.

The cursor is the number of transactions read (Telegram lists them oldest first, and the
offset counts from the first), kept in `sync_cursors`; a run never reads from the start
again. Refunds still owed (star_payments.duplicate_of set, refunded_at NULL) are tried
again from the ledger on every run, wherever the cursor is. A dry run books nothing and
leaves the cursor where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import cast

from aiogram import Bot
from aiogram.types import StarTransaction, TransactionPartnerUser
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.stars import rules
from bot.stars.service import StarsService
from bot.transactions.unit_of_work import UnitOfWork
from db.engine import upsert
from db.models import StarPayment, SyncCursor

CURSOR = "stars_transactions"
PAGE = 100  # getStarTransactions' largest page
_CURSORS = cast(Table, SyncCursor.__table__)
_SAVE_CURSOR = upsert(_CURSORS, _CURSORS.c.name, update=["position", "updated_at"])


@dataclass
class StarsReport:
    read: int = 0
    changed: list[str] = field(default_factory=list)

    def summary(self, *, dry_run: bool) -> str:
        verb = "would book" if dry_run else "booked"
        return f"read {self.read} Stars transactions: {verb} {len(self.changed)} missed"


def _payment(tx: StarTransaction) -> rules.Payment | None:
    """An incoming subscription payment of ours, as the live update would have told it."""
    source = tx.source
    if (
        not isinstance(source, TransactionPartnerUser)
        or source.transaction_type != "invoice_payment"
    ):
        return None
    period = source.subscription_period or rules.SUBSCRIPTION_PERIOD
    paid_at = tx.date if isinstance(tx.date, datetime) else datetime.fromtimestamp(tx.date, UTC)
    return rules.Payment(
        charge_id=tx.id,
        user_id=source.user.id,
        amount=tx.amount,
        paid_until=paid_at + timedelta(seconds=period),
        recurring=None,  # the list does not say; the ledger decides by the date
        paid_at=paid_at,
    )


def _payment_line(
    tx: StarTransaction, user_id: int, *, new: bool, owed: bool, refunded: bool | None
) -> str | None:
    """The report's line for a payment: booked, a payment owed back (booked now, or before
    with its refund still owed) and what its refund did (`refunded` None: a dry run), or
    None when there was nothing to do."""
    head = f"stars {tx.id} (user {user_id}): "
    if new:
        second = f", a second subscription: {_outcome(refunded)}" if owed else ""
        return f"{head}payment of {tx.amount} booked{second}"
    return f"{head}second subscription, refund owed: {_outcome(refunded)}" if owed else None


def _outcome(refunded: bool | None) -> str:
    """What the report says of a refund owed: only what actually happened."""
    if refunded is None:
        return "to refund"
    return "refunded" if refunded else "refund failed, still owed"


def _refund(tx: StarTransaction) -> int | None:
    """The user a refund went to (an outgoing transaction to a user, under the id of the
    payment it returns)."""
    if tx.source is None and isinstance(tx.receiver, TransactionPartnerUser):
        return tx.receiver.user.id
    return None


def _note(report: StarsReport, line: str | None, on_change: Callable[[str], None] | None) -> None:
    if line is not None:
        report.changed.append(line)
        if on_change is not None:
            on_change(line)


class StarsReconciler:
    def __init__(
        self,
        bot: Bot,
        stars: StarsService,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._bot = bot
        self._stars = stars
        self._sessions = session_factory
        self._now = now

    async def run(
        self, *, dry_run: bool, on_change: Callable[[str], None] | None = None
    ) -> StarsReport:
        report = StarsReport()
        async with self._sessions() as session:
            offset = (
                await session.scalar(select(SyncCursor.position).where(SyncCursor.name == CURSOR))
                or 0
            )
        tried: set[str] = set()  # refunds owed that this run tried already
        while True:
            page = await self._bot.get_star_transactions(offset=offset, limit=PAGE)
            # A payment whose refund is on the same page is booked in the ledger only: the
            # user is not told "access started" (nor the referrer paid) to take it back.
            refunds = {tx.id for tx in page.transactions if _refund(tx) is not None}
            for tx in page.transactions:
                line = await self._book(tx, dry_run=dry_run, refunds=refunds, tried=tried)
                _note(report, line, on_change)
            report.read += len(page.transactions)
            offset += len(page.transactions)
            if not dry_run:
                await self._save(offset)
            if len(page.transactions) < PAGE:
                break
        for line in await self._owed(dry_run=dry_run, tried=tried):
            _note(report, line, on_change)
        return report

    async def _book(
        self, tx: StarTransaction, *, dry_run: bool, refunds: set[str], tried: set[str]
    ) -> str | None:
        payment, refunded_to = _payment(tx), _refund(tx)
        if payment is None and refunded_to is None:
            return None
        owed = new = False
        async with self._sessions() as session:
            transaction = await session.begin()
            if payment is not None:
                payment = replace(payment, refund_listed=tx.id in refunds)
                booked = await self._stars.record_payment(session, payment, self._now())
                owed, new = booked.duplicate, booked.new
                line = _payment_line(tx, payment.user_id, new=new, owed=owed, refunded=None)
            else:
                assert refunded_to is not None  # noqa: S101 - one of the two, checked above
                line = await self._booked_refund(session, tx, refunded_to)
            await (transaction.rollback() if dry_run or line is None else transaction.commit())
        if owed and payment is not None and not dry_run:  # after the commit: a Bot API call
            tried.add(tx.id)
            refunded = await self._stars.undo_duplicate(
                self._bot, UnitOfWork(self._sessions), payment.user_id, tx.id, self._now()
            )
            line = _payment_line(tx, payment.user_id, new=new, owed=owed, refunded=refunded)
        return line

    async def _owed(self, *, dry_run: bool, tried: set[str]) -> list[str]:
        """Refunds still owed in the ledger (a second subscription, a renewal of a refunded
        one) that this run's transactions did not name: their charge was read by an
        earlier run whose refund failed, or by a live update; try each once more."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(StarPayment.charge_id, StarPayment.user_id)
                    .where(
                        StarPayment.duplicate_of.is_not(None),
                        StarPayment.refunded_at.is_(None),
                    )
                    .order_by(StarPayment.id)
                )
            ).all()
        lines = []
        for charge_id, user_id in rows:
            if charge_id in tried:
                continue
            refunded = None
            if not dry_run:
                refunded = await self._stars.undo_duplicate(
                    self._bot, UnitOfWork(self._sessions), user_id, charge_id, self._now()
                )
            head = f"stars {charge_id} (user {user_id}): "
            lines.append(f"{head}second subscription, refund owed: {_outcome(refunded)}")
        return lines

    async def _booked_refund(
        self, session: AsyncSession, tx: StarTransaction, user_id: int
    ) -> str | None:
        payment = await session.scalar(select(StarPayment).where(StarPayment.charge_id == tx.id))
        if payment is None or payment.refunded_at is not None:
            return None
        await self._stars.book_refund(session, user_id, tx.id, now=self._now())
        return f"stars {tx.id} (user {user_id}): refund of {payment.amount} booked"

    async def _save(self, position: int) -> None:
        async with self._sessions() as session, session.begin():
            connection = await session.connection()
            await connection.execute(
                _SAVE_CURSOR[connection.dialect.name],
                {"name": CURSOR, "position": position, "updated_at": self._now()},
            )
