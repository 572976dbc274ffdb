"""Follow-ups on a signal: the `/update` syntax, and what an update makes of a signal.

Pure: `apply_update` takes the signal as it stands and returns its new status and result,
or raises the reason it cannot take the update; bot.signals.service loads, applies, saves
and queues the threaded follow-ups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.core.errors import DomainError
from bot.core.ids import parse_row_id
from bot.signals import cornix
from bot.signals.results import ResultOutOfRangeError, result_at
from bot.signals.spec import SignalSpec
from bot.signals.syntax import SignalSyntaxError, check_note, parse_price, plain_number
from db.models import SignalStatus

UPDATE_SYNTAX = (
    "/update ID tp1|tp2..|sl [price] [note] · /update ID close PRICE [note] · "
    "/update ID cancel [note]"
)
FINAL = frozenset({SignalStatus.STOPPED, SignalStatus.CLOSED, SignalStatus.CANCELLED})

_TP = re.compile(r"^tp([1-9][0-9]?)$")
# ASCII digits only; parse_row_id keeps it within the integer id column.
_ID = re.compile(r"#?([0-9]{1,10})")
_NUMBER_LIKE = re.compile(r"^[0-9][0-9.,]*$")


class SignalNotFoundError(DomainError):
    pass


class SignalStateError(DomainError):
    """The signal cannot take this action in its current state (e.g. Send pressed twice)."""


@dataclass(frozen=True, slots=True)
class UpdateCommand:
    signal_id: int
    kind: str  # tp1.., sl, close, cancel
    price: Decimal | None
    note: str | None


@dataclass(frozen=True, slots=True)
class SignalState:
    """What an update looks at: the levels as posted, and how far the trade has come."""

    signal_id: int
    spec: SignalSpec
    status: str
    tp_hit: int
    closed: bool


@dataclass(frozen=True, slots=True)
class Outcome:
    """The signal after the update."""

    status: str
    tp_hit: int
    closed: bool
    price: Decimal | None  # where it happened (the level, unless a price was given)
    result_pct: Decimal | None
    result_r: Decimal | None


def parse_update(text: str, *, for_bots: bool = False) -> UpdateCommand:
    """Read `/update 17 tp1 [price] [note]` and its siblings. `for_bots`: a take-profit's
    note may not hold a word that closes a followed trade (bot/signals/cornix.py)."""
    tokens = text.split()
    if tokens and tokens[0].lower().split("@")[0] == "/update":
        tokens = tokens[1:]
    if not tokens:
        raise SignalSyntaxError("", "syntax.update_which")
    match = _ID.fullmatch(tokens[0])
    signal_id = parse_row_id(match.group(1)) if match else None
    if signal_id is None:
        raise SignalSyntaxError(tokens[0], "syntax.update_id")
    if len(tokens) < 2:
        raise SignalSyntaxError(tokens[0], "syntax.update_what")
    kind, price, rest = _kind_and_price(tokens[1], tokens[2:])
    note = _checked_note(kind, " ".join(rest), for_bots=for_bots)
    return UpdateCommand(signal_id, kind, price, note)


def build_update(
    signal_id: int, kind: str, price: str | None, note: str | None, *, for_bots: bool = False
) -> UpdateCommand:
    """An update given by its parts (the Mini App's buttons), held to parse_update's rules:
    the same kinds, the price read as /update reads it (required to close), the same note."""
    word = kind.lower()
    if not (word in {"sl", "close", "cancel"} or _TP.match(word)):
        raise SignalSyntaxError(kind, "syntax.update_kind")
    if word == "close" and not price:
        raise SignalSyntaxError(kind, "syntax.update_close")
    what = "close price" if word == "close" else f"{word} price"
    value = parse_price(price, what) if price and word != "cancel" else None
    checked = _checked_note(word, note or "", for_bots=for_bots)
    return UpdateCommand(signal_id, word, value, checked)


def _checked_note(kind: str, text: str, *, for_bots: bool) -> str | None:
    """An update's note (None when blank), as the chat and the Mini App both take it."""
    note = " ".join(text.split()) or None
    if note is None:
        return None
    check_note(note)
    # A take-profit leaves the rest of the trade running; "close" in its reply would make a
    # following bot sell it all. (The last take-profit ends the trade, and its follow-up
    # says Close itself.)
    word = cornix.exit_word(note) if for_bots and kind.startswith("tp") else None
    if word is not None:
        raise SignalSyntaxError(word, "syntax.update_exit_word", word=word)
    return note


def _kind_and_price(word: str, rest: list[str]) -> tuple[str, Decimal | None, list[str]]:
    kind = word.lower()
    if kind == "close":
        if not rest:
            raise SignalSyntaxError(word, "syntax.update_close")
        return kind, parse_price(rest[0], "close price"), rest[1:]
    if kind == "sl" or _TP.match(kind):
        # A number-like word is the price (and must be a valid one); anything else, such as
        # "1st target", starts the note.
        if rest and _NUMBER_LIKE.match(rest[0]):
            return kind, parse_price(rest[0], f"{kind} price"), rest[1:]
        return kind, None, rest
    if kind != "cancel":
        raise SignalSyntaxError(word, "syntax.update_kind")
    return kind, None, rest


def apply_update(signal: SignalState, command: UpdateCommand) -> Outcome:
    """The signal after `command`, or SignalStateError / SignalSyntaxError saying why not."""
    if signal.status in FINAL or signal.closed:
        raise SignalStateError("signal.already", id=signal.signal_id, status=signal.status)
    spec, price = signal.spec, command.price
    status, tp_hit, closed = signal.status, signal.tp_hit, True
    if command.kind.startswith("tp"):
        tp_hit = _take_profit(signal, int(command.kind[2:]))
        price = price or spec.take_profits[tp_hit - 1]
        status, closed = command.kind, tp_hit == len(spec.take_profits)
    elif command.kind == "sl":
        price, status = price or spec.stop_loss, SignalStatus.STOPPED
    elif command.kind == "close":
        status = SignalStatus.CLOSED
    elif signal.tp_hit:
        raise SignalStateError("signal.close_instead", id=signal.signal_id, n=signal.tp_hit)
    else:
        status = SignalStatus.CANCELLED
    pct, r = _results(spec, price)
    return Outcome(status, tp_hit, closed, price, pct, r)


def possible_updates(signal: SignalState) -> list[str]:
    """The updates `apply_update` takes for the signal as it stands, in the order a card
    offers them: the take-profits not yet reported, the stop, a close, and a cancel before
    any take-profit. Nothing once it is over."""
    if signal.status in FINAL or signal.closed:
        return []
    count = len(signal.spec.take_profits)
    kinds = [f"tp{n}" for n in range(signal.tp_hit + 1, count + 1)]
    kinds += ["sl", "close"]
    if not signal.tp_hit:
        kinds.append("cancel")
    return kinds


def _take_profit(signal: SignalState, number: int) -> int:
    count = len(signal.spec.take_profits)
    if number > count:
        raise SignalSyntaxError(
            f"tp{number}", "syntax.update_tp_count", id=signal.signal_id, count=count
        )
    if number <= signal.tp_hit:
        raise SignalStateError("signal.tp_reported", n=number, id=signal.signal_id)
    return number


def _results(spec: SignalSpec, price: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    if price is None:
        return None, None
    try:
        return result_at(spec, price)
    except ResultOutOfRangeError as error:
        raise SignalSyntaxError(
            plain_number(price), "syntax.result_range", **error.describe()
        ) from None
