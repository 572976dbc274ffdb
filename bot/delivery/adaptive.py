"""DELIVERY_RATE=auto: the send rate learnt from Telegram's answers (pure, no clock).

Telegram documents about 30 messages a second per bot and publishes no exact figure; a
fixed rate must sit well under a limit nobody knows, and a 429 costs a whole pause. So the
rate starts just under the documented figure (MARGIN of it: a fresh install's first
broadcast goes at 98 % of a 30/s limit with no 429) and finds the real one:

- it holds there for HOLD_SENDS sends (a first broadcast of a few hundred subscribers is
  over by then), then, still without a 429, grows by GROWTH each step (a step: about a
  second's sends), in case the bot is allowed more;
- a 429 marks the rate that drew it as the ceiling and drops to BACK_OFF of it, on top of
  the pause the 429 orders (the rate that drew it would draw the next one too), or to
  BACK_OFF_BELOW when it came below the previous ceiling (the limit is lower than thought:
  starting above a low limit, it is found in two or three 429s, not six);
- below the ceiling it creeps back by CREEP a step, up to MARGIN of the ceiling;
- after PROBE_AFTER sends without a 429 it tries the ceiling PROBE higher, in case the
  limit rose (or the first 429 came from a burst, not the rate).

Against a limit between 20 and 40 a second with a jittery round trip this holds about
96 % of it with well under one 429 per 1,000 messages (tests/flows/test_adaptive_rate.py
simulates it; bench/delivery/adaptive.py measures it against the fake Bot API).
"""

from __future__ import annotations

from collections import deque

DOCUMENTED = 30.0  # core.telegram.org/bots/faq: "no more than 30 messages per second"
MARGIN = 0.98
START = DOCUMENTED * MARGIN
HOLD_SENDS = 300  # sends at START before looking higher (10 s at 30/s)
FLOOR = 1.0
TOP = 60.0  # twice the documented rate: no bot is allowed more without paid broadcasts
GROWTH = 1.08
BACK_OFF = 0.95
BACK_OFF_BELOW = 0.85  # a 429 below the last ceiling: the limit is lower than thought
CREEP = 1.02
PROBE_AFTER = 4_000
PROBE = 1.01
MIN_OBSERVED = 3
# A 429 comes when Telegram's one-second window is full, so its oldest send is at the
# window's edge: counted over a second and a little, it is not lost to the round trip's
# jitter (sends are 25 ms apart and more at these rates: the little adds no other).
COUNTED_FOR = 1.02


class AdaptiveRate:
    """The rate to send at now; told of each accepted send and each 429, with the time
    (seconds, any monotonic clock)."""

    def __init__(self, start: float = START) -> None:
        self.rate = start
        self.ceiling: float | None = None  # the rate that drew the last 429
        self._since_step = 0
        self._clean = 0  # sends since the last 429 or probe
        self._held = HOLD_SENDS  # sends left before looking above the start
        # Accepted sends of the last second: at a 429 from a one-second window, their count
        # is the limit itself (a 429's pause is a second at least, so the window a 429
        # comes from holds only sends made since the last pause, all of them counted here).
        self._recent: deque[float] = deque()

    def resume(self, ceiling: float) -> None:
        """Start from a ceiling learnt before (by another process that had the sending
        turn, or this one before a restart): just under it, creeping and probing as after
        a 429 of its own, rather than growing into a 429 to find it again."""
        self.ceiling = min(TOP, max(FLOOR, ceiling))
        self.rate = max(FLOOR, self.ceiling * MARGIN)
        self._recent.clear()
        self._since_step = 0
        self._clean = 0
        self._held = 0

    def _observed(self, now: float) -> float | None:
        """Sends accepted in the last second (None: too few to say anything)."""
        while self._recent and self._recent[0] <= now - COUNTED_FOR:
            self._recent.popleft()
        return float(len(self._recent)) if len(self._recent) >= MIN_OBSERVED else None

    def sent(self, now: float) -> None:
        self._recent.append(now)
        self._since_step += 1
        self._clean += 1
        if self._held:
            self._held -= 1
            return
        if self._since_step < self.rate:  # a step is about a second's worth of sends
            return
        self._since_step = 0
        if self.ceiling is None:
            self.rate = min(TOP, self.rate * GROWTH)
            return
        if self._clean >= PROBE_AFTER:
            self.ceiling = min(TOP, self.ceiling * PROBE)
            self._clean = 0
        self.rate = min(self.ceiling * MARGIN, self.rate * CREEP)

    def throttled(self, now: float) -> None:
        """A 429: the limit is what was accepted in the last second (else the rate)."""
        observed = self._observed(now)
        if observed is not None:
            self.ceiling = min(self.rate, observed)
            self.rate = max(FLOOR, self.ceiling * BACK_OFF)
        else:
            # Not crept back yet since the last one: the limit is lower than that ceiling.
            below = self.ceiling is not None and self.rate <= self.ceiling * BACK_OFF * 1.001
            self.ceiling = self.rate
            self.rate = max(FLOOR, self.rate * (BACK_OFF_BELOW if below else BACK_OFF))
        self._recent.clear()
        self._since_step = 0
        self._clean = 0
        self._held = 0
