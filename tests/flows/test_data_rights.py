"""/mydata and /deletedata (docs/consents.md): the user's data as a JSON file, and their
personal data erased after a confirmation, keeping what payment records must keep; both in
the audit log; refused while a subscription renews; nobody else's taps count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.texts import CATALOGUE, disclaimer
from bot.texts.commands import Offered, menu
from bot.texts.keyboards import DataButton
from db.models import (
    AuditEntry,
    Consent,
    Entitlement,
    EntitlementSource,
    OutboxMessage,
    PaymentLink,
    Referral,
    StarPayment,
    User,
)
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import give_access

ANN = 7_500_001
BOB = 7_500_002
ERASE = DataButton(action="erase", user_id=ANN).pack()
KEEP = DataButton(action="keep", user_id=ANN).pack()


async def _ann_with_history(harness: Harness) -> None:
    """Ann: a profile, a language, quiet updates, a consent, a Stars payment that ended, a
    referral both ways, a payment link and a message waiting for her."""
    now = datetime.now(UTC)
    await harness.send_text(ANN, "/start", first_name="Ann", username="ann_trader")
    await harness.send_text(BOB, "/start", first_name="Bob")
    await harness.accept_disclaimer(ANN)
    async with harness.session() as session, session.begin():
        user = await session.get(User, ANN)
        assert user is not None
        user.language, user.notify_updates = "en", "silent"
        session.add(Referral(referred_id=BOB, referrer_id=ANN, created_at=now))
        session.add(
            StarPayment(
                charge_id="stxCHARGE1",
                user_id=ANN,
                amount=250,
                subscription_ref="stxCHARGE1",
                paid_until=now - timedelta(days=1),
                paid_at=now - timedelta(days=31),
            )
        )
        session.add(
            Entitlement(
                user_id=ANN,
                source=EntitlementSource.STARS,
                source_ref="stxCHARGE1",
                status="expired",
                expires_at=now - timedelta(days=1),
                state_version=1,
            )
        )
        session.add(
            PaymentLink(
                user_id=ANN,
                offer="stars:250",
                url="https://t.me/$abc",
                claim="done",
                claimed_at=now,
            )
        )
        session.add(OutboxMessage(chat_id=ANN, kind="broadcast", params={"text": "hi"}))


def _document(harness: Harness) -> dict[str, Any]:
    [sent] = harness.fake_bot.calls_for("sendDocument")
    assert sent["chat_id"] == ANN
    # aiogram sends the file as a part of its own, named by "attach://<part>".
    upload = sent[sent["document"].removeprefix("attach://")]
    assert upload["filename"] == f"mydata-{ANN}.json"
    data: dict[str, Any] = json.loads(upload["content"])
    return data


async def _audit(harness: Harness, action: str) -> list[AuditEntry]:
    async with harness.session() as session:
        rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows)


async def test_mydata_sends_everything_held_about_the_user(harness: Harness) -> None:
    await _ann_with_history(harness)
    await harness.send_text(ANN, "/mydata", username="ann_trader")

    data = _document(harness)
    assert data["format"] == "signaldesk.mydata/1" and data["telegram_user_id"] == ANN
    profile = data["profile"]
    assert (profile["first_name"], profile["username"], profile["language"]) == (
        "Ann",
        "ann_trader",
        "en",
    )
    assert profile["notify_updates"] == "silent"
    [entitlement] = data["subscription"]["entitlements"]
    assert entitlement["source"] == "stars" and entitlement["status"] == "expired"
    [payment] = data["payments"]["telegram_stars"]
    assert payment["charge_id"] == "stxCHARGE1" and payment["amount"] == 250
    assert data["payments"]["stripe"] == {"customer_id": None}
    [consent] = data["consents"]
    assert consent["version"] == disclaimer.version() and consent["kind"] == "disclaimer"
    assert data["referrals"]["referred_by"] is None
    [brought] = data["referrals"]["referred"]
    assert str(BOB) not in json.dumps(brought)  # Bob's id is Bob's
    assert data["messages_waiting"] == 1 and data["truncated"] == []
    [entry] = await _audit(harness, "data_export")
    assert (entry.actor, entry.actor_id, entry.subject_id) == ("user", ANN, ANN)
    assert "ann_trader" not in json.dumps(entry.after)


async def test_mydata_once_a_minute(harness: Harness) -> None:
    await harness.send_text(ANN, "/mydata")
    await harness.send_text(ANN, "/mydata")
    assert len(harness.fake_bot.calls_for("sendDocument")) == 1
    assert "wait a minute" in harness.last_reply(ANN).text
    assert len(await _audit(harness, "data_export")) == 1


async def test_mydata_asked_in_a_group_without_a_private_chat_says_so_there(
    harness: Harness,
) -> None:
    """The file goes to the private chat only; a user who never opened it (Telegram answers
    403) is told in the group where they asked, and nothing of theirs is posted there."""
    group = -1_001_234_567_890
    harness.fake_bot.fail_next("sendDocument", "403", chat_id=ANN)
    await harness.feed(
        {
            "message": {
                "message_id": 77,
                "date": int(datetime.now(UTC).timestamp()),
                "chat": {"id": group, "type": "supergroup", "title": "Traders"},
                "from": {"id": ANN, "is_bot": False, "first_name": "Ann"},
                "text": "/mydata",
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
            }
        }
    )
    assert "open a private chat with me" in harness.last_reply(group).text
    assert [call["chat_id"] for call in harness.fake_bot.calls_for("sendDocument")] == [ANN]
    assert harness.replies(ANN) == []


async def test_the_export_of_the_audit_lists_entries_about_the_user(harness: Harness) -> None:
    await harness.send_text(ANN, "/start")
    await harness.send_text(ADMIN_ID, f"/grant {ANN} 3")
    await harness.send_text(ANN, "/mydata")
    actions = [entry["action"] for entry in _document(harness)["audit"]]
    assert actions == ["grant"]


async def test_deletedata_cancel_changes_nothing(harness: Harness) -> None:
    await _ann_with_history(harness)
    await harness.send_text(ANN, "/deletedata")
    asked = harness.last_reply(ANN)
    assert "Erase your personal data?" in asked.text
    buttons = [
        b["callback_data"] for row in asked.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert buttons == [ERASE, KEEP]

    before = await _everything(harness)
    await harness.press(ANN, KEEP)
    assert "Nothing was erased" in harness.last_reply(ANN).text
    assert await _everything(harness) == before
    assert await _audit(harness, "data_erase") == []


async def test_someone_elses_buttons_and_forged_ones_change_nothing(harness: Harness) -> None:
    await _ann_with_history(harness)
    before = await _everything(harness)
    for data in (ERASE, KEEP, "data:erase:0", "data:erase:abc", "data:wipe:7500001", "data:erase"):
        await harness.press(BOB, data)
    answers = harness.fake_bot.calls_for("answerCallbackQuery")
    assert len(answers) == 6 and all(a.get("show_alert") for a in answers)
    assert "someone else" in answers[0]["text"]
    assert await _everything(harness) == before
    assert await _audit(harness, "data_erase") == []


async def test_deletedata_erases_the_person_and_keeps_the_payment_records(
    harness: Harness,
) -> None:
    await _ann_with_history(harness)
    await harness.send_text(ANN, "/deletedata")
    await harness.press(ANN, ERASE)
    assert "personal data is erased" in harness.last_reply(ANN).text

    async with harness.session() as session:
        user = await session.get(User, ANN)
        assert user is not None
        assert (user.first_name, user.username, user.language, user.language_code) == (
            "",
            None,
            None,
            None,
        )
        assert (user.notify_signals, user.notify_updates) == ("on", "on")
        assert await session.scalar(select(Referral)) is None
        assert await session.scalar(select(PaymentLink)) is None
        waiting = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.chat_id == ANN, OutboxMessage.status == "pending"
            )
        )
        assert list(waiting) == []
        # Kept: the payment, the entitlement and the acceptance.
        [payment] = await session.scalars(select(StarPayment))
        assert (payment.user_id, payment.amount, payment.charge_id) == (ANN, 250, "stxCHARGE1")
        assert len(list(await session.scalars(select(Entitlement)))) == 1
        [consent] = await session.scalars(select(Consent))
        assert consent.user_id == ANN
        bob = await session.get(User, BOB)
        assert bob is not None and bob.first_name == "Bob"  # nobody else's data
    [entry] = await _audit(harness, "data_erase")
    assert (entry.actor, entry.subject_id) == ("user", ANN)
    assert entry.after == {
        "profile": True,
        "referrals": 1,
        "payment_links": 1,
        "premium": 0,
        "messages": 1,
    }
    assert "ann" not in json.dumps([entry.before, entry.after]).lower()


async def test_deletedata_is_refused_while_a_subscription_renews(harness: Harness) -> None:
    await give_access(harness, ANN)
    await harness.send_text(ANN, "/deletedata")
    assert "Stop its renewal first with /manage" in harness.last_reply(ANN).text
    # An Erase button from before the subscription: refused all the same.
    before = await _everything(harness)
    await harness.press(ANN, ERASE)
    assert "Nothing was erased" in harness.last_reply(ANN).text
    assert await _everything(harness) == before
    assert await _audit(harness, "data_erase") == []

    # Renewal stopped: access runs to the end, and the data can go.
    async with harness.session() as session, session.begin():
        row = await session.scalar(select(Entitlement).where(Entitlement.user_id == ANN))
        assert row is not None
        row.cancel_at_period_end = True
    await harness.send_text(ANN, "/deletedata")
    await harness.press(ANN, ERASE)
    assert "personal data is erased" in harness.last_reply(ANN).text
    assert len(await _audit(harness, "data_erase")) == 1


@pytest.mark.parametrize("command", ["/mydata", "/deletedata"])
async def test_in_help_and_the_menu_in_every_language(harness: Harness, command: str) -> None:
    await harness.send_text(ANN, "/help")
    assert command in harness.last_reply(ANN).text
    for language in ("ru", "es", "pt-br"):
        await harness.send_text(ANN, "/help", language_code=language)
        assert command in harness.last_reply(ANN).text
    for locale in ("en", "ru", "es", "pt_BR"):
        with CATALOGUE.use_locale(locale):
            listed = {c.command: c.description for c in menu(Offered.by(harness.settings))}
        assert listed[command.removeprefix("/")]


async def _everything(harness: Harness) -> tuple[object, ...]:
    """What the erasure would change, to compare before and after."""
    async with harness.session() as session:
        user = await session.get(User, ANN)
        assert user is not None
        return (
            (user.first_name, user.username, user.language, user.notify_updates),
            len(list(await session.scalars(select(Referral)))),
            len(list(await session.scalars(select(PaymentLink)))),
            len(list(await session.scalars(select(OutboxMessage)))),
            len(list(await session.scalars(select(StarPayment)))),
        )
