"""Open Images (OID v4 to v7): CSV files of boxes, human-verified image labels and instance masks.

Specification: the Open Images download page (storage.googleapis.com/openimages/web/download.html,
"Data formats") and the layout datumaro and CVAT exchange::

    annotations/
        class-descriptions.csv          LabelName,DisplayName rows (oidv6-*: with that header; older: none)
        bbox_labels_600_hierarchy.json  {"LabelName": ..., "Subcategory": [...]} class tree
        image_ids_and_rotation.csv      ImageID,Subset,...,Rotation (or <subset>-image_ids_and_rotation.csv,
                                        <subset>-images[-with-labels]-with-rotation.csv)
        <subset>-annotations-bbox.csv   ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,
                                        IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside
        <subset>-annotations-human-imagelabels.csv      ImageID,Source,LabelName,Confidence
        <subset>-annotations-object-segmentation.csv    MaskPath,ImageID,LabelName,BoxID,
                                        BoxXMin,BoxXMax,BoxYMin,BoxYMax,PredictedIoU,Clicks
        images.meta                     "<ImageID> <height> <width>" per image
    images/<subset>/<ImageID>.jpg
    masks/<subset>/<MaskPath>

Coordinates are normalised by the image size, in the column order XMin, XMax, YMin, YMax. The
box flags are 1, 0 or -1 (unknown). An image label of Confidence 0 is a negative label: the
class was verified absent. Canonical form: ``Tag``/``BBox``/``Mask`` per row; a Confidence other
than 1 is the annotation's ``score`` (so a negative label is a tag with score 0); box flags are
the attributes ``occluded``, ``truncated``, ``is_group_of``, ``is_depiction``, ``is_inside``;
masks carry ``predicted_iou`` (their ``BoxID`` and file name are kept in metadata) and share a
``group`` with the box they outline;
the class tree becomes label parents. Labels are named by their MID (``/m/...``) unless the
``display_names`` read option asks for display names.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.geometry.masks import decode_mask_image, encode_png, rle_bbox
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.io.media import IMAGE_SUFFIXES, MediaLookup, export_media, image_size, safe_join
from labelport.io.text import read_lines
from labelport.plugin import (
    Detection,
    FormatInfo,
    OptionsBase,
    Probe,
    Problem,
    ReadOptions,
    Report,
    WriteOptions,
    hookimpl,
)
from labelport.schema import BBox, Dataset, Image, Item, Label, Mask, Tag


class OpenImagesReadOptions(OptionsBase):
    """Open Images reader options."""

    #: name labels by their DisplayName (when unique) instead of their MID; the MID is kept in
    #: ``Label.metadata["mid"]`` and written back
    display_names: bool = False


INFO = FormatInfo(
    name="open_images",
    title="Open Images",
    description="Open Images v4-v7 CSV layout: boxes with occlusion flags, human-verified image labels "
    "(negative ones with score 0), instance masks as PNGs and the class hierarchy.",
    extensions=(".csv",),
    annotation_types=frozenset({"label", "bbox", "mask"}),
    features=frozenset({"attributes", "scores", "groups", "subsets", "label_hierarchy"}),
    read_options=OpenImagesReadOptions,
    docs_url="https://storage.googleapis.com/openimages/web/download.html",
)

ANNOTATIONS_DIR = "annotations"
IMAGES_DIR = "images"
MASKS_DIR = "masks"
META_FILE = "images.meta"
HIERARCHY_FILE = "bbox_labels_600_hierarchy.json"
CLASSES_FILE = "class-descriptions.csv"
ROOT_MID = "/m/0bl9f"  # "Entity", the root of the Open Images class tree

IMAGE_FIELDS = (
    "ImageID", "Subset", "OriginalURL", "OriginalLandingURL", "License", "AuthorProfileURL", "Author", "Title",
    "OriginalSize", "OriginalMD5", "Thumbnail300KURL", "Rotation",
)
LABEL_FIELDS = ("ImageID", "Source", "LabelName", "Confidence")
BOX_FIELDS = (
    "ImageID", "Source", "LabelName", "Confidence", "XMin", "XMax", "YMin", "YMax",
    "IsOccluded", "IsTruncated", "IsGroupOf", "IsDepiction", "IsInside",
)
MASK_FIELDS = ("MaskPath", "ImageID", "LabelName", "BoxID", "BoxXMin", "BoxXMax", "BoxYMin", "BoxYMax", "PredictedIoU", "Clicks")
#: box flag column -> canonical attribute (the names datumaro and CVAT use)
FLAGS = {
    "IsOccluded": "occluded", "IsTruncated": "truncated", "IsGroupOf": "is_group_of",
    "IsDepiction": "is_depiction", "IsInside": "is_inside",
}
MASK_ATTRIBUTES = ("box_id", "predicted_iou")  # box_id as CVAT names it; read into metadata
_MAX_SIDE = 100_000  # pixels: a larger images.meta entry is damage, not a photograph
_BOX_TOLERANCE = 1e-6  # Open Images stores mask boxes with 6 decimals

_KIND_RE = re.compile(
    r"^(?:oidv\d+-)?(?P<subset>.+?)-annotations-(?P<kind>bbox|(?:human|machine)-imagelabels(?:-boxable)?|object-segmentation)\.csv$",
    re.I,
)
_IMAGES_RE = re.compile(
    r"^(?:oidv\d+-)?(?:(?P<subset>.+?)-)?(?:image_ids_and_rotation|images(?:-boxable)?(?:-with-labels)?-with-rotation)\.csv$",
    re.I,
)
_CLASSES_RE = re.compile(r"^(?:oidv\d+-)?class-descriptions(?:-boxable)?\.csv$", re.I)
_HEADER_START = ("imageid,", "maskpath,")


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """Open Images CSV file names whose header starts with ImageID or MaskPath."""
    if not probe.is_dir:
        return None
    for folder, confidence in ((ANNOTATIONS_DIR + "/", 0.95), ("", 0.9)):
        for rel in probe.files(folder + "*.csv"):
            name = rel.rsplit("/", 1)[-1]
            if (_KIND_RE.match(name) or _IMAGES_RE.match(name)) and probe.text(rel, 256).lower().startswith(_HEADER_START):
                return Detection(format="open_images", confidence=confidence, reason=f"Open Images {name}")
    return None


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    return _read(source, options, None)


class _Table:
    """A CSV file with a header: rows by column name, errors with the file and line."""

    def __init__(self, path: Path, required: tuple[str, ...], header: bool = True):
        self.path = path
        text = "\n".join(line for _, line in read_lines(path))
        self._reader = csv.reader(io.StringIO(text, newline=""))
        self.header: list[str] = []
        if header:
            try:
                self.header = [c.strip() for c in next(self._reader, [])]
            except csv.Error as exc:
                raise FormatError(f"malformed CSV: {exc}", file=path, location="line 1") from None
            missing = [c for c in required if c not in self.header]
            if missing:
                raise FormatError(f"missing column {', '.join(missing)}", file=path, location="line 1")
        self.index = {name: i for i, name in enumerate(self.header)}

    def __iter__(self) -> Iterator[tuple[str, list[str]]]:
        try:
            for row in self._reader:
                if not any(cell.strip() for cell in row):
                    continue
                yield f"line {self._reader.line_num}", row
        except csv.Error as exc:
            raise FormatError(f"malformed CSV: {exc}", file=self.path, location=f"line {self._reader.line_num}") from None

    def get(self, row: list[str], column: str, where: str, required: bool = True) -> str:
        i = self.index.get(column)
        value = row[i].strip() if i is not None and i < len(row) else ""
        if required and not value:
            raise FormatError(f"{column} is empty", file=self.path, location=where)
        return value

    def number(self, row: list[str], column: str, where: str, default: float | None = None) -> float:
        text = self.get(row, column, where, required=default is None)
        if not text:
            return default  # type: ignore[return-value]
        try:
            value = float(text)
        except ValueError:
            raise FormatError(f"{column} {text!r} is not a number", file=self.path, location=where) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise FormatError(f"{column} is not finite", file=self.path, location=where)
        return value

    def flag(self, row: list[str], column: str, where: str) -> int:
        text = self.get(row, column, where, required=False) or "-1"
        if text not in ("-1", "0", "1"):
            raise FormatError(f"{column} must be 1, 0 or -1 (unknown), got {text!r}", file=self.path, location=where)
        return int(text)


@dataclass
class _Row:
    """One annotation row, kept until its image's size is known."""

    kind: str  # label, bbox or mask
    label: str
    values: dict[str, Any]
    file: Path
    where: str


