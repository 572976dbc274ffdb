"""`python -m bot verify-record URL|FILE [--head SEQ:HASH]`: check a verifiable record.

Reads the record (GET /track-record.json of any SignalDesk, a file saved from it, or `-`
for standard input), checks it (bot/signals/record_verify.py) and prints one line per
problem and a summary. Needs no settings and no database: anyone can run it against
anyone's record. Exit status (docs/track-record.md):

    0  the record holds: every hash, link, time and revealed commitment checks out
    1  it does not: each problem printed
    2  not a record that can be read (no such file, not JSON, too large or too deeply
       nested, another format, a bad URL)
    3  the URL could not be fetched (unreachable, timed out, an HTTP error status)
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import aiohttp

from bot.signals.record_verify import UnreadableRecordError, Verdict, parse, verify

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE, EXIT_UNREACHABLE = 0, 1, 2, 3
MAX_BYTES = 64 * 1024 * 1024  # ~100,000 revealed entries; anything larger is refused
FETCH_SECONDS = 60.0  # the whole download
MAX_PROBLEM_LINES = 200  # printed; the summary counts them all
HEAD = re.compile(r"([0-9]{1,12}):([0-9a-f]{64})")
_CHUNK = 64 * 1024


class UnreachableError(Exception):
    """The URL could not be fetched; one line says why."""


def run(source: str, *, head: str | None = None) -> int:
    """Check the record at `source` (and that it holds `head`, SEQ:HASH, if given); print
    what was found; the exit status."""
    expect = None
    if head is not None:
        match = HEAD.fullmatch(head.strip().lower())
        if match is None:
            return _stop(EXIT_UNREADABLE, "--head: expected SEQ:HASH (a number, 64 hex digits)")
        expect = int(match.group(1)), match.group(2)
    try:
        raw = _fetch(source) if _is_url(source) else _read(source)
        document = parse(raw)
    except UnreachableError as error:
        return _stop(EXIT_UNREACHABLE, f"cannot fetch {source}: {error}")
    except UnreadableRecordError as error:
        return _stop(EXIT_UNREADABLE, f"cannot read the record: {error}")
    verdict = verify(document, expect=expect)
    for line in verdict.problems[:MAX_PROBLEM_LINES]:
        print(line)  # noqa: T201
    if len(verdict.problems) > MAX_PROBLEM_LINES:
        print(f"... and {len(verdict.problems) - MAX_PROBLEM_LINES} more")  # noqa: T201
    print(summary(verdict))  # noqa: T201
    return EXIT_VALID if verdict.valid else EXIT_INVALID


def summary(verdict: Verdict) -> str:
    counted = f"{verdict.entries} entries ({verdict.revealed} revealed)"
    if not verdict.valid:
        return f"INVALID: {len(verdict.problems)} problems in {counted}"
    head = f", head {verdict.head[0]} {verdict.head[1]}" if verdict.head else ""
    return f"valid: {counted}{head}"


def _stop(status: int, line: str) -> int:
    print(f"verify-record: {line}", file=sys.stderr)  # noqa: T201
    return status


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _read(source: str) -> bytes:
    if source == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
    else:
        path = Path(source)
        try:
            with path.open("rb") as file:
                data = file.read(MAX_BYTES + 1)
        except OSError as error:
            raise UnreadableRecordError(f"{source}: {error.strerror or error}") from None
    if len(data) > MAX_BYTES:
        raise UnreadableRecordError(f"larger than {MAX_BYTES // 1024 // 1024} MB")
    return data


def _fetch(url: str) -> bytes:
    return asyncio.run(_download(url))


async def _download(url: str) -> bytes:
    timeout = aiohttp.ClientTimeout(total=FETCH_SECONDS)
    headers = {"Accept": "application/json", "User-Agent": "signaldesk-verify-record"}
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout, headers=headers) as session,
            session.get(url) as response,
        ):
            if response.status != 200:  # noqa: PLR2004
                raise UnreachableError(f"HTTP {response.status} {response.reason or ''}".strip())
            body = bytearray()
            async for chunk in response.content.iter_chunked(_CHUNK):
                body += chunk
                if len(body) > MAX_BYTES:
                    raise UnreadableRecordError(f"larger than {MAX_BYTES // 1024 // 1024} MB")
            return bytes(body)
    except UnreadableRecordError:
        raise
    except ValueError:  # aiohttp.InvalidURL, or yarl's refusal of the URL
        raise UnreadableRecordError(f"not a URL that can be fetched: {url}") from None
    except TimeoutError:
        raise UnreachableError(f"no answer within {FETCH_SECONDS:.0f} s") from None
    except (aiohttp.ClientError, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UnreachableError(reason) from None
