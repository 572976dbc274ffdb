"""How signals, their follow-ups and the track record read (HTML, from the catalogue)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from html import unescape
from typing import TYPE_CHECKING, Protocol

from bot.core.errors import DomainError
from bot.signals.spec import SignalSpec
from bot.signals.syntax import SignalSyntaxError, plain_number
from bot.texts import Html, cornix, t, tn
from db.models import SignalStatus

if TYPE_CHECKING:  # the delivery worker renders signals without the signal service
    from bot.signals.service import Performance

# Telegram's limit for a message, in characters after the HTML is parsed. Every text we
# build stays under it: a signal with ten take-profits and a 500-character note is about
# 1,100; three of those under a list of ten would not be.
MAX_MESSAGE = 4096

_ICON = {"long": "🟢", "short": "🔴"}
_STATUS_KEYS: dict[str, str] = {
    SignalStatus.OPEN: "signal.status.open",
    SignalStatus.STOPPED: "signal.status.stopped",
    SignalStatus.CLOSED: "signal.status.closed",
    SignalStatus.CANCELLED: "signal.status.cancelled",
}


class SignalLike(Protocol):
    """A stored signal, or the same fields carried by an outbox row."""

    @property
    def id(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def closed_at(self) -> object: ...
    @property
    def result_pct(self) -> Decimal | None: ...
    @property
    def result_r(self) -> Decimal | None: ...


def visible_length(html_text: str) -> int:
    """What Telegram counts: characters (UTF-16 code units) once tags and entities go."""
    plain = unescape(re.sub(r"<[^>]*>", "", html_text))
    return len(plain.encode("utf-16-le")) // 2


def fit_within(head: str, title: str, blocks: Sequence[str], limit: int = MAX_MESSAGE) -> Html:
    """`head`, then `title` and as many of `blocks` as fit in one message."""
    shown: list[str] = []
    for block in blocks:
        candidate = head + title + "\n\n" + "\n\n".join([*shown, block])
        if visible_length(candidate) > limit:
            break
        shown.append(block)
    return Html(head + title + "\n\n" + "\n\n".join(shown) if shown else head)


def signed(value: Decimal, suffix: str) -> str:
    sign = "+" if value > 0 else ""
    return f"{sign}{value.normalize():f}{suffix}" if value != 0 else f"0{suffix}"


def result(pct: Decimal | None, r: Decimal | None) -> Html:
    if pct is None or r is None:
        return Html("")
    cents = Decimal("0.01")
    return t(
        "signal.result", pct=signed(pct.quantize(cents), " %"), r=signed(r.quantize(cents), " R")
    )


# How signals read (SIGNAL_STYLE): set once by the composition root (bot.app.build and the
# worker's process), as the brand is; a renderer may also be asked for a style by name.
STYLES = ("cornix", "classic")
_style = {"name": "cornix"}


def use_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown signal style {style!r}")
    _style["name"] = style


def current_style() -> str:
    return _style["name"]


def body(spec: SignalSpec, signal_id: int | None = None, *, style: str | None = None) -> Html:
    """The signal as subscribers see it, in SIGNAL_STYLE (or `style`)."""
    if (style or _style["name"]) == "cornix":
        return cornix.body(spec, signal_id)
    return classic_body(spec, signal_id)


def classic_body(spec: SignalSpec, signal_id: int | None = None) -> Html:
    """The signal as it read before SIGNAL_STYLE (`classic`): for people only."""
    number = t("signal.number", id=signal_id) if signal_id is not None else ""
    entry = (
        t(
            "signal.entry_range",
            low=plain_number(spec.entry_low),
            high=plain_number(spec.entry_high),
        )
        if spec.is_range
        else plain_number(spec.entry_low)
    )
    lines = [
        t(
            "signal.head",
            icon=_ICON[spec.side],
            side=t(f"side.{spec.side}"),
            symbol=spec.symbol,
            number=number,
        ),
        t("signal.entry", entry=entry),
        t("signal.stop", price=plain_number(spec.stop_loss)),
    ]
    lines += [
        t("signal.take_profit", n=i, price=plain_number(tp))
        for i, tp in enumerate(spec.take_profits, 1)
    ]
    extras = []
    if spec.leverage is not None:
        extras.append(t("signal.leverage", leverage=plain_number(spec.leverage)))
    if spec.timeframe:
        extras.append(t("signal.timeframe", timeframe=spec.timeframe))
    if extras:
        lines.append(Html(" · ".join(extras)))
    if spec.note:
        lines.append(t("signal.note", note=spec.note))
    return Html("\n".join(lines))


def preview(spec: SignalSpec, recipients: int) -> Html:
    return tn("signal.preview", recipients, body=body(spec))


def _status_word(status: str, *, closed: bool = False) -> Html | None:
    """A signal's status in words; None for a code the catalogue does not know."""
    if status.startswith("tp") and status[2:].isdigit():
        key = "signal.status.tp_hit_closed" if closed else "signal.status.tp_hit"
        return t(key, n=int(status[2:]))
    status_key = _STATUS_KEYS.get(status)
    return t(status_key) if status_key else None