@dataclass
class _Reader:
    root: Path
    ann_dir: Path
    options: ReadOptions
    problems: list[Problem] | None
    labels: dict[str, Label] = field(default_factory=dict)  # by MID
    items: dict[str, Item] = field(default_factory=dict)  # by ImageID
    rows: dict[str, list[_Row]] = field(default_factory=dict)
    meta: dict[str, tuple[int, int]] = field(default_factory=dict)  # ImageID -> (width, height)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    images: MediaLookup | None = None
    masks: MediaLookup | None = None

    def warn(self, message: str, file: Path | str | None, location: str | None = None) -> None:
        if self.problems is not None:
            where = str(file) if file else None
            self.problems.append(Problem(severity="warning", message=message, file=where, location=location))

    def label(self, mid: str, file: Path, where: str) -> str:
        if mid not in self.labels:
            self.warn(f"label {mid} is not in the class descriptions", file, where)
            self.labels[mid] = Label(name=mid)
        return mid

    def item(self, image_id: str, subset: str | None, file: Path, where: str) -> Item:
        if image_id in self.items:
            return self.items[image_id]
        if not _safe_component(image_id, allow_slash=True):
            raise FormatError(f"ImageID {image_id!r} is not a usable file name", file=file, location=where)
        found = None
        if self.images is not None:
            for rel in ([f"{subset}/{image_id}"] if subset else []) + [image_id]:
                found = self.images.find(rel)
                if found is not None:
                    break
        size = self.meta.get(image_id)
        if size is None and found is not None:
            size = image_size(found)
        if found is None:
            self.missing.append(image_id)
        media = Image(name=found.name if found else None, path=str(found) if found else None,
                      width=size[0] if size else None, height=size[1] if size else None)
        item = self.items[image_id] = Item(id=image_id, subset=subset, media=media)
        return item


