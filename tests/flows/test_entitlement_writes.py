"""One writer for entitlements (bot/accounts/entitlement_writes.py): every write marks the
change the access caches reload on, and no other module writes the table or marks it by hand."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.accounts import entitlement_writes
from bot.accounts.entitlement_writes import EntitlementState
from bot.transactions import commit_events
from db.models import Entitlement, EntitlementSource, User
from tests.support.harness import Harness

ROOT = Path(__file__).resolve().parents[2]
WRITER = ROOT / "bot" / "accounts" / "entitlement_writes.py"
USER = 8_300_001


def _version() -> int:
    return commit_events.version(commit_events.ENTITLEMENTS)


async def _user(harness: Harness) -> None:
    async with harness.session() as session, session.begin():
        session.add(User(id=USER, first_name="Ann"))


async def test_a_write_through_the_writer_marks_the_change(harness: Harness) -> None:
    await _user(harness)
    now = datetime.now(UTC)
    before = _version()
    async with harness.session() as session, session.begin():
        row = Entitlement(
            user_id=USER, source=EntitlementSource.GRANT, status="active", expires_at=now
        )
        await entitlement_writes.save(session, row)
    assert _version() == before + 1

    async with harness.session() as session:  # rolled back: nothing changed, nothing counted
        await session.begin()
        row.expires_at = now + timedelta(days=1)
        await entitlement_writes.save(session, await session.merge(row))
        await session.rollback()
    assert _version() == before + 1

    state = EntitlementState("sub_1", "active", "price_1", now + timedelta(days=30), False, 1)
    async with harness.session() as session, session.begin():
        await entitlement_writes.save_state(session, USER, None, state)
    assert _version() == before + 2

    async with harness.session() as session, session.begin():
        changed = await entitlement_writes.update_where(
            session, Entitlement.user_id == USER, status="canceled"
        )
    assert changed == 2 and _version() == before + 3
    async with harness.session() as session, session.begin():
        changed = await entitlement_writes.update_where(
            session, Entitlement.user_id == USER + 1, status="canceled"
        )
    assert changed == 0 and _version() == before + 3  # nothing written, nothing to reload


def _writes_elsewhere(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        names = {getattr(arg, "id", getattr(arg, "attr", "")) for arg in node.args}
        if (name == "mark" and "ENTITLEMENTS" in names) or (
            name in {"insert", "update", "delete"} and names & {"Entitlement", "_ENTITLEMENTS"}
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    return found


def test_no_other_module_writes_entitlements_or_marks_them() -> None:
    paths = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "webapp").rglob("*.py")]
    assert [
        line for path in sorted(paths) if path != WRITER for line in _writes_elsewhere(path)
    ] == []
    assert (
        len(_writes_elsewhere(WRITER)) == 4
    )  # the mark, Stripe's insert and update, update_where
