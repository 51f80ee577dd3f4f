"""KITTI: object detection, semantic/instance segmentation and tracking labels.

Specification: the KITTI object devkit ``readme.txt`` and ``writeLabels.m`` (15 columns, a 16th
score in results, invalid defaults), the tracking devkit ``readme.txt`` (17 columns), the
semantics devkit (``instance/`` = ``class * 256 + instance``, 16-bit), and the CVAT/Datumaro
export (``label_colors.txt``, ``labels.txt``, ``<subset>/`` folders). Layouts read::

    [<subset>/]label_2/<id>.txt       type truncated occluded alpha left top right bottom
                                      height width length x y z rotation_y [score]
    [<subset>/]image_2/<id>.png       images
    [<subset>/]instance/<id>.png      class * 256 + instance (instance 0: the class as a whole)
    [<subset>/]semantic/<id>.png      class id per pixel
    [<subset>/]semantic_rgb/<id>.png  class colour per pixel
    [<subset>/]label_02/<seq>.txt     frame track_id type truncated ... rotation_y [score]
    [<subset>/]image_02/<seq>/<frame>.png
    label_colors.txt                  segmentation classes "R G B name" (default: the Cityscapes table)
    labels.txt                        every label, one a line

Boxes are ``left, top, right, bottom`` in 0-based pixel coordinates, so ``x = left`` and
``w = right - left``. Columns other than the type, the box and the score become attributes
(``truncated``, ``occluded``, ``alpha``, ``dimensions`` [h, w, l], ``location`` [x, y, z],
``rotation_y``) unless they hold the devkit's "invalid" default (-1, -1, -10, -1, -1000, -10),
which the writer puts back for absent attributes. DontCare regions are boxes of label
``DontCare``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labelport.errors import FormatError, LabelportError
from labelport.geometry.masks import rle_decode
from labelport.geometry.segmaps import (
    CITYSCAPES_CLASSES,
    ClassEntry,
    Color,
    background_first,
    colorize,
    decolorize,
    fill_colors,
    index_to_rles,
    paint,
    pixel_of,
    read_label_colors,
    read_map,
    write_index_png,
    write_label_colors,
    write_rgb_png,
)
from labelport.io.media import IMAGE_SUFFIXES, export_media, image_size
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
from labelport.schema import BBox, Dataset, Image, Item, Label, LabelSet, Mask, VideoFrame


class KittiWriteOptions(OptionsBase):
    """KITTI writer options."""

    #: also write the colour-coded ``semantic_rgb/`` maps of segmentation masks
    color: bool = True


INFO = FormatInfo(
    name="kitti",
    title="KITTI",
    description=(
        "KITTI object labels (label_2, 15/16 columns), segmentation PNGs (instance, semantic, semantic_rgb) "
        "and tracking labels (label_02)."
    ),
    extensions=(".txt",),
    annotation_types=frozenset({"bbox", "mask"}),
    features=frozenset({"subsets", "scores", "attributes", "tracks", "label_colors"}),
    media=frozenset({"image", "video_frame"}),
    single_file=True,
    write_options=KittiWriteOptions,
    docs_url="https://www.cvlibs.net/datasets/kitti/eval_object.php",
)

OBJECT_DIR, TRACK_DIR = "label_2", "label_02"
IMAGE_DIR, TRACK_IMAGE_DIR = "image_2", "image_02"
SEG_DIRS = ("instance", "semantic", "semantic_rgb")
TABLE_FILE, LABELS_FILE = "label_colors.txt", "labels.txt"
#: the object types of the devkit readme
OBJECT_TYPES = ("Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc", "DontCare")
COLUMNS = (
    "type",
    "truncated",
    "occluded",
    "alpha",
    "left",
    "top",
    "right",
    "bottom",
    "height",
    "width",
    "length",
    "x",
    "y",
    "z",
    "rotation_y",
    "score",
)
#: writeLabels.m's values for a column without data ("invalid")
DEFAULTS: dict[str, Any] = {
    "truncated": -1,
    "occluded": -1,
    "alpha": -10,
    "dimensions": [-1, -1, -1],
    "location": [-1000, -1000, -1000],
    "rotation_y": -10,
}
_BACKGROUND_NAMES = {"background", "unlabeled", "unlabelled", "void", "_background_"}
_MAX_INSTANCE = 255
_UINT16 = 65536


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """Rows of 15/16 (17/18 for tracking) space-separated values whose type column is a word,
    in ``label_2/`` (``label_02/``); or ``instance/``/``semantic/`` PNGs beside ``image_2/``."""
    if not probe.is_dir:
        if probe.suffix == ".txt" and _rows_look_right(probe.text(None, 8192), tracking=False):
            return Detection(format="kitti", confidence=0.8, reason="KITTI object label rows")
        return None
    for folder, tracking in ((OBJECT_DIR, False), (TRACK_DIR, True)):
        files = probe.files(f"{folder}/*.txt") + probe.files(f"*/{folder}/*.txt")
        texts = [probe.text(rel, 8192) for rel in files[:5]]
        if any(t.strip() for t in texts):
            if all(_rows_look_right(t, tracking) for t in texts if t.strip()):
                return Detection(format="kitti", confidence=0.95, reason=f"{folder}/ with KITTI label rows")
        elif files:
            return Detection(format="kitti", confidence=0.6, reason=f"{folder}/ with empty label files")
    for seg in SEG_DIRS:
        pngs = probe.files(f"{seg}/*.png") + probe.files(f"*/{seg}/*.png")
        if pngs:
            parent = pngs[0].rsplit("/", 2)[0] if pngs[0].count("/") == 2 else ""
            sibling = probe.path / parent / IMAGE_DIR if parent else probe.path / IMAGE_DIR
            if sibling.is_dir() or (probe.path / TABLE_FILE).is_file():
                return Detection(format="kitti", confidence=0.9, reason=f"{seg}/ maps beside {IMAGE_DIR}/")
            return Detection(format="kitti", confidence=0.4, reason=f"{seg}/ maps")
    return None


def _rows_look_right(text: str, tracking: bool) -> bool:
    lines = [ln for ln in text.splitlines()[:5] if ln.strip()]
    if not lines:
        return False
    for line in lines[:-1] if len(text) >= 8192 else lines:  # the last line may be cut off
        tokens = line.split()
        if len(tokens) not in ((17, 18) if tracking else (15, 16)):
            return False
        type_at = 2 if tracking else 0
        if _is_number(tokens[type_at]) or not all(_is_number(t) for i, t in enumerate(tokens) if i != type_at):
            return False
    return True


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- read


class _Part:
    """One folder holding KITTI sub-folders (the dataset root, or a subset folder in it)."""

    def __init__(self, folder: Path, subset: str | None):
        self.folder, self.subset = folder, subset

    def has(self, name: str) -> bool:
        return (self.folder / name).is_dir()


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    if source.is_file():
        return _read_single_file(source)
    parts = _parts(source)
    if not parts:
        raise FormatError(f"no {OBJECT_DIR}/, {TRACK_DIR}/ or segmentation folders found", file=source)
    has_seg = any(p.has(d) for p in parts for d in SEG_DIRS)
    table = _Table.load(source, parts) if has_seg or (source / TABLE_FILE).is_file() else None
    declared: dict[str, Label] = {}
    if (source / LABELS_FILE).is_file():
        declared = {name: Label(name=name) for name in _read_names(source / LABELS_FILE)}
    for lb in table.labels if table is not None else []:
        # a class labels.txt names first keeps its place and takes the table's id and colour
        declared[lb.name] = (
            declared[lb.name].model_copy(update={"id": lb.id, "color": lb.color}) if lb.name in declared else lb
        )
    labels = LabelSet(declared.values())
    records: list[tuple[Any, ...]] = []
    for part in parts:
        records += _object_records(part, labels)
        records += _track_records(part, labels)

    def items() -> Iterator[Item]:
        for rec in records:
            yield _read_item(rec, table, labels)

    return Dataset(items, labels=labels)


def _parts(root: Path) -> list[_Part]:
    wanted = (OBJECT_DIR, TRACK_DIR, IMAGE_DIR, TRACK_IMAGE_DIR, *SEG_DIRS)
    parts = []
    if any((root / d).is_dir() for d in wanted):
        parts.append(_Part(root, None))
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in wanted):
        if any((sub / d).is_dir() for d in wanted):
            parts.append(_Part(sub, sub.name))
    # images alone (image_2/) are no dataset of ours, but a testing/ subset of images beside
    # a training/ subset with labels is
    if not any(p.has(d) for p in parts for d in (OBJECT_DIR, TRACK_DIR, *SEG_DIRS)):
        return []
    return parts


def _read_names(path: Path) -> list[str]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read label list: {exc}", file=path) from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


class _Table:
    """Segmentation class ids <-> names and colours: the Cityscapes table or ``label_colors.txt``."""

    def __init__(self, entries: list[tuple[str, int, Color | None]], background: int | None, custom: bool):
        self.by_id = {i: name for name, i, _ in entries if i >= 0}
        self.ids = {name: i for name, i, _ in entries if i >= 0}
        self.colors: list[Color | None] = [None] * (max(self.by_id, default=-1) + 1)
        for _name, i, color in entries:
            if i >= 0:
                self.colors[i] = color
        self.background = background
        self.custom = custom
        self.labels = [Label(name=name, id=i, color=color) for name, i, color in entries]

    @classmethod
    def default(cls) -> _Table:
        return cls([(c.name, c.id, c.color) for c in CITYSCAPES_CLASSES], 0, False)

    @classmethod
    def from_entries(cls, entries: list[ClassEntry]) -> _Table:
        ordered = background_first(entries)
        first = ordered[0]
        background = 0 if first.color == (0, 0, 0) or first.name.lower() in _BACKGROUND_NAMES else None
        return cls([(e.name, i, e.color) for i, e in enumerate(ordered)], background, True)

    @classmethod
    def load(cls, root: Path, parts: list[_Part]) -> _Table:
        for folder in (root, *(p.folder for p in parts)):
            if (folder / TABLE_FILE).is_file():
                return cls.from_entries(read_label_colors(folder / TABLE_FILE))
        return cls.default()

    def add(self, name: str) -> int:
        """A class met while writing gets the next id and an unused colour."""
        new_id = len(self.colors)
        entries = [ClassEntry(n, self.colors[i]) for i, n in self.by_id.items()]
        color = fill_colors([*entries, ClassEntry(name, None)])[-1].color
        self.by_id[new_id], self.ids[name] = name, new_id
        self.colors.append(color)
        self.labels.append(Label(name=name, id=new_id, color=color))
        return new_id


def _files(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).with_suffix("").as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.suffix.lower() in suffixes and p.is_file()
    }


def _object_records(part: _Part, labels: LabelSet) -> list[tuple[Any, ...]]:
    label_files = _files(part.folder / OBJECT_DIR, (".txt",))
    seg = {d: _files(part.folder / d, (".png",)) for d in SEG_DIRS}
    images = _files(part.folder / IMAGE_DIR, IMAGE_SUFFIXES)
    ids = sorted(set(label_files) | set(images) | {i for files in seg.values() for i in files})
    out = []
    for item_id in ids:
        boxes = _read_label_file(label_files[item_id], tracking=False, labels=labels) if item_id in label_files else []
        masks = {d: files[item_id] for d, files in seg.items() if item_id in files}
        out.append(("object", part.subset, item_id, images.get(item_id), boxes, masks))
    return out


def _track_records(part: _Part, labels: LabelSet) -> list[tuple[Any, ...]]:
    out = []
    for seq, path in _files(part.folder / TRACK_DIR, (".txt",)).items():
        frames: dict[int, list[BBox]] = defaultdict(list)
        for frame, box in _read_label_file(path, tracking=True, labels=labels):
            frames[frame].append(box)
        images = {}
        for stem, img in _files(part.folder / TRACK_IMAGE_DIR / seq, IMAGE_SUFFIXES).items():
            if stem.isdigit():
                images[int(stem)] = img
        for frame in sorted(set(frames) | set(images)):
            out.append(("track", part.subset, seq, frame, images.get(frame), frames.get(frame, [])))
    return out


def _read_label_file(path: Path, *, tracking: bool, labels: LabelSet) -> list[Any]:
    """Boxes of a label file (``(frame, box)`` pairs for tracking files)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", file=path) from None
    lead = 2 if tracking else 0
    counts = (17, 18) if tracking else (15, 16)
    out: list[Any] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        tokens = line.split()
        if not tokens:
            continue
        where = f"line {lineno}"
        if len(tokens) not in counts:
            raise FormatError(
                f"expected {counts[0]} values ({counts[1]} with a score), got {len(tokens)}", file=path, location=where
            )
        values = []
        for col, tok in enumerate(tokens):
            if col == lead:
                continue
            name = COLUMNS[col - lead] if col >= lead else ("frame", "track_id")[col]
            try:
                v = float(tok)
            except ValueError:
                raise FormatError(
                    f"{name} is not a number: {tok!r}", file=path, location=f"{where}, column {col + 1}"
                ) from None
            if not math.isfinite(v):
                raise FormatError(f"{name} is not finite: {tok!r}", file=path, location=f"{where}, column {col + 1}")
            values.append(v)
        if tracking:
            frame, track, values = values[0], values[1], values[2:]
            for name, v in (("frame", frame), ("track id", track)):
                if not v.is_integer() or (name == "frame" and v < 0):
                    raise FormatError(f"{name} must be a whole number, got {v:g}", file=path, location=where)
        box = _box(tokens[lead], values, tracking, path, where)
        labels.add(box.label)  # type: ignore[arg-type]
        if tracking:
            box.track_id = int(track) if track >= 0 else None
            out.append((int(frame), box))
        else:
            out.append(box)
    return out


