"""What a database failure looks like from the application, and how to name it in a log.

An outage (PostgreSQL stopped, a connection cut, a full disk, a read-only file, a lock held
too long) surfaces as one of these. Code that must survive one catches exactly these, logs
one line naming the fault, and tries again later; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

# OSError: a socket or a file failing underneath the driver before SQLAlchemy wraps it.
DATABASE_FAULTS: tuple[type[Exception], ...] = (SQLAlchemyError, OSError)


def describe_fault(error: BaseException) -> str:
    """A one-line name for a fault: its type and the driver's error type, never its text
    (which can run to many lines and quote the statement and its parameters)."""
    cause = getattr(error, "orig", None) if isinstance(error, SQLAlchemyError) else None
    name = type(error).__name__
    return f"{name} ({type(cause).__name__})" if cause is not None else name