def _read(source: Path, options: ReadOptions, problems: list[Problem] | None) -> Dataset:
    if not source.is_dir():
        raise FormatError("an Open Images dataset is a folder (with annotations/, images/, masks/)", file=source)
    ann_dir = source / ANNOTATIONS_DIR if (source / ANNOTATIONS_DIR).is_dir() else source
    names = sorted(p.name for p in ann_dir.iterdir() if p.is_file())
    opts: OpenImagesReadOptions = options.format_options or OpenImagesReadOptions()
    reader = _Reader(root=source, ann_dir=ann_dir, options=options, problems=problems)
    reader.images = MediaLookup([p for p in (source / IMAGES_DIR, source) if p.is_dir()])
    reader.masks = MediaLookup([p for p in (source / MASKS_DIR, source) if p.is_dir()])
    kinds = [(n, m) for n in names if (m := _KIND_RE.match(n))]
    image_files = [n for n in names if _IMAGES_RE.match(n)]
    if not kinds and not image_files:
        raise FormatError("no Open Images annotation or image description CSV found", file=ann_dir)

    for name in names:
        if _CLASSES_RE.match(name):
            _read_classes(reader, ann_dir / name)
    hierarchy = [n for n in names if n.lower().endswith(".json") and "hierarchy" in n.lower()]
    if hierarchy:
        _read_hierarchy(reader, ann_dir / hierarchy[0])
    if META_FILE in names:
        _read_meta(reader, ann_dir / META_FILE)
    # the combined description file lists images without annotations too; subset files otherwise
    for name in sorted(image_files, key=lambda n: not n.lower().startswith("image_ids_and_rotation")):
        _read_images(reader, ann_dir / name, _IMAGES_RE.match(name).group("subset"))  # type: ignore[union-attr]
    for name, m in kinds:
        kind = m.group("kind").lower()
        subset = m.group("subset")
        if kind == "bbox":
            _read_boxes(reader, ann_dir / name, subset)
        elif kind == "object-segmentation":
            _read_mask_rows(reader, ann_dir / name, subset)
        else:
            _read_image_labels(reader, ann_dir / name, subset, machine=kind.startswith("machine"))

    skipped = 0
    for image_id, item in reader.items.items():
        skipped += _build(reader, item, reader.rows.get(image_id, []))
    if skipped:
        reader.notes.append(f"{skipped} boxes and masks of images of unknown size were skipped (no image, no {META_FILE} entry)")
    negatives = sum(1 for item in reader.items.values() for a in item.annotations if a.type == "label" and a.score == 0)
    if negatives:
        reader.notes.append(f"{negatives} negative image labels (Confidence 0: verified absent) read as tags with score 0")
    labels = _name_labels(reader.labels, opts.display_names)
    if opts.display_names:
        renamed = {mid: lb.name for mid, lb in labels.items()}
        for item in reader.items.values():
            item.annotations = [a.model_copy(update={"label": renamed[a.label]}) for a in item.annotations]
    ds = Dataset(list(reader.items.values()), labels=list(labels.values()))
    ds.notes.extend(reader.notes)
    ds.missing_media.extend(reader.missing)
    return ds


