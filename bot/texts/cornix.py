"""A signal and its follow-ups as auto-trading bots read them (SIGNAL_STYLE=cornix); pure.

The rules and their sources are in bot/signals/cornix.py. The layout:

    <b>BTC/USDT</b> Long #17          the pair with a slash first, then the side
    Timeframe: 4h                     words of ours, before the first keyword, where no
    Note: breakout retest             bot looks for prices (the note holds none of its words)

    Leverage: Isolated (5x)
    Entry Zone: 65000-65500           or "Entry Targets:" and "1) 65000"

    Take-Profit Targets:
    1) 67000                          one price a line, nearest first
    2) 69000

    Stop Targets:
    1) 63500

The keywords (Leverage, Isolated, Entry Zone, Entry Targets, Take-Profit Targets, Stop
Targets, Long, Short, Close, Cancel) are English in every language on purpose: the bots
read English keywords, so they are not in the catalogue. The words only people read
(the timeframe's and the note's labels, what an update says) come from the catalogue.
Nothing after the first keyword but keywords and prices, so no word or number of ours is
taken for an order.
"""

from __future__ import annotations

import html

from bot.signals import cornix as rules
from bot.signals.spec import SignalSpec
from bot.signals.syntax import plain_number
from bot.texts import Html, t

SIDES = {"long": "Long", "short": "Short"}  # the words Cornix reads for the side
# Every word this module writes itself, English in every language (the pseudo-language
# test allows these and nothing else outside the catalogue).
KEYWORDS = (
    *SIDES.values(),
    "Leverage:",
    rules.MARGIN,
    "Entry Zone:",
    "Entry Targets:",
    "Take-Profit Targets:",
    "Stop Targets:",
    "Close",
    "Cancel",
)


def name(symbol: str) -> str:
    """The pair as bots read it (BTC/USDT); a symbol without a known quote as it is."""
    return rules.pair(symbol) or symbol


def body(spec: SignalSpec, signal_id: int | None = None) -> Html:
    """The signal: what a person reads first, then the levels a bot reads."""
    number = f" #{signal_id}" if signal_id is not None else ""
    head = [Html(f"<b>{html.escape(name(spec.symbol))}</b> {SIDES[spec.side]}{number}")]
    if spec.timeframe:
        head.append(t("signal.cornix.timeframe", timeframe=spec.timeframe))
    if spec.note:
        head.append(t("signal.cornix.note", note=spec.note))
    blocks = ["\n".join(head), "\n".join(_entry(spec)), _targets(spec), _stop(spec)]
    return Html("\n\n".join(blocks))


def _entry(spec: SignalSpec) -> list[str]:
    lines = []
    if spec.leverage is not None:
        # "Leverage" with the margin type and the multiplier (Leverage article).
        lines.append(f"<b>Leverage:</b> {rules.MARGIN} ({plain_number(spec.leverage)}x)")
    if spec.is_range:
        # "100-200" alone is two entries; "zone" makes it one range (Signal Posting).
        low, high = plain_number(spec.entry_low), plain_number(spec.entry_high)
        lines.append(f"<b>Entry Zone:</b> {low}-{high}")
    else:
        lines += ["<b>Entry Targets:</b>", f"1) {plain_number(spec.entry_low)}"]
    return lines


def _targets(spec: SignalSpec) -> str:
    numbered = [f"{n}) {plain_number(tp)}" for n, tp in enumerate(spec.take_profits, 1)]
    return "\n".join(["<b>Take-Profit Targets:</b>", *numbered])


def _stop(spec: SignalSpec) -> str:
    return f"<b>Stop Targets:</b>\n1) {plain_number(spec.stop_loss)}"


def exit_command(kind: str, closed: bool) -> str | None:
    """The word that ends a followed trade, for an update that ends ours: a reply saying
    CLOSE or CANCEL closes the signal for everyone following it (Signal Cancellation).
    None for a take-profit that leaves the rest of the trade running: its text must then
    hold no such word, or a bot would sell what is meant to ride to the next target."""
    if kind == "cancel":
        return "Cancel"
    if kind in {"sl", "close"} or closed:
        return "Close"
    return None


def update_body(symbol: str, kind: str, closed: bool, described: Html) -> Html:
    """A follow-up: the exit command and the pair first (when the trade is over), then
    what happened in the reader's words (`described`, from bot/texts/signals.py)."""
    command = exit_command(kind, closed)
    if command is None:
        return described
    return Html(f"{command} {html.escape(name(symbol))}\n{described}")
