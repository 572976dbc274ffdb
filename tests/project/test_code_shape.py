"""The shape a newcomer can rely on: small functions, and the layers' import direction.

Generated Alembic migrations are left out: they are data in the form of code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400


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
            if node.module == "bot":  # `from bot import app`: a module of bot's root
                found.update(f"bot.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)"
        for path in _sources("bot", "webapp", "db", "bench")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_each_module_holds_one_part() -> None:
    """A module past 400 lines holds several parts a newcomer has to tell apart (issue 26:
    app.py held the wiring, the run loop and three commands). bench/ has a module (or a
    small package) per scenario and its shared parts in bench/shared/."""
    long = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in _sources("bot", "webapp", "db", "bench")
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


# The floors, from the ground up. A module may import its own floor and those below it,
# never one above: the folder names tell the story (docs/architecture.md draws it).
FLOORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database", ("db",)),
    ("core", ("bot.core",)),  # settings, logs, metrics, clock, errors, ids, languages...
    ("transactions", ("bot.transactions",)),  # unit of work, group commit, change feed...
    # The domain, itself in floors: each feature stands on those it needs. Features return
    # data, never words or buttons.
    # the kinds of notice and the outbox they are queued in; the audit log of admin actions
    ("notices", ("bot.notices", "bot.audit")),
    ("accounts", ("bot.accounts",)),  # users, preferences, access, every entitlement write
    ("payments", ("bot.payments",)),  # what both rails share: amounts, payment links
    ("rails", ("bot.billing", "bot.stars")),  # Stripe's rail and Telegram Stars', apart
    ("features", ("bot.signals", "bot.delivery", "bot.lifecycle")),
    # Outcomes from market prices: a watcher on the scheduler that records signals' updates.
    ("outcomes", ("bot.outcomes",)),
    ("premium", ("bot.premium",)),  # premium chats follow access and the lifecycle's jobs
    ("admin", ("bot.admin",)),  # grants, broadcasts, /stats: reads every rail
    ("texts", ("bot.texts",)),  # the catalogue and its renderers, below every adapter
    ("telegram", ("bot.telegram",)),  # the Bot API client, its health, set-up
    ("adapters", ("bot.chat", "webapp")),  # the chat adapter and the web adapter
    # The entry points: the composition root (the one module that knows every part), the
    # delivery worker's process, `python -m bot` and the pieces of its commands.
    ("entry points", ("bot.app", "bot.worker", "bot.__main__", "bot.cli")),
)

# Imports that run back up a floor and cannot be undone by a move alone: none today; an
# entry here names the file and the package it reaches up to, and says why.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _floor(module: str) -> int | None:
    """The floor of one of our modules (None for a library's)."""
    for number, (_, packages) in enumerate(FLOORS):
        if any(module == p or module.startswith(p + ".") for p in packages):
            return number
    return None


def _package(module: str) -> str:
    return next(p for _, packages in FLOORS for p in packages if module.startswith(p))


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_every_module_of_ours_stands_on_a_floor() -> None:
    """A new folder under bot/ gets a floor here, or this fails: bot/'s root holds only its
    entry points (app.py, worker.py, __main__.py) and the package's __init__.py."""
    lost = [
        str(path.relative_to(ROOT))
        for path in _sources("bot", "webapp", "db")
        if path != ROOT / "bot" / "__init__.py" and _floor(_module(path)) is None
    ]
    assert lost == []


@pytest.mark.parametrize(("floor", "packages"), FLOORS, ids=[name for name, _ in FLOORS])
def test_each_floor_imports_only_its_own_and_those_below(
    floor: str, packages: tuple[str, ...]
) -> None:
    here = _floor(packages[0])
    assert here is not None
    wrong = [
        f"{path.relative_to(ROOT)} imports {module} ({FLOORS[above][0]})"
        for package in packages
        for path in _sources(package.replace(".", "/"))
        for module in sorted(_imports(path))
        if (above := _floor(module)) is not None
        and above > here
        and (str(path.relative_to(ROOT)), _package(module)) not in KNOWN_UPWARD
    ]
    assert wrong == []


SIDE_BY_SIDE = [(name, packages) for name, packages in FLOORS[:-1] if len(packages) > 1]


@pytest.mark.parametrize(
    ("floor", "packages"), SIDE_BY_SIDE, ids=[name for name, _ in SIDE_BY_SIDE]
)
def test_packages_on_one_floor_do_not_know_each_other(
    floor: str, packages: tuple[str, ...]
) -> None:
    """Chat and web meet only below them (texts, telegram, the domain) or in bot/app/;
    Stripe's rail and Stars' only in what they share (bot/payments); signals, delivery and
    the lifecycle only through the outbox. (The entry points call one another.)"""
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package in packages
        for path in _sources(package.replace(".", "/"))
        for module in _imports(path)
        for other in packages
        if other != package and (module == other or module.startswith(other + "."))
    ]
    assert wrong == []


