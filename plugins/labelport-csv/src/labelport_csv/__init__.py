"""CSV annotation tables: boxes by four corners or by width and height, image classification,
and the Innotescus CSV with (multi-)polygon objects.

Layouts (chosen by the ``input_layout``/``output_layout`` options, otherwise detected from the
header when reading and from the dataset when writing):

- ``corners``: ``filename,xmin,ymin,xmax,ymax,label``, one box per row (Datature "CSV Four
  Corners"; the TensorFlow Object Detection CSV ``filename,width,height,class,xmin,...`` is read
  too, its ``width``/``height`` being the image size);
- ``width_height``: ``filename,xmin,ymin,width,height,label`` (Datature "CSV Width Height");
- ``classification``: ``filename,label``, one image label per row;
- ``innotescus``: ``image name,width,height,task type,class,coordinates,rotation`` where
  ``coordinates`` is a ``[[x, y], ...]`` list (a list of such lists for a multi-part object).

In the box layouts a row whose coordinate cells are empty is an image without boxes, or an
image-level label when its label cell is filled. Coordinates are pixels or normalised to
[0, 1]: with ``coordinates="auto"`` they are read as normalised when every value is in [0, 1]
and every image size is known (from the table or the image headers); the decision is kept in
``dataset.info.metadata["csv"]`` and reported by ``validate``.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import Field

from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.io.jsonio import JsonReader
from labelport.io.media import export_media, find_media, image_size, media_roots
from labelport.io.media import item_id as make_item_id
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import BBox, Dataset, Image, Info, Item, Label, Polygon, Tag

log = logging.getLogger(__name__)

Layout = Literal["auto", "corners", "width_height", "classification", "innotescus"]

#: the header each layout is written with
HEADERS: dict[str, list[str]] = {
    "corners": ["filename", "xmin", "ymin", "xmax", "ymax", "label"],
    "width_height": ["filename", "xmin", "ymin", "width", "height", "label"],
    "classification": ["filename", "label"],
    "innotescus": ["image name", "width", "height", "task type", "class", "coordinates", "rotation"],
}
#: the name of a folder's table for items without a subset
DEFAULT_NAME = "annotations"


class CsvReadOptions(OptionsBase):
    """CSV reader options."""

    #: the layout of the tables read; needed for files without a header row
    input_layout: Layout = "auto"
    #: coordinates in pixels, normalised to [0, 1], or inferred ("auto")
    coordinates: Literal["auto", "pixel", "normalized"] = "auto"


class CsvWriteOptions(OptionsBase):
    """CSV writer options. Normalised output: the core option ``normalized=True``."""

    #: the layout written; "auto" keeps the layout read, else the simplest one that holds the dataset
    output_layout: Layout = "auto"
    #: round coordinates to this many decimals (default: the shortest exact form)
    decimals: int | None = Field(default=None, ge=0, le=15)


INFO = FormatInfo(
    name="csv",
    title="CSV annotation table",
    description="Box tables (four corners or width/height), image classification tables and the Innotescus polygon CSV.",
    extensions=(".csv",),
    annotation_types=frozenset({"bbox", "polygon", "label"}),
    features=frozenset({"subsets", "rotation", "multipart_polygons"}),
    media=frozenset({"image"}),
    single_file=True,
    read_options=CsvReadOptions,
    write_options=CsvWriteOptions,
    docs_url="https://developers.datature.io/docs/uploading-annotations",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix not in (".csv", ".txt", ".tsv"):
            return None
        return _detect_text(probe.text(None, 8192), probe.suffix)
    best: Detection | None = None
    for rel in probe.files("**/*.csv")[:50]:
        if rel.count("/") > 1:
            continue
        found = _detect_text(probe.text(rel, 8192), ".csv")
        if found is not None and (best is None or found.confidence > best.confidence):
            best = found
    if best is None:
        return None
    # a folder holding a table is a little less certain than the table itself
    return Detection(format="csv", confidence=round(best.confidence - 0.1, 2), reason=f"folder with {best.reason}")


def _detect_text(text: str, suffix: str) -> Detection | None:
    line = _first_line(text)
    if not line:
        return None
    header = _match_header(line)
    if header is None:
        return None
    conf = {"corners": 0.9, "width_height": 0.9, "innotescus": 0.88, "classification": 0.6}[header.layout]
    if not header.exact:
        conf -= 0.12  # aliases, reordered or extra columns: a table of ours, less surely
    if suffix != ".csv":
        conf -= 0.2
    return Detection(format="csv", confidence=round(conf, 2), reason=f"{header.layout} CSV header")


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


# --------------------------------------------------------------------------- header


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().strip('"').strip().lower()).strip()


_ALIASES: dict[str, str] = {}
for _canon, _names in {
    "file": ("filename", "file name", "image name", "image", "imagename", "image path", "image file", "file", "path"),
    "label": ("label", "class", "class name", "category"),
    "xmin": ("xmin", "x min", "x1"),
    "ymin": ("ymin", "y min", "y1"),
    "xmax": ("xmax", "x max", "x2"),
    "ymax": ("ymax", "y max", "y2"),
    "width": ("width", "w"),
    "height": ("height", "h"),
    "image_width": ("image width", "img width", "imagewidth"),
    "image_height": ("image height", "img height", "imageheight"),
    "task": ("task type", "tasktype", "task"),
    "coordinates": ("coordinates", "coords", "points", "polygon", "vertices", "geometry"),
    "rotation": ("rotation", "angle"),
}.items():
    for _n in _names:
        _ALIASES[_n] = _canon


_BOX_KEYS = {"corners": ("xmin", "ymin", "xmax", "ymax"), "width_height": ("xmin", "ymin", "width", "height")}


@dataclass
class _Header:
    layout: str
    columns: dict[str, int]  # canonical name -> column index
    names: list[str]  # the header cells as written
    exact: bool = False
    delimiter: str = ","
    extra: list[int] = field(default_factory=list)  # indexes of columns the layout does not use

    def __post_init__(self) -> None:
        # indexes used for every row, looked up once
        self.i_file = self.columns["file"]
        self.i_label = self.columns.get("label")
        self.box = [self.columns[k] for k in _BOX_KEYS.get(self.layout, ())]
        self.sized = "image_width" in self.columns or "image_height" in self.columns

    def where(self, line: int, key: str) -> str:
        return f"line {line}, column {self.names[self.columns[key]].strip()!r}"


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return []


def _match_header(line: str, forced: str = "auto") -> _Header | None:
    """The layout a header row describes, or None when it is not a header of ours."""
    for delimiter in (",", ";", "\t"):
        cells = _split(line, delimiter)
        if len(cells) < 2:
            continue
        header = _header_from_cells(cells, delimiter, forced)
        if header is not None:
            return header
    return None


def _header_from_cells(cells: list[str], delimiter: str, forced: str) -> _Header | None:
    columns: dict[str, int] = {}
    for i, cell in enumerate(cells):
        canon = _ALIASES.get(_norm(cell))
        if canon is not None and canon not in columns:
            columns[canon] = i
    has = set(columns)
    if "file" not in has:
        return None
    if forced != "auto":
        layout = forced
    elif "coordinates" in has and ("task" in has or "label" in has):
        layout = "innotescus"
    elif {"xmin", "ymin", "xmax", "ymax"} <= has:
        layout = "corners"
    elif {"xmin", "ymin", "width", "height"} <= has:
        layout = "width_height"
    elif "label" in has and not has & {"xmin", "ymin", "xmax", "ymax", "width", "height", "coordinates"}:
        layout = "classification"
    else:
        return None
    needed = {
        "corners": {"xmin", "ymin", "xmax", "ymax"},
        "width_height": {"xmin", "ymin", "width", "height"},
        "classification": {"label"},
        "innotescus": {"coordinates"},
    }[layout]
    if not needed <= has:
        return None
    if layout in ("corners", "innotescus"):
        # width/height are the image size there (Innotescus; the TensorFlow Object Detection CSV)
        for a, b in (("width", "image_width"), ("height", "image_height")):
            if a in columns and b not in columns:
                columns[b] = columns.pop(a)
    used = set(columns.values())
    extra = [i for i, c in enumerate(cells) if i not in used and c.strip()]
    exact = [_norm(c) for c in cells] == HEADERS[layout] and delimiter == ","
    return _Header(layout, columns, cells, exact, delimiter, extra)


# --------------------------------------------------------------------------- read


@dataclass
class _Row:
    line: int
    name: str
    kind: str  # "bbox", "polygon", "label" or "" (an image without annotations)
    label: str | None = None
    #: bbox: x, y, w, h; polygon: flat rings (both as written, maybe normalised)
    values: list[list[float]] = field(default_factory=list)
    rotation: float = 0.0
    size: tuple[int, int] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    raw: list[float] = field(default_factory=list)  # the coordinate values as written
    swapped: bool = False  # corners written max before min


@dataclass
class _Table:
    """One parsed CSV file."""

    path: Path
    layout: str
    rows: list[_Row]
    problems: list[Problem]
    numbers: int = 0  # coordinate values read
    unit: bool = True  # every coordinate value within [0, 1]


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: CsvReadOptions = options.format_options or CsvReadOptions()
    files, root = _files(source, opts)
    tables = [_parse(path, opts) for path in files]
    items, labels, meta = _build(tables, source, root, options, opts)
    return Dataset(items, labels=labels, info=Info(metadata={"csv": meta}))


def _files(source: Path, opts: CsvReadOptions) -> tuple[list[Path], Path]:
    if source.is_file():
        return [source], source.parent
    probe = Probe(source)
    files = []
    for rel in probe.files("**/*.csv"):
        if rel.count("/") > 1:
            continue
        if opts.input_layout != "auto" or _match_header(_first_line(probe.text(rel, 8192))) is not None:
            files.append(source / rel)
    if not files:
        raise FormatError("no annotation CSV files found (expected a header such as filename,xmin,ymin,xmax,ymax,label)", file=source)
    return files, source


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FormatError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file=path, location=f"line {line}") from None


def _parse(path: Path, opts: CsvReadOptions) -> _Table:
    """Rows of one CSV file; raises FormatError (with the line) for rows that cannot be read."""
    text = _decode(path)
    first = _first_line(text)
    header = _match_header(first, opts.input_layout) if first else None
    has_header = header is not None
    if header is None:
        if opts.input_layout == "auto":
            raise FormatError(
                "unrecognised header; expected e.g. filename,xmin,ymin,xmax,ymax,label "
                "(pass input_layout=... for a table without a header)", file=path, location="line 1",
            )
        header = _header_from_cells(HEADERS[opts.input_layout], ",", opts.input_layout)
        assert header is not None
    table = _Table(path, header.layout, [], [])
    if header.extra:
        names = ", ".join(repr(header.names[i]) for i in header.extra)
        table.problems.append(Problem(severity="warning", message=f"columns {names} are not part of the {header.layout} layout; kept as row metadata only", file=str(path), location="line 1"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=header.delimiter)
    skipped_header = not has_header
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if not skipped_header:
                skipped_header = True
                continue
            row = _parse_row(cells, line, header, path)
            table.rows.append(row)
            if row.raw:
                table.numbers += len(row.raw)
                table.unit = table.unit and all(0.0 <= v <= 1.0 for v in row.raw)
    except csv.Error as exc:
        raise FormatError(f"malformed CSV: {exc}", file=path, location=f"line {reader.line_num}") from None
    return table


def _cell(cells: list[str], header: _Header, name: str) -> str:
    i = header.columns.get(name)
    return cells[i].strip() if i is not None and i < len(cells) else ""


def _number(cells: list[str], header: _Header, key: str, path: Path, line: int) -> float:
    text = _cell(cells, header, key)
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"expected a number, got {text!r}", file=path, location=header.where(line, key)) from None
    if not math.isfinite(value):
        raise FormatError(f"number is not finite: {text!r}", file=path, location=header.where(line, key))
    return value


def _fit_cells(cells: list[str], line: int, header: _Header, path: Path) -> list[str]:
    """Cells of a row whose count differs from the header's: an unquoted coordinate list
    joined back, trailing delimiters dropped; any other difference is an error."""
    n = len(header.names)
    ci = header.columns.get("coordinates")
    if header.layout == "innotescus" and len(cells) > n and ci is not None and cells[ci].lstrip().startswith("["):
        end, text = ci, cells[ci]
        while text.count("[") > text.count("]") and end + 1 < len(cells):
            end += 1
            text += header.delimiter + cells[end]
        cells = cells[:ci] + [text] + cells[end + 1 :]
    while len(cells) > n and not cells[-1].strip():
        cells = cells[:-1]
    if len(cells) != n:
        raise FormatError(f"expected {n} columns ({', '.join(header.names)}), got {len(cells)}", file=path, location=f"line {line}")
    return cells


def _parse_row(cells: list[str], line: int, header: _Header, path: Path) -> _Row:
    # the hot path of big tables: indexes come precomputed from the header
    if len(cells) != len(header.names):
        cells = _fit_cells(cells, line, header, path)
    name = cells[header.i_file].strip()
    if not name:
        raise FormatError("empty file name", file=path, location=header.where(line, "file"))
    label = (cells[header.i_label].strip() or None) if header.i_label is not None else None
    row = _Row(line=line, name=name, kind="", label=label)
    if header.extra:
        row.meta["csv_columns"] = {header.names[i].strip(): cells[i] for i in header.extra}
    if header.sized:
        row.size = _size(cells, header, path, line)
    if header.layout == "classification":
        row.kind = "label" if label is not None else ""
        return row
    if header.layout == "innotescus":
        return _innotescus_row(row, cells, header, path)
    texts = [cells[i].strip() for i in header.box]
    if not all(texts):
        if not any(texts):
            row.kind = "label" if label is not None else ""
            return row
        missing = ", ".join(k for k, t in zip(_BOX_KEYS[header.layout], texts) if not t)
        raise FormatError(f"incomplete box: {missing} empty", file=path, location=f"line {line}")
    try:
        a, b, c, d = (float(t) for t in texts)
        if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c) and math.isfinite(d)):
            raise ValueError
    except ValueError:
        a, b, c, d = (_number(cells, header, key, path, line) for key in _BOX_KEYS[header.layout])
    if header.layout == "corners":
        if c < a or d < b:
            row.swapped = True  # tools write corners in either order; validate says so
        x1, x2, y1, y2 = min(a, c), max(a, c), min(b, d), max(b, d)
        box = coords.xyxy_to_xywh(x1, y1, x2, y2)
    else:
        if c < 0 or d < 0:
            raise FormatError(f"negative box size {c:g}x{d:g}", file=path, location=f"line {line}")
        box = (a, b, c, d)
    row.kind = "bbox"
    row.values = [list(box)]
    row.raw = [a, b, c, d]
    return row


def _size(cells: list[str], header: _Header, path: Path, line: int) -> tuple[int, int] | None:
    w, h = _cell(cells, header, "image_width"), _cell(cells, header, "image_height")
    if not w and not h:
        return None
    try:
        width, height = int(float(w)), int(float(h))
    except (ValueError, OverflowError):
        raise FormatError(f"image size {w!r}x{h!r} is not a number", file=path, location=f"line {line}") from None
    if width <= 0 or height <= 0:
        raise FormatError(f"image size {width}x{height} is not positive", file=path, location=f"line {line}")
    return width, height


def _innotescus_row(row: _Row, cells: list[str], header: _Header, path: Path) -> _Row:
    where = header.where(row.line, "coordinates")
    text = _cell(cells, header, "coordinates")
    task = _cell(cells, header, "task")
    if task:
        row.meta["innotescus_task_type"] = task
    rings = _rings(text, path, where)
    if "rotation" in header.columns and _cell(cells, header, "rotation"):
        row.rotation = _number(cells, header, "rotation", path, row.line)
    kind = _task_kind(task)
    if not rings:
        if kind in ("bbox", "polygon"):
            raise FormatError(f"a {task!r} row without coordinates", file=path, location=where)
        row.kind = "label" if row.label is not None else ""
        return row
    if kind is None:
        # no or unknown task type: a pair of points is a box, more make a polygon
        kind = "bbox" if len(rings) == 1 and len(rings[0]) == 4 else "polygon"
    if kind == "label":
        raise FormatError(f"a {task!r} row has coordinates", file=path, location=where)
    row.raw = [v for ring in rings for v in ring]
    if kind == "bbox":
        row.kind, row.values = "bbox", [list(coords.polygon_bbox(row.raw))]
        return row
    for k, ring in enumerate(rings):
        if len(ring) < 6:
            raise FormatError(f"polygon part {k} has {len(ring) // 2} points; at least 3 are needed", file=path, location=where)
    if row.rotation:
        row.meta["innotescus_rotation"] = row.rotation  # a rotation on a polygon has no canonical meaning: kept as written
        row.rotation = 0.0
    row.kind, row.values = "polygon", rings
    return row


def _task_kind(task: str) -> str | None:
    t = task.lower()
    if not t:
        return None
    if "class" in t or "tag" in t:
        return "label"
    if "detect" in t or "box" in t or "bounding" in t:
        return "bbox"
    if "segment" in t or "polygon" in t or "mask" in t:
        return "polygon"
    return None


def _rings(text: str, path: Path, where: str) -> list[list[float]]:
    """``[[x, y], ...]`` (one part), ``[[[x, y], ...], ...]`` (several) or a flat number list."""
    if not text or text in ("[]", "[[]]"):
        return []
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"coordinates are not a [[x, y], ...] list: {exc.msg}", file=path, location=where) from None
    j = JsonReader(path)
    if not isinstance(value, list):
        raise j.error(where, f"coordinates must be a list, got {type(value).__name__}")
    if not value:
        return []
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        flat = j.numbers(value, where)
        if len(flat) % 2:
            raise j.error(where, f"{len(flat)} numbers do not make x, y pairs")
        return [[float(v) for v in flat]]
    parts = value if isinstance(value[0], list) and value[0] and isinstance(value[0][0], list) else [value]
    rings = []
    for k, part in enumerate(parts):
        if not isinstance(part, list):
            raise j.error(f"{where}[{k}]", "expected a list of [x, y] points")
        ring: list[float] = []
        for m, pt in enumerate(part):
            ring += [float(v) for v in j.numbers(pt, f"{where}[{k}][{m}]" if len(parts) > 1 else f"{where}[{m}]", length=2)]
        rings.append(ring)
    return rings


def _build(
    tables: list[_Table], source: Path, root: Path, options: ReadOptions, opts: CsvReadOptions,
) -> tuple[list[Item], list[Label], dict[str, Any]]:
    labels: dict[str, Label] = {}
    items: dict[tuple[str | None, str], Item] = {}
    meta: dict[str, Any] = {"layout": tables[0].layout if tables else None}
    modes = []
    for table in tables:
        subset = _subset_of(table.path, root) if source.is_dir() else None
        roots = media_roots(options.images, table.path.parent, table.path.parent / "images", root, root / "images")
        grouped: dict[str, list[_Row]] = {}
        for row in table.rows:
            grouped.setdefault(row.name, []).append(row)
        mode, note = _coordinate_mode(table, grouped, roots, opts)
        modes.append((table.path.relative_to(root).as_posix() if source.is_dir() else table.path.name, mode, note))
        if note:
            log.info("%s: %s", table.path, note)
        names: dict[str, str] = {}
        for name, rows in grouped.items():
            item_id = make_item_id(name, names)
            key = (subset, item_id)
            item = items.get(key)
            if item is None:
                item = items[key] = _new_item(item_id, name, subset, rows, roots)
            elif item.media.width is None and any(r.size for r in rows):  # type: ignore[union-attr]
                w, h = next(r.size for r in rows if r.size)  # type: ignore[misc]
                item.media = item.media.model_copy(update={"width": w, "height": h})  # type: ignore[union-attr]
            for row in rows:
                ann = _annotation(row, mode, item)
                if ann is None:
                    continue
                if ann.label is not None and ann.label not in labels:
                    labels[ann.label] = Label(name=ann.label)
                item.annotations.append(ann)
    meta["coordinates"] = {name: mode for name, mode, _ in modes}
    notes = [f"{name}: {note}" for name, _, note in modes if note]
    if notes:
        meta["notes"] = notes
    return list(items.values()), list(labels.values()), meta




def _subset_of(path: Path, root: Path) -> str | None:
    if path.stem.lower() not in (DEFAULT_NAME, "_annotations", "labels"):
        return path.stem
    parent = path.parent.relative_to(root)
    return parent.parts[-1] if parent.parts else None


def _coordinate_mode(table: _Table, grouped: dict[str, list[_Row]], roots: list[Path], opts: CsvReadOptions) -> tuple[str, str]:
    """("pixel" | "normalized", a note saying what was inferred)."""
    if opts.coordinates == "pixel" or table.numbers == 0:
        return "pixel", ""
    if opts.coordinates == "auto" and not table.unit:
        return "pixel", ""
    with_geometry = [name for name, rows in grouped.items() if any(r.kind in ("bbox", "polygon") for r in rows)]
    missing = []
    for name in with_geometry:
        rows = grouped[name]
        if any(r.size for r in rows):
            continue
        found = find_media(roots, name, stem_fallback=False, basename_fallback=True)
        size = None
        if found is not None:
            try:
                size = image_size(found)
            except FormatError:
                size = None
        if size is None:
            missing.append(name)
        else:
            rows[0].size = size
    if missing:
        if opts.coordinates == "normalized":
            shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            raise FormatError(f"normalised coordinates need image sizes; no size for {len(missing)} images: {shown}", file=table.path)
        return "pixel", f"every coordinate is within [0, 1] but {len(missing)} image sizes are unknown: read as pixels"
    if opts.coordinates == "normalized":
        return "normalized", ""
    return "normalized", "every coordinate is within [0, 1] and every image size is known: read as normalised (pass coordinates='pixel' if they are pixels)"






def _new_item(item_id: str, name: str, subset: str | None, rows: list[_Row], roots: list[Path]) -> Item:
    found = find_media(roots, name, stem_fallback=False, basename_fallback=True)
    size = next((r.size for r in rows if r.size), None)
    width, height = size if size else (None, None)
    return Item(id=item_id, subset=subset, media=Image(name=name, path=str(found) if found else None, width=width, height=height))


def _annotation(row: _Row, mode: str, item: Item) -> Any:
    meta = dict(row.meta)
    if row.kind == "label":
        return Tag(label=row.label, metadata=meta)
    if row.kind == "":
        return None
    values = row.values
    if mode == "normalized":
        w, h = item.media.width, item.media.height  # type: ignore[union-attr]
        values = [coords.denormalize(v, w, h) for v in values]
    if row.kind == "bbox":
        x, y, bw, bh = values[0]
        return BBox(label=row.label, x=x, y=y, w=bw, h=bh, rotation=row.rotation % 360 if row.rotation else 0.0, metadata=meta)
    return Polygon(label=row.label, parts=values, metadata=meta)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: CsvWriteOptions = options.format_options or CsvWriteOptions()
    layout = opts.output_layout if opts.output_layout != "auto" else _choose_layout(dataset)
    normalized = bool(options.normalized) and layout != "classification"
    single = target.suffix.lower() == ".csv"
    subsets: set[str] = set()
    with ExitStack() as stack:
        writers: dict[str, Any] = {}

        def writer_for(subset: str) -> Any:
            key = "" if single else subset
            if key not in writers:
                path = target if single else target / f"{subset or DEFAULT_NAME}.csv"
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = stack.enter_context(open(path, "w", newline="", encoding="utf-8"))
                writers[key] = csv.writer(fh, lineterminator="\n")
                writers[key].writerow(HEADERS[layout])
            return writers[key]

        for item in dataset:
            subset = item.subset if item.subset not in (None, "default") else ""
            subsets.add(subset)
            out = writer_for(subset)
            name = _media_name(item)
            for row in _rows(item, name, layout, normalized, opts.decimals, report):
                out.writerow(row)
            if options.save_media != "none" and not single:
                export_media(item, target / "images", options.save_media, report, name=name)
        if not writers:
            writer_for("")
    if single and len(subsets) > 1:
        report.loss("subset names", "merged into one file (write to a folder to keep subsets)")
    if normalized:
        report.note("coordinates written normalised to [0, 1]")
    return True


def _choose_layout(dataset: Dataset) -> str:
    """The layout read, when it holds the dataset; else the simplest one that does."""
    source = (dataset.info.metadata.get("csv") or {}).get("layout") if dataset.format == "csv" else None
    if source == "innotescus":
        return source
    kinds: set[str] = set()
    rotated = False
    for item in dataset:
        for ann in item.annotations:
            kinds.add(ann.type)
            rotated = rotated or (ann.type == "bbox" and bool(ann.rotation))
        if "polygon" in kinds or rotated:
            return "innotescus"
    if source in ("corners", "width_height") or (source == "classification" and kinds <= {"label"}):
        return source
    if "bbox" in kinds:
        return "corners"
    return "classification" if kinds else "corners"


def _media_name(item: Item) -> str:
    name = getattr(item.media, "name", None)
    if name:
        return name
    path = getattr(item.media, "path", None)
    return Path(path).name if path else f"{item.id}.jpg"


def _fmt(value: float, decimals: int | None) -> str:
    if decimals is not None:
        value = round(value, decimals)
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _rows(item: Item, name: str, layout: str, normalized: bool, decimals: int | None, report: Report) -> Iterator[list[str]]:
    width = getattr(item.media, "width", None)
    height = getattr(item.media, "height", None)
    if normalized and not (width and height) and any(a.type != "label" for a in item.annotations):
        width, height = _size_for(item)

    def f(values: list[float]) -> list[str]:
        if normalized:
            values = coords.normalize(values, width, height)  # type: ignore[arg-type]
        return [_fmt(v, decimals) for v in values]

    wrote = False
    for ann in item.annotations:
        label = ann.label if ann.label is not None else ""
        if layout == "classification":
            if ann.type != "label":
                report.loss(ann.type, "dropped (a classification table holds image labels only)")
                continue
            yield [name, label]
        elif layout == "innotescus":
            yield _innotescus_row_out(ann, name, label, width, height, f)
        else:
            if ann.type == "label":
                yield [name, "", "", "", "", label]
                wrote = True
                continue
            x, y, w, h = _axis_box(ann, report)
            cols = f([x, y, x + w, y + h]) if layout == "corners" else f([x, y, w, h])
            yield [name, *cols, label]
        wrote = True
    if not wrote:
        # an image without annotations still has its row
        if layout == "innotescus":
            yield [name, str(width or ""), str(height or ""), "", "", "", ""]
        else:
            yield [name] + [""] * (len(HEADERS[layout]) - 1)


def _axis_box(ann: Any, report: Report) -> tuple[float, float, float, float]:
    """An unrotated box for the box layouts (losses reported)."""
    if ann.type == "polygon":
        report.loss("polygon", "reduced to its box")
        return coords.polygon_bbox([v for part in ann.parts for v in part])
    if ann.rotation:
        report.loss("rotated bbox", "replaced by its axis-aligned enclosing box")
        return coords.polygon_bbox(coords.rotated_box_corners(ann.x, ann.y, ann.w, ann.h, ann.rotation))
    return ann.x, ann.y, ann.w, ann.h


def _innotescus_row_out(ann: Any, name: str, label: str, width: Any, height: Any, f: Any) -> list[str]:
    task = ann.metadata.get("innotescus_task_type")
    size = [str(width or ""), str(height or "")]
    if ann.type == "label":
        return [name, *size, task if _task_kind(task or "") == "label" else "Classification", label, "", ""]

    def points(flat: list[float]) -> str:
        cells = f(flat)
        return "[" + ",".join(f"[{cells[i]},{cells[i + 1]}]" for i in range(0, len(cells), 2)) + "]"

    if ann.type == "bbox":
        x, y, w, h = ann.x, ann.y, ann.w, ann.h
        corners = [x, y, x + w, y, x + w, y + h, x, y + h]  # the unrotated box; rotation goes in its column
        rotation = _fmt(ann.rotation, None) if ann.rotation else "0"
        return [name, *size, task if _task_kind(task or "") == "bbox" else "Object Detection", label, points(corners), rotation]
    parts = ann.parts
    text = points(parts[0]) if len(parts) == 1 else "[" + ",".join(points(p) for p in parts) + "]"
    rotation = ann.metadata.get("innotescus_rotation", 0)
    return [name, *size, task if _task_kind(task or "") == "polygon" else "Instance Segmentation", label, text, _fmt(rotation, None)]


def _size_for(item: Item) -> tuple[int, int]:
    path = getattr(item.media, "path", None)
    if path and Path(path).is_file():
        return image_size(path)
    raise FormatError(
        f"normalised coordinates need the image size of item {item.id!r}: the dataset has none and its image is not found "
        "(pass images=... when reading, or write pixel coordinates)"
    )


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Swapped corners, repeated rows, boxes without a label or area, image sizes that
    disagree between rows, ignored columns, and how coordinates were interpreted."""
    opts: CsvReadOptions = options.format_options or CsvReadOptions()
    files, root = _files(source, opts)
    problems: list[Problem] = []
    for path in files:
        table = _parse(path, opts)
        problems += table.problems

        def warn(message: str, row: _Row, severity: str = "warning") -> None:
            problems.append(Problem(severity=severity, message=message, file=str(path), location=f"line {row.line}"))  # type: ignore[arg-type]

        seen: dict[tuple, int] = {}
        sizes: dict[str, tuple[tuple[int, int], int]] = {}
        for row in table.rows:
            if row.swapped:
                warn("xmax < xmin or ymax < ymin: corners read in swapped order", row)
            if row.kind in ("bbox", "polygon") and row.label is None:
                warn(f"{row.kind} without a label", row)
            if row.kind == "bbox" and (row.values[0][2] == 0 or row.values[0][3] == 0):
                warn("box has no area", row)
            key = (row.name, row.kind, row.label, repr(row.values), row.rotation)
            if row.kind and key in seen:
                warn(f"same annotation as line {seen[key]}", row)
            seen.setdefault(key, row.line)
            if row.size:
                first = sizes.setdefault(row.name, (row.size, row.line))
                if first[0] != row.size:
                    warn(f"image size {row.size[0]}x{row.size[1]} differs from {first[0][0]}x{first[0][1]} at line {first[1]}", row, "error")
    # how coordinates were interpreted is worth a warning: the inference can be wrong
    notes = (labelport_read(source=source, options=options).info.metadata.get("csv") or {}).get("notes") or []
    problems += [Problem(severity="warning", message=note, file=str(source)) for note in notes]
    return problems
