"""Code shared by the YOLO family: text and class-list files, label rows, number
formatting, class indices, image lookup and sizes, and the ``images.meta`` sidecar."""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from labelport.errors import FormatError, LabelportError
from labelport.geometry import coords
from labelport.io.media import IMAGE_SUFFIXES, MediaIndex, export_media, image_size, is_inside
from labelport.plugin import Problem, Report
from labelport.schema import BBox, Image, Item, Keypoints, Label, LabelSet, Polygon

#: how far outside [0, 1] a normalised value may be before it is an error; values
#: within it are clipped with a warning (other tools write rounding overshoot)
TOLERANCE = 0.01
#: darknet class lists by the names tools give them (CVAT, labelImg/Roboflow, Datature, Innotescus)
CLASS_FILES = ("obj.names", "classes.txt", "label.labels", "darknet.labels")
#: image sizes of items written without their images, one ``<image path> <height> <width>``
#: per line (the column order of datumaro's image meta file); paths are relative to the root
META_FILE = "images.meta"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INT = re.compile(r"[+-]?[0-9]+")
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class YoloWarning(UserWarning):
    """A lenient read changed a value (coordinates clipped to the image)."""


# --------------------------------------------------------------------------- text files


def decode(data: bytes, file: Path | str) -> str:
    """UTF-8 text (BOM dropped); undecodable bytes are a FormatError at their line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError("not UTF-8 text", file=file, location=f"line {line}") from None


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Non-empty stripped lines with their 1-based numbers; control characters are errors."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    out = []
    for n, line in enumerate(decode(data, path).split("\n"), 1):
        line = line.strip()
        if not line:
            continue
        if _CONTROL.search(line):
            raise FormatError("control character in text", file=path, location=f"line {n}")
        out.append((n, line))
    return out


def read_names(path: Path) -> list[str]:
    """A class list: one name per line, empty lines skipped (as darknet's loaders do)."""
    return [line for _, line in read_lines(path)]


def is_label_text(lines: list[tuple[int, str]]) -> bool:
    """Whether a .txt file's lines are YOLO rows at all: empty, or starting with a number
    (a README, a list of image paths or a class list starts with a word)."""
    return not lines or bool(_NUMBER.fullmatch(lines[0][1].split()[0]))


def first_line(text: str) -> str | None:
    """The first non-empty line of a text (for detection)."""
    for line in text.split("\n"):
        if line.strip():
            return line.strip()
    return None


def looks_like_row(line: str | None, *, max_columns: int | None = None) -> bool:
    """Whether a line is a YOLO label row: an integer class and at least 4 numbers."""
    if not line:
        return False
    toks = line.split()
    if len(toks) < 5 or (max_columns is not None and len(toks) > max_columns):
        return False
    return bool(_INT.fullmatch(toks[0])) and all(_NUMBER.fullmatch(t) for t in toks[1:])


# --------------------------------------------------------------------------- numbers


def to_float(tok: str, file: Path, where: str) -> float:
    try:
        value = float(tok)
    except ValueError:
        raise FormatError(f"{tok!r} is not a number", file=file, location=where) from None
    if not math.isfinite(value):
        raise FormatError(f"{tok!r} is not a finite number", file=file, location=where)
    return value


def to_int(tok: str, file: Path, where: str, what: str) -> int:
    if _INT.fullmatch(tok):
        return int(tok)
    value = to_float(tok, file, where)
    if not value.is_integer():
        raise FormatError(f"{what} {tok!r} is not an integer", file=file, location=where)
    return int(value)


def fmt(value: float, decimals: int | None) -> str:
    """A number as text: rounded to ``decimals`` without trailing zeros, or (None) the
    shortest text that reads back to the same float."""
    if decimals is None:
        v = float(value)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    text = f"{value:.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


# --------------------------------------------------------------------------- problems


class Sink:
    """Where row problems go: raised at once while reading, collected while validating.
    Clipped values are counted per file and announced with one warning per file."""

    def __init__(self, collect: bool = False):
        self.problems: list[Problem] | None = [] if collect else None
        self._clipped: dict[str, list[int]] = {}

    @property
    def collecting(self) -> bool:
        return self.problems is not None

    def error(self, exc: LabelportError) -> None:
        if self.problems is None:
            raise exc
        self.problems.append(Problem(message=exc.message, file=exc.file, location=exc.location))

    def warn(self, message: str, file: Path | str | None, location: str | None = None) -> None:
        if self.problems is not None:
            self.problems.append(
                Problem(severity="warning", message=message, file=str(file) if file else None, location=location)
            )

    def clipped(self, file: Path, line: int, value: float) -> None:
        if self.problems is not None:
            self.problems.append(
                Problem(
                    severity="warning",
                    message=f"value {value:g} is outside [0, 1]; clipped",
                    file=str(file),
                    location=f"line {line}",
                )
            )
            return
        entry = self._clipped.setdefault(str(file), [0, line])
        entry[0] += 1

    def flush(self, notes: list[str]) -> None:
        """Announce clipped values (reading only): one warning and one dataset note per file."""
        for file, (count, line) in self._clipped.items():
            message = f"{file}: {count} value(s) slightly outside [0, 1] clipped (first at line {line})"
            if message not in notes:  # a lazy dataset may be read more than once
                notes.append(message)
            warnings.warn(YoloWarning(message), stacklevel=3)
        self._clipped.clear()


def unit(values: list[float], file: Path, line: int, sink: Sink, *, clip: bool = True) -> list[float]:
    """Normalised values checked to lie in [0, 1]; within TOLERANCE outside they are
    clipped (``clip``) with a warning, beyond it they are an error."""
    for i, v in enumerate(values):
        if 0.0 <= v <= 1.0:
            continue
        if v < -TOLERANCE or v > 1.0 + TOLERANCE:
            raise FormatError(
                f"value {v:g} is outside [0, 1]: YOLO coordinates are normalised by the image size",
                file=file,
                location=f"line {line}",
            )
        if clip:
            values[i] = min(max(v, 0.0), 1.0)
            sink.clipped(file, line, v)
    return values


# --------------------------------------------------------------------------- rows


class Rows:
    """How a dataset's label rows are read.

    ``darknet``: only ``class cx cy w h`` (and a 6th column); otherwise Ultralytics rows
    (boxes, polygons, oriented boxes, or pose rows when ``kpt_shape`` is set).
    ``task`` forces how 9-column rows are read (``segment``: polygon, ``obb``: oriented
    box); without it a 4-point row is an oriented box when its corners form a rectangle.
    ``names`` maps class ids to label names; without names, labels are the ids as text.
    """

    def __init__(
        self,
        labels: LabelSet,
        names: dict[int, str] | None,
        *,
        darknet: bool = False,
        task: str | None = None,
        kpt_shape: tuple[int, int] | None = None,
        names_source: str = "the class list",
    ):
        self.labels = labels
        self.names = names
        self.darknet = darknet
        self.task = task
        self.kpt_shape = kpt_shape if task in (None, "pose") else None
        self.names_source = names_source

    def label(self, tok: str, file: Path, where: str) -> str:
        k = to_int(tok, file, where, "class id")
        if self.names is None:
            if k < 0:
                raise FormatError(f"class id {k} is negative", file=file, location=where)
            return self.labels.add(Label(name=str(k), id=k)).name
        name = self.names.get(k)
        if name is None:
            raise FormatError(
                f"class id {k} is not declared ({len(self.names)} classes in {self.names_source})",
                file=file,
                location=where,
            )
        return name

    def parse_file(self, path: Path, lines: list[tuple[int, str]], size: tuple[int, int], sink: Sink) -> list[Any]:
        out: list[Any] = []
        groups = [0]
        for n, line in lines:
            try:
                out.extend(self.parse(line.split(), path, n, size, sink, groups))
            except FormatError as exc:
                sink.error(exc)
        return out

    def parse(
        self, toks: list[str], file: Path, n: int, size: tuple[int, int], sink: Sink, groups: list[int]
    ) -> list[Any]:
        where = f"line {n}"
        width, height = size
        if len(toks) < 5:
            raise FormatError(f"{len(toks)} columns; a row is 'class cx cy w h'", file=file, location=where)
        label = self.label(toks[0], file, where)
        vals = [to_float(t, file, where) for t in toks[1:]]
        extra: dict[str, Any] = {}
        nv = len(vals)
        if self.darknet:
            if nv == 5:
                extra = _extra(toks[5], file, where, score_ok=True)
            elif nv != 4:
                hint = (
                    "; rows with more columns are Ultralytics polygons or keypoints (read it as ultralytics)"
                    if nv > 5
                    else ""
                )
                raise FormatError(
                    f"{len(toks)} columns; darknet rows have 5 (class cx cy w h){hint}", file=file, location=where
                )
            return [self._box(label, vals[:4], file, n, size, sink, extra)]
        if self.kpt_shape is not None:
            k, d = self.kpt_shape
            need = 4 + k * d
            if nv == need + 1:
                extra = _extra(toks[-1], file, where, score_ok=False)
            elif nv != need:
                raise FormatError(
                    f"{len(toks)} columns; pose rows have {need + 1} (class cx cy w h and {k} keypoints of {d} values)",
                    file=file,
                    location=where,
                )
            return self._pose(label, vals[:need], file, n, size, sink, extra, groups)
        if nv in (4, 5):
            if nv == 5:
                extra = _extra(toks[5], file, where, score_ok=True)
            return [self._box(label, vals[:4], file, n, size, sink, extra)]
        if nv % 2:
            # an odd count: the last column is a track id (CVAT writes one on request)
            if not _INT.fullmatch(toks[-1]):
                raise FormatError(f"{nv} coordinates; polygon points come in x, y pairs", file=file, location=where)
            extra = _extra(toks[-1], file, where, score_ok=False)
            vals = vals[:-1]
            nv -= 1
        if nv == 8 and self.task != "segment":
            pts = pixels(unit(vals, file, n, sink, clip=False), width, height)
            if self.task == "obb" or _is_rectangle(pts):
                x, y, w, h, rot = (round(v, 9) + 0.0 for v in coords.corners_to_rotated_box(pts))
                return [BBox(label=label, x=x, y=y, w=w, h=h, rotation=rot % 360.0, **extra)]
        pts = pixels(unit(vals, file, n, sink), width, height)
        return [Polygon(label=label, parts=[pts], **extra)]

    def _box(
        self, label: str, vals: list[float], file: Path, n: int, size: tuple[int, int], sink: Sink, extra: dict
    ) -> BBox:
        cx, cy, w, h = coords.denormalize(unit(vals, file, n, sink), size[0], size[1])
        x, y, w, h = (round(v, 9) + 0.0 for v in coords.cxcywh_to_xywh(cx, cy, w, h))
        return BBox(label=label, x=x, y=y, w=w, h=h, **extra)

    def _pose(
        self,
        label: str,
        vals: list[float],
        file: Path,
        n: int,
        size: tuple[int, int],
        sink: Sink,
        extra: dict,
        groups: list[int],
    ) -> list[Any]:
        assert self.kpt_shape is not None
        k, d = self.kpt_shape
        flat: list[float] = []
        vis: list[int] = []
        for i in range(k):
            x, y = vals[4 + i * d], vals[5 + i * d]
            if d == 3:
                v = vals[6 + i * d]
                if v not in (0.0, 1.0, 2.0):
                    raise FormatError(
                        f"keypoint {i} visibility {v:g}; expected 0, 1 or 2", file=file, location=f"line {n}"
                    )
                vis.append(int(v))
            else:
                vis.append(0 if x == 0 and y == 0 else 2)
            flat += [x, y]
        box = self._box(label, vals[:4], file, n, size, sink, extra)
        if not any(vis):
            return [box]  # a plain box in a pose dataset: every keypoint unlabelled
        unit(flat, file, n, sink)
        visible = [c for i, v in enumerate(vis) if v for c in flat[2 * i : 2 * i + 2]]
        vx, vy, vw, vh = coords.polygon_bbox(visible)
        cx, cy, w, h = vals[:4]
        # a box that only encloses the visible keypoints says nothing more (as in COCO)
        derived = all(abs(a - b) <= 1e-5 for a, b in zip((cx - w / 2, cy - h / 2, w, h), (vx, vy, vw, vh), strict=True))
        points = Keypoints(label=label, points=pixels(flat, size[0], size[1]), visibility=vis, **extra)
        if derived:
            return [points]
        groups[0] += 1
        return [points.model_copy(update={"group": groups[0]}), box.model_copy(update={"group": groups[0]})]


def pixels(values: list[float], width: int, height: int) -> list[float]:
    """Normalised values to pixels, rounded to 1e-9 px so that float noise (57.99999999999999)
    does not survive a round trip."""
    return [round(v, 9) + 0.0 for v in coords.denormalize(values, width, height)]


def _extra(tok: str, file: Path, where: str, *, score_ok: bool) -> dict[str, Any]:
    """The optional last column: an integer is a track id, a fraction a confidence score."""
    if _INT.fullmatch(tok):
        return {"track_id": int(tok)}
    value = to_float(tok, file, where)
    if not score_ok or not 0.0 <= value <= 1.0:
        raise FormatError(f"extra column {tok!r}: expected a track id or a score in [0, 1]", file=file, location=where)
    return {"score": value}


def _is_rectangle(pts: list[float], tol: float = 1e-2) -> bool:
    """Whether 4 corners (pixels, in order) form a rectangle with sides of length > 0."""
    xs, ys = pts[0::2], pts[1::2]
    edges = [(xs[(i + 1) % 4] - xs[i], ys[(i + 1) % 4] - ys[i]) for i in range(4)]
    lengths = [math.hypot(ex, ey) for ex, ey in edges]
    if min(lengths) <= 1e-9:
        return False
    for i in range(4):
        (ax, ay), (bx, by) = edges[i], edges[(i + 1) % 4]
        if abs(ax * bx + ay * by) > tol * lengths[i] * lengths[(i + 1) % 4]:
            return False
    return True


# --------------------------------------------------------------------------- reading media


def walk_files(root: Path, suffixes: tuple[str, ...]) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path without extension, path) of files below ``root`` with one of
    ``suffixes`` (lower case), sorted; hidden entries and links leaving the root are skipped."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        for name in sorted(filenames):
            stem, ext = os.path.splitext(name)
            if ext.lower() not in suffixes or name.startswith("."):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            full = Path(dirpath, name)
            if os.path.islink(full) and not is_inside(root, rel):
                continue
            yield rel[: -len(ext)], full