def _box(kind: str, v: list[float], tracking: bool, path: Path, where: str) -> BBox:
    truncated, occluded, alpha = v[0], v[1], v[2]
    left, top, right, bottom = v[3:7]
    if not occluded.is_integer():
        raise FormatError(f"occluded must be an integer 0..3, got {occluded:g}", file=path, location=where)
    attrs: dict[str, Any] = {}
    if truncated != DEFAULTS["truncated"]:
        attrs["truncated"] = int(truncated) if tracking and truncated.is_integer() else truncated
    if occluded != DEFAULTS["occluded"]:
        attrs["occluded"] = int(occluded)
    if alpha != DEFAULTS["alpha"]:
        attrs["alpha"] = alpha
    if v[7:10] != DEFAULTS["dimensions"]:
        attrs["dimensions"] = v[7:10]
    if v[10:13] != DEFAULTS["location"]:
        attrs["location"] = v[10:13]
    if v[13] != DEFAULTS["rotation_y"]:
        attrs["rotation_y"] = v[13]
    score = v[14] if len(v) > 14 else None
    return BBox(label=kind, x=left, y=top, w=right - left, h=bottom - top, attributes=attrs, score=score)


def _read_item(rec: tuple[Any, ...], table: _Table | None, labels: LabelSet) -> Item:
    if rec[0] == "track":
        _, subset, seq, frame, image, boxes = rec
        width = height = None
        if image is not None:
            width, height = _image_size(image)
        media: Any = VideoFrame(
            video=seq,
            frame=frame,
            name=image.name if image else f"{frame:06d}.png",
            path=str(image) if image else None,
            width=width,
            height=height,
        )
        return Item(id=f"{seq}/{frame:06d}", subset=subset, media=media, annotations=boxes)
    _, subset, item_id, image, boxes, masks = rec
    anns: list[Any] = list(boxes)
    width = height = None
    if masks and table is not None:
        height, width, mask_anns = _read_masks(masks, table, labels)
        anns += mask_anns
    if image is not None and width is None:
        width, height = _image_size(image)
    media = Image(
        name=f"{item_id}{image.suffix}" if image else None,
        path=str(image) if image else None,
        width=width,
        height=height,
    )
    return Item(id=item_id, subset=subset, media=media, annotations=anns)


