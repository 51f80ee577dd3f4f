"""JSON reading with locations: parse errors give line and column; field access gives a JSON path."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from labelport.errors import FormatError


def load_json(path: str | Path) -> Any:
    """Parse a JSON file with orjson; malformed JSON raises FormatError with line and column."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"malformed JSON: {exc.msg}", file=path, location=f"line {exc.lineno} column {exc.colno}") from None


def load_json_lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of a JSON Lines file (a UTF-8 BOM is
    skipped); a malformed line raises FormatError with its line and column."""
    path = Path(path)
    try:
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield n, orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FormatError(f"malformed JSON: {exc.msg}", file=path, location=f"line {n} column {exc.colno}") from None


def dump_json(value: Any, *, indent: bool = False) -> bytes:
    option = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    if indent:
        option |= orjson.OPT_INDENT_2
    return orjson.dumps(value, option=option)


_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number", bool: "a boolean"}


class JsonReader:
    """Typed access to a parsed JSON document that reports the file and JSON path on error."""

    def __init__(self, file: str | Path):
        self.file = str(file)

    def error(self, path: str, message: str) -> FormatError:
        return FormatError(message, file=self.file, location=path)

    def get(
        self, obj: Any, key: str, path: str, kind: type | tuple[type, ...], *, required: bool = True, default: Any = None
    ) -> Any:
        """``obj[key]`` checked to be of ``kind``; numbers are checked to be finite."""
        if not isinstance(obj, dict):
            raise self.error(path, "expected an object")
        if key not in obj or obj[key] is None:
            if required:
                raise self.error(f"{path}.{key}" if path else key, "missing")
            return default
        return self.check(obj[key], f"{path}.{key}" if path else key, kind)

    def check(self, value: Any, path: str, kind: type | tuple[type, ...]) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and int not in kinds:
            kinds = (*kinds, int)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(path, f"expected {_TYPE_NAMES.get(kinds[0], kinds[0].__name__)}, got a boolean")
        if not isinstance(value, kinds):
            raise self.error(path, f"expected {_TYPE_NAMES.get(kinds[0], kinds[0].__name__)}, got {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(path, "number is not finite")
        return value

    def numbers(self, value: Any, path: str, *, length: int | None = None, min_length: int = 0) -> list[float]:
        """A list of finite numbers, with an optional exact or minimum length."""
        if not isinstance(value, list):
            raise self.error(path, f"expected a list of numbers, got {type(value).__name__}")
        try:
            fast = math.isfinite(sum(value))  # every item a finite number (strings raise TypeError)
        except TypeError:
            fast = False
        if fast and (length is None or len(value) == length) and len(value) >= min_length:
            return value  # the common case, checked at C speed
        for i, v in enumerate(value):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.error(f"{path}[{i}]", f"expected a number, got {type(v).__name__}")
            if not math.isfinite(v):
                raise self.error(f"{path}[{i}]", "number is not finite")
        if length is not None and len(value) != length:
            raise self.error(path, f"expected {length} numbers, got {len(value)}")
        if len(value) < min_length:
            raise self.error(path, f"expected at least {min_length} numbers, got {len(value)}")
        return value
