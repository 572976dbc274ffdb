"""The audit log in words: /audit's list and the lines of a user's timeline."""

from __future__ import annotations

import html

from bot.texts import Html, format_moment, t
from db.models import AuditEntry


def who(entry: AuditEntry) -> Html | str:
    """An admin by their Telegram id, a tool by its name (cli, tradingview, prices)."""
    if entry.actor == "admin" and entry.actor_id is not None:
        return t("audit.by_admin", id=entry.actor_id)
    return entry.actor


def line(entry: AuditEntry) -> Html:
    # Both parts are ours: the catalogue's words and a target like "signal:17".
    detail = str(t("audit.user", user=entry.subject_id)) if entry.subject_id else ""
    if entry.target:
        detail += f" · {html.escape(entry.target)}"
    return t("audit.line", at=format_moment(entry.at), who=who(entry), action=entry.action,
             detail=Html(detail))  # fmt: skip


def latest(entries: list[AuditEntry]) -> Html:
    if not entries:
        return t("audit.empty")
    return Html("\n".join([t("audit.title"), *(line(entry) for entry in entries)]))
