"""Entry point: `python -m bot` runs everything; `python -m bot migrate` applies migrations;
`python -m bot worker` runs a delivery worker alone; `python -m bot --help` says so."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.core.logs import configure_logging
from bot.core.settings import Settings, SettingsError, load_settings

EXIT_CONFIG = 2
# Commands that run once against Stripe and Telegram: either one missing is one line.
OFFLINE_COMMANDS = ("reconcile", "audit-chats")
COMMANDS = {
    "migrate": "bring the database schema up to date (make run does it for you)",
    "worker": "run one more delivery worker on its own (PostgreSQL only)",
    "reconcile": "compare every Stripe subscription with its entitlement and repair each "
    "difference as its webhook would have (--dry-run: only print them)",
    "audit-chats": "list the premium chats' members without access and remove them "
    "(--dry-run: only list them)",
    "backup": "copy the SQLite database to PATH while the bot runs (PostgreSQL: prints "
    "the pg_dump line)",
    "restore": "replace the SQLite database with the backup at PATH; refuses a database in "
    "use, and one holding data without --force (PostgreSQL: prints the pg_restore line)",
    "export": "write subscribers, payments (Telegram Stars), signals or the audit log as CSV "
    "to --out FILE "
    "or stdout (--since DATE: only those from that day on)",
    "verify-record": "check a verifiable track record (a URL of /track-record.json, a file "
    "saved from one, or - for standard input); needs no settings. --head SEQ:HASH: a head "
    "published earlier (the daily post) that the record must still hold",
    "help": "show this help",
}
EXPORTS = ("subscribers", "payments", "signals", "audit")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=(
            "SignalDesk: a paid trading-signal service in Telegram. With no command, run "
            "everything: the bot (long polling, or webhook mode when PUBLIC_URL is set), "
            "the web server on PORT (Stripe webhooks, the Mini App, health) and the "
            "delivery worker."
        ),
        epilog=(
            "Settings come from the environment and from .env; .env.example lists them. "
            "Exit status: 0 done, 2 a setting to fix, 3 (reconcile, audit-chats) Stripe or "
            "Telegram could not be reached. verify-record: 0 valid, 1 invalid (each problem "
            "printed), 2 not a readable record, 3 the URL could not be fetched."
        ),
    )
    commands = parser.add_subparsers(dest="command", metavar="[command]", title="commands")
    for name, summary in COMMANDS.items():
        command = commands.add_parser(name, help=summary, description=summary)
        if name in ("reconcile", "audit-chats"):
            command.add_argument(
                "--dry-run", action="store_true", help="print the differences, change nothing"
            )
        if name in ("backup", "restore"):
            command.add_argument("path", metavar="PATH", type=Path)
        if name == "restore":
            command.add_argument(
                "--force", action="store_true", help="replace a database that holds data"
            )
        if name == "export":
            command.add_argument("what", choices=EXPORTS, metavar="|".join(EXPORTS))
            command.add_argument("--since", metavar="DATE", help="YYYY-MM-DD (UTC)")
            command.add_argument("--out", metavar="FILE", type=Path, help="default: stdout")
        if name == "verify-record":
            _verify_record_arguments(command)
    return parser


def _verify_record_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("source", metavar="URL|FILE")
    command.add_argument("--head", metavar="SEQ:HASH", help="an entry the chain must hold")


def _command(argv: list[str]) -> argparse.Namespace | int:
    """The command to run, or the exit status when argparse has answered already."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a bad command (2), printed by argparse
        return stop.code if isinstance(stop.code, int) else EXIT_CONFIG
    if args.command == "help":
        parser.print_help()
        return 0
    return args


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli import backup  # noqa: PLC0415

    outcome = (
        backup.backup(settings.database_url, args.path)
        if args.command == "backup"
        else backup.restore(settings.database_url, args.path, force=args.force)
    )
    print(outcome.line)  # noqa: T201
    return outcome.status


def _migrate(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.migrations import run_migrations  # noqa: PLC0415

    revision = asyncio.run(run_migrations(settings))
    logging.getLogger("bot").info("database is at revision %s", revision)
    return 0


def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.reconcile import run_audit, run_reconcile  # noqa: PLC0415

    run = run_reconcile if args.command == "reconcile" else run_audit
    return asyncio.run(run(settings, dry_run=bool(args.dry_run)))


def _worker(_args: argparse.Namespace, settings: Settings) -> int:
    # Not bot.app: this process sends and nothing else, and aiogram's models are most
    # of its memory already.
    from bot.worker import run_worker  # noqa: PLC0415

    asyncio.run(run_worker(settings))
    return 0


def _serve(_args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.serve import run  # noqa: PLC0415

    asyncio.run(run(settings))
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one command; its exit status."""
    handlers = {
        "backup": _backup,
        "restore": _backup,
        "migrate": _migrate,
        "reconcile": _reconcile,
        "audit-chats": _reconcile,
        "worker": _worker,
        "export": _export,
    }
    return handlers.get(str(args.command or "run"), _serve)(args, settings)


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from bot.admin.exports import Export, since_of  # noqa: PLC0415
    from bot.cli.export import run_export  # noqa: PLC0415

    try:
        since = since_of(args.since)
    except ValueError as error:
        print(f"export: {error}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    return asyncio.run(run_export(settings, Export(args.what), since, args.out))


def main(argv: list[str]) -> int:
    command = _command(argv)
    if isinstance(command, int):
        return command
    if command.command == "verify-record":  # anyone's record: no settings of ours needed
        from bot.cli.verify_record import run as verify_record  # noqa: PLC0415

        return verify_record(command.source, head=command.head)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.secret_values(), log_format=settings.log_format)
    return _guarded(command, settings)


def _guarded(args: argparse.Namespace, settings: Settings) -> int:
    """Run the command; what the operator must fix or wait out is one line, no traceback."""
    # Imported only now: aiogram and stripe take seconds to import, and a configuration
    # error should be reported at once.
    from bot.core.startup import StartupError  # noqa: PLC0415

    command = str(args.command or "run")
    try:
        return _run(args, settings)
    except StartupError as error:
        print(f"start-up error: {error}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    except (SQLAlchemyError, OSError) as error:
        # An unreachable database is an operator problem, not a bug: one line, no traceback.
        line = f"start-up error: database: {type(error).__name__}: {error}".splitlines()[0]
        print(line, file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    except KeyboardInterrupt:
        pass
    except Exception as error:
        if command not in OFFLINE_COMMANDS:
            raise  # the long-running process deals with outages itself; this is a bug
        return _unreachable(command, error, settings)
    return 0


def _unreachable(command: str, error: Exception, settings: Settings) -> int:
    """Stripe or Telegram absent (or refusing our key) during an offline command: one line
    naming it and its exit status; anything else stays a traceback."""
    from bot.cli.outages import outage  # noqa: PLC0415 - imports Stripe and aiogram

    said = outage(error, settings)
    if said is None:
        raise error
    status, line = said
    print(f"{command}: stopped: {line}", file=sys.stderr)  # noqa: T201
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