def read_meta(path: Path) -> dict[str, tuple[int, int]]:
    """``images.meta``: relative image path -> (width, height)."""
    out: dict[str, tuple[int, int]] = {}
    if not path.is_file():
        return out
    for n, line in read_lines(path):
        fields = line.rsplit(None, 2)
        if (
            len(fields) != 3
            or not _DIGITS.fullmatch(fields[1])
            or not _DIGITS.fullmatch(fields[2])
            or 0 in (int(fields[1]), int(fields[2]))
        ):
            raise FormatError(
                "expected '<image> <height> <width>' with positive sizes", file=path, location=f"line {n}"
            )
        out[fields[0]] = (int(fields[2]), int(fields[1]))
    return out


def meta_by_stem(meta: dict[str, tuple[int, int]]) -> dict[str, str]:
    """Relative path without extension -> relative path, for items whose image is absent."""
    out: dict[str, str] = {}
    for rel in meta:
        out.setdefault(rel.rsplit(".", 1)[0] if PurePosixPath(rel).suffix.lower() in IMAGE_SUFFIXES else rel, rel)
    return out


class Images:
    """Image lookup for a reader: the dataset folder (indexed on first use) and the ``images``
    read option's folder, by relative path (with or without extension) or unique file name."""

    def __init__(self, root: Path, extra: Path | None = None):
        self.root = root
        self.extra = Path(extra) if extra is not None else None
        self._index: MediaIndex | None = None
        self._extra_index: MediaIndex | None = None

    def in_root(self, key: str) -> Path | None:
        if self._index is None:
            self._index = MediaIndex(self.root)
        return self._index.find(key)

    def locate(self, image: Path | None, *names: str | None) -> Path | None:
        """``image`` when it exists, else a file of one of ``names`` in the images folder."""
        if image is not None and image.is_file():
            return image
        if self.extra is not None and self.extra.is_dir():
            if self._extra_index is None:
                self._extra_index = MediaIndex(self.extra)
            for name in names:
                found = self._extra_index.find(name) if name else None
                if found is not None:
                    return found
        return image


