"""DATABASE_URL as hosting platforms hand it out, made into what the async drivers take.

Heroku, Render, Railway, Fly and Supabase give `postgres://` or `postgresql://` URLs with
libpq's parameters (`?sslmode=require`). SQLAlchemy needs `postgresql+asyncpg://`, and
asyncpg takes none of libpq's parameter names: `sslmode=require` passed through would stop
start-up with a TypeError deep in the driver. So the scheme is mapped here, and the
parameters we support are turned into asyncpg's connect arguments; any other parameter is
refused with one line that names it.

Pure string work with the standard library: the settings check a URL with it without
importing SQLAlchemy (see db/__init__.py).
"""

from __future__ import annotations

import re
import ssl
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SQLITE_SCHEME = "sqlite+aiosqlite"
POSTGRES_SCHEME = "postgresql+asyncpg"
# The spellings platforms and libpq use for PostgreSQL; all mean asyncpg here.
_POSTGRES_ALIASES = frozenset(
    {"postgres", "postgresql", POSTGRES_SCHEME, "postgresql+psycopg", "postgresql+psycopg2"}
)
# libpq's sslmode values; asyncpg takes the same words for its `ssl` argument.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
SUPPORTED = ("sslmode", "sslrootcert", "connect_timeout", "application_name")
MAX_CONNECT_TIMEOUT = 300


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be used; the message names what is wrong, never the password."""


def normalise(url: str) -> str:
    """The URL with its scheme made `sqlite+aiosqlite` or `postgresql+asyncpg`, its
    parameters checked. Raises DatabaseUrlError."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == SQLITE_SCHEME:
        return url
    if scheme not in _POSTGRES_ALIASES:
        raise DatabaseUrlError(
            "must start with sqlite+aiosqlite://, postgresql+asyncpg://, postgresql:// "
            "or postgres://"
        )
    connect_args(parts.query)  # refuse what cannot be used now, not at the first connect
    return urlunsplit(parts._replace(scheme=POSTGRES_SCHEME))


def split(url: str) -> tuple[str, dict[str, Any]]:
    """A normalised PostgreSQL URL without libpq's parameters, and asyncpg's connect
    arguments for them (SQLite URLs come back as they are)."""
    parts = urlsplit(url)
    if parts.scheme != POSTGRES_SCHEME:
        return url, {}
    kept = [(k, v) for k, v in parse_qsl(parts.query) if k not in SUPPORTED]
    return urlunsplit(parts._replace(query=urlencode(kept))), connect_args(parts.query)


def connect_args(query: str) -> dict[str, Any]:
    """asyncpg's arguments for the URL's query string; DatabaseUrlError on anything else."""
    try:
        params = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise DatabaseUrlError("its parameters (after ?) cannot be read") from None
    unknown = sorted(set(params) - set(SUPPORTED))
    if unknown:
        raise DatabaseUrlError(
            f"the parameter {unknown[0]!r} is not supported (supported: {', '.join(SUPPORTED)})"
        )
    args: dict[str, Any] = {}
    mode = params.get("sslmode")
    if mode is not None and mode not in SSL_MODES:
        raise DatabaseUrlError(f"sslmode must be one of {', '.join(SSL_MODES)}")
    if "sslrootcert" in params:
        args["ssl"] = _verifying_context(params["sslrootcert"], mode)
    elif mode is not None:
        args["ssl"] = mode
    if "connect_timeout" in params:
        args["timeout"] = _timeout(params["connect_timeout"])
    if "application_name" in params:
        args["server_settings"] = {"application_name": params["application_name"]}
    return args


def _timeout(value: str) -> float:
    if not re.fullmatch(r"[0-9]{1,4}", value) or not 0 < int(value) <= MAX_CONNECT_TIMEOUT:
        raise DatabaseUrlError(
            f"connect_timeout must be whole seconds, 1 to {MAX_CONNECT_TIMEOUT}"
        )
    return float(value)


def _verifying_context(cafile: str, mode: str | None) -> ssl.SSLContext:
    """sslrootcert: the server's certificate is checked against that CA file (libpq's
    verify-ca and verify-full; asyncpg's string modes know only the system's CAs)."""
    if mode not in (None, "verify-ca", "verify-full"):
        raise DatabaseUrlError("sslrootcert goes with sslmode=verify-ca or verify-full")
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "unreadable"
        raise DatabaseUrlError(f"sslrootcert {cafile!r} cannot be read ({reason})") from None
    context.check_hostname = mode != "verify-ca"
    return context
