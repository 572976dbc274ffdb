"""HTTP/1.1 requests written byte for byte, for what client libraries refuse to send:
non-ASCII header values, lone bytes, chunked bodies of any size, half-sent headers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def request(
    base_url: str,
    method: str,
    path: str | bytes,
    *,
    headers: Mapping[str, str | bytes] | None = None,
    body: bytes = b"",
    chunked: bool = False,
) -> RawResponse:
    """Send one request exactly as given (headers encoded as UTF-8 unless bytes)."""
    host, port = _address(base_url)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        target = path if isinstance(path, bytes) else path.encode()
        lines = [method.encode() + b" " + target + b" HTTP/1.1", f"Host: {host}:{port}".encode()]
        for name, value in (headers or {}).items():
            raw = value if isinstance(value, bytes) else value.encode("utf-8")
            lines.append(name.encode() + b": " + raw)
        if chunked:
            lines.append(b"Transfer-Encoding: chunked")
            payload = b"".join(
                f"{len(body[i : i + 65536]):x}\r\n".encode() + body[i : i + 65536] + b"\r\n"
                for i in range(0, len(body), 65536)
            )
            payload += b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(body)}".encode())
            payload = body
        lines.append(b"Connection: close")
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        try:
            writer.write(payload)
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server may answer (413) and close before the whole body is in
        return await _read_response(reader)
    finally:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> RawResponse:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body = await reader.read()
    return RawResponse(status, headers, body)


async def open_half_request(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that sent the start of a request and never finishes its headers."""
    host, port = _address(base_url)
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /stripe/webhook HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    await writer.drain()
    return reader, writer