def resolve_size(image: Path | None, meta_key: str | None, meta: dict[str, tuple[int, int]]) -> tuple[int, int] | None:
    """An image's (width, height): from ``images.meta`` first, else from the file's header."""
    if meta_key is not None and meta_key in meta:
        return meta[meta_key]
    if image is not None and image.is_file():
        return image_size(image)
    return None


def make_item(
    item_id: str,
    subset: str | None,
    name: str | None,
    image: Path | None,
    label_file: Path | None,
    lines: list[tuple[int, str]],
    rows: Rows,
    size: tuple[int, int] | None,
    sink: Sink,
) -> Item:
    """An item from the lines of its label file; the size is needed only when there are rows."""
    anns: list[Any] = []
    if lines:
        if size is None:
            sink.error(
                FormatError(
                    f"image size unknown for {name or item_id!r}: the image file is missing "
                    f"and {META_FILE} has no entry",
                    file=label_file,
                )
            )
        else:
            anns = rows.parse_file(label_file, lines, size, sink)  # type: ignore[arg-type]
    width, height = size if size else (None, None)
    media = Image(
        name=name, path=str(image) if image is not None and image.is_file() else None, width=width, height=height
    )
    return Item(id=item_id, subset=subset, media=media, annotations=anns)


# --------------------------------------------------------------------------- writing


