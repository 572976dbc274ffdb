"""Entry point: `python -m bot` runs everything; `python -m bot migrate` applies migrations;
`python -m bot worker` runs a delivery worker alone."""

from __future__ import annotations

import asyncio
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from bot.logs import configure_logging
from bot.settings import SettingsError, load_settings

USAGE = "usage: python -m bot [migrate | worker]"
EXIT_CONFIG = 2


def main(argv: list[str]) -> int:
    if argv not in ([], ["migrate"], ["worker"]):
        print(USAGE, file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.secret_values())
    # Imported only now: aiogram and stripe take seconds to import, and a configuration
    # error should be reported at once.
    from bot.startup import StartupError  # noqa: PLC0415

    log = logging.getLogger("bot")
    try:
        if argv == ["migrate"]:
            from bot.app import run_migrations  # noqa: PLC0415

            revision = asyncio.run(run_migrations(settings))
            log.info("database is at revision %s", revision)
        elif argv == ["worker"]:
            # Not bot.app: this process sends and nothing else, and aiogram's models are
            # most of its memory already.
            from bot.worker import run_worker  # noqa: PLC0415

            asyncio.run(run_worker(settings))
        else:
            from bot.app import run  # noqa: PLC0415

            asyncio.run(run(settings))
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
