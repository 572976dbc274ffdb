"""The words and buttons of every outbox row, rendered when the row is sent.

The domain queues what to say (bot.notices.outbox: a kind and its params); this turns it
into the catalogue's words at send time, so a message always reads as the catalogue does
and in the recipient's language as it is when the row goes out. The delivery worker is handed
`NoticeRenderer.render` by the composition root. A broadcast's rows all say the same, so
their rendering is kept per broadcast.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from aiogram.types import InlineKeyboardMarkup

from bot.notices import params as shapes
from bot.notices.kinds import NoticeKind
from bot.signals.spec import spec_from_params
from bot.texts import CATALOGUE, Html, format_date, keyboards, money, plain, t, tn
from bot.texts import alerts as alert_texts
from bot.texts import billing as billing_texts
from bot.texts import channel as channel_texts
from bot.texts import outcomes as outcome_texts
from bot.texts import paid as paid_texts
from bot.texts import signals as signal_texts
from db.models import OutboxMessage

Rendered = tuple[str, InlineKeyboardMarkup | None]
_CACHED_BROADCASTS = 64


def _date(iso: str | None) -> str:
    return format_date(datetime.fromisoformat(iso)) if iso else ""


def _plan(p: Mapping[str, Any]) -> str:
    if p.get("source") == "stars":
        return plain("plan.stars")
    return billing_texts.plan_name(p.get("plan"))


def _access_started(p: shapes.AccessStarted) -> Rendered:
    what = t("notice.your_trial" if p.get("trial") else "notice.your_subscription")
    until = t("notice.until", date=_date(p.get("until"))) if p.get("until") else Html("")
    plan = _plan(p)
    return t("notice.access_started", what=what, plan=plan, until=until), None


def _access_ended(p: shapes.AccessEnded) -> Rendered:
    plan = billing_texts.plan_name(p.get("plan"))
    return t("notice.access_ended", plan=plan), keyboards.subscribe()


def _payment_failed(p: shapes.PaymentFailed) -> Rendered:
    amount, currency = p.get("amount"), p.get("currency")
    what = (
        t("notice.your_payment_of", amount=money(int(amount), str(currency)))
        if amount is not None and currency
        else t("notice.your_latest_payment")
    )
    if "next_attempt" not in p:  # queued before the retry date was kept
        retry = t("notice.retry_unknown")
    elif p["next_attempt"]:
        retry = t("notice.retry_on", date=_date(p["next_attempt"]))
    else:
        retry = t("notice.no_retry")
    return t("notice.payment_failed", what=what, retry=retry), keyboards.update_payment()


def _suspended(p: shapes.Plan) -> Rendered:
    plan = billing_texts.plan_name(p.get("plan"))
    return t("notice.suspended", plan=plan), keyboards.update_payment()


def _grant(p: shapes.Until) -> Rendered:
    if p.get("until"):
        return t("notice.grant_given", date=_date(p["until"])), None
    return t("notice.grant_ended"), None


# The words of an expiry and of a reminder, by the entitlement's source.
_EXPIRED = {
    "stripe": "notice.expired.stripe",
    "stars": "notice.expired.stars",
    "grant": "notice.expired.grant",
    "trial": "notice.expired.trial",
}
_ENDING = {
    "stripe": "notice.ending.stripe",
    "stars": "notice.ending.stars",
    "grant": "notice.ending.grant",
    "trial": "notice.ending.trial",
}


def _source(p: Mapping[str, Any]) -> str:
    source = str(p.get("source"))
    return source if source in _EXPIRED else "stripe"


def _access_expired(p: shapes.AccessExpired) -> Rendered:
    plan = billing_texts.plan_name(p.get("plan"))
    text = t(_EXPIRED[_source(p)], plan=plan, date=_date(p.get("until")))
    return text, keyboards.subscribe()


def _access_ending(p: shapes.AccessEnding) -> Rendered:
    """A reminder; a cancelled Stripe subscription is renewed again in the portal."""
    source = _source(p)
    plan = billing_texts.plan_name(p.get("plan"))
    text = tn(_ENDING[source], int(p["days"]), plan=plan, date=_date(p.get("until")))
    if source == "stripe":
        return text, keyboards.renew_in_portal()
    if source == "stars":
        return text, keyboards.stars_renewal(renewing=False)
    return text, keyboards.subscribe()


def _renewal(p: shapes.RenewalNotice) -> Rendered:
    plan, date, days = (
        billing_texts.plan_name(p.get("plan")),
        _date(p.get("until")),
        int(p["days"]),
    )
    amount, currency = p.get("amount"), p.get("currency")
    if amount is None or currency is None:
        text = tn("notice.renewal_no_amount", days, plan=plan, date=date)
    else:
        price = money(int(amount), str(currency))
        text = tn("notice.renewal", days, plan=plan, date=date, amount=price)
    return text, keyboards.manage_billing()


def _stars_renewed(p: shapes.Until) -> Rendered:
    return t("notice.stars_renewed", date=_date(p.get("until"))), None


def _stars_refunded(p: shapes.StarsRefunded) -> Rendered:
    reason = str(p.get("reason") or "")
    why = t("notice.stars_refund_reason", reason=reason) if reason else Html("")
    if p.get("ended", True) is False:  # an earlier period's payment: access goes on
        return t("notice.stars_refunded_past", amount=int(p["amount"]), reason=why), None
    return t("notice.stars_refunded", amount=int(p["amount"]), reason=why), keyboards.subscribe()


def _stars_duplicate_refunded(p: shapes.StarsAmount) -> Rendered:
    return t("notice.stars_duplicate_refunded", amount=int(p["amount"])), None


def _premium_invite(p: shapes.PremiumInvite) -> Rendered:
    return t("notice.premium_invite"), keyboards.join_links([str(url) for url in p["links"]])


def _premium_removed(_p: shapes.Nothing) -> Rendered:
    return t("notice.premium_removed"), keyboards.subscribe()


def _premium_declined(_p: shapes.Nothing) -> Rendered:
    return t("notice.premium_declined"), keyboards.subscribe()


def _premium_audit(p: shapes.PremiumAudit) -> Rendered:
    verb = plain("audit.removed")
    params = {"checked": p["checked"], "removed": p["removed"], "failed": p["failed"]}
    return t("audit.summary", verb=verb, **params), None


_HELD = {"premium-removals": "mass.held.removals", "expiry": "mass.held.expiry"}
_HELD_CLOCK = {"premium-removals": "mass.clock.removals", "expiry": "mass.clock.expiry"}


def _mass_held(p: shapes.MassHeld) -> Rendered:
    action = str(p["action"])
    params = {"affected": p["affected"], "population": p["population"]}
    if p.get("moved_hours") is not None:  # the process saw its wall clock jump ahead
        text = t(_HELD_CLOCK.get(action, "mass.clock.expiry"), hours=p["moved_hours"], **params)
    else:
        share = f"{float(p.get('share', 0)):.0%}"
        text = t(_HELD.get(action, "mass.held.expiry"), share=share, **params)
    return text, keyboards.confirm_mass_action(action, int(p.get("held_at", 0)))


def _record_head(p: shapes.RecordHead) -> Rendered:
    """The verifiable record's head, posted daily (bot/signals/record_head.py)."""
    link = t("notice.record_head_link", url=p["url"]) if p.get("url") else Html("")
    day = format_date(datetime.fromisoformat(p["day"]).replace(tzinfo=UTC))
    params = {"seq": p["seq"], "hash": p["hash"], "count": p["count"]}
    return t("notice.record_head", date=day, link=link, **params), None


