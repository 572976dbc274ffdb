"""The audit log (bot/audit/log.py): every admin action recorded with who, when, what and
whom, in the action's own transaction; /audit, the Mini App's filters, a user's timeline and
the CSV export read it; nothing else writes it and nothing changes a row."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

from sqlalchemy import select

from bot.admin.exports import Export
from bot.cli.export import run_export
from db.models import AuditEntry
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import give_access, post_signal_update, publish_signal

ROOT = Path(__file__).resolve().parents[2]
ANN = 9_200_001


async def _entries(harness: Harness) -> list[AuditEntry]:
    async with harness.session() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


async def test_chat_actions_are_recorded_and_shown_by_audit(harness: Harness) -> None:
    await harness.send_text(ADMIN_ID, f"/grant {ANN} 7")
    await harness.send_text(ADMIN_ID, f"/grant {ANN} 0")
    await harness.send_text(ADMIN_ID, "/broadcast Maintenance tonight")
    grant, take_back, broadcast = await _entries(harness)
    assert (grant.actor, grant.actor_id, grant.action, grant.subject_id) == (
        "admin",
        ADMIN_ID,
        "grant",
        ANN,
    )
    assert grant.before is None and grant.after is not None
    assert grant.after["status"] == "active"
    assert take_back.action == "revoke" and take_back.before == grant.after
    assert broadcast.action == "broadcast" and (broadcast.target or "").startswith("broadcast:")
    await harness.send_text(ADMIN_ID, "/audit")
    text = harness.last_reply(ADMIN_ID).text
    assert text.startswith("<b>Admin actions</b>")
    lines = text.splitlines()[1:]
    assert "<b>broadcast</b>" in lines[0] and f"admin {ADMIN_ID}" in lines[0]
    assert f"<b>grant</b> · user {ANN}" in lines[2]


async def test_a_failed_action_leaves_no_entry(harness: Harness) -> None:
    """Recorded in the action's transaction: taking back a grant nobody has changes
    nothing, and says so, and the log holds nothing either."""
    await harness.send_text(ADMIN_ID, f"/grant {ANN} 0")
    assert await _entries(harness) == []


async def test_signals_their_updates_and_the_users_timeline(harness: Harness) -> None:
    await give_access(harness, ANN)
    signal_id = await publish_signal(harness, "BTCUSDT long entry 100 sl 90 tp 120")
    await post_signal_update(harness, signal_id, "tp1")
    await harness.send_text(ADMIN_ID, f"/grant {ANN} 3")
    publish, update, grant = await _entries(harness)
    assert (publish.action, publish.target) == ("signal_publish", f"signal:{signal_id}")
    assert publish.after == {"symbol": "BTCUSDT", "side": "long", "recipients": 1}
    assert (update.action, update.actor_id) == ("signal_update", ADMIN_ID)
    assert update.after is not None and update.after["kind"] == "tp1"
    await harness.send_text(ADMIN_ID, f"/user {ANN}")
    shown = harness.last_reply(ADMIN_ID).text
    assert "<b>Admin actions about them</b>" in shown and "<b>grant</b>" in shown


async def test_the_mini_app_filters_and_refuses(harness: Harness) -> None:
    await harness.send_text(ADMIN_ID, f"/grant {ANN} 7")
    await harness.send_text(ADMIN_ID, "/broadcast hello")
    admin = await login(harness, {"id": ADMIN_ID, "first_name": "Ada"})
    status, body, _ = await call(harness, "GET", "/api/v1/admin/audit", token=admin)
    assert status == 200 and [e["action"] for e in body["entries"]] == ["broadcast", "grant"]
    status, body, _ = await call(
        harness, "GET", f"/api/v1/admin/audit?user={ANN}&action=grant", token=admin
    )
    assert [(e["action"], e["user_id"]) for e in body["entries"]] == [("grant", ANN)]
    for bad in ("?action=delete", "?limit=0", "?limit=abc", "?user=-5", "?actor=x"):
        status, body, _ = await call(harness, "GET", "/api/v1/admin/audit" + bad, token=admin)
        assert status == 400, bad
    member = await login(harness, {"id": 7_556, "first_name": "Mo"})
    assert (await call(harness, "GET", "/api/v1/admin/audit", token=member))[0] == 403
    assert len(await _entries(harness)) == 2  # reading it wrote nothing


async def test_exports_are_recorded_and_the_log_exports(harness: Harness, tmp_path: Path) -> None:
    await harness.send_text(ADMIN_ID, f"/grant {ANN} 7")
    out = tmp_path / "audit.csv"
    assert await run_export(harness.parts.settings, Export.AUDIT, None, out) == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["action"], r["actor"], r["user_id"]) for r in rows] == [
        ("grant", "admin", str(ANN))
    ]
    grant, export = await _entries(harness)  # the export itself is in the log now
    assert (export.action, export.actor, export.target) == ("export", "cli", "audit")


def test_the_log_has_one_writer_and_no_row_is_ever_changed() -> None:
    """Only bot/audit/log.py makes AuditEntry rows, and nothing updates or deletes them."""
    writer = ROOT / "bot" / "audit" / "log.py"
    wrong = []
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "webapp").rglob("*.py")]):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            touches = any("AuditEntry" in ast.unparse(arg) for arg in node.args)
            if name == "AuditEntry" and path != writer:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} makes a row")
            if name in {"update", "delete", "insert"} and touches:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(AuditEntry)")
    assert wrong == []