def _read_classes(reader: _Reader, path: Path) -> None:
    table = _Table(path, (), header=False)
    for where, row in table:
        if len(row) < 1 or not row[0].strip():
            raise FormatError("expected LabelName,DisplayName", file=path, location=where)
        mid, display = row[0].strip(), (row[1].strip() if len(row) > 1 else "")
        if where == "line 1" and mid.lower() in ("labelname", "id", "label", "mid"):
            continue  # the oidv6- files start with a header; older ones do not
        if mid in reader.labels:
            reader.warn(f"label {mid} is described twice", path, where)
            continue
        reader.labels[mid] = Label(name=mid, metadata={"display_name": display} if display else {})


def _read_hierarchy(reader: _Reader, path: Path) -> None:
    """Parents from the class tree: a class's parent is the node it is listed under (the first one,
    where a class appears under several); nodes that are no described class (the root) are not labels."""
    doc = load_json(path)
    j = JsonReader(path)
    stack: list[tuple[Any, str]] = [(doc, "$")]
    parents: dict[str, str] = {}
    seen = 0
    while stack:
        node, where = stack.pop()
        seen += 1
        if seen > 1_000_000:
            raise j.error(where, "class tree too large")
        name = j.get(node, "LabelName", where, str)
        for key in ("Subcategory", "Part"):
            children = j.get(node, key, where, list, required=False, default=[])
            for k, child in enumerate(children):
                child_where = f"{where}.{key}[{k}]"
                child_name = j.get(child, "LabelName", child_where, str)
                if key == "Subcategory" and name in reader.labels and child_name in reader.labels:
                    parents.setdefault(child_name, name)
                stack.append((child, child_where))
    for child, parent in parents.items():
        if parent != child and not _is_ancestor(child, parent, parents):
            reader.labels[child] = reader.labels[child].model_copy(update={"parent": parent})


def _is_ancestor(candidate: str, node: str, parents: dict[str, str]) -> bool:
    seen: set[str] = set()
    while node in parents and node not in seen:
        seen.add(node)
        node = parents[node]
        if node == candidate:
            return True
    return False


def _read_meta(reader: _Reader, path: Path) -> None:
    for n, line in read_lines(path):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.rsplit(None, 2)
        try:
            image_id, height, width = parts[0], int(parts[1]), int(parts[2])
        except (ValueError, IndexError):
            raise FormatError("expected `<ImageID> <height> <width>`", file=path, location=f"line {n}") from None
        if not (0 < height <= _MAX_SIDE and 0 < width <= _MAX_SIDE):
            raise FormatError(f"image size {width}x{height} is out of range", file=path, location=f"line {n}")
        reader.meta[image_id] = (width, height)


def _read_images(reader: _Reader, path: Path, file_subset: str | None) -> None:
    table = _Table(path, ("ImageID",))
    for where, row in table:
        image_id = table.get(row, "ImageID", where)
        subset = table.get(row, "Subset", where, required=False) or file_subset
        if subset is not None and not _safe_component(subset):
            raise FormatError(f"subset {subset!r} is not a usable folder name", file=path, location=where)
        if image_id in reader.items:
            reader.warn(f"image {image_id} is described twice", path, where)
            continue
        item = reader.item(image_id, subset, path, where)
        extra = {
            name: row[i].strip()
            for name, i in table.index.items()
            if name not in ("ImageID", "Subset") and i < len(row) and row[i].strip()
        }
        if extra:
            item.metadata["open_images"] = extra