def _referral_bonus(p: shapes.ReferralBonus) -> Rendered:
    return tn("notice.referral_bonus", int(p["days"]), date=_date(p.get("until"))), None


def _referral_bonus_taken_back(p: shapes.ReferralBonus) -> Rendered:
    return tn("notice.referral_bonus_taken_back", int(p["days"])), None


def _winback(p: shapes.WinbackOffer) -> Rendered:
    code, date = p.get("code"), _date(p.get("until"))
    text = (
        t("notice.winback_code", date=date, code=code) if code else t("notice.winback", date=date)
    )
    return text, keyboards.winback()


def _revoked(p: shapes.Revoked) -> Rendered:
    return t("notice.revoked", reason=str(p.get("reason", ""))), keyboards.subscribe()


def _announcement(p: shapes.Broadcast) -> Rendered:
    return t("notice.announcement", text=p["text"]), None


def _signal(p: shapes.Signal) -> Rendered:
    return signal_texts.body(spec_from_params(p["spec"]), p["id"]), None


class _UpdatedSignal:
    """The signal as an update left it, from the row's params (a SignalLike)."""

    def __init__(self, p: shapes.SignalUpdate) -> None:
        self.id, self.symbol, self.side = p["id"], p["symbol"], p["side"]
        self.status, self.closed_at = p["status"], p["closed"] or None
        pct, r = p.get("result_pct"), p.get("result_r")
        self.result_pct = Decimal(pct) if pct else None
        self.result_r = Decimal(r) if r else None


def _signal_update(p: shapes.SignalUpdate) -> Rendered:
    given = p.get("price")
    price = Decimal(given) if given else None
    return signal_texts.update_body(_UpdatedSignal(p), p["kind"], price, p.get("note")), None


def _reply(p: shapes.Reply) -> Rendered:
    """A handler's reply that Telegram did not take in time (bot/chat/replies.py): its
    words were rendered when it was written, in the reader's language."""
    markup = p.get("markup")
    return str(p["html"]), InlineKeyboardMarkup.model_validate(markup) if markup else None


@dataclass(frozen=True, slots=True)
class KindText:
    """What the chat makes of one outbox kind: its words and buttons, and its name."""

    render: Callable[[Any], Rendered]  # takes its kind's shape (bot/notices/params.py)
    label: str  # the catalogue id naming the kind (/user's timeline, the Mini App's)