class ClassIndex:
    """Class ids for label names: the labels' own ids when they are exactly 0..n-1,
    else their order; labels first met in annotations are appended."""

    def __init__(self, labels: LabelSet):
        labels_list = list(labels)
        ids = [lb.id for lb in labels_list]
        if all(isinstance(i, int) and not isinstance(i, bool) for i in ids) and sorted(ids) == list(range(len(ids))):  # type: ignore[type-var]
            self.ids = {lb.name: int(lb.id) for lb in labels_list}  # type: ignore[arg-type]
        else:
            self.ids = {lb.name: k for k, lb in enumerate(labels_list)}

    def index(self, name: str) -> int:
        k = self.ids.get(name)
        if k is None:
            k = self.ids[name] = len(self.ids)
        return k

    def names(self) -> list[str]:
        return [n for n, _ in sorted(self.ids.items(), key=lambda kv: kv[1])]


def safe_relpath(name: str, fallback: str) -> str:
    """A name usable as a relative path below the output: no root, drive, ``..`` or control characters."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if parts and len(parts[0]) == 2 and parts[0][1] == ":":
        parts = parts[1:]
    parts = [_CONTROL.sub("_", p).strip() for p in parts]
    return "/".join(p for p in parts if p) or fallback


def media_suffix(item: Item) -> str:
    """The image file suffix of an item's media (``.jpg`` when unknown)."""
    for cand in (getattr(item.media, "name", None), getattr(item.media, "path", None)):
        if cand:
            suffix = os.path.splitext(str(cand).replace("\\", "/").rsplit("/", 1)[-1])[1]
            if suffix.lower() in IMAGE_SUFFIXES:
                return suffix
    return ".jpg"