def _read_image_labels(reader: _Reader, path: Path, subset: str, machine: bool) -> None:
    table = _Table(path, ("ImageID", "LabelName"))
    for where, row in table:
        item = reader.item(table.get(row, "ImageID", where), subset, path, where)
        label = reader.label(table.get(row, "LabelName", where), path, where)
        confidence = table.number(row, "Confidence", where, default=1.0)
        if not 0 <= confidence <= 1:
            reader.warn(f"Confidence {confidence:g} is outside 0..1", path, where)
        values = {"confidence": confidence, "source": table.get(row, "Source", where, required=False), "machine": machine}
        reader.rows.setdefault(item.id, []).append(_Row("label", label, values, path, where))


def _read_boxes(reader: _Reader, path: Path, subset: str) -> None:
    table = _Table(path, ("ImageID", "LabelName", "XMin", "XMax", "YMin", "YMax"))
    for where, row in table:
        item = reader.item(table.get(row, "ImageID", where), subset, path, where)
        label = reader.label(table.get(row, "LabelName", where), path, where)
        box = [table.number(row, c, where) for c in ("XMin", "XMax", "YMin", "YMax")]
        _check_box(reader, box, path, where)
        values = {
            "box": box,
            "confidence": table.number(row, "Confidence", where, default=1.0),
            "source": table.get(row, "Source", where, required=False),
            "flags": {attr: table.flag(row, col, where) for col, attr in FLAGS.items()},
        }
        reader.rows.setdefault(item.id, []).append(_Row("bbox", label, values, path, where))


def _read_mask_rows(reader: _Reader, path: Path, subset: str) -> None:
    table = _Table(path, ("MaskPath", "ImageID", "LabelName"))
    for where, row in table:
        item = reader.item(table.get(row, "ImageID", where), subset, path, where)
        label = reader.label(table.get(row, "LabelName", where), path, where)
        mask_path = table.get(row, "MaskPath", where)
        box = None
        if all(table.get(row, c, where, required=False) for c in ("BoxXMin", "BoxXMax", "BoxYMin", "BoxYMax")):
            box = [table.number(row, c, where) for c in ("BoxXMin", "BoxXMax", "BoxYMin", "BoxYMax")]
            _check_box(reader, box, path, where)
        values = {
            "mask_path": mask_path,
            "box": box,
            "box_id": table.get(row, "BoxID", where, required=False),
            "predicted_iou": table.number(row, "PredictedIoU", where, default=float("nan")),
            "clicks": table.get(row, "Clicks", where, required=False),
        }
        reader.rows.setdefault(item.id, []).append(_Row("mask", label, values, path, where))


def _check_box(reader: _Reader, box: list[float], path: Path, where: str) -> None:
    xmin, xmax, ymin, ymax = box
    if xmax < xmin or ymax < ymin:
        raise FormatError(f"XMax/YMax ({xmax:g}, {ymax:g}) below XMin/YMin ({xmin:g}, {ymin:g})", file=path, location=where)
    if min(box) < 0 or max(box) > 1:
        reader.warn("normalised box coordinates outside 0..1", path, where)


