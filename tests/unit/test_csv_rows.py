"""CSV a spreadsheet opens safely (bot/admin/csv_rows.py): RFC 4180 quoting, CRLF, and no
text cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.admin.csv_rows import cell, line, lines


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r=1"),
        ("-1.5", "-1.5"),  # a number written as text stays a number
        ("Ann", "Ann"),
        ("Анна 🚀", "Анна 🚀"),
        (Decimal("-1.50"), "-1.5"),  # a result below 0 R is no formula
        (Decimal("100"), "100"),
        (-3, "-3"),
        (None, ""),
        (True, "true"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05+00:00"),
    ],
)
def test_each_cell(value: object, text: str) -> None:
    assert cell(value) == text


def test_quoting_is_rfc_4180_and_reads_back() -> None:
    record = line(["a,b", 'say "hi"', "two\nlines", "=1"])
    assert record == '"a,b","say ""hi""","two\nlines",\'=1\r\n'
    assert next(csv.reader(io.StringIO(record))) == ["a,b", 'say "hi"', "two\nlines", "'=1"]


async def test_lines_stream_in_chunks_after_the_header() -> None:
    async def rows() -> AsyncIterator[tuple[object, ...]]:
        for number in range(5):
            yield (number, f"row {number}")

    chunks = [chunk async for chunk in lines(["n", "name"], rows(), per_chunk=2)]
    assert chunks[0] == "n,name\r\n"
    assert len(chunks) == 4  # the header, 2 + 2 + 1 rows
    assert list(csv.reader(io.StringIO("".join(chunks))))[-1] == ["4", "row 4"]
