"""Rows as CSV a spreadsheet opens safely: UTF-8, RFC 4180 (fields quoted when they hold a
comma, a quote or a line break; quotes doubled; lines end in CRLF), times in ISO 8601 UTC,
decimals as plain numbers, and no cell a spreadsheet would run as a formula.

A cell of text beginning with =, +, -, @, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (OWASP, "CSV Injection"): such a cell gets a leading
apostrophe, which the spreadsheet shows as text. A username or a signal's note comes from
users, so every text cell is checked; numbers (a negative result) are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from datetime import datetime
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 1.50 stored as 1.5000 on one database
    return str(value)


def cell(value: object) -> str:
    """One value as its CSV text (before the writer's quoting): text that would start a
    formula is neutralised; numbers are left as they are."""
    text = _text(value)
    if isinstance(value, str) and text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def line(values: Iterable[object]) -> str:
    """One CSV record, CRLF-terminated."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([cell(v) for v in values])
    return buffer.getvalue()


async def lines(
    header: Iterable[str], rows: AsyncIterable[Iterable[object]], *, per_chunk: int = 500
) -> AsyncIterator[str]:
    """The header, then the rows, in chunks of `per_chunk` records (what a stream writes)."""
    yield line(header)
    chunk: list[str] = []
    async for row in rows:
        chunk.append(line(row))
        if len(chunk) >= per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
