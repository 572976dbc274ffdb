"""How /revoke and /user read (HTML, from the catalogue)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.texts import Html, format_date, format_moment, t
from bot.texts import audit as audit_texts
from bot.texts.billing import state_label
from bot.texts.labels import delivery_label, kind_label, source_label

if TYPE_CHECKING:
    from bot.accounts.subscribers import Revoked, Timeline

MAX_ERROR = 80


def revoked(user_id: int, result: Revoked) -> Html:
    text = t("revoke.done", user=user_id, sources=", ".join(result.sources))
    if result.stripe_still_active:
        return Html(text + "\n" + t("revoke.stripe_remains"))
    return text


def timeline(found: Timeline) -> Html:
    user = found.user
    lines = [
        t(
            "user.header",
            user=user.id,
            name=user.first_name or "",
            username=f"@{user.username}" if user.username else "",
            joined=format_date(user.created_at),
        ),
        t("user.premium_on" if found.has_access else "user.premium_off"),
    ]
    if user.blocked_at is not None:
        lines.append(t("user.blocked", date=format_date(user.blocked_at)))
    lines.append(t("user.entitlements"))
    for row in found.entitlements:
        ends = format_date(row.expires_at) if row.expires_at else t("user.no_end")
        lines.append(
            t(
                "user.entitlement",
                source=source_label(row.source),
                state=state_label(row.status),
                ends=ends,
                ref=row.source_ref or "",
            )
        )
    if not found.entitlements:
        lines.append(t("user.none"))
    lines.append(t("user.events"))
    for event in found.events:
        error = f" — {event.error[:MAX_ERROR]}" if event.error else ""  # escaped by t()
        lines.append(
            t(
                "user.event",
                date=format_moment(event.at),
                kind=kind_label(event.kind),
                status=delivery_label(event.status),
                error=error,
            )
        )
    if not found.events:
        lines.append(t("user.none"))
    latest = found.consents[-1] if found.consents else None
    lines.append(
        t("user.consent", version=latest.version, date=format_moment(latest.accepted_at))
        if latest is not None
        else t("user.no_consent")
    )
    if found.actions:
        lines.append(t("user.actions"))
        lines.extend(audit_texts.line(entry) for entry in found.actions)
    return Html("\n".join(lines))
