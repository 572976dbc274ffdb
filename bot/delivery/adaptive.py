"""DELIVERY_RATE=auto: the send rate learnt from Telegram's answers (pure, no clock).

Telegram documents about 30 messages a second per bot and publishes no exact figure; a
fixed rate must sit well under a limit nobody knows, and a 429 costs a whole pause. So the
rate starts under the documented figure and finds the real one:

- until the first 429 it grows by GROWTH each step (a step: about a second's sends);
- a 429 marks the rate that drew it as the ceiling and drops to BACK_OFF of it, on top of
  the pause the 429 orders (the rate that drew it would draw the next one too);
- below the ceiling it creeps back by CREEP a step, up to MARGIN of the ceiling;
- after PROBE_AFTER sends without a 429 it tries the ceiling PROBE higher, in case the
  limit rose (or the first 429 came from a burst, not the rate).

Against a limit between 20 and 40 a second with a jittery round trip this holds about
96 % of it with well under one 429 per 1,000 messages (tests/test_adaptive_rate.py
simulates it; bench/delivery.py measures it against the fake Bot API).
"""

from __future__ import annotations

START = 25.0  # under Telegram's documented ~30/s
FLOOR = 1.0
TOP = 60.0  # twice the documented rate: no bot is allowed more without paid broadcasts
GROWTH = 1.08
BACK_OFF = 0.95
CREEP = 1.02
MARGIN = 0.98
PROBE_AFTER = 4_000
PROBE = 1.01


class AdaptiveRate:
    """The rate to send at now; told of each accepted send and each 429."""

    def __init__(self, start: float = START) -> None:
        self.rate = start
        self.ceiling: float | None = None  # the rate that drew the last 429
        self._since_step = 0
        self._clean = 0  # sends since the last 429 or probe

    def sent(self) -> None:
        self._since_step += 1
        self._clean += 1
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

    def throttled(self) -> None:
        """A 429: the rate that drew it is the ceiling for now."""
        self.ceiling = self.rate
        self.rate = max(FLOOR, self.rate * BACK_OFF)
        self._since_step = 0
        self._clean = 0