def _import_graph() -> dict[str, set[str]]:
    """Each module of ours and the modules of ours it imports (a package is its __init__)."""
    paths = {
        _module(path).removesuffix(".__init__"): path for path in _sources("bot", "webapp", "db")
    }
    return {name: {m for m in _imports(path) if m in paths} for name, path in paths.items()}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while (top := stack.pop()) != node:
                group.append(top)
            if group:
                found.append(sorted([*group, node]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_round_a_circle() -> None:
    """A circle makes the import order matter and the two modules one unit in disguise."""
    assert _circles(_import_graph()) == []


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]


def test_the_known_upward_imports_are_still_there() -> None:
    """An exception that no longer happens leaves this list; none is kept by habit."""
    gone = [
        (path, package)
        for path, package in sorted(KNOWN_UPWARD)
        if not any(m.startswith(package) for m in _imports(ROOT / path))
    ]
    assert gone == []


DOMAIN_FLOORS = (
    "notices",
    "accounts",
    "payments",
    "rails",
    "features",
    "outcomes",
    "premium",
    "admin",
)
DOMAIN = tuple(p for name, packages in FLOORS if name in DOMAIN_FLOORS for p in packages)

# Where the domain meets the Bot API itself: sending and editing messages, a Stars
# invoice's price, the Stars transactions read back.
BOT_API_EDGES = (
    ROOT / "bot/delivery/worker.py",
    ROOT / "bot/delivery/preparing.py",  # the worker's batch, with each send's buttons
    ROOT / "bot/delivery/broadcast_counts.py",
    ROOT / "bot/stars/service.py",
    ROOT / "bot/stars/reconcile.py",
)


def test_domain_modules_build_no_aiogram_keyboards_or_messages() -> None:
    """Services return data; the adapters render it with the text catalogue."""
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for package in DOMAIN
        for path in _sources(package.replace(".", "/"))
        if path not in BOT_API_EDGES
        for module in _imports(path)
        if module.startswith(("aiogram.types", "bot.chat", "bot.texts", "webapp"))
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
        "print(' '.join(m for m in ('stripe', 'requests', 'bot.admin.service',"
        " 'bot.signals.service',"
        " 'bot.app', 'alembic', 'bot.lifecycle.sweeps', 'sqlalchemy.dialects.postgresql',"
        " 'bot.chat.dispatcher', 'bot.chat.routers', 'webapp', 'aiohttp.web', 'ccxt')"
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


# The readiness probe is itself the one statement it runs: whether the database takes a write.
ROUTES_WITHOUT_SQL_EXCEPT = {ROOT / "webapp/readiness.py"}


def test_routes_call_services_and_run_no_sql() -> None:
    """A route reads the request, calls the domain in a unit of work, renders; the queries
    live with the feature that owns the table (issue 26: the track record, /metrics and
    /api/v1/me ran their own)."""
    allowed = {"sqlalchemy.ext.asyncio", "sqlalchemy.exc"}
    session_calls = {"get", "execute", "scalar", "scalars", "add", "add_all", "delete", "merge"}
    wrong = [
        f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)} {label}"
        for path in _sources("webapp")
        if path not in ROUTES_WITHOUT_SQL_EXCEPT
        for node in ast.walk(ast.parse(path.read_text()))
        for label in _sql_use(node, allowed, session_calls)
    ]
    assert wrong == []


def _sql_use(node: ast.AST, allowed: set[str], session_calls: set[str]) -> list[str]:
    if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
        return [] if node.module in allowed else [f"imports {node.module}"]
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"session", "connection"}
        and node.func.attr in session_calls
    ):
        return [f"{node.func.value.id}.{node.func.attr}()"]
    return []
