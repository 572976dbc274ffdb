"""pytest's entry to the suite: registers tests/support/harness.py (the fixtures) as a
plugin in every process that runs tests, and not in pytest-xdist's controller, which only
hands tests out and reports. Importing the harness means importing the whole application
(aiogram's ~300 models first): ~8 s of CPU under coverage, and the controller's start-up is
time in which no worker has started yet."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.support.harness")


def pytest_configure(config: pytest.Config) -> None:
    if _xdist_controller(config):
        return
    from tests.support import harness  # noqa: PLC0415 - what the controller must not import

    config.pluginmanager.register(harness, "signaldesk-harness")


def _xdist_controller(config: pytest.Config) -> bool:
    """pytest-xdist's controller: `-n N` (N > 0) given, and not one of its workers."""
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) and not hasattr(config, "workerinput")
