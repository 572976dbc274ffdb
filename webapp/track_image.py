"""The track record's equity curve as a PNG, for link previews (og:image).

Chats and social sites show an Open Graph image beside a shared link, and most do not
render SVG there. The picture is a line, a zero line and a background, so it is drawn
here, pure and with the standard library (zlib, and PNG's own chunk format), instead of
bringing in an imaging library for it. A palette image: one byte a pixel, a few KB once
compressed.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from decimal import Decimal

WIDTH, HEIGHT = 1200, 630  # what Telegram, X and Facebook show best
_MARGIN = 60
_PALETTE = bytes(
    [
        0xFF, 0xFF, 0xFF,  # 0 background
        0xC8, 0xCC, 0xD0,  # 1 the zero line
        0x1F, 0x9D, 0x55,  # 2 a curve that ends above zero
        0xD6, 0x45, 0x45,  # 3 one that ends below
    ]
)  # fmt: skip
_LINE_WIDTH = 6


def curve_png(points: Sequence[Decimal]) -> bytes:
    """The curve through `points` (cumulative R, starting at 0) as a PNG."""
    pixels = bytearray(WIDTH * HEIGHT)  # all background
    values = [float(p) for p in points] or [0.0]
    low, high = min([*values, 0.0]), max([*values, 0.0])
    span = (high - low) or 1.0

    def at(index: int, value: float) -> tuple[int, int]:
        x = _MARGIN + index * (WIDTH - 2 * _MARGIN) // max(1, len(values) - 1)
        y = HEIGHT - _MARGIN - round((value - low) / span * (HEIGHT - 2 * _MARGIN))
        return x, y

    zero = at(0, 0.0)[1]
    _line(pixels, (_MARGIN, zero), (WIDTH - _MARGIN, zero), 1, 2)
    colour = 2 if values[-1] >= 0 else 3
    for index in range(1, len(values)):
        start, end = at(index - 1, values[index - 1]), at(index, values[index])
        _line(pixels, start, end, colour, _LINE_WIDTH)
    return _png(pixels)


def _line(
    pixels: bytearray, start: tuple[int, int], end: tuple[int, int], colour: int, width: int
) -> None:
    """Bresenham's line, `width` pixels thick."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    error = dx + dy
    half = width // 2
    while True:
        left, right = max(0, x0 - half), min(WIDTH, x0 + half + 1)
        for y in range(max(0, y0 - half), min(HEIGHT, y0 + half + 1)):
            pixels[y * WIDTH + left : y * WIDTH + right] = bytes([colour]) * (right - left)
        if (x0, y0) == (x1, y1):
            return
        double = 2 * error
        if double >= dy:
            error, x0 = error + dy, x0 + sx
        if double <= dx:
            error, y0 = error + dx, y0 + sy


def _png(pixels: bytearray) -> bytes:
    rows = b"".join(
        b"\x00" + bytes(pixels[y * WIDTH : (y + 1) * WIDTH]) for y in range(HEIGHT)
    )  # filter type 0 before each row
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 3, 0, 0, 0)  # 8-bit palette
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", _PALETTE),
            _chunk(b"IDAT", zlib.compress(rows, 9)),
            _chunk(b"IEND", b""),
        ]
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
