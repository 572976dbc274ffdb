"""Logging set-up, with redaction that keeps every secret out of every log line.

Redaction happens when a record is created (a LogRecord factory), not in one handler's
formatter: the message, its arguments, the exception text and the traceback are rendered
and scrubbed there, so every handler (ours, pytest's, a platform's) only ever sees the
scrubbed text. Secrets are redacted two ways: the exact values the process was configured
with (registered by the composition root), and shapes that are secret whoever's they are
(bot tokens in Bot API URLs, Stripe keys, bearer tokens, initData signatures).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

REDACTED = "<redacted>"

# Shapes that are secret whatever process logs them. Group 1, when present, is kept.
_SHAPES = [
    # A bot token, e.g. inside /bot<token>/sendMessage echoed by an error page.
    re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}"),
    # Stripe secret and restricted keys, webhook signing secrets.
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{6,}"),
    re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]{6,}"),
    # An Authorization header's credentials.
    re.compile(r"(?i)(\bbearer\s+)[^\s'\",;]+"),
    # The Mini App's bearer tokens (<base64 JSON>.<signature>).
    re.compile(r"\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{20,}"),
    # initData: its signatures, and the user it describes.
    re.compile(r"(?i)(\b(?:hash|signature)=)[^&\s'\"]+"),
    re.compile(r"(?i)(\buser=)(?:%7B|\{)[^&\s'\"]*"),
]


def _keep_prefix(match: re.Match[str]) -> str:
    return (match.group(1) if match.re.groups else "") + REDACTED


class Redactor:
    """Scrubs known secret values and secret-shaped text out of a string."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._literals: tuple[str, ...] = ()

    def add(self, *values: str | None) -> None:
        """Remember secret values to scrub verbatim (short ones would scrub ordinary text)."""
        with self._lock:
            known = set(self._literals)
            known.update(v for v in values if v and len(v) >= 8)
            # Longest first, so a secret that contains another goes as a whole.
            self._literals = tuple(sorted(known, key=len, reverse=True))

    def known(self) -> tuple[str, ...]:
        """The secret values registered so far."""
        return self._literals

    def redact(self, text: str) -> str:
        for literal in self._literals:
            if literal in text:
                text = text.replace(literal, REDACTED)
        for shape in _SHAPES:
            text = shape.sub(_keep_prefix, text)
        return text


REDACTOR = Redactor()
_base_factory = logging.getLogRecordFactory()


def _render_message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad format string must not lose the line, nor raise here
        return f"{record.msg!r} {record.args!r}"


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.msg = REDACTOR.redact(_render_message(record))
    record.args = None
    if record.exc_info and record.exc_info[1] is not None:
        # Rendered now, scrubbed, and the raw exception dropped: no handler can print the
        # unscrubbed text (an error page echoing the token, a chained cause) later. Its
        # type stays, for filters (see _BadRequestsAreNotErrors).
        record.exception_type = type(record.exc_info[1])
        rendered = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = REDACTOR.redact(rendered)
        record.exc_info = None
    if record.stack_info:
        record.stack_info = REDACTOR.redact(record.stack_info)
    return record


class _BadRequestsAreNotErrors(logging.Filter):
    """aiohttp logs a request it cannot even parse (a non-ASCII path, a malformed header)
    at ERROR with a traceback, though the client was at fault and got its 400. Here it is
    one INFO line: bad input is not a fault of ours, and must not flood the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        kind = getattr(record, "exception_type", None)
        if kind is not None and issubclass(kind, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            first = (record.exc_text or "").strip().splitlines()[-1:] or [kind.__name__]
            record.msg = f"{record.msg}: {first[0][:200]}"
            record.exc_text = None
        return True


_bad_requests = _BadRequestsAreNotErrors()


def install_redaction(secrets: Iterable[str | None] = ()) -> None:
    """Scrub every record created from now on, in every logger, for every handler; and
    keep clients' malformed HTTP out of the error log."""
    REDACTOR.add(*secrets)
    logging.setLogRecordFactory(_redacting_factory)
    server_log = logging.getLogger("aiohttp.server")
    if _bad_requests not in server_log.filters:
        server_log.addFilter(_bad_requests)


class JsonFormatter(logging.Formatter):
    """LOG_FORMAT=json: one JSON object a line, for a platform's log collector. The
    message and the traceback are the redacted ones (the record factory above)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(
    level: str, secrets: Iterable[str | None] = (), *, log_format: str = "text"
) -> None:
    install_redaction(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # aiohttp's access log would print every webhook hit; keep it quiet unless debugging.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Alembic's chatter (plugin set-up, "Context impl ...", each revision run) is noise
    # outside DEBUG; `python -m bot migrate` says in one line where the schema is.
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("alembic").setLevel(logging.WARNING)
