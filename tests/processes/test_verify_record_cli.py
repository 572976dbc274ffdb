"""`python -m bot verify-record URL|FILE`: needs no settings (anyone checks anyone's
record), and what is not a readable record, however hostile (malformed, huge, nested a
hundred thousand deep, binary), is one line and exit 2, never a traceback; a URL that
cannot be fetched is exit 3. The checks themselves: tests/unit/test_record_chain.py; on a
served record: tests/flows/test_record_tampering.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import verify_record
from tests.support.processes import assert_one_line, base_env, free_port, run_cli

EMPTY = {"format": "signaldesk-record/1", "brand": "X", "generated_at": "", "head": None}


async def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    """The command in a process of its own, with no setting at all in its environment."""
    return await run_cli(["verify-record", *args], base_env(), tmp_path)


async def test_a_record_is_checked_without_any_setting(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_text(json.dumps({**EMPTY, "entries": []}))
    assert await _cli(tmp_path, str(path)) == (0, "")
    entry = {"seq": 1, "type": "signal", "signal": 1, "at": "2026-12-06T10:15:30.000000Z"}
    entry |= {"commitment": "a" * 64, "prev": "0" * 64, "hash": "b" * 64, "reveal": None}
    path.write_text(json.dumps({**EMPTY, "entries": [entry]}))
    assert await _cli(tmp_path, str(path)) == (1, "")  # its problems go to stdout


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"[" * 100_000, "nested deeper than 32 levels"),
        (b'{"entries": [' + b'{"a": ' * 50 + b"1" + b"}" * 50 + b"]}", "nested deeper"),
        (b'{"format": "signaldesk-record/1", "entries": [}', "not valid JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text"),
        (b'{"format": "other/1", "entries": []}', 'no "format": "signaldesk-record/1"'),
        (b"", "not valid JSON"),
    ],
    ids=["deep arrays", "deep objects", "malformed", "binary", "another format", "empty"],
)
async def test_what_is_not_a_record_is_one_line_and_exit_2(
    tmp_path: Path, body: bytes, says: str
) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(body)
    status, stderr = await _cli(tmp_path, str(path))
    assert status == 2
    assert_one_line(stderr, "verify-record: cannot read the record: ", says)


async def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as file:
        file.truncate(verify_record.MAX_BYTES + 1)  # sparse: nothing written to disk
    status, stderr = await _cli(tmp_path, str(path))
    assert status == 2
    assert_one_line(stderr, "larger than 64 MB")


async def test_wrong_arguments(tmp_path: Path) -> None:
    status, stderr = await _cli(tmp_path, str(tmp_path / "missing.json"))
    assert status == 2
    assert_one_line(stderr, "cannot read the record: ", "missing.json", "No such file")
    status, stderr = await _cli(tmp_path, "x.json", "--head", "3:nothex")
    assert status == 2
    assert_one_line(stderr, "--head: expected SEQ:HASH")
    status, stderr = await _cli(tmp_path, "http://[::1")
    assert status == 2
    assert_one_line(stderr, "not a URL that can be fetched")


async def test_an_unreachable_url_is_exit_3(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/track-record.json"  # nobody listens
    status, stderr = await _cli(tmp_path, url)
    assert status == 3
    assert_one_line(stderr, f"verify-record: cannot fetch {url}: ")


@pytest.fixture
async def server() -> AsyncIterator[str]:
    """A server answering what a record's URL should not: an error page, a body larger
    than the cap (streamed), and JSON that is no record."""

    async def missing(_request: web.Request) -> web.Response:
        return web.Response(status=404, text="<html>Not here</html>", content_type="text/html")

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b" " * 65536
        for _ in range(100):  # 6.4 MB, past the cap the test sets
            await response.write(chunk)
        return response

    async def other(_request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    app = web.Application()
    app.router.add_get("/missing", missing)
    app.router.add_get("/endless", endless)
    app.router.add_get("/other", other)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_what_a_url_answers_instead_of_a_record(
    server: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_record, "MAX_BYTES", 1024 * 1024)

    async def run(path: str) -> tuple[int, str]:
        status = await asyncio.to_thread(verify_record.run, server + path)
        captured = capsys.readouterr()
        assert captured.out == "" and "Traceback" not in captured.err
        return status, captured.err

    status, stderr = await run("/missing")
    assert status == 3 and stderr.endswith("/missing: HTTP 404 Not Found\n")
    status, stderr = await run("/endless")
    assert status == 2 and "larger than 1 MB" in stderr
    status, stderr = await run("/other")
    assert status == 2 and 'no "format": "signaldesk-record/1"' in stderr