def _image_size(path: Path) -> tuple[int | None, int | None]:
    """The image's size from its header; unknown (not an error) when the image is unreadable:
    a broken image must not keep its annotations from being read (validate reports it)."""
    try:
        return image_size(path)
    except LabelportError:
        return None, None


def _read_masks(masks: dict[str, Path], table: _Table, labels: LabelSet) -> tuple[int, int, list[Mask]]:
    """The most informative map of an image: instance/, then semantic/, then semantic_rgb/."""
    kind = next(d for d in SEG_DIRS if d in masks)
    path = masks[kind]
    pixels = read_map(path)
    if kind == "semantic_rgb":
        if pixels.ndim == 2:
            raise FormatError("a semantic_rgb map must be an RGB image", file=path)
        pixels = decolorize(pixels, table.colors, file=path)
    elif pixels.ndim != 2:
        raise FormatError(f"a {kind} map must be a single-channel image", file=path)
    h, w = pixels.shape
    out: list[Mask] = []
    for value, rle in index_to_rles(pixels, skip={0} if table.background == 0 else ()).items():
        cls, instance = (value >> 8, value & 255) if kind == "instance" else (value, 0)
        if cls not in table.by_id:
            raise FormatError(
                f"class id {cls} (pixel value {value}) is not in the label table",
                file=path,
                location=pixel_of(pixels, value),
            )
        if cls == table.background:
            continue
        name = table.by_id[cls]
        labels.add(name)
        if instance:
            out.append(Mask(id=value, label=name, rle=rle, semantics="instance", metadata={"kitti_instance": instance}))
        else:
            out.append(Mask(id=value, label=name, rle=rle, semantics="class"))
    return h, w, out


