"""Boxes in a tab-separated table: the tutorial's example format.

One file ``boxes.tsv`` with the header ``image, width, height, label, x, y, w, h``
(tab-separated), one row per box in pixels, top-left origin. A row with an empty
label lists an image without boxes.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from labelport.errors import FormatError
from labelport.io.media import find_media, media_roots
from labelport.io.media import item_id as make_item_id
from labelport.plugin import Detection, FormatInfo, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import BBox, Dataset, Image, Item, Label

HEADER = ["image", "width", "height", "label", "x", "y", "w", "h"]
FILE = "boxes.tsv"

INFO = FormatInfo(
    name="tsv",
    title="Boxes TSV (tutorial)",
    extensions=(".tsv",),
    annotation_types=frozenset({"bbox"}),
    single_file=True,
)


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    rel = FILE if probe.is_dir else None
    if probe.is_dir and not probe.files(FILE):
        return None
    if probe.text(rel, 256).split("\n", 1)[0].rstrip("\r").split("\t") == HEADER:
        return Detection(format="tsv", confidence=0.9, reason="boxes.tsv header")
    return None


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    path = source / FILE if source.is_dir() else source
    roots = media_roots(options.images, path.parent, path.parent / "images")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read: {exc}", file=path) from None
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if not rows or rows[0] != HEADER:
        raise FormatError(f"the first line must be the header {' '.join(HEADER)}", file=path, location="line 1")
    items: dict[str, Item] = {}
    labels: dict[str, Label] = {}
    seen: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(HEADER):
            raise FormatError(f"{len(row)} columns, expected {len(HEADER)}", file=path, location=f"line {line}")
        name, width, height, label = row[:4]
        item = items.get(name)
        if item is None:
            size = [_number(v, path, line, col) for col, v in ((2, width), (3, height))]
            found = find_media(roots, name)
            media = Image(name=name, path=str(found) if found else None, width=int(size[0]), height=int(size[1]))
            item = items[name] = Item(id=make_item_id(name, seen), media=media)
        if label:
            x, y, w, h = (_number(v, path, line, col) for col, v in enumerate(row[4:], start=5))
            if w < 0 or h < 0:
                raise FormatError(f"negative box size {w}x{h}", file=path, location=f"line {line}")
            labels.setdefault(label, Label(name=label))
            item.annotations.append(BBox(label=label, x=x, y=y, w=w, h=h))
    return Dataset(list(items.values()), labels=list(labels.values()))


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    path = target if target.suffix == ".tsv" else target / FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter="\t", lineterminator="\n")
        out.writerow(HEADER)
        for item in dataset:
            name = getattr(item.media, "name", None) or f"{item.id}.jpg"
            width, height = getattr(item.media, "width", None), getattr(item.media, "height", None)
            if not (width and height):
                report.loss("items without an image size", "written with size 0")
                width = height = 0
            boxes = [a for a in item.annotations if a.type == "bbox"]
            for box in boxes:
                out.writerow([name, width, height, box.label or "", f"{box.x:g}", f"{box.y:g}", f"{box.w:g}", f"{box.h:g}"])
            if not boxes:
                out.writerow([name, width, height, "", "", "", "", ""])
    return True


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Boxes with zero area are almost always mistakes."""
    dataset = labelport_read(source, options)
    return [
        Problem(severity="warning", message="box has zero area", location=f"item {item.id}, annotation {k}",
                file=str(source))
        for item in dataset
        for k, box in enumerate(item.annotations)
        if box.w == 0 or box.h == 0
    ]


def _number(text: str, path: Path, line: int, column: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{text!r} is not a number", file=path, location=f"line {line}, column {column}") from None
    if not math.isfinite(value):
        raise FormatError(f"{text!r} is not a finite number", file=path, location=f"line {line}, column {column}")
    return value