def _build(reader: _Reader, item: Item, rows: list[_Row]) -> int:
    """The item's annotations from its rows, once its size is known; returns how many were skipped."""
    media = item.media
    size = (media.width, media.height) if isinstance(media, Image) and media.width and media.height else None
    decoded: dict[int, np.ndarray] = {}
    for k, row in enumerate(rows):
        if row.kind != "mask":
            continue
        arr = _load_mask(reader, item, row)
        if arr is None:
            continue
        if size is None:
            # written by CVAT, datumaro and labelport at the image's resolution
            size = (arr.shape[1], arr.shape[0])
            item.media = (media or Image()).model_copy(update={"width": size[0], "height": size[1]})
            reader.notes.append(f"{item.id}: image size {size[0]}x{size[1]} taken from its mask")
        elif (arr.shape[1], arr.shape[0]) != size:
            arr = _resize(arr, size)
        decoded[k] = arr
    anns: list[Any] = []
    boxes: list[tuple[int, str, list[float]]] = []  # index in anns, label, normalised box
    skipped = 0
    next_group = 1
    for k, row in enumerate(rows):
        v = row.values
        if row.kind == "label":
            meta = {"source": v["source"]} if v["source"] else {}
            if v["machine"]:
                meta["machine"] = True
            anns.append(Tag(label=row.label, score=_score(v["confidence"]), metadata=meta))
        elif row.kind == "bbox":
            if size is None:
                skipped += 1
                continue
            xmin, xmax, ymin, ymax = v["box"]
            x1, y1, x2, y2 = coords.denormalize([xmin, ymin, xmax, ymax], *size)
            x, y, w, h = coords.xyxy_to_xywh(x1, y1, x2, y2)
            attrs = {attr: bool(flag) for attr, flag in v["flags"].items() if flag >= 0}
            boxes.append((len(anns), row.label, v["box"]))
            anns.append(BBox(label=row.label, x=x, y=y, w=w, h=h, score=_score(v["confidence"]), attributes=attrs,
                             metadata={"source": v["source"]} if v["source"] else {}))
        elif k in decoded:
            mask_attrs: dict[str, Any] = {}
            if v["predicted_iou"] == v["predicted_iou"]:  # not NaN: the column was filled
                mask_attrs["predicted_iou"] = v["predicted_iou"]
            group = None
            if v["box"] is not None:
                for index, label, box in boxes:
                    if label == row.label and np.allclose(box, v["box"], rtol=0, atol=_BOX_TOLERANCE):
                        # the mask outlines this box: tie them (a box already tied keeps its group)
                        group = anns[index].group
                        if group is None:
                            group = next_group
                            next_group += 1
                            anns[index] = anns[index].model_copy(update={"group": group})
                        break
            meta = {"mask_path": v["mask_path"]}
            if v["box_id"]:
                meta["box_id"] = v["box_id"]  # names the mask file; bookkeeping, not data
            if v["clicks"]:
                meta["clicks"] = v["clicks"]
            if v["box"] is not None:
                meta["box"] = v["box"]
            anns.append(Mask.from_array(decoded[k], label=row.label, group=group, attributes=mask_attrs, metadata=meta))
        elif row.kind == "mask" and size is None:
            skipped += 1
    item.annotations = anns
    return skipped


def _load_mask(reader: _Reader, item: Item, row: _Row) -> np.ndarray | None:
    name = row.values["mask_path"]
    found = None
    if reader.masks is not None and _safe_component(name, allow_slash=True):
        subset = item.subset
        for rel in ([f"{subset}/{name}"] if subset else []) + [name]:
            found = reader.masks.find(rel, stem_fallback=False)
            if found is not None:
                break
    if found is None:
        reader.warn(f"mask {name} not found", row.file, row.where)
        reader.notes.append(f"mask {name} not found: skipped")
        return None
    try:
        data = found.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=found) from None
    return decode_mask_image(data, file=str(found))


def _resize(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The mask at the image's size, nearest neighbour (Open Images masks have their own resolution)."""
    from PIL import Image as PILImage

    im = PILImage.fromarray(mask.astype(np.uint8) * 255).resize(size, PILImage.Resampling.NEAREST)
    return np.asarray(im) > 0


def _score(confidence: float) -> float | None:
    # ground truth is Confidence 1: certain, no score; anything else (0 = verified absent) is kept
    return None if confidence == 1 else confidence


def _name_labels(labels: dict[str, Label], display: bool) -> dict[str, Label]:
    if not display:
        return labels
    counts: dict[str, int] = {}
    for lb in labels.values():
        name = lb.metadata.get("display_name")
        if name:
            counts[name] = counts.get(name, 0) + 1
    names = {mid: (lb.metadata.get("display_name") if counts.get(lb.metadata.get("display_name", ""), 0) == 1 else mid)
             for mid, lb in labels.items()}
    if len(set(names.values())) != len(names):  # a display name equal to another class's MID
        names = {mid: mid for mid in labels}
    return {
        mid: lb.model_copy(update={"name": names[mid], "parent": names.get(lb.parent) if lb.parent else None,
                                   "metadata": {**lb.metadata, "mid": mid}})
        for mid, lb in labels.items()
    }


def _safe_component(name: str, allow_slash: bool = False) -> bool:
    parts = name.replace("\\", "/").split("/") if allow_slash else [name]
    return bool(name) and "\x00" not in name and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts) and (
        allow_slash or "/" not in name and "\\" not in name
    )


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    """annotations/ with one CSV per kind and subset, images.meta, class descriptions (no header)
    and the class tree; mask PNGs in masks/<subset>/, images (with save_media) in images/<subset>/."""
    writer = _Writer(target, dataset, options, report)
    try:
        for item in dataset:
            writer.add(item)
    finally:
        writer.close()
    writer.finish()
    return True


