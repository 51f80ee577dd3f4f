"""Text files with locations: UTF-8 (a byte-order mark allowed), binary data refused."""

from __future__ import annotations

from pathlib import Path

from labelport.errors import FormatError


def read_lines(path: str | Path) -> list[tuple[int, str]]:
    """Every line of a text file with its 1-based number (``\\r`` removed). Unreadable files,
    non-UTF-8 bytes and NUL bytes raise FormatError naming the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FormatError("binary data in a text file", file=path, location=f"line {_line_of(data, nul)}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError("not UTF-8 text", file=path, location=f"line {_line_of(data, exc.start)}") from None
    return [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), 1)]


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
