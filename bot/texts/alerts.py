"""How TradingView alerts read to the admins: a signal's preview with Send (the one /signal
shows), and why an alert was refused (the words the chat's syntax errors use)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.core.errors import DomainError
from bot.notices import params as shapes
from bot.signals.spec import spec_from_params
from bot.signals.syntax import SignalSyntaxError
from bot.texts import Html, keyboards, t
from bot.texts import signals as signal_texts


def preview(p: shapes.AlertPreview) -> tuple[str, InlineKeyboardMarkup | None]:
    """An alert's signal, kept as a draft: the preview and Send (`held`: it was to go out
    at once, but the posting limit said no; Send works again in a moment)."""
    count = int(p["recipients"])
    held = p.get("held")
    reason = t("alert.held", reason=t("signal.too_many", **held)) if held else Html("")
    shown = signal_texts.preview(spec_from_params(p["spec"]), count)
    text = t("alert.preview", held=reason, preview=shown)
    return text, keyboards.signal_preview(int(p["id"]), count)


def problem(p: shapes.AlertProblem) -> tuple[str, InlineKeyboardMarkup | None]:
    """Why an alert was refused, worded as the chat words the same mistake."""
    params = dict(p.get("params") or {})
    token = str(p.get("token") or "")
    if p.get("state"):
        words = signal_texts.state_problem(DomainError(p["key"], **params))
    else:
        words = signal_texts.problem(SignalSyntaxError(token, p["key"], **params))
    where = t("signal.syntax_where", token=token) if token else Html("")
    return t("alert.problem", where=where, problem=words, excerpt=str(p["excerpt"])), None
