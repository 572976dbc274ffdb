"""A signal given field by field (the Mini App's composer), checked by the line's own rules.

The composer sends what its fields hold; `read_form` turns them into the words the line
would have had (bot/signals/syntax.py `SignalWords`) and `build_spec` checks them, so a
signal is the same signal whichever way it was written. A mistake comes back as a
FormError naming the field (and the row of a list) the admin has to change: the rules name
the offending word, and `_place` finds the field that word came from. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.signals.spec import SignalSpec
from bot.signals.syntax import SignalSyntaxError, SignalWords, build_spec, check_symbol

# The composer's fields, as the API names them (webapp/API.md).
FIELDS = (
    "symbol",
    "side",
    "entry",
    "stop_loss",
    "take_profits",
    "leverage",
    "timeframe",
    "note",
)
MAX_ENTRIES = 2  # one price, or the two ends of a zone

# The line's keyword of each field that has one.
_KEYWORD_FIELDS = {
    "entry": "entry",
    "sl": "stop_loss",
    "tp": "take_profits",
    "lev": "leverage",
    "tf": "timeframe",
}
# Rules whose field is known from the rule alone.
_RULE_FIELDS = {
    "syntax.symbol": "symbol",
    "syntax.pair": "symbol",
    "syntax.side": "side",
    "syntax.entry_shape": "entry",
    "syntax.entry_order": "entry",
    "syntax.entries_two": "entry",
    "syntax.long_sl": "stop_loss",
    "syntax.short_sl": "stop_loss",
    "syntax.long_tp": "take_profits",
    "syntax.short_tp": "take_profits",
    "syntax.tp_order": "take_profits",
    "syntax.too_many_tps": "take_profits",
    "syntax.leverage": "leverage",
    "syntax.timeframe": "timeframe",
    "syntax.note_long": "note",
    "syntax.note_char": "note",
    "syntax.note_bot_word": "note",
}


@dataclass(frozen=True, slots=True)
class SignalForm:
    """The composer's fields as text, as typed (an empty optional field is None)."""

    symbol: str
    side: str
    entry: tuple[str, ...]
    stop_loss: str
    take_profits: tuple[str, ...]
    leverage: str | None = None
    timeframe: str | None = None
    note: str | None = None


class FormError(ValueError):
    """A field the rules refuse: `field` (one of FIELDS, or None when no single field is
    to blame), `index` (the row of entry or take_profits), and the rule's own error."""

    def __init__(self, error: SignalSyntaxError, field: str | None, index: int | None) -> None:
        super().__init__(f"{field}[{index}]: {error}")
        self.error = error
        self.field = field
        self.index = index


def read_form(form: SignalForm, *, for_bots: bool = False) -> SignalSpec:
    """The checked spec, or FormError at the field to change."""
    try:
        return build_spec(_words(form), for_bots=for_bots)
    except SignalSyntaxError as error:
        field, index = _place(error, form)
        raise FormError(error, field, index) from None


def _words(form: SignalForm) -> SignalWords:
    """The form as the line's words; what the line could not hold is refused here."""
    symbol = check_symbol(form.symbol.strip())
    side = form.side.strip().lower()
    if side not in {"long", "short"}:
        raise SignalSyntaxError(form.side, "syntax.side")
    entry = [price.strip() for price in form.entry]
    if len(entry) > MAX_ENTRIES:
        raise SignalSyntaxError(entry[MAX_ENTRIES], "syntax.entries_two")
    for price in entry:
        # A zone is one word of the line, "low-high": a dash inside one price would split it.
        if "-" in price or not price:
            raise SignalSyntaxError(price, "syntax.price_shape", what="entry")
    values: dict[str, list[str]] = {}
    if entry:
        values["entry"] = ["-".join(entry)]
    if form.stop_loss.strip():
        values["sl"] = [form.stop_loss.strip()]
    if form.take_profits:
        values["tp"] = [price.strip() for price in form.take_profits]
    for keyword, text in (("lev", form.leverage), ("tf", form.timeframe)):
        if text is not None and text.strip():
            values[keyword] = [text.strip()]
    return SignalWords(symbol, side, values, _note(form.note))


def _note(note: str | None) -> str | None:
    """A note reads as it would on the line: one line, its spaces single."""
    joined = " ".join(note.split()) if note is not None else ""
    return joined or None


def _place(error: SignalSyntaxError, form: SignalForm) -> tuple[str | None, int | None]:
    """The field (and row) the refused word came from."""
    field = _RULE_FIELDS.get(error.key)
    keyword = error.params.get("keyword") or error.params.get("what")
    if field is None and isinstance(keyword, str):
        field = _KEYWORD_FIELDS.get(keyword.split()[0])
    rows = {"entry": form.entry, "take_profits": form.take_profits}
    if field is not None:
        return field, _row(rows.get(field, ()), error.token)
    # A price the rules found out of bounds (a result, the spread): wherever it was written.
    singles = {"stop_loss": form.stop_loss, "leverage": form.leverage}
    for name in ("entry", "stop_loss", "take_profits", "leverage"):
        if name in rows and (index := _row(rows[name], error.token)) is not None:
            return name, index
        if singles.get(name) is not None and (singles[name] or "").strip() == error.token:
            return name, None
    return None, None


def _row(prices: tuple[str, ...], token: str) -> int | None:
    stripped = [price.strip() for price in prices]
    return stripped.index(token) if token in stripped else None
