"""Follow-ups in SIGNAL_STYLE=cornix: a reply that ends our trade says Close (or Cancel) and
the pair, which closes it for whoever follows it with a bot (Cornix's Signal Cancellation
rule); a take-profit that leaves the rest running says no such word in any language. And
SIGNAL_STYLE=classic reads exactly as before."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core.languages import LANGUAGES
from bot.core.settings import SettingsError, load_settings
from bot.signals.syntax import SignalSyntaxError, parse_signal
from bot.signals.updates import parse_update
from bot.texts import CATALOGUE, Html
from bot.texts import signals as texts
from tests.support.cornix_reader import plain_text, reply_command

LINE = "BTCUSDT long entry 65000-65500 sl 63500 tp 67000 69000 lev 5 tf 4h note breakout"


class Updated:
    """A signal as an update left it (what the outbox row carries)."""

    def __init__(self, status: str, closed: bool, pct: str | None, r: str | None) -> None:
        self.id, self.symbol, self.side = 17, "BTCUSDT", "long"
        self.status, self.closed_at = status, (1 if closed else None)
        self.result_pct = Decimal(pct) if pct else None
        self.result_r = Decimal(r) if r else None


# kind, price, closed, what a bot following the signal does on the reply
UPDATES = [
    ("tp1", "67000", False, None),
    ("tp2", "69000", True, "close"),
    ("sl", "63500", True, "close"),
    ("close", "66000", True, "close"),
    ("cancel", None, True, "cancel"),
]


@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize(("kind", "price", "closed", "command"), UPDATES)
def test_an_update_closes_a_followed_trade_only_when_ours_ended(
    language: str, kind: str, price: str | None, closed: bool, command: str | None
) -> None:
    signal = Updated(kind, closed, "3.08", "1.33")
    note = parse_update(f"17 {kind} {price or ''} move the stop up", for_bots=True).note
    with CATALOGUE.use_locale(language):
        text = texts.update_body(
            signal, kind, Decimal(price) if price else None, note, style="cornix"
        )
    assert reply_command(text) == command
    if command is None:  # not even a word a loose bot could take for one ("closed")
        assert not any(word in text.lower() for word in ("close", "cancel", "exit"))
    else:
        first = plain_text(text).splitlines()[0]
        assert first == f"{command.capitalize()} BTC/USDT"


def test_a_take_profit_note_that_would_close_the_trade_is_refused() -> None:
    with pytest.raises(SignalSyntaxError) as raised:
        parse_update("17 tp1 closed half, let the rest run", for_bots=True)
    assert (raised.value.token, raised.value.key) == ("closed", "syntax.update_exit_word")
    # A stop or a close ends the trade anyway; without bots the words are harmless.
    assert parse_update("17 sl close everything", for_bots=True).note == "close everything"
    assert parse_update("17 tp1 closed half").note == "closed half"


def test_classic_reads_as_before() -> None:
    """SIGNAL_STYLE=classic: today's texts, word for word (taken from the code before the
    Cornix style)."""
    spec = parse_signal(LINE)
    with CATALOGUE.use_locale("en"):
        body = texts.body(spec, 17, style="classic")
        update = texts.update_body(
            Updated("tp2", True, "6.15", "2.67"), "tp2", Decimal(69000), "done", style="classic"
        )
    assert body == (
        "🟢 <b>LONG BTCUSDT</b>  #17\nEntry: <b>65000 – 65500</b>\nStop loss: <b>63500</b>\n"  # noqa: RUF001
        "TP1: <b>67000</b>\nTP2: <b>69000</b>\nLeverage: 5x · Timeframe: 4h\n📝 breakout"
    )
    assert update == (
        "🎯 BTCUSDT #17: <b>TP2 hit</b> at <b>69000</b> (+6.15 %, +2.67 R) — all targets "
        "hit, trade closed\n📝 done"
    )


def test_signal_style_is_cornix_unless_set_and_reads_any_case() -> None:
    assert load_settings(_env_file=None, bot_token="1:x").signal_style == "cornix"
    assert load_settings(
        _env_file=None, bot_token="1:x", signal_style=" Classic "
    ).signal_style == ("classic")
    with pytest.raises(SettingsError, match="^SIGNAL_STYLE: must be one of cornix, classic$"):
        load_settings(_env_file=None, bot_token="1:x", signal_style="fancy")


def test_the_style_set_at_start_up_is_the_one_rendered() -> None:
    spec = parse_signal(LINE)
    before = texts.current_style()
    try:
        with CATALOGUE.use_locale("en"):
            texts.use_style("classic")
            classic: Html = texts.body(spec, 17)
            texts.use_style("cornix")
            cornix: Html = texts.body(spec, 17)
    finally:
        texts.use_style(before)
    assert classic.startswith("🟢 <b>LONG BTCUSDT</b>")
    assert cornix.startswith("<b>BTC/USDT</b> Long #17")
    with pytest.raises(ValueError, match="unknown signal style"):
        texts.use_style("fancy")
