"""Logging set-up, with a filter that keeps the bot token out of every log line."""

from __future__ import annotations

import logging
import re

# aiogram and aiohttp may log request URLs, which carry the token as /bot<token>/.
_TOKEN_IN_TEXT = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")


class RedactSecretsFilter(logging.Filter):
    """Replace anything shaped like a bot token with a placeholder."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN_IN_TEXT.search(message):
            record.msg = _TOKEN_IN_TEXT.sub("<redacted-token>", message)
            record.args = None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecretsFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # aiohttp's access log would print every webhook hit; keep it quiet unless debugging.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Alembic's per-connection chatter ("Context impl ...") is noise outside DEBUG.
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
