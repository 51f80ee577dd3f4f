"""What a format plugin works with: its :class:`FormatInfo`, the :class:`Probe`
it detects from, options, the conversion :class:`Report` and validation :class:`Problem`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import orjson
import pluggy
from pydantic import BaseModel, ConfigDict, Field

from labelport.errors import LossyConversionError

hookimpl = pluggy.HookimplMarker("labelport")

#: Features beyond annotation kinds that a format may be able to hold.
FEATURES: dict[str, str] = {
    "annotation_ids": "annotation ids",
    "attributes": "annotation attributes",
    "item_attributes": "item attributes and metadata",
    "groups": "annotation groups",
    "tracks": "track ids across frames",
    "track_outside": "frames where a tracked object is outside the view",
    "z_order": "z-order",
    "scores": "confidence scores",
    "rotation": "rotated boxes",
    "subsets": "subsets",
    "label_colors": "label colours",
    "label_hierarchy": "label parents",
    "label_attributes": "attribute declarations",
    "skeletons": "keypoint skeletons",
    "polygon_holes": "polygon holes",
    "multipart_polygons": "multi-part polygons",
    "embeddings": "embedding vectors",
}


class FormatInfo(BaseModel):
    """A format's capabilities, as data. The core uses it to route calls, to tell
    the user what a conversion will lose, and the conformance kit to choose its tests."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    title: str
    description: str = ""
    extensions: tuple[str, ...] = ()
    can_read: bool = True
    can_write: bool = True
    annotation_types: frozenset[str] = frozenset()
    features: frozenset[str] = frozenset()
    media: frozenset[str] = frozenset({"image"})
    #: writes a single file when the target has one of ``extensions``
    single_file: bool = False
    #: preferred conversions for kinds the format cannot hold, best first, replacing the core's
    #: defaults for those kinds (e.g. ``{"polygon": ("bbox",)}`` to skip rasterising to masks)
    fallbacks: dict[str, tuple[str, ...]] = {}
    read_options: type[BaseModel] | None = None
    write_options: type[BaseModel] | None = None
    docs_url: str | None = None

    def holds(self, annotation_type: str) -> bool:
        return annotation_type in self.annotation_types


class Detection(BaseModel):
    """How confident a plugin is that an input is its format (0 < confidence <= 1)."""

    model_config = ConfigDict(frozen=True)

    format: str
    confidence: float = Field(gt=0, le=1)
    reason: str = ""


class Problem(BaseModel):
    """One finding of ``validate``: severity, message and where."""

    model_config = ConfigDict(frozen=True)

    severity: Literal["error", "warning"] = "error"
    message: str
    file: str | None = None
    location: str | None = None

    def __str__(self) -> str:
        where = ":".join(p for p in (self.file, self.location) if p)
        return f"{self.severity}: {where + ': ' if where else ''}{self.message}"


class OptionsBase(BaseModel):
    """Base of option models: unknown options are an error."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class ReadOptions(OptionsBase):
    """Options every reader receives. ``format_options`` holds the plugin's own."""

    images: Path | None = None
    password: str | None = None
    keep_missing_media: bool = True
    #: processes for per-item work (labelport.parallel.pmap); output is identical to 1
    workers: int = 1
    format_options: Any = None


class WriteOptions(OptionsBase):
    """Options every writer receives. ``format_options`` holds the plugin's own."""

    save_media: Literal["none", "copy", "hardlink", "symlink"] = "none"
    normalized: bool | None = None
    name: str | None = None
    #: processes for per-item work (labelport.parallel.pmap); output is identical to 1
    workers: int = 1
    format_options: Any = None


# --------------------------------------------------------------------------- probe

_PROBE_JSON_LIMIT = 4 * 1024 * 1024
_KEY_SCAN_BYTES = 1 << 20