def _read_single_file(path: Path) -> Dataset:
    labels = LabelSet()
    boxes = _read_label_file(path, tracking=False, labels=labels)
    return Dataset([Item(id=path.stem, annotations=boxes)], labels=labels)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: KittiWriteOptions = options.format_options or KittiWriteOptions()
    single = target.suffix.lower() == ".txt"
    if not single:
        target.mkdir(parents=True, exist_ok=True)
    table: _Table | None = None  # chosen at the first mask: boxes need no class table
    names = LabelSet(dataset.labels)
    tracks: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    masks_written = False
    single_rows: list[str] = []
    for item in dataset:
        subset = item.subset or "default"
        folder = target / subset
        boxes = [a for a in item.annotations if a.type == "bbox"]
        masks = [a for a in item.annotations if a.type == "mask"]
        for ann in boxes + masks:
            if ann.label is not None:
                names.add(ann.label)
        if isinstance(item.media, VideoFrame) and not single:
            _write_frame(item, boxes, masks, folder, tracks, options, report)
            continue
        tracked = sum(a.track_id is not None for a in boxes + masks)
        if tracked:
            report.loss("track ids", "dropped (object label files and maps have no track ids)", tracked)
        rows = [_row(b, report) for b in boxes if _has_label(b, report)]
        if single:
            if single_rows and rows:
                report.loss("objects of several images", "merged into one label file")
            single_rows += rows
            if masks:
                report.loss("mask", "dropped (a single label file holds boxes only)", len(masks))
            continue
        label_file = folder / OBJECT_DIR / f"{item.id}.txt"
        label_file.parent.mkdir(parents=True, exist_ok=True)
        label_file.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
        if masks:
            table = table or _write_table(dataset, report)
            masks_written |= _write_masks(item, masks, folder, table, opts, report)
        if options.save_media != "none":
            export_media(item, folder / IMAGE_DIR, options.save_media, report, name=f"{item.id}{_suffix(item)}")
    if single:
        target.write_text("".join(r + "\n" for r in single_rows), encoding="utf-8")
        return True
    for (subset, seq), rows in tracks.items():
        path = target / subset / TRACK_DIR / f"{seq}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(r + "\n" for _, r in sorted(rows, key=lambda fr: fr[0])), encoding="utf-8")
    (target / LABELS_FILE).write_text("".join(f"{n}\n" for n in names.names()), encoding="utf-8")
    if masks_written and table is not None and table.custom:
        write_label_colors(
            target / TABLE_FILE, [ClassEntry(table.by_id[i], table.colors[i]) for i in sorted(table.by_id)]
        )
    return True