def status_label(signal: SignalLike) -> Html:
    word = _status_word(signal.status, closed=bool(signal.closed_at))
    return word if word is not None else Html(signal.status)


def state_problem(error: DomainError) -> Html:
    """Why a signal could not be sent, discarded or updated; a status in it in words."""
    params = dict(error.params)
    status = params.get("status")
    word = _status_word(status) if isinstance(status, str) else None
    if word is not None:
        params["status"] = word
    return t(error.key, **params)


def list_line(signal: SignalLike) -> Html:
    return t(
        "signal.line",
        icon=_ICON.get(signal.side, ""),
        id=signal.id,
        symbol=signal.symbol,
        side=signal.side,
        status=status_label(signal),
        result=result(signal.result_pct, signal.result_r),
    )


def update_body(
    signal: SignalLike,
    kind: str,
    price: Decimal | None,
    note: str | None,
    *,
    style: str | None = None,
) -> Html:
    """A follow-up, sent as a reply to each subscriber's own copy of the signal."""
    if (style or _style["name"]) == "cornix":
        described = _described(cornix.name(signal.symbol), signal, kind, price, note)
        return cornix.update_body(signal.symbol, kind, bool(signal.closed_at), described)
    return _described(signal.symbol, signal, kind, price, note)


def _described(
    symbol: str, signal: SignalLike, kind: str, price: Decimal | None, note: str | None
) -> Html:
    """What happened, in the reader's words."""
    head = t("update.head", symbol=symbol, id=signal.id)
    at = t("update.at", price=plain_number(price)) if price is not None else Html("")
    outcome = result(signal.result_pct, signal.result_r)
    if kind.startswith("tp"):
        final = t("update.all_targets") if signal.closed_at else Html("")
        text = t("update.tp", head=head, n=int(kind[2:]), at=at, result=outcome, final=final)
    elif kind == "sl":
        text = t("update.stopped", head=head, at=at, result=outcome)
    elif kind == "close":
        text = t("update.closed", head=head, at=at, result=outcome)
    else:
        text = t("update.cancelled", head=head)
    return Html(text + t("update.note", note=note)) if note else text


def performance(rows: list[Performance]) -> Html:
    """The /performance table: closed signals only, by closing date."""
    if all(row.count == 0 for row in rows):
        return t("performance.empty")
    lines = [t("performance.title")]
    for row in rows:
        window = window_label(row.label)
        if row.count == 0:
            lines.append(t("performance.window_empty", window=window))
            continue
        assert row.avg_r is not None and row.win_rate is not None
        total = signed(row.total_r.quantize(Decimal("0.01")), " R")
        lines.append(
            tn(
                "performance.window",
                row.count,
                window=window,
                win_rate=row.win_rate,
                avg=signed(row.avg_r, " R"),
                total=total,
            )
        )
    return Html("\n".join(lines))


def window_label(window: str) -> Html:
    """A track-record window's name: "7d" -> "7 days"."""
    return t(f"window.{window}")


def syntax_error(error: SignalSyntaxError, syntax: str) -> Html:
    where = t("signal.syntax_where", token=error.token) if error.token else Html("")
    return t("signal.syntax_error", where=where, problem=problem(error), syntax=syntax)


def problem(error: SignalSyntaxError) -> Html:
    """What is wrong with the line, in words (a count in it read in its plural form)."""
    params = dict(error.params)
    count = params.pop("count", None)
    if isinstance(count, int):
        return tn(error.key, count, **params)
    return t(error.key, **params)
