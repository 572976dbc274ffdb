"""ccxt (about 2 s and 65 MB to import: its package loads every exchange's class) is
imported only when PRICE_SOURCE is set, by the watcher's builder; a PRICE_SOURCE ccxt does
not know stops start-up with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.settings import load_settings
from bot.core.startup import StartupError
from bot.outcomes.exchange import open_feed, point_at

ROOT = Path(__file__).resolve().parents[2]
# `python -m bot`'s start, up to the watcher's builder, then whether ccxt was imported.
PROBE = """
import asyncio, sys
from bot.cli import serve
from bot.app import build
from bot.core.settings import load_settings
from bot.outcomes.jobs import price_watch
from db.engine import create_engine

async def main():
    settings = load_settings(_env_file=None)
    parts = build(settings, create_engine(settings.database_url))
    watch = price_watch(settings, parts.session_factory)
    print("watch" if watch else "none", "ccxt" in sys.modules)
    if watch:
        await watch.close()
    await parts.close()

asyncio.run(main())
"""


def _probe(**env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "BOT_TOKEN": "1:x", "PYTHONPATH": str(ROOT), **env},
    )
    return result.stdout.strip()


def test_ccxt_is_imported_only_when_an_exchange_is_named() -> None:
    assert _probe() == "none False"
    assert _probe(PRICE_SOURCE="binance", OUTCOMES="manual") == "none False"
    assert _probe(PRICE_SOURCE="binance") == "watch True"  # the probe sees an import


def test_an_exchange_ccxt_does_not_know_stops_start_up() -> None:
    settings = load_settings(_env_file=None, bot_token="1:x", price_source="nosuchexchange")
    assert settings.price_source is not None
    with pytest.raises(StartupError, match=r"PRICE_SOURCE: ccxt \S+ has no exchange"):
        open_feed(settings.price_source)


def test_price_api_base_moves_every_url_and_keeps_its_path() -> None:
    urls = {"public": "https://api.binance.com/api/v3", "x": {"y": "https://h.example/a?b=1"}}
    assert point_at(urls, "http://127.0.0.1:9/") == {
        "public": "http://127.0.0.1:9/api/v3",
        "x": {"y": "http://127.0.0.1:9/a?b=1"},
    }
