"""Checks every dataset gets, whatever its format: numbers, sizes, geometry and labels."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labelport.errors import LabelportError
from labelport.io.media import IMAGE_SUFFIXES, image_size, stays_inside
from labelport.plugin import Problem
from labelport.schema import Dataset, Item

_NUMERIC_FIELDS = ("x", "y", "w", "h", "cx", "cy", "rx", "ry", "rotation")


def check_dataset(dataset: Dataset, *, file: str | None = None) -> Iterator[Problem]:
    """Problems in a read dataset, each located by item id and annotation index."""
    seen: set[tuple[str | None, str]] = set()
    for item in dataset:
        key = (item.subset, item.id)
        if key in seen:
            yield Problem(message=f"duplicate item id {item.id!r}", file=file, location=f"item {item.id}")
        seen.add(key)
        yield from check_item(item, dataset, file=file)


def check_item(item: Item, dataset: Dataset, *, file: str | None = None) -> Iterator[Problem]:
    width = getattr(item.media, "width", None)
    height = getattr(item.media, "height", None)
    name = getattr(item.media, "name", None)
    if name and not stays_inside(name):
        yield Problem(
            message=f"media path {name!r} points outside the dataset; it is never followed", file=file, location=f"item {item.id}"
        )
    path = getattr(item.media, "path", None)
    if path and item.media.kind in ("image", "video_frame") and Path(path).suffix.lower() in IMAGE_SUFFIXES:  # type: ignore[union-attr]
        try:
            actual = image_size(path)
        except LabelportError as exc:
            yield Problem(message=exc.message, file=path, location=f"item {item.id}")
        else:
            if width and height and actual != (width, height):
                yield Problem(
                    severity="warning",
                    message=f"image is {actual[0]}x{actual[1]}, annotations say {width}x{height}",
                    file=file,
                    location=f"item {item.id}",
                )
    if (width is not None and width <= 0) or (height is not None and height <= 0):
        yield Problem(message=f"image size {width}x{height} is not positive", file=file, location=f"item {item.id}")
        width = height = None
    for i, ann in enumerate(item.annotations):
        where = f"item {item.id}, annotation {i}" + (f" (id {ann.id})" if ann.id is not None else "")

        def p(message: str, severity: str = "error", where: str = where) -> Problem:
            return Problem(severity=severity, message=message, file=file, location=where)  # type: ignore[arg-type]

        numbers = list(_numbers(ann))
        if any(not math.isfinite(v) for v in numbers):
            yield p("coordinates are not finite (NaN or infinity)")
            continue
        if ann.label is not None and ann.label not in dataset.labels:
            yield p(f"label {ann.label!r} is not declared", "warning")
        t = ann.type
        if t == "bbox":
            if ann.w < 0 or ann.h < 0:
                yield p(f"box has negative size {ann.w}x{ann.h}")
            elif (
                width and height and (ann.x < -0.5 or ann.y < -0.5 or ann.x + ann.w > width + 0.5 or ann.y + ann.h > height + 0.5)
            ):
                yield p(f"box {ann.x:g},{ann.y:g},{ann.w:g},{ann.h:g} extends outside the {width}x{height} image", "warning")
        elif t == "polygon":
            for j, part in enumerate(ann.parts):
                if len(part) < 6 or len(part) % 2:
                    yield p(f"polygon part {j} has {len(part) / 2:g} points; at least 3 are needed")
        elif t in ("polyline",) and (len(ann.points) < 4 or len(ann.points) % 2):
            yield p(f"polyline has {len(ann.points) / 2:g} points; at least 2 are needed")
        elif t == "keypoints":
            label = dataset.labels.get(ann.label) if ann.label else None
            if label and label.skeleton and len(label.skeleton.points) != len(ann.visibility):
                yield p(f"{len(ann.visibility)} keypoints but the skeleton of {ann.label!r} has {len(label.skeleton.points)}")
        elif t == "mask" and width and height and tuple(ann.rle.size) != (height, width):
            yield p(f"mask size {ann.rle.size[1]}x{ann.rle.size[0]} differs from the image size {width}x{height}")
        elif t == "ellipse" and (ann.rx < 0 or ann.ry < 0):
            yield p("ellipse has a negative radius")


def _numbers(ann: Any) -> Iterator[float]:
    for name in _NUMERIC_FIELDS:
        v = getattr(ann, name, None)
        if isinstance(v, (int, float)):
            yield float(v)
    for name in ("points",):
        v = ann.__dict__.get(name)
        if isinstance(v, list):
            yield from (float(x) for x in v)
    if ann.type == "polygon":
        for ring in (*ann.parts, *ann.holes):
            yield from (float(x) for x in ring)
    if ann.score is not None:
        yield float(ann.score)
