"""Every staff chat command and button, run as each role (owner, poster, support, analyst,
and a subscriber in none), on both databases: what the role may do runs, the rest is
refused with a line in the sender's language and changes nothing. Support's /grant stops
at 7 days and never cuts a longer grant short; /help lists each role's commands only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

import pytest

from bot.accounts.roles import Permission
from bot.chat.middlewares.permissions import NEEDS
from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from bot.texts.keyboards import MassActionButton, OutcomeButton, RefundButton, SignalButton
from tests.flows.role_helpers import (
    MAY,
    NOT_ADMIN,
    NOT_ALLOWED,
    OVER_LIMIT,
    PEOPLE,
    SUBSCRIBER,
    SUPPORT,
    refusal_for,
    snapshot,
    with_roles,
)
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access, publish_signal
from tests.support.stars_player import invoice_link, pay

LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000"
PASTED = "BTC/USDT LONG\nEntry 65000\nTargets 67000\nSL 63500"
GRANTEE = 7_700_010
LONG_GRANTEE = 7_700_011
REFUSALS = (NOT_ADMIN, NOT_ALLOWED, OVER_LIMIT)
# /help's staff lines, as they begin (/signals and /stats differ from /signal and /stat...)
SIGNAL, GRANT, USER, REFUND, AUDIT = (
    "/signal SYMBOL", "/grant USER_ID", "/user USER_ID", "/refund USER_ID", "/audit —",
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    handler: str  # the handler's name (every flagged one must have a case)
    needs: frozenset[Permission]  # any one of these lets it run
    run: Callable[[Harness, int, int], Awaitable[None]]  # (harness, sender, signal id)


def _say(text: str) -> Callable[[Harness, int, int], Awaitable[None]]:
    async def run(harness: Harness, user: int, signal_id: int) -> None:
        await harness.send_text(user, text.format(signal=signal_id), language_code="en")

    return run


def _press(data: str) -> Callable[[Harness, int, int], Awaitable[None]]:
    async def run(harness: Harness, user: int, _signal_id: int) -> None:
        await harness.press(user, data, language_code="en")

    return run


POST = frozenset({Permission.POST_SIGNALS})
CASES = (
    Case("cmd_signal", POST, _say(f"/signal {LINE}")),
    Case("cmd_update", POST, _say("/update {signal} tp1")),
    Case("cmd_stats", frozenset({Permission.READ_STATS}), _say("/stats")),
    Case("cmd_grant", frozenset({Permission.GRANT, Permission.GRANT_SHORT}),
         _say(f"/grant {GRANTEE} 3")),
    Case("cmd_revoke", frozenset({Permission.REVOKE}), _say(f"/revoke {GRANTEE} abuse")),
    Case("cmd_refund", frozenset({Permission.REFUND}), _say(f"/refund {SUBSCRIBER}")),
    Case("cmd_user", frozenset({Permission.LOOK_UP}), _say(f"/user {SUBSCRIBER}")),
    Case("cmd_broadcast", frozenset({Permission.BROADCAST}), _say("/broadcast hello all")),
    Case("cmd_audit", frozenset({Permission.READ_AUDIT}), _say("/audit")),
    Case("cb_refund", frozenset({Permission.REFUND}),
         _press(RefundButton(user_id=SUBSCRIBER).pack())),
    Case("cb_confirm_mass", frozenset({Permission.CONFIRM_MASS}),
         _press(MassActionButton(action="expiry").pack())),
    Case("cb_confirm_outcome", POST, _press(OutcomeButton(event_id=1).pack())),
)  # fmt: skip


def _flagged(harness: Harness) -> set[str]:
    """The name of every handler registered with a permission flag, in every router."""
    names: set[str] = set()
    for router in harness.parts.dispatcher.chain_tail:
        for observer in (router.message, router.callback_query):
            names |= {h.callback.__name__ for h in observer.handlers if NEEDS in h.flags}
    return names


async def _ready(harness: Harness) -> int:
    """Everyone has written to the bot (registering is a change of its own), a subscriber
    has access, a signal is out; the fake forgets the replies so far."""
    await give_access(harness, SUBSCRIBER)
    for user in PEOPLE.values():
        if user != SUBSCRIBER:
            await harness.send_text(user, "/help")
    signal_id = await publish_signal(harness, LINE)
    harness.fake_bot.clear()
    return signal_id


def _said(harness: Harness, user: int) -> str:
    """Everything the bot said to `user` since the fake was cleared: messages, and the
    alerts under pressed buttons."""
    answers = harness.fake_bot.calls_for("answerCallbackQuery")
    alerts = [str(answer.get("text", "")) for answer in answers]
    return " ".join([*alerts, *(message.text for message in harness.replies(user))])


async def _draft(harness: Harness) -> int:
    async with harness.session() as session, session.begin():
        return (await signals.create_draft(session, parse_signal(LINE), ADMIN_ID)).id


async def _check(harness: Harness, role: str, case: Case, signal_id: int) -> None:
    user = PEOPLE[role]
    allowed = not case.needs.isdisjoint(MAY[role])
    harness.fake_bot.clear()
    before = await snapshot(harness)
    await case.run(harness, user, signal_id)
    said = _said(harness, user)
    if allowed:
        assert not any(r in said for r in REFUSALS), (role, case.handler, said)
    else:
        assert refusal_for(role) in said, (role, case.handler, said)
        assert await snapshot(harness) == before, (role, case.handler)


@pytest.mark.parametrize("role", list(PEOPLE))
async def test_every_staff_command_and_button_as_each_role(
    make_harness: MakeHarness, role: str
) -> None:
    harness = await with_roles(make_harness)
    assert _flagged(harness) == {c.handler for c in CASES} | {"cb_send", "cb_discard"}
    signal_id = await _ready(harness)
    for case in CASES:
        await _check(harness, role, case, signal_id)
    actions: tuple[Literal["send", "discard"], ...] = ("send", "discard")
    for action in actions:  # a preview's buttons, each on a fresh draft
        data = SignalButton(action=action, signal_id=await _draft(harness)).pack()
        case = Case(f"cb_{action}", POST, _press(data))
        await _check(harness, role, case, signal_id)


@pytest.mark.parametrize("role", list(PEOPLE))
async def test_a_pasted_signal_is_a_preview_for_posters_only(
    make_harness: MakeHarness, role: str
) -> None:
    harness = await with_roles(make_harness)
    await _ready(harness)
    user = PEOPLE[role]
    before = await snapshot(harness)
    await harness.send_text(user, PASTED)
    markups = [m.params.get("reply_markup") or {} for m in harness.replies(user)]
    buttons = [b["callback_data"] for k in markups for row in k.get("inline_keyboard", [])
               for b in row if "callback_data" in b]  # fmt: skip
    if Permission.POST_SIGNALS in MAY[role]:
        assert any(data.startswith("sig:send:") for data in buttons)
    else:  # anyone else's lines are just text (the fallback), not a refusal
        assert not any(data.startswith("sig:") for data in buttons)
        assert await snapshot(harness) == before


async def test_support_grants_up_to_seven_days_and_no_more(make_harness: MakeHarness) -> None:
    harness = await with_roles(make_harness)
    await _ready(harness)
    for days in ("8", "30", "0"):  # over the limit; and 0, which takes access back
        before = await snapshot(harness)
        await harness.send_text(SUPPORT, f"/grant {GRANTEE} {days}")
        reply = harness.last_reply(SUPPORT).text
        assert OVER_LIMIT in reply and "Ask an owner" in reply, days
        assert await snapshot(harness) == before
    await harness.send_text(SUPPORT, f"/grant {GRANTEE} 7")
    assert "has access until" in harness.last_reply(SUPPORT).text
    # An owner's longer grant is not cut short by support's few days.
    await harness.send_text(ADMIN_ID, f"/grant {LONG_GRANTEE} 365")
    before = await snapshot(harness)
    await harness.send_text(SUPPORT, f"/grant {LONG_GRANTEE} 2")
    assert "already has complimentary access for longer" in harness.last_reply(SUPPORT).text
    assert await snapshot(harness) == before
    # Nor to themselves: a week at a time, again and again, would be free access.
    for form in (f"/grant {SUPPORT} 3", f"/grant 0{SUPPORT} 7"):
        before = await snapshot(harness)
        await harness.send_text(SUPPORT, form)
        assert "cannot grant access to themselves" in harness.last_reply(SUPPORT).text, form
        assert await snapshot(harness) == before
    # The owner may shorten it (a grant sets the end), as before roles.
    await harness.send_text(ADMIN_ID, f"/grant {LONG_GRANTEE} 2")
    assert "has access until" in harness.last_reply(ADMIN_ID).text


async def test_refusals_are_in_the_senders_language(make_harness: MakeHarness) -> None:
    harness = await with_roles(make_harness)
    await _ready(harness)
    await harness.send_text(SUPPORT, "/broadcast hi", language_code="ru")
    assert "ваша роль этого не позволяет" in harness.last_reply(SUPPORT).text
    await harness.send_text(SUPPORT, f"/grant {GRANTEE} 9", language_code="es")
    assert "de 1 a 7 días" in harness.last_reply(SUPPORT).text
    await harness.send_text(SUBSCRIBER, "/stats", language_code="pt-br")
    assert "só os admins" in harness.last_reply(SUBSCRIBER).text


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("owner", [SIGNAL, "/stats —", "/grant USER_ID DAYS — free access (0", REFUND, AUDIT,
                   "/broadcast "], []),
        ("poster", [SIGNAL, "/update ID"], ["/stats —", GRANT, USER, REFUND, AUDIT]),
        ("support", [USER, "1 to 7 days"], [SIGNAL, "/stats —", REFUND, "/revoke USER_ID",
                                            "/broadcast ", AUDIT]),
        ("analyst", ["/stats —"], [SIGNAL, GRANT, USER, AUDIT, "/broadcast "]),
        ("subscriber", [], [SIGNAL, "/stats —", GRANT, USER, "<b>Admin</b>"]),
    ],
)  # fmt: skip
async def test_help_lists_what_the_role_may_do(
    make_harness: MakeHarness, role: str, shown: list[str], hidden: list[str]
) -> None:
    harness = await with_roles(make_harness)
    await harness.send_text(PEOPLE[role], "/help")
    text = harness.last_reply(PEOPLE[role]).text
    for line in shown:
        assert line in text, (role, line)
    for line in hidden:
        assert line not in text, (role, line)


async def test_an_id_in_two_lists_has_both(make_harness: MakeHarness) -> None:
    harness = await make_harness(poster_ids=[SUPPORT], support_ids=[SUPPORT])
    await _ready(harness)
    await harness.send_text(SUPPORT, f"/signal {LINE}")
    assert "sig:send:" in str(harness.last_reply(SUPPORT).params.get("reply_markup"))
    await harness.send_text(SUPPORT, f"/user {SUBSCRIBER}")
    assert NOT_ALLOWED not in harness.last_reply(SUPPORT).text
    await harness.send_text(SUPPORT, "/stats")
    assert NOT_ALLOWED in harness.last_reply(SUPPORT).text


async def test_the_refund_button_is_under_user_for_those_who_may_refund(
    make_harness: MakeHarness,
) -> None:
    harness = await with_roles(make_harness, stars_price=250)
    await _ready(harness)
    await pay(harness, GRANTEE, await invoice_link(harness, GRANTEE))  # Stars running
    for user, button in ((ADMIN_ID, True), (SUPPORT, False)):
        await harness.send_text(user, f"/user {GRANTEE}")
        markup = str(harness.last_reply(user).params.get("reply_markup"))
        assert (f"refund:{GRANTEE}" in markup) is button, user