def _write_table(dataset: Dataset, report: Report) -> _Table:
    """The Cityscapes table when every label is one of its classes, otherwise the dataset's
    labels with the background class (black) first, as CVAT exports them."""
    default = _Table.default()
    labels = list(dataset.labels)
    if all(lb.name in default.ids or lb.name == "license plate" for lb in labels):
        return default
    background = next((lb for lb in labels if lb.color == (0, 0, 0)), None)
    background = background or next((lb for lb in labels if lb.name.lower() in _BACKGROUND_NAMES), None)
    if background is not None and background.color not in (None, (0, 0, 0)):
        report.loss("label colours", "replaced by black for the background class")
    entries = [ClassEntry(background.name if background else "background", (0, 0, 0))]
    entries += [ClassEntry(lb.name, lb.color) for lb in labels if lb is not background]
    return _Table.from_entries(fill_colors(entries))


def _has_label(ann: Any, report: Report) -> bool:
    if ann.label is None:
        report.loss(f"{ann.type} without a label", "dropped")
        return False
    if any(c.isspace() for c in ann.label):
        report.loss("label names with spaces", "spaces replaced by underscores (KITTI columns are space-separated)")
    return True


def _row(box: BBox, report: Report, lead: str = "") -> str:
    """One label row, the devkit's invalid defaults standing in for absent columns."""
    attrs = dict(box.attributes)
    cols: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        value = attrs.pop(key, default)
        ok = _valid(value, default)
        if not ok:
            report.loss(f"attribute {key!r} that is not a number", "dropped")
        cols[key] = value if ok else default
    for key in attrs:
        report.loss(f"attribute {key!r}", "dropped (KITTI has fixed columns)")
    dims, loc = cols["dimensions"], cols["location"]
    values = [
        cols["truncated"],
        cols["occluded"],
        cols["alpha"],
        box.x,
        box.y,
        box.x + box.w,
        box.y + box.h,
        *dims,
        *loc,
        cols["rotation_y"],
    ]
    if box.score is not None:
        values.append(box.score)
    kind = "".join("_" if c.isspace() else c for c in box.label or "")
    return lead + " ".join([kind, *(_fmt(v) for v in values)])


