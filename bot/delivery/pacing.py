"""How fast the delivery worker may send: the rate budget, 429 pauses, and the back-off
while Telegram cannot be used at all."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.delivery.adaptive import AdaptiveRate
from bot.delivery.plan import chat_interval
from bot.delivery.verdicts import Action, Verdict

log = logging.getLogger(__name__)

UNAVAILABLE_FIRST_PAUSE = 1.0
UNAVAILABLE_MAX_PAUSE = 60.0


def backoff(attempts: int) -> timedelta:
    """A message's retry delay: 2, 4, 8 ... seconds, capped at 10 minutes."""
    return timedelta(seconds=min(2**attempts, 600))


class SendPacer:
    """Spaces sends evenly at `rate` per second; `pause` holds every send (a 429's
    retry_after, or Telegram being unreachable). With `adaptive` (DELIVERY_RATE=auto) the
    rate is the one learnt from Telegram's answers (bot/delivery/adaptive.py)."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        adaptive: AdaptiveRate | None = None,
    ) -> None:
        self._adaptive = adaptive
        self._fixed = rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._paused_until = 0.0

    @property
    def rate(self) -> float:
        return self._adaptive.rate if self._adaptive is not None else self._fixed

    @property
    def learns(self) -> bool:
        """Whether the rate is learnt from Telegram's answers (DELIVERY_RATE=auto)."""
        return self._adaptive is not None

    @property
    def learnt(self) -> float | None:
        """The ceiling learnt from Telegram's 429s (auto only; None before the first)."""
        return self._adaptive.ceiling if self._adaptive is not None else None

    def resume(self, ceiling: float) -> None:
        """Start from a ceiling learnt before (auto only; a fixed rate stays as set)."""
        if self._adaptive is not None:
            self._adaptive.resume(ceiling)

    def sent(self, started: float) -> None:
        """Telegram accepted the send that set out at `started` (this pacer's clock)."""
        if self._adaptive is not None:
            self._adaptive.sent(started)

    def throttled(self, retry_after: float, started: float) -> None:
        """A 429 for the send that set out at `started`: pause every send, and (auto) slow
        down. The sends already in flight when it came draw their own 429s in the same
        pause: one lesson, not one each."""
        if self._adaptive is not None and self.paused_for() == 0:
            self._adaptive.throttled(started)
        self.pause(retry_after)

    def pause(self, seconds: float) -> None:
        until = self._clock() + seconds
        self._next = max(self._next, until)
        self._paused_until = max(self._paused_until, until)

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when sending may go on)."""
        return max(0.0, self._paused_until - self._clock())

    async def acquire(self) -> None:
        # Reserve a slot first, then sleep until it: concurrent callers queue in order.
        now = self._clock()
        slot = max(self._next, now)
        self._next = slot + 1.0 / self.rate
        if slot > now:
            await self._sleep(slot - now)


# Telegram counts a chat's second from when a message arrives, a sender from when it set
# out; two sends' trips differ by milliseconds, so a reserved turn keeps this much spare.
TURN_MARGIN = 0.1


class ChatPace:
    """When each chat was last sent to, shared by everything in this process that sends to
    chats: the delivery worker and the handlers' direct replies (bot/chat/replies.py).
    Telegram's one message per second per chat counts both; a reply sent 0.8 s after the
    worker's message to the same chat met a 429 before they shared this.

    A reply waits for its turn behind the worker's last message to the chat, and the worker
    waits a second behind a reply; replies are not spaced behind each other. A person who
    sends two commands at once gets both answers at once, as Telegram lets a private chat
    have a short burst; should it answer 429 the reply waits it out (replies.py). Spacing
    them cost every such pair a second (bench.updates: 1,236 -> 809 updates/s)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        # Oldest first; only the last second matters, so they hold about `rate` chats, not
        # every subscriber (20,000 entries were ~2 MB). `last_sent`: every send and
        # reserved reply (what the worker's plan reads); `_worker`: the worker's own.
        self.last_sent: OrderedDict[int, float] = OrderedDict()
        self._worker: OrderedDict[int, float] = OrderedDict()
        self._monotonic = monotonic

    def note(self, chat_id: int) -> float:
        """The worker's send to `chat_id` sets out now; returns now (this pace's clock)."""
        now = self._monotonic()
        for sends in (self.last_sent, self._worker):
            sends[chat_id] = now
            sends.move_to_end(chat_id)
        return now

    def reserve(self, chat_id: int) -> float:
        """A reply's turn: seconds to wait before sending (0: at once). The turn counts as a
        send for the worker, which waits behind it."""
        now = self._monotonic()
        last = self._worker.get(chat_id)
        turn = now if last is None else max(now, last + chat_interval(chat_id) + TURN_MARGIN)
        self.last_sent[chat_id] = max(turn, self.last_sent.get(chat_id, turn))
        self.last_sent.move_to_end(chat_id)
        return turn - now

    def forget_before(self, moment: float) -> None:
        for sends in (self.last_sent, self._worker):
            while sends and next(iter(sends.values())) < moment:
                sends.popitem(last=False)


class UnavailableBackoff:
    """While Telegram cannot be used: 1, 2, 4 ... 60 s between tries, reset by a success."""

    def __init__(self) -> None:
        self._next = UNAVAILABLE_FIRST_PAUSE
        self.streak = 0

    def next_pause(self) -> float:
        pause, self._next = self._next, min(self._next * 2, UNAVAILABLE_MAX_PAUSE)
        self.streak += 1
        return pause

    def reset(self) -> None:
        self._next = UNAVAILABLE_FIRST_PAUSE
        self.streak = 0


class Pauses:
    """What a failed send pauses: a 429 its own lane (the free rate, or Telegram's paid lane,
    which has a limit of its own), Telegram unreachable every lane, 1, 2, 4 ... 60 s."""

    def __init__(self, free: SendPacer, paid: SendPacer) -> None:
        self._free = free
        self._paid = paid
        self.unavailable = UnavailableBackoff()

    def after(self, verdict: Verdict, started: float, *, paid: bool) -> float:
        """Pause for a 429 or an unusable Telegram; returns the pause in seconds."""
        if verdict.action is Action.PAUSE:
            lane = "paid" if paid else "all"
            log.warning("429 from Telegram: pausing %s sends for %ss", lane, verdict.retry_after)
            (self._paid if paid else self._free).throttled(verdict.retry_after, started)
            return verdict.retry_after
        current = self._free.paused_for()
        if current > 0:
            return current  # the other sends in flight when it went: one step, not sixteen
        pause = self.unavailable.next_pause()
        self._free.pause(pause)
        self._paid.pause(pause)
        level = logging.ERROR if verdict.reason.startswith("401") else logging.WARNING
        log.log(
            level,
            "Telegram cannot be used (%s): pausing all sends for %.0f s",
            verdict.reason,
            pause,
        )
        return pause