class Probe:
    """A cheap, cached look at an input, built once by the core and shared by every detector.

    ``path`` is a file or a folder (an archive has already been extracted). For a
    folder, ``files()`` lists relative POSIX paths (bounded depth and count).
    """

    def __init__(self, path: Path, *, max_depth: int = 5, max_files: int = 20000):
        self.path = Path(path)
        self.is_dir = self.path.is_dir()
        self._max_depth = max_depth
        self._max_files = max_files
        self._cache: dict[tuple[str, str], Any] = {}

    @cached_property
    def _listing(self) -> list[str]:
        if not self.is_dir:
            return []
        out: list[str] = []
        stack = [(self.path, 0)]
        while stack and len(out) < self._max_files:
            folder, depth = stack.pop()
            try:
                entries = sorted(folder.iterdir(), key=lambda p: p.name)
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                rel = entry.relative_to(self.path).as_posix()
                if entry.is_dir() and not entry.is_symlink():
                    if depth < self._max_depth:
                        stack.append((entry, depth + 1))
                else:
                    out.append(rel)
        return sorted(out)

    def files(self, pattern: str | None = None) -> list[str]:
        """Files below the folder, optionally matching a glob on the relative path."""
        if pattern is None:
            return self._listing
        rx = _glob_re(pattern)
        return [f for f in self._listing if rx.fullmatch(f)]

    def has(self, *patterns: str) -> bool:
        return any(self.files(p) for p in patterns)

    @property
    def suffix(self) -> str:
        return "".join(self.path.suffixes[-2:]).lower() if self.path.name.endswith(".gz") else self.path.suffix.lower()

    def _file(self, rel: str | None) -> Path:
        return self.path if rel is None else self.path / rel

    def head(self, rel: str | None = None, size: int = 4096) -> bytes:
        """The first bytes of a file (the input itself when ``rel`` is None)."""
        key = ("head", f"{rel}:{size}")
        if key not in self._cache:
            try:
                with open(self._file(rel), "rb") as fh:
                    self._cache[key] = fh.read(size)
            except OSError:
                self._cache[key] = b""
        return self._cache[key]

    def text(self, rel: str | None = None, size: int = 65536) -> str:
        """The start of a file as text (BOM stripped, undecodable bytes replaced)."""
        return self.head(rel, size).decode("utf-8-sig", errors="replace")

    def json(self, rel: str | None = None) -> Any:
        """The parsed JSON document, or None when it is not JSON or larger than 4 MiB
        (use :meth:`json_keys` / :meth:`json_list_keys`, which read only the start)."""
        key = ("json", str(rel))
        if key not in self._cache:
            value = None
            f = self._file(rel)
            try:
                if f.is_file() and f.stat().st_size <= _PROBE_JSON_LIMIT and self.head(rel, 64).lstrip()[:1] in (b"{", b"["):
                    value = orjson.loads(f.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                value = None
            self._cache[key] = value
        return self._cache[key]

    def json_keys(self, rel: str | None = None) -> set[str]:
        """Top-level keys of a JSON object, from its first megabyte (cheap for huge files)."""
        doc = self.json(rel)
        if isinstance(doc, dict):
            return set(doc)
        return _top_level_keys(self.head(rel, _KEY_SCAN_BYTES))

    def json_list_keys(self, rel: str | None = None) -> set[str]:
        """Keys of the objects in a top-level JSON list, from its first megabyte."""
        doc = self.json(rel)
        if isinstance(doc, list):
            return {k for obj in doc[:100] if isinstance(obj, dict) for k in obj}
        head = self.head(rel, _KEY_SCAN_BYTES).lstrip()
        if doc is not None or not head.startswith(b"["):
            return set()
        return _top_level_keys(head[1:])

    def xml_root(self, rel: str | None = None) -> str | None:
        """The local name of the XML root element, or None."""
        text = self.text(rel, 8192)
        m = re.search(r"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]", _strip_xml_prolog(text))
        return m.group(2) if m and text.lstrip().startswith("<") else None


def _strip_xml_prolog(text: str) -> str:
    # drop the declaration, comments, processing instructions and the DOCTYPE
    return re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", "", text, flags=re.S)


def _glob_re(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        out += {"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c))
        i += 1
    return re.compile(out, re.I)


_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],]')


def _top_level_keys(data: bytes) -> set[str]:
    """Keys at depth 1 of a (possibly truncated) JSON object."""
    keys: set[str] = set()
    depth = 0
    expecting_key = False
    for m in _TOKENS.finditer(data):
        tok = m.group()
        c = tok[0]
        if c == 0x22:
            if depth == 1 and expecting_key:
                keys.add(tok[1:-1].decode("utf-8", "replace"))
            expecting_key = False
        elif c in (0x7B, 0x5B):
            depth += 1
            expecting_key = c == 0x7B and depth == 1
        elif c in (0x7D, 0x5D):
            depth -= 1
            if depth <= 0:
                break
        elif depth == 1:
            expecting_key = True
    return keys


# --------------------------------------------------------------------------- report


class Report:
    """What a conversion did: counts written and every loss, by kind and count.

    Writers call :meth:`loss` for anything the target cannot hold; the core records
    the losses it handles itself (annotation kinds and features the target lacks).
    With ``strict`` the first loss raises :class:`LossyConversionError`.
    """

    def __init__(self, format: str, target: Path | str | None = None, *, strict: bool = False):
        self.format = format
        self.target = str(target) if target is not None else None
        self.strict = strict
        self.items = 0
        self.annotations: Counter[str] = Counter()
        self.losses: Counter[tuple[str, str]] = Counter()
        #: the part of ``losses`` the core itself recorded while fitting items
        self.core_losses: Counter[tuple[str, str]] = Counter()
        self.warnings: list[str] = []
        self.missing_media: list[str] = []
        self.notes: list[str] = []

    def loss(self, what: str, action: str, count: int = 1) -> None:
        """Record that ``count`` of ``what`` (e.g. "polygon") could not be kept as they were;
        ``action`` says what was done ("reduced to its box", "dropped")."""
        if self.strict:
            raise LossyConversionError(f"{self.format} cannot hold {what} ({action}); refused by strict mode")
        self.losses[(what, action)] += count

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def note(self, message: str) -> None:
        """A decision worth telling the user (e.g. coordinates inferred as normalised)."""
        self.notes.append(message)

    @property
    def lossless(self) -> bool:
        return not self.losses

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "target": self.target,
            "items": self.items,
            "annotations": dict(self.annotations),
            "losses": [{"what": w, "action": a, "count": c} for (w, a), c in sorted(self.losses.items())],
            "missing_media": self.missing_media,
            "warnings": self.warnings,
            "notes": self.notes,
        }

    def __str__(self) -> str:
        lines = [f"wrote {self.items} items as {self.format}" + (f" to {self.target}" if self.target else "")]
        if self.annotations:
            lines.append("  annotations: " + ", ".join(f"{k} {v}" for k, v in sorted(self.annotations.items())))
        if self.losses:
            lines.append("  lost:")
            lines += [f"    {c} x {w}: {a}" for (w, a), c in sorted(self.losses.items())]
        else:
            lines.append("  nothing lost")
        if self.missing_media:
            shown = ", ".join(self.missing_media[:10]) + (" ..." if len(self.missing_media) > 10 else "")
            lines.append(f"  media missing for {len(self.missing_media)} items: {shown}")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def problems_from(problems: Iterable[Problem | None]) -> list[Problem]:
    return [p for p in problems if p is not None]