def _valid(value: Any, default: Any) -> bool:
    if isinstance(default, list):
        return isinstance(value, (list, tuple)) and len(value) == 3 and all(_finite(v) for v in value)
    return _finite(value)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(float(v))


def _fmt(v: Any) -> str:
    """Two decimals as the devkit writes, unless that would change the value."""
    if isinstance(v, bool):
        return str(int(v))
    f = float(v)
    if f.is_integer():
        return str(int(f))
    two = f"{f:.2f}"
    return two if float(two) == f else repr(f)


def _write_frame(
    item: Item,
    boxes: list[BBox],
    masks: list[Mask],
    folder: Path,
    tracks: dict[tuple[str, str], list[tuple[int, str]]],
    options: WriteOptions,
    report: Report,
) -> None:
    media: VideoFrame = item.media  # type: ignore[assignment]
    if masks:
        report.loss("mask on a video frame", "dropped (KITTI tracking labels hold boxes)", len(masks))
    key = (item.subset or "default", media.video)
    for box in boxes:
        if _has_label(box, report):
            track = box.track_id if box.track_id is not None else -1
            tracks[key].append((media.frame, _row(box, report, lead=f"{media.frame} {track} ")))
    saved = export_media(
        item,
        folder / TRACK_IMAGE_DIR,
        options.save_media,
        report,
        name=f"{media.video}/{media.frame:06d}{_suffix(item)}",
    )
    if not boxes and saved is None:
        report.loss("video frame without objects", "dropped (tracking label files list objects only)")


def _write_masks(
    item: Item, masks: list[Mask], folder: Path, table: _Table, opts: KittiWriteOptions, report: Report
) -> bool:
    size = tuple(masks[0].rle.size)
    used: dict[int, set[int]] = defaultdict(set)
    class_shapes, instance_shapes = [], []
    per_class: Counter[int] = Counter()
    for m in sorted(masks, key=lambda a: a.z_order):
        if m.label is None:
            report.loss("mask without a label", "dropped")
            continue
        if tuple(m.rle.size) != size:
            report.loss("mask of another size than the image's other masks", "dropped")
            continue
        if m.score is not None:
            report.loss("mask scores", "dropped")
        cls = table.ids.get(m.label)  # type: ignore[arg-type]
        if cls is None:
            if not table.custom:
                report.loss("mask with a label outside the segmentation table", "dropped")
                continue
            cls = table.add(m.label)  # type: ignore[arg-type]
        if cls == table.background:
            report.loss("mask of the background class", "dropped (background pixels are not annotations)")
            continue
        pixels = rle_decode(m.rle)
        value = cls << 8
        if m.semantics == "instance":
            k = _instance_number(m, cls, used)
            if k > _MAX_INSTANCE or value + k >= _UINT16:
                report.loss("instance", "written as its class (no instance id left in a 16-bit map)")
                per_class[cls] += 1
            else:
                value += k
        else:
            per_class[cls] += 1
        if value >= _UINT16:
            report.loss("mask of a class id above 255", "dropped (instance maps are 16-bit)")
            continue
        class_shapes.append((cls, pixels))
        instance_shapes.append((value, pixels))
    merged = sum(n - 1 for n in per_class.values() if n > 1)
    if merged:
        report.loss("class masks of one label in an image", "merged into one", merged)
    if not instance_shapes:
        return False
    class_map, _ = paint(class_shapes, size)  # type: ignore[arg-type]
    instance_map, overlaps = paint(instance_shapes, size)  # type: ignore[arg-type]
    if overlaps:
        report.loss("pixels shared by overlapping masks", "kept by the later mask only", overlaps)
    write_index_png(folder / "instance" / f"{item.id}.png", instance_map, bits=16)
    write_index_png(folder / "semantic" / f"{item.id}.png", class_map)
    if opts.color:
        write_rgb_png(folder / "semantic_rgb" / f"{item.id}.png", colorize(class_map, table.colors))
    return True


