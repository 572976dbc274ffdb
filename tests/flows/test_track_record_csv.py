"""GET /track-record.csv (issue 28), on both databases: the record's entries one row each,
the same as the JSON's, read back with the csv module (RFC 4180, UTF-8); a note that would
be a spreadsheet formula is neutralised; an empty record is its header alone; the page
links to it; batches of any size give the same rows."""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.signals import record_csv
from tests.flows.test_record_chain import page, record
from tests.support.harness import Harness
from tests.support.helpers import post_signal_update, publish_signal

FORMULA = '=HYPERLINK("http://evil.example","café")'
CLOSED = f"BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note {FORMULA}"
OPEN = "ETHUSDT short entry 3400.5 sl 3520.5 tp 3300.5 3200.5 note still sealed"


async def download(harness: Harness) -> tuple[list[dict[str, str]], list[str], dict[str, str]]:
    async with harness.http.get(harness.base_url + "/track-record.csv") as response:
        assert response.status == 200
        raw = await response.read()
        headers = dict(response.headers)
    text = raw.decode("utf-8")  # UTF-8, or this raises
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")  # CRLF records
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header, *rows = list(reader)
    return [dict(zip(header, row, strict=True)) for row in rows], header, headers


async def test_an_empty_record_is_its_header(harness: Harness) -> None:
    rows, header, headers = await download(harness)
    assert rows == [] and header == list(record_csv.HEADER)
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert 'filename="track-record.csv"' in headers["Content-Disposition"]


async def test_each_entry_is_a_row_as_the_json_has_it(harness: Harness) -> None:
    closed = await publish_signal(harness, CLOSED)
    still_open = await publish_signal(harness, OPEN)
    await post_signal_update(harness, closed, "tp1")
    await post_signal_update(harness, still_open, "tp1")
    await post_signal_update(harness, closed, "close 68000")
    document, _, _ = await record(harness)
    rows, _, _ = await download(harness)
    entries: list[dict[str, Any]] = document["entries"]
    assert len(rows) == len(entries) == 5
    for row, entry in zip(rows, entries, strict=True):
        for name in ("seq", "signal"):
            assert row[name] == str(entry[name])
        for name in ("at", "type", "commitment", "prev", "hash"):
            assert row[name] == entry[name]
        assert row["revealed"] == ("true" if entry["reveal"] else "false")
        if entry["reveal"] is None:  # sealed: nothing but the commitment
            assert all(row[name] == "" for name in (*record_csv.CONTENT, "salt"))
        else:
            assert row["salt"] == entry["reveal"]["salt"]
    signal = rows[0]
    assert (signal["symbol"], signal["side"], signal["stop_loss"]) == ("BTCUSDT", "long", "63500")
    assert signal["take_profits"] == "67000 69000" and signal["timeframe"] == "4h"
    assert signal["note"] == "'" + FORMULA  # shown as text, never run
    assert signal["outcome_status"] == "closed" and signal["outcome_exit_price"] == "68000"
    assert signal["outcome_result_r"] == entries[0]["outcome"]["result_r"]
    tp1, content = rows[2], entries[2]["reveal"]["content"]
    assert (tp1["kind"], tp1["price"], tp1["status"]) == ("tp1", "67000", "tp1")
    assert (tp1["result_pct"], tp1["result_r"]) == (content["result_pct"], content["result_r"])
    assert tp1["outcome_status"] == ""  # an update has no outcome of its own
    sealed = "\n".join(",".join(row.values()) for row in rows)
    for level in ("3400.5", "3520.5", "3300.5", "3200.5", "still sealed"):
        assert level not in sealed
    body = await page(harness)
    assert 'href="/track-record.csv"' in body


async def test_any_batch_size_gives_the_same_rows(harness: Harness) -> None:
    """The rows are read a batch at a time (500 by default): 1, 2 or 500 a query, the
    same rows in the same order."""
    for _ in range(3):
        signal_id = await publish_signal(harness, OPEN)
        await post_signal_update(harness, signal_id, "sl")

    async def read(batch: int) -> list[list[object]]:
        async with harness.session() as session:
            return [row async for row in record_csv.rows(session, batch=batch)]

    whole = await read(500)
    assert len(whole) == 6
    assert await read(1) == whole and await read(2) == whole
