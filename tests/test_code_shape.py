"""The shape a newcomer can rely on: small functions, and the layers' import direction.

Generated Alembic migrations are left out: they are data in the form of code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60


def _sources(*packages: str) -> list[Path]:
    return [
        path
        for package in packages
        for path in sorted((ROOT / package).rglob("*.py"))
        if "versions" not in path.parts
    ]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)"
        for path in _sources("bot", "webapp", "db")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert long == []


COMPOSITION_ROOT = ROOT / "bot" / "app.py"  # the one module that knows every part


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("db", ("bot", "webapp")),  # the database layer knows nothing above it
        ("bot", ("webapp",)),  # the domain does not know the web adapter
    ],
)
def test_layers_import_downwards_only(package: str, forbidden: tuple[str, ...]) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _sources(package)
        if path != COMPOSITION_ROOT
        for module in _imports(path)
        if module.split(".")[0] in forbidden
    ]
    assert wrong == []


DOMAIN = (
    "bot/accounts/access.py",
    "bot/accounts/admin.py",
    "bot/accounts/users.py",
    "bot/billing",
    "bot/signals",
    "bot/delivery",
)


# Where the domain meets the Bot API itself: sending and editing messages.
SENDERS = (ROOT / "bot/delivery/worker.py", ROOT / "bot/delivery/progress.py")


def test_domain_modules_build_no_aiogram_keyboards_or_messages() -> None:
    """Services return data; the chat adapter (bot/chat) renders it."""
    paths = [
        p
        for d in DOMAIN
        for p in ([ROOT / d] if d.endswith(".py") else _sources(d))
        if p not in SENDERS
    ]
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in paths
        for module in _imports(path)
        if module.startswith("aiogram.types") or module.startswith("bot.chat")
    ]
    assert wrong == []


def test_one_function_builds_the_sender_for_both_processes() -> None:
    """`python -m bot` and `python -m bot worker` built their delivery workers apart, and
    the two drifted (the progress reporter's interval); bot/chat/sender.py builds both."""
    builders = {"DeliveryWorker", "ProgressReporter"}
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.func.id}"
        for path in _sources("bot")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in builders
    ]
    assert [line.split(":")[0] for line in found] == ["bot/chat/sender.py"] * 2, found


def test_the_delivery_worker_process_loads_no_stripe_admin_or_migrations() -> None:
    """`python -m bot worker` is a sender: every module it loads is memory in every worker
    (its budget is 200 MB, most of it aiogram's models). Stripe (with requests) cost 8 MB
    when a text module imported a type from the plans module at run time; PostgreSQL's
    dialect 2 MB when a module the worker imports built an upsert for both databases."""
    import subprocess
    import sys

    probe = (
        "import sys, bot.worker; "
        "print(' '.join(m for m in ('stripe', 'requests', 'bot.accounts.admin',"
        " 'bot.signals.service',"
        " 'bot.app', 'alembic', 'bot.lifecycle.sweeps', 'sqlalchemy.dialects.postgresql',"
        " 'bot.chat.dispatcher', 'bot.chat.routers', 'webapp', 'aiohttp.web')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "BOT_TOKEN": "1:x", "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.strip() == ""
