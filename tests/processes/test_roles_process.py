"""`python -m bot` and the role lists: a bad POSTER_IDS, SUPPORT_IDS or ANALYST_IDS stops it
with one line and exit 2; a start with lists other than the last recorded writes one
role_change entry to the audit log, and a restart with the same lists writes none."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp
import pytest

from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.processes import (
    HTTP_TIMEOUT,
    assert_no_token,
    assert_one_line,
    free_port,
    run_cli,
    running_bot,
)

pytestmark = pytest.mark.waits


@pytest.mark.parametrize("name", ["POSTER_IDS", "SUPPORT_IDS", "ANALYST_IDS"])
async def test_a_bad_role_list_is_one_line_and_exit_2(
    tmp_path: Path, migrated_env: dict[str, str], name: str
) -> None:
    env = {**migrated_env, name: "42,²", "LOG_LEVEL": "ERROR", "PORT": str(free_port())}
    status, stderr = await run_cli([], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, f"{name}: ", "is not a Telegram user id")
    assert_no_token(stderr)


def _role_changes(tmp_path: Path) -> list[tuple[str, str | None, str]]:
    with sqlite3.connect(tmp_path / "data" / "bot.db") as db:
        rows = db.execute(
            'SELECT actor, "before", "after" FROM audit_log'
            " WHERE action = 'role_change' ORDER BY id"
        ).fetchall()
    return [(str(a), b, str(c)) for a, b, c in rows]


async def test_a_start_with_new_role_lists_records_them_once(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    env = {**migrated_env, "ADMIN_IDS": "11", "POSTER_IDS": "22,23", "LOG_LEVEL": "ERROR"}
    for _ in range(2):  # the second start has the same lists
        async with (
            running_bot(env, tmp_path) as bot,
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
        ):
            await bot.wait_ready(http)
            assert await bot.terminate() == 0
    ((actor, before, after),) = _role_changes(tmp_path)
    assert actor == "settings" and before in (None, "null")  # JSON's null, as SQLite keeps it
    assert '"owner": "11"' in after and '"poster": "22,23"' in after