def _instance_number(m: Mask, cls: int, used: dict[int, set[int]]) -> int:
    wanted = m.metadata.get("kitti_instance")
    if (
        isinstance(wanted, int)
        and not isinstance(wanted, bool)
        and 0 < wanted <= _MAX_INSTANCE
        and wanted not in used[cls]
    ):
        used[cls].add(wanted)
        return wanted
    k = 1
    while k in used[cls]:
        k += 1
    used[cls].add(k)
    return k


def _suffix(item: Item) -> str:
    for name in (getattr(item.media, "path", None), getattr(item.media, "name", None)):
        if name and Path(name).suffix.lower() in IMAGE_SUFFIXES:
            return Path(name).suffix
    return ".png"


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Values outside the devkit's ranges, unknown object types, boxes with right < left,
    and segmentation maps of another size than their image."""
    problems: list[Problem] = []
    if source.is_file():
        files = [(source, False)]
        parts: list[_Part] = []
    else:
        parts = _parts(source)
        files = [(p, False) for part in parts for p in _files(part.folder / OBJECT_DIR, (".txt",)).values()]
        files += [(p, True) for part in parts for p in _files(part.folder / TRACK_DIR, (".txt",)).values()]
    known = set(OBJECT_TYPES)
    if source.is_dir() and (source / LABELS_FILE).is_file():
        try:
            known |= set(_read_names(source / LABELS_FILE))
        except LabelportError:
            pass
    for path, tracking in files:
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue  # the reader reports it
        lead = 2 if tracking else 0
        for lineno, line in enumerate(text.splitlines(), 1):
            tokens = line.split()
            if len(tokens) < lead + 15 or not all(_is_number(t) for i, t in enumerate(tokens) if i != lead):
                continue
            where = f"line {lineno}"
            v = [float(t) for i, t in enumerate(tokens) if i != lead][lead:]

            def problem(message: str, severity: str = "error", where: str = where, file: str = str(path)) -> None:
                problems.append(Problem(severity=severity, message=message, file=file, location=where))  # type: ignore[arg-type]

            if tokens[lead] not in known:
                problem(f"type {tokens[lead]!r} is not a KITTI object type (nor listed in {LABELS_FILE})", "warning")
            if v[1] not in (-1, 0, 1, 2, 3):
                problem(f"occluded is {v[1]:g}; the devkit allows 0, 1, 2, 3 (or -1)")
            if tracking and v[0] not in (-1, 0, 1, 2):
                problem(f"truncated is {v[0]:g}; tracking labels use 0, 1, 2", "warning")
            elif not tracking and v[0] != -1 and not 0 <= v[0] <= 1:
                problem(f"truncated is {v[0]:g}; it is a fraction from 0 to 1", "warning")
            if v[5] < v[3] or v[6] < v[4]:
                problem(f"box right/bottom ({v[5]:g}, {v[6]:g}) lie before left/top ({v[3]:g}, {v[4]:g})")
            if (
                not tracking
                and tokens[lead] != "DontCare"
                and v[2] != -10
                and not -math.pi - 0.01 <= v[2] <= math.pi + 0.01
            ):
                problem(f"alpha {v[2]:g} is outside [-pi, pi]", "warning")
    for part in parts:
        images = _files(part.folder / IMAGE_DIR, IMAGE_SUFFIXES)
        for seg in SEG_DIRS:
            for item_id, path in _files(part.folder / seg, (".png",)).items():
                if item_id not in images:
                    continue
                try:
                    got, want = image_size(path), image_size(images[item_id])
                except LabelportError as exc:
                    problems.append(Problem(message=exc.message, file=exc.file))
                    continue
                if got != want:
                    problems.append(
                        Problem(message=f"map is {got[0]}x{got[1]}, its image {want[0]}x{want[1]}", file=str(path))
                    )
    return problems