def item_size(item: Item) -> tuple[int, int] | None:
    """(width, height) from the item's media, else from its image file's header."""
    media = item.media
    width, height = getattr(media, "width", None), getattr(media, "height", None)
    if width and height:
        return int(width), int(height)
    path = getattr(media, "path", None)
    if path and Path(path).is_file():
        try:
            return image_size(path)
        except FormatError:
            return None
    return None


class Stems:
    """Unique file stems per folder: a repeated item id gets a ``_<n>`` suffix (noted)."""

    def __init__(self, report: Report):
        self.used: set[tuple[str, str]] = set()
        self.report = report

    def take(self, folder: str, item_id: str) -> str:
        stem = safe_relpath(item_id, "item")
        if (folder, stem) in self.used:
            k = 1
            while (folder, f"{stem}_{k}") in self.used:
                k += 1
            self.report.note(f"item id {item_id!r} repeats in {folder}; written as {stem}_{k}")
            stem = f"{stem}_{k}"
        self.used.add((folder, stem))
        return stem


class MissingSizes:
    """Items whose coordinates cannot be normalised: collected, then one error names them."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, item: Item) -> None:
        self.names.append(getattr(item.media, "name", None) or item.id)

    def check(self, fmt_name: str) -> None:
        if self.names:
            shown = ", ".join(self.names[:10]) + (f" and {len(self.names) - 10} more" if len(self.names) > 10 else "")
            raise FormatError(
                f"{fmt_name} stores coordinates normalised by the image size, but no size is known and no image "
                f"file was found for {len(self.names)} image(s): {shown}"
            )


class Folders:
    """Creates output folders once (writers put many files in few folders)."""

    def __init__(self) -> None:
        self.made: set[Path] = set()

    def file(self, path: Path) -> Path:
        if path.parent not in self.made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.made.add(path.parent)
        return path


def place(item: Item, folder: Path, name: str, mode: str, report: Report) -> bool:
    """Write an item's image as ``folder/name`` (save_media); False when nothing was written."""
    return export_media(item, folder, mode, report, name=name) is not None
