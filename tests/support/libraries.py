"""Loaded by `make test` (`-p tests.support.libraries`) ahead of the other plugins: in each
pytest-xdist worker it imports the libraries the application and the suite use with the
coverage the worker was started with (coverage's subprocess patch) paused. Traced, those
imports cost a worker ~4.6 s more CPU before its first test (9.4 s against 4.8 s), for
lines nobody measures. Our own modules are imported later, measured: the suite's coverage
is line for line the same. The controller imports none of them (tests/conftest.py)."""

from __future__ import annotations

import importlib
import os

# What `python -m bot` imports, aiogram's ~300 pydantic models first: ~95 % of its import
# time. The bot launcher (tests/support/zygote.py) preloads these the same way.
APP_LIBRARIES = (
    "aiogram",
    "aiogram.client.session.aiohttp",
    "aiogram.utils.i18n",
    "aiohttp.web",
    "alembic.command",
    "prometheus_client",
    "pydantic_settings",
    "sqlalchemy.ext.asyncio",
    "stripe",
)
SUITE_LIBRARIES = (*APP_LIBRARIES, "asyncpg", "hypothesis", "playwright.async_api")


def import_untraced(names: tuple[str, ...]) -> None:
    """Import `names` with this process's running coverage, if any, paused."""
    try:
        import coverage  # noqa: PLC0415 - only when the suite measures
    except ImportError:
        running = None
    else:
        running = coverage.Coverage.current()
    if running is not None:
        running.stop()
    for name in names:
        importlib.import_module(name)
    if running is not None:
        running.start()


if os.environ.get("PYTEST_XDIST_WORKER"):
    import_untraced(SUITE_LIBRARIES)
