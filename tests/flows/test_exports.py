"""`python -m bot export`: subscribers, Stars payments and signals as CSV, on both databases;
hostile text neutralised; --since; the command line's refusals."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.admin.exports import HEADERS, Export, since_of
from bot.cli.export import run_export
from db.models import StarPayment, User
from tests.support.harness import Harness
from tests.support.helpers import give_access, post_signal_update, publish_signal
from tests.support.processes import assert_one_line, base_env, run_cli, sqlite_url

ANN, BOB = 9_100_001, 9_100_002


async def _export(
    harness: Harness, kind: Export, tmp_path: Path, since: str | None = None
) -> list[dict[str, str]]:
    out = tmp_path / f"{kind}.csv"
    assert await run_export(harness.parts.settings, kind, since_of(since), out) == 0
    raw = out.read_bytes()
    assert raw.startswith(",".join(HEADERS[kind]).encode()) and b"\r\n" in raw
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


async def test_subscribers_with_hostile_names_are_neutralised(
    harness: Harness, tmp_path: Path
) -> None:
    await give_access(harness, ANN, BOB)
    async with harness.session() as session, session.begin():
        ann = await session.get(User, ANN)
        assert ann is not None
        ann.first_name, ann.username = '=HYPERLINK("http://x","y")', "@ann"
    rows = await _export(harness, Export.SUBSCRIBERS, tmp_path)
    assert [row["user_id"] for row in rows] == [str(ANN), str(BOB)]
    assert rows[0]["first_name"] == '\'=HYPERLINK("http://x","y")'
    assert rows[0]["username"] == "'@ann"
    assert rows[0]["status"] == "active" and rows[0]["expires_at"].endswith("+00:00")


async def test_payments_and_since(harness: Harness, tmp_path: Path) -> None:
    await give_access(harness, ANN)
    old = datetime(2026, 1, 10, tzinfo=UTC)
    async with harness.session() as session, session.begin():
        for number, paid in enumerate((old, old + timedelta(days=40))):
            session.add(
                StarPayment(
                    charge_id=f"ch_{number}",
                    user_id=ANN,
                    amount=250,
                    subscription_ref="ch_0",
                    paid_until=paid + timedelta(days=30),
                    recurring=number > 0,
                    paid_at=paid,
                )
            )
    rows = await _export(harness, Export.PAYMENTS, tmp_path)
    assert [(r["charge_id"], r["amount"], r["currency"], r["renewal"]) for r in rows] == [
        ("ch_0", "250", "XTR", "false"),
        ("ch_1", "250", "XTR", "true"),
    ]
    later = await _export(harness, Export.PAYMENTS, tmp_path, since="2026-02-01")
    assert [r["charge_id"] for r in later] == ["ch_1"]


async def test_signals_with_results(harness: Harness, tmp_path: Path) -> None:
    closed = await publish_signal(harness, "BTCUSDT long entry 100 sl 90 tp 120 130 note -2+3")
    await post_signal_update(harness, closed, "sl")
    await publish_signal(harness, "ETHUSDT short entry 50 sl 55 tp 40")
    rows = await _export(harness, Export.SIGNALS, tmp_path)
    assert [r["symbol"] for r in rows] == ["BTCUSDT", "ETHUSDT"]
    assert rows[0]["take_profits"] == "120 130" and rows[0]["result_r"] == "-1"
    assert rows[1]["status"] == "open" and rows[1]["result_r"] == ""


async def test_the_command_line(harness: Harness, tmp_path: Path) -> None:
    env = base_env(BOT_TOKEN="1:abc", DATABASE_URL=sqlite_url(tmp_path / "bot.db"))
    assert (await run_cli(["migrate"], env, tmp_path))[0] == 0
    status, stderr = await run_cli(["export", "signals", "--since", "yesterday"], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, "--since", "2026-01-31")
    status, stderr = await run_cli(["export", "everything"], env, tmp_path)
    assert status == 2 and "invalid choice" in stderr and "Traceback" not in stderr
    out = tmp_path / "s.csv"
    status, stderr = await run_cli(["export", "subscribers", "--out", str(out)], env, tmp_path)
    assert status == 0 and stderr.strip().endswith("export subscribers: 0 rows")
    assert out.read_text() == ",".join(HEADERS[Export.SUBSCRIBERS]) + "\n"


async def test_the_mini_apps_downloads_and_their_refusals(harness: Harness) -> None:
    from tests.support.api_client import call, login
    from tests.support.harness import ADMIN_ID

    await publish_signal(harness, "BTCUSDT long entry 100 sl 90 tp 120 note =cmd|' /C calc'!A0")
    admin = await login(harness, {"id": ADMIN_ID, "first_name": "Ada"})
    path = "/api/v1/admin/exports/signals.csv"
    async with harness.http.get(
        harness.base_url + path, headers={"Authorization": f"Bearer {admin}"}
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="signals-')
        body = await response.text()
    [header, row] = list(csv.reader(body.splitlines()))
    assert header == list(HEADERS[Export.SIGNALS]) and row[1] == "BTCUSDT"
    assert row[header.index("note")] == "'=cmd|' /C calc'!A0"  # shown as text, never run
    member = await login(harness, {"id": 7_555, "first_name": "Mo"})
    assert (await call(harness, "GET", path, token=member))[0] == 403
    assert (await call(harness, "GET", path))[0] == 401
    status, body_json, _ = await call(harness, "GET", path + "?since=tomorrow", token=admin)
    assert status == 400 and "--since" in body_json["error"]["message"]
    assert (await call(harness, "GET", "/api/v1/admin/exports/keys.csv", token=admin))[0] == 404