# The one registry of what each NoticeKind says: every kind has its entry
# (tests/project/test_notice_kinds.py).
KINDS: dict[NoticeKind, KindText] = {
    NoticeKind.ACCESS_STARTED: KindText(_access_started, "kind.access_started"),
    NoticeKind.ACCESS_ENDED: KindText(_access_ended, "kind.access_ended"),
    NoticeKind.PAYMENT_FAILED: KindText(_payment_failed, "kind.payment_failed"),
    NoticeKind.GRANT: KindText(_grant, "kind.grant"),
    NoticeKind.ACCESS_EXPIRED: KindText(_access_expired, "kind.access_expired"),
    NoticeKind.ACCESS_ENDING: KindText(_access_ending, "kind.access_ending"),
    NoticeKind.ACCESS_SUSPENDED: KindText(_suspended, "kind.access_suspended"),
    NoticeKind.ACCESS_REVOKED: KindText(_revoked, "kind.access_revoked"),
    NoticeKind.WINBACK_OFFER: KindText(_winback, "kind.winback_offer"),
    NoticeKind.REFERRAL_BONUS: KindText(_referral_bonus, "kind.referral_bonus"),
    NoticeKind.REFERRAL_BONUS_TAKEN_BACK: KindText(
        _referral_bonus_taken_back, "kind.referral_bonus_taken_back"
    ),
    NoticeKind.PREMIUM_INVITE: KindText(_premium_invite, "kind.premium_invite"),
    NoticeKind.PREMIUM_REMOVED: KindText(_premium_removed, "kind.premium_removed"),
    NoticeKind.PREMIUM_DECLINED: KindText(_premium_declined, "kind.premium_declined"),
    NoticeKind.PREMIUM_AUDIT: KindText(_premium_audit, "kind.premium_audit"),
    NoticeKind.MASS_HELD: KindText(_mass_held, "kind.mass_held"),
    NoticeKind.ALERT_PREVIEW: KindText(alert_texts.preview, "kind.alert_preview"),
    NoticeKind.ALERT_PROBLEM: KindText(alert_texts.problem, "kind.alert_problem"),
    NoticeKind.RECORD_HEAD: KindText(_record_head, "kind.record_head"),
    NoticeKind.OUTCOME_PROPOSED: KindText(outcome_texts.proposed, "kind.outcome_proposed"),
    NoticeKind.SYMBOL_UNLISTED: KindText(outcome_texts.unlisted, "kind.symbol_unlisted"),
    NoticeKind.PAID_LANE_CLOSED: KindText(paid_texts.lane_closed, "kind.paid_lane_closed"),
    NoticeKind.RENEWAL_NOTICE: KindText(_renewal, "kind.renewal_notice"),
    NoticeKind.STARS_RENEWED: KindText(_stars_renewed, "kind.stars_renewed"),
    NoticeKind.STARS_REFUNDED: KindText(_stars_refunded, "kind.stars_refunded"),
    NoticeKind.STARS_DUPLICATE_REFUNDED: KindText(
        _stars_duplicate_refunded, "kind.stars_duplicate_refunded"
    ),
    NoticeKind.BROADCAST: KindText(_announcement, "kind.broadcast"),
    NoticeKind.REPLY: KindText(_reply, "kind.reply"),
    NoticeKind.SIGNAL: KindText(_signal, "kind.signal"),
    NoticeKind.SIGNAL_UPDATE: KindText(_signal_update, "kind.signal_update"),
    # The signal channel reads as the subscribers do; a result is the channel's own.
    NoticeKind.CHANNEL_SIGNAL: KindText(_signal, "kind.channel_signal"),
    NoticeKind.CHANNEL_UPDATE: KindText(_signal_update, "kind.channel_update"),
    NoticeKind.CHANNEL_RESULT: KindText(channel_texts.result, "kind.channel_result"),
    NoticeKind.CHANNEL_PROBLEM: KindText(channel_texts.problem, "kind.channel_problem"),
}


def render_params(kind: str, params: dict[str, Any]) -> Rendered:
    """The words and buttons for one queued message."""
    if "html" in params:  # a reply, or a row queued before rows carried params
        return _reply(cast(shapes.Reply, params))
    return KINDS[NoticeKind(kind)].render(params)


class NoticeRenderer:
    """render(row, language) for the delivery worker, with each broadcast rendered once per
    language."""

    def __init__(self) -> None:
        self._broadcasts: OrderedDict[tuple[int, str], Rendered] = OrderedDict()

    def render(self, row: OutboxMessage, language: str) -> Rendered:
        if row.broadcast_id is None:
            with CATALOGUE.use_locale(language):
                return render_params(row.kind, row.params)
        key = (row.broadcast_id, language)
        cached = self._broadcasts.get(key)
        if cached is None:
            with CATALOGUE.use_locale(language):
                cached = self._broadcasts[key] = render_params(row.kind, row.params)
            if len(self._broadcasts) > _CACHED_BROADCASTS:
                self._broadcasts.popitem(last=False)
        return cached