class _Writer:
    def __init__(self, target: Path, dataset: Dataset, options: WriteOptions, report: Report):
        self.target = target
        self.dataset = dataset
        self.options = options
        self.report = report
        self.ann_dir = target / ANNOTATIONS_DIR
        self.ann_dir.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, tuple[Any, Any]] = {}
        self.used_labels: dict[str, None] = {}
        self.meta = open(self.ann_dir / META_FILE, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def csv(self, name: str, header: tuple[str, ...]) -> Any:
        if name not in self.files:
            fh = open(self.ann_dir / name, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(header)
            self.files[name] = (fh, out)
        return self.files[name][1]

    def close(self) -> None:
        for fh, _ in self.files.values():
            fh.close()
        self.meta.close()

    def mid(self, name: str) -> str:
        self.used_labels[name] = None
        label = self.dataset.labels.get(name)
        return str(label.metadata.get("mid", name)) if label is not None else name

    def add(self, item: Item) -> None:
        subset = item.subset or "default"
        if not _safe_component(subset):
            raise FormatError(f"subset {subset!r} cannot be a folder name")
        if not _safe_component(item.id, allow_slash=True):
            raise FormatError(f"item id {item.id!r} cannot be a file name")
        described = dict(item.metadata.get("open_images") or {})
        self.csv(f"{subset}-image_ids_and_rotation.csv", IMAGE_FIELDS).writerow(
            [item.id, subset, *(described.get(f, "") for f in IMAGE_FIELDS[2:])]
        )
        size = self.size(item)
        if size is not None:
            self.meta.write(f"{item.id} {size[1]} {size[0]}\n")
        if self.options.save_media != "none":
            export_media(item, self.target / IMAGES_DIR / subset, self.options.save_media, self.report, name=_image_name(item))
        boxes_by_group: dict[int, tuple[str, list[float]]] = {}
        box_ids: set[str] = set()
        for ann in item.annotations:
            if ann.label is None:
                self.report.loss(f"{ann.type} without a label", "dropped (every Open Images row names a class)")
                continue
            if ann.type == "label":
                self.label_row(item, subset, ann)
            elif ann.type == "bbox":
                box = self.box_row(item, subset, ann, size)
                if box is not None and ann.group is not None:
                    boxes_by_group.setdefault(ann.group, (ann.label, box))
        for ann in item.annotations:
            if ann.type == "mask" and ann.label is not None:
                self.mask_row(item, subset, ann, boxes_by_group, box_ids)

    def size(self, item: Item) -> tuple[int, int] | None:
        media = item.media
        width, height = getattr(media, "width", None), getattr(media, "height", None)
        if width and height:
            return width, height
        path = getattr(media, "path", None)
        if path and Path(path).is_file():
            return image_size(path)
        mask = next((a for a in item.annotations if a.type == "mask"), None)
        return (mask.rle.size[1], mask.rle.size[0]) if mask is not None else None

    def label_row(self, item: Item, subset: str, ann: Tag) -> None:
        self.extra_attributes(ann, ())
        machine = bool(ann.metadata.get("machine"))
        name = f"{subset}-annotations-{'machine' if machine else 'human'}-imagelabels.csv"
        self.csv(name, LABEL_FIELDS).writerow(
            [item.id, ann.metadata.get("source", ""), self.mid(ann.label), _num(1 if ann.score is None else ann.score)]
        )

    def box_row(self, item: Item, subset: str, ann: BBox, size: tuple[int, int] | None) -> list[float] | None:
        if size is None:
            self.report.loss("boxes of images of unknown size", "dropped (Open Images boxes are normalised)")
            return None
        self.extra_attributes(ann, tuple(FLAGS.values()))
        x1, y1, x2, y2 = coords.normalize(coords.xywh_to_xyxy(ann.x, ann.y, ann.w, ann.h), *size)
        flags = []
        for attr in FLAGS.values():
            value = ann.attributes.get(attr)
            flags.append("-1" if value is None else "1" if _truthy(value) else "0")
        self.csv(f"{subset}-annotations-bbox.csv", BOX_FIELDS).writerow([
            item.id, ann.metadata.get("source", ""), self.mid(ann.label), _num(1 if ann.score is None else ann.score),
            _num(x1), _num(x2), _num(y1), _num(y2), *flags,
        ])
        return [x1, x2, y1, y2]

    def mask_row(self, item: Item, subset: str, ann: Mask, boxes: dict[int, tuple[str, list[float]]], box_ids: set[str]) -> None:
        self.extra_attributes(ann, MASK_ATTRIBUTES)
        if ann.score is not None:
            self.report.loss("mask scores", "dropped (the segmentation file has none)")
        h, w = ann.rle.size
        paired = boxes.get(ann.group) if ann.group is not None else None
        if paired is not None and paired[0] == ann.label:
            box = paired[1]
        else:
            if ann.group is not None:
                self.report.loss("annotation groups", "dropped (Open Images ties a mask only to its box)")
            x, y, bw, bh = rle_bbox(ann.rle)
            box = [x / w, (x + bw) / w, y / h, (y + bh) / h] if w and h else [0.0, 0.0, 0.0, 0.0]
        box_id = str(ann.metadata.get("box_id") or ann.attributes.get("box_id") or "")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", box_id) or box_id in box_ids:
            box_id = next(f"{k:08x}" for k in range(len(box_ids) + 1) if f"{k:08x}" not in box_ids)
        box_ids.add(box_id)
        mid = self.mid(ann.label)
        mask_name = f"{_file_part(item.id)}_{_file_part(mid)}_{box_id}.png"
        path = safe_join(self.target / MASKS_DIR / subset, mask_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode_png(ann.to_array()))
        iou = ann.attributes.get("predicted_iou")
        self.csv(f"{subset}-annotations-object-segmentation.csv", MASK_FIELDS).writerow([
            mask_name, item.id, mid, box_id, *(_num(v) for v in box),
            _num(iou) if isinstance(iou, (int, float)) and not isinstance(iou, bool) else "",
            ann.metadata.get("clicks", ""),
        ])

    def extra_attributes(self, ann: Any, known: tuple[str, ...]) -> None:
        if set(ann.attributes) - set(known):
            self.report.loss(f"{ann.type} attributes Open Images has no column for", "dropped")

    def finish(self) -> None:
        """Class descriptions (v5 style, no header) and the class tree, after every item named its labels."""
        labels = list(self.dataset.labels)
        names = {lb.name for lb in labels}
        extra = [n for n in self.used_labels if n not in names]
        parents = [lb.parent for lb in labels if lb.parent and lb.parent not in names]
        mids = {lb.name: str(lb.metadata.get("mid", lb.name)) for lb in labels}
        with open(self.ann_dir / CLASSES_FILE, "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            for lb in labels:
                out.writerow([mids[lb.name], lb.metadata.get("display_name", lb.name)])
            for name in dict.fromkeys([*extra, *parents]):
                # a parent that is no label of its own still needs a row for the tree to name it
                out.writerow([name, name])
                mids[name] = name
        (self.ann_dir / HIERARCHY_FILE).write_bytes(dump_json(_tree(labels, mids), indent=True) + b"\n")


def _tree(labels: list[Label], mids: dict[str, str]) -> dict[str, Any]:
    nodes: dict[str, dict[str, Any]] = {}

    def node(name: str) -> dict[str, Any]:
        return nodes.setdefault(name, {"LabelName": mids.get(name, name)})

    orphans: list[str] = []
    parents = {lb.name: lb.parent for lb in labels if lb.parent}
    for lb in labels:
        node(lb.name)
        if lb.parent and lb.parent != lb.name and not _is_ancestor(lb.name, lb.parent, parents):
            node(lb.parent).setdefault("Subcategory", []).append(node(lb.name))
        else:
            orphans.append(lb.name)
    orphans += [n for n in nodes if n not in {lb.name for lb in labels}]
    used = set(mids.values())
    root = ROOT_MID if ROOT_MID not in used else next(f"/m/root{k}" for k in range(len(used) + 1) if f"/m/root{k}" not in used)
    # a class without parent or children says nothing in the tree
    return {"LabelName": root, "Subcategory": [nodes[n] for n in dict.fromkeys(orphans) if "Subcategory" in nodes[n]]}


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _file_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "x"


def _image_name(item: Item) -> str:
    media = item.media
    name = getattr(media, "name", None) or (Path(media.path).name if getattr(media, "path", None) else None)  # type: ignore[union-attr]
    suffix = PurePosixPath(name).suffix if name else ""
    return item.id + (suffix if suffix.lower() in IMAGE_SUFFIXES else ".jpg")


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Labels missing from the class descriptions, boxes outside 0..1, missing mask PNGs,
    images described twice."""
    problems: list[Problem] = []
    _read(source, options, problems)
    return problems
