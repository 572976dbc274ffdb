"""pytest's entry to the suite: registers tests/support/harness.py (the fixtures) and the
modules beside it that hold fixtures (databases.py, log_secrets.py) as plugins in every
process that runs tests, and not in pytest-xdist's controller, which only hands tests out and
reports. Importing the harness means importing the whole application (aiogram's ~300 models
first): ~8 s of CPU under coverage, and the controller's start-up is time in which no worker
has started yet."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite(
    "tests.support.harness",
    "tests.support.log_secrets",
    # The helpers beside the tests that share them, whose assertions were the tests' own.
    "tests.browser.miniapp_helpers",
    "tests.flows.hostile_helpers",
    "tests.flows.premium_helpers",
    "tests.processes.faults_helpers",
)


def pytest_configure(config: pytest.Config) -> None:
    if _xdist_controller(config):
        return
    from tests.support import databases, harness, log_secrets  # noqa: PLC0415 - not in the controller

    config.pluginmanager.register(harness, "signaldesk-harness")
    config.pluginmanager.register(databases, "signaldesk-databases")
    config.pluginmanager.register(log_secrets, "signaldesk-log-secrets")


def _xdist_controller(config: pytest.Config) -> bool:
    """pytest-xdist's controller: `-n N` (N > 0) given, and not one of its workers."""
    workers = getattr(config.option, "numprocesses", None)
    return bool(workers) and not hasattr(config, "workerinput")
