"""WIDER Face: face boxes with blur, expression, illumination, invalid, occlusion and pose flags.

Specification: the readme of the WIDER Face annotations (http://shuoyang1213.me/WIDERFACE/,
``wider_face_split/readme.txt``) and its reference loaders. Layout::

    wider_face_split/wider_face_<subset>_bbx_gt.txt   image path, face count, one row per face
    wider_face_split/wider_face_<subset>_filelist.txt image paths only (the test subset)
    WIDER_<subset>/images/<n>--<event>/<image>.jpg    images by event class
    labels.txt                                        optional: label names (datumaro, CVAT)

A face row is ``x y w h blur expression illumination invalid occlusion pose`` in pixels (top
left corner and size). An image with no faces has the count 0 followed by one dummy row of
zeros. Files written by datumaro may omit the count of an image without faces, write ``-`` for
an unknown flag and add an 11th column with a label other than ``face``; all are read.

Items: the id is the image path below its event folder, without extension; the event
(``0--Parade``) is an image label ``Parade`` whose label id is the event number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

from labelport.errors import FormatError
from labelport.io.jsonio import load_json
from labelport.io.media import IMAGE_SUFFIXES, MediaLookup, export_media, image_size, keep_item, media_roots
from labelport.io.media import item_id as make_item_id
from labelport.io.text import read_lines
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import BBox, Dataset, Image, Item, Label, LabelSet, Tag

SPLIT_DIR = "wider_face_split"
SUBSET_PREFIX = "WIDER_"
IMAGES_DIR = "images"
LABELS_FILE = "labels.txt"
META_FILE = "dataset_meta.json"  # datumaro's label list
FACE = "face"
NO_LABEL = "no_label"
#: the flag columns after the box, in the order of the WIDER readme
ATTRIBUTES = ("blur", "expression", "illumination", "invalid", "occlusion", "pose")
#: the values the readme defines for each flag
RANGES = {"blur": (0, 2), "expression": (0, 1), "illumination": (0, 1), "invalid": (0, 1), "occlusion": (0, 2), "pose": (0, 1)}
_FILE_RE = re.compile(r"^wider_face_(.+?)_(bbx_gt|filelist)\.txt$", re.I)
_EVENT_RE = re.compile(r"^(-?\d+)--(.+)$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class WiderFaceReadOptions(OptionsBase):
    """WIDER Face reader options."""

    #: read each found image's size from its header (the annotations do not store it)
    read_image_sizes: bool = True


class WiderFaceWriteOptions(OptionsBase):
    """WIDER Face writer options."""

    #: a flag a box does not have: ``zero`` writes 0 (the ten-column rows the official loaders
    #: parse), ``dash`` writes ``-`` as datumaro does (read back as absent)
    missing_flags: Literal["zero", "dash"] = "zero"


INFO = FormatInfo(
    name="wider_face",
    title="WIDER Face",
    description="WIDER Face face boxes with blur/expression/illumination/invalid/occlusion/pose flags, images by event.",
    extensions=(".txt",),
    annotation_types=frozenset({"bbox", "label"}),
    features=frozenset({"attributes", "subsets"}),
    media=frozenset({"image"}),
    read_options=WiderFaceReadOptions,
    write_options=WiderFaceWriteOptions,
    docs_url="http://shuoyang1213.me/WIDERFACE/",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".txt" or not _looks_like_gt(probe.text(None)):
            return None
        named = bool(_FILE_RE.match(probe.path.name))
        return Detection(format="wider_face", confidence=0.9 if named else 0.6, reason="WIDER Face ground truth rows")
    named = [f for f in probe.files(f"{SPLIT_DIR}/*.txt") if _FILE_RE.match(f.split("/")[-1])]
    if named:
        return Detection(format="wider_face", confidence=0.95, reason=f"{SPLIT_DIR}/{named[0].split('/')[-1]}")
    loose = [f for f in probe.files("*.txt") if _looks_like_gt(probe.text(f))]
    if loose:
        return Detection(format="wider_face", confidence=0.6, reason=f"WIDER Face ground truth rows in {loose[0]}")
    return None


def _looks_like_gt(text: str) -> bool:
    """An image path, a face count, then that many rows of at least four numbers."""
    lines = [ln.strip() for ln in text.splitlines()[:200]]
    lines = [ln for ln in lines if ln]
    if len(lines) < 2 or _is_numeric(lines[0]) or PurePosixPath(lines[0]).suffix.lower() not in IMAGE_SUFFIXES:
        return False
    tokens = lines[1].split()
    if len(tokens) != 1 or not tokens[0].isdigit():
        return False
    count = int(tokens[0])
    rows = lines[2 : 2 + max(count, 1)]
    return bool(rows) and all(_is_numeric(r) and len(r.split()) >= 4 for r in rows[: min(len(rows), 20)])


def _is_numeric(line: str) -> bool:
    tokens = line.split()
    return bool(tokens) and bool(_NUMBER_RE.match(tokens[0]))


# --------------------------------------------------------------------------- read


@dataclass
class _Face:
    line: int
    values: list[float]
    flags: dict[str, int]
    label: str | None


@dataclass
class _Record:
    line: int
    path: str
    faces: list[_Face] = field(default_factory=list)
    count: int | None = None
    dummy: bool = False


@dataclass
class _GtFile:
    path: Path
    subset: str
    records: list[_Record]


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: WiderFaceReadOptions = options.format_options or WiderFaceReadOptions()
    root, files = _locate(source)
    parsed = [_GtFile(path, subset, _parse(path)) for path, subset in files]
    labels = _read_labels(root)
    for gt in parsed:
        for rec in gt.records:
            event = _event(rec.path)
            if event is not None:
                name, number = event
                label = labels.add(Label(name=name))
                if label.id is None and number is not None:
                    label.id = number
            for face in rec.faces:
                labels.add(face.label or FACE)

    def items() -> Iterator[Item]:
        dataset.missing_media.clear()
        for gt in parsed:
            roots = media_roots(
                root / f"{SUBSET_PREFIX}{gt.subset}" / IMAGES_DIR, root / f"{SUBSET_PREFIX}{gt.subset}", root / IMAGES_DIR, root
            )
            index = MediaLookup(roots)
            seen: dict[str, str] = {}
            for rec in gt.records:
                item = _item(rec, gt, index, seen, opts)
                if keep_item(dataset, item, options):
                    yield item

    dataset = Dataset(items, labels=labels)
    return dataset


def _locate(source: Path) -> tuple[Path, list[tuple[Path, str]]]:
    """The dataset root and its ground-truth files with their subsets."""
    if source.is_file():
        root = source.parent.parent if source.parent.name == SPLIT_DIR else source.parent
        return root, [(source, _subset_of(source))]
    split = source / SPLIT_DIR
    files = sorted(p for p in split.glob("*.txt") if _FILE_RE.match(p.name)) if split.is_dir() else []
    # a subset with ground truth does not need its file list too
    with_gt = {_subset_of(p) for p in files if "bbx_gt" in p.name.lower()}
    files = [p for p in files if "bbx_gt" in p.name.lower() or _subset_of(p) not in with_gt]
    if not files:
        probe = Probe(source)
        files = [source / f for f in probe.files("*.txt") if _looks_like_gt(probe.text(f))]
    if not files:
        raise FormatError(f"no {SPLIT_DIR}/wider_face_<subset>_bbx_gt.txt found", file=source)
    return source, [(p, _subset_of(p)) for p in files]


def _subset_of(path: Path) -> str:
    m = _FILE_RE.match(path.name)
    return m.group(1) if m else path.stem


def _read_labels(root: Path) -> LabelSet:
    labels = LabelSet()
    path = root / LABELS_FILE
    if path.is_file():
        for _, line in read_lines(path):
            if line.strip():
                labels.add(line.strip())
        return labels
    meta = root / META_FILE
    if meta.is_file():
        doc = load_json(meta)
        label_map = doc.get("label_map") if isinstance(doc, dict) else None
        if isinstance(label_map, dict):
            for _, name in sorted(label_map.items(), key=lambda kv: int(kv[0]) if str(kv[0]).isdigit() else 0):
                if isinstance(name, str) and name:
                    labels.add(name)
    return labels


def _event(path: str) -> tuple[str, int | None] | None:
    """``(event name, event number)`` from an image path's folder; None without one."""
    parts = path.replace("\\", "/").split("/")
    if len(parts) < 2 or parts[0] in ("", NO_LABEL):
        return None
    m = _EVENT_RE.match(parts[0])
    return (m.group(2), int(m.group(1))) if m else (parts[0], None)



def _parse(path: Path) -> list[_Record]:
    lines = [(n, ln.strip()) for n, ln in read_lines(path) if ln.strip()]
    records: list[_Record] = []
    i = 0
    while i < len(lines):
        n, text = lines[i]
        if _is_numeric(text):
            raise FormatError("expected an image path, found numbers", file=path, location=f"line {n}")
        if "\x00" in text:
            raise FormatError("binary data in the image path", file=path, location=f"line {n}")
        rec = _Record(line=n, path=text)
        records.append(rec)
        i += 1
        if i < len(lines) and _is_numeric(lines[i][1]) and len(lines[i][1].split()) == 1:
            cn, ctext = lines[i]
            if not ctext.isdigit():
                raise FormatError(f"face count {ctext!r} is not a whole number", file=path, location=f"line {cn}")
            rec.count = int(ctext)
            i += 1
            if rec.count == 0:
                # the readme's dummy row after an image without faces
                if i < len(lines) and _is_numeric(lines[i][1]) and len(lines[i][1].split()) >= 4:
                    rec.dummy = True
                    i += 1
                continue
            for k in range(rec.count):
                if i >= len(lines) or not _is_numeric(lines[i][1]):
                    where = f"line {lines[i][0]}" if i < len(lines) else f"line {lines[-1][0]}"
                    raise FormatError(f"{rec.path}: {rec.count} faces announced, {k} found", file=path, location=where)
                rec.faces.append(_face(path, *lines[i]))
                i += 1
    return records


def _face(path: Path, n: int, text: str) -> _Face:
    tokens = text.split()
    label = None
    if len(tokens) in (5, 11) and not _NUMBER_RE.match(tokens[-1]) and tokens[-1] != "-":
        label = tokens.pop()  # datumaro's label column
    if len(tokens) < 4:
        raise FormatError(f"a face row has x y w h and six flags, found {len(tokens)} values", file=path, location=f"line {n}")
    values: list[float] = []
    for tok in tokens[:4]:
        try:
            v = float(tok)
        except ValueError:
            raise FormatError(f"box value {tok!r} is not a number", file=path, location=f"line {n}") from None
        if not math.isfinite(v):
            raise FormatError(f"box value {tok!r} is not finite", file=path, location=f"line {n}")
        values.append(v)
    if values[2] < 0 or values[3] < 0:
        raise FormatError(f"negative box size {values[2]:g}x{values[3]:g}", file=path, location=f"line {n}")
    flags: dict[str, int] = {}
    extra = tokens[4:]
    if len(extra) > len(ATTRIBUTES):
        raise FormatError(f"{len(tokens)} values in a face row; at most 10 are defined", file=path, location=f"line {n}")
    for name, tok in zip(ATTRIBUTES, extra, strict=False):  # extra has at most six flags
        if tok == "-":
            continue  # datumaro's unknown flag
        if not re.fullmatch(r"-?\d+", tok):
            raise FormatError(f"flag {name} {tok!r} is not a whole number", file=path, location=f"line {n}")
        flags[name] = int(tok)
    return _Face(line=n, values=values, flags=flags, label=label)



def _item(rec: _Record, gt: _GtFile, index: MediaLookup, seen: dict[str, str], opts: WiderFaceReadOptions) -> Item:
    rel = rec.path.replace("\\", "/")
    parts = rel.split("/")
    event = _event(rel)
    rest = "/".join(parts[1:]) if len(parts) > 1 else rel
    found = index.find(rel)
    width = height = None
    if found is not None and opts.read_image_sizes:
        try:
            width, height = image_size(found)
        except FormatError:
            pass  # an unreadable image leaves the size unknown; validate reports it
    anns: list[Any] = [Tag(label=event[0])] if event is not None else []
    for face in rec.faces:
        x, y, w, h = face.values
        anns.append(BBox(label=face.label or FACE, x=x, y=y, w=w, h=h, attributes=dict(face.flags)))
    return Item(
        id=make_item_id(rest, seen),
        subset=gt.subset,
        media=Image(name=rel, path=str(found) if found else None, width=width, height=height),
        annotations=anns,
        metadata={"wider_face_folder": parts[0]} if len(parts) > 1 else {},
    )


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: WiderFaceWriteOptions = options.format_options or WiderFaceWriteOptions()
    target.mkdir(parents=True, exist_ok=True)
    events = _EventNumbers(dataset.labels)
    files: dict[str, IO[str]] = {}
    names: list[str] = [lb.name for lb in dataset.labels]
    counts = {"extra_tags": 0, "flags": 0, "filled": 0, "aliases": 0, "spaces": 0}
    try:
        for item in dataset:
            subset = item.subset or "default"
            fh = files.get(subset)
            if fh is None:
                path = target / SPLIT_DIR / f"wider_face_{_safe(subset)}_bbx_gt.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = files[subset] = open(path, "w", encoding="utf-8")
            tags = [a.label for a in item.annotations if a.type == "label" and a.label is not None]
            counts["extra_tags"] += max(len(dict.fromkeys(tags)) - 1, 0)
            folder = events.folder(tags[0]) if tags else NO_LABEL
            rel = _image_name(item)
            if rel.startswith(folder + "/"):
                rel = rel[len(folder) + 1 :]
            path = f"{folder}/{rel}"
            boxes = [a for a in item.annotations if a.type == "bbox"]
            fh.write(path + "\n" + f"{len(boxes)}\n")
            if not boxes:
                fh.write("0 0 0 0 0 0 0 0 0 0\n")  # the readme's dummy row
            for box in boxes:
                fh.write(_row(box, opts, counts) + "\n")
                if box.label is not None and box.label not in names:
                    names.append(box.label)
            for tag in tags:
                if tag not in names:
                    names.append(tag)
            if options.save_media != "none":
                export_media(item, target / f"{SUBSET_PREFIX}{_safe(subset)}" / IMAGES_DIR, options.save_media, report, name=path)
    finally:
        for fh in files.values():
            fh.close()
    if not files:
        (target / SPLIT_DIR).mkdir(exist_ok=True)
        (target / SPLIT_DIR / "wider_face_default_bbx_gt.txt").write_text("", encoding="utf-8")
    with open(target / LABELS_FILE, "w", encoding="utf-8") as fh:
        fh.writelines(f"{n}\n" for n in names)
    if counts["extra_tags"]:
        report.loss("image labels beyond the first", "dropped (an image is in one event folder)", counts["extra_tags"])
    if counts["flags"]:
        report.loss("annotation attributes other than the WIDER flags", "dropped", counts["flags"])
    if counts["aliases"]:
        report.loss("occluded attribute", "written as the occlusion flag (0 or 1)", counts["aliases"])
    if counts["spaces"]:
        report.loss("white space in box labels", "replaced by _ (a face row is split at spaces)", counts["spaces"])
    if counts["filled"] and opts.missing_flags == "zero":
        report.note(f"{counts['filled']} boxes lacked some WIDER flags; written as 0 (see the missing_flags option)")
    return True


class _EventNumbers:
    """Event folder names ``<n>--<event>``: a label's own id when it has one, else the next free number."""

    def __init__(self, labels: LabelSet):
        self.numbers: dict[str, int] = {lb.name: lb.id for lb in labels if isinstance(lb.id, int) and lb.id >= 0}
        self.next = max(self.numbers.values(), default=-1) + 1

    def folder(self, name: str) -> str:
        if name not in self.numbers:
            self.numbers[name] = self.next
            self.next += 1
        return f"{self.numbers[name]}--{name}"


def _row(box: BBox, opts: WiderFaceWriteOptions, counts: dict[str, int]) -> str:
    attrs = dict(box.attributes)
    if "occlusion" not in attrs and isinstance(attrs.get("occluded"), bool):
        attrs["occlusion"] = int(attrs.pop("occluded"))
        counts["aliases"] += 1
    values = [_num(v) for v in (box.x, box.y, box.w, box.h)]
    filled = False
    for name in ATTRIBUTES:
        value = attrs.pop(name, None)
        flag = _flag(value)
        if flag is None:
            filled = True
            values.append("0" if opts.missing_flags == "zero" else "-")
        else:
            values.append(str(flag))
    counts["filled"] += filled
    counts["flags"] += bool(attrs)
    if box.label is not None and box.label != FACE:
        if any(c.isspace() for c in box.label):
            counts["spaces"] += 1
        values.append(re.sub(r"\s", "_", box.label))
    return " ".join(values)


def _flag(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _num(v: float) -> str:
    """Whole numbers as integers (as the readme writes them), others exactly."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _image_name(item: Item) -> str:
    media = item.media
    src = getattr(media, "name", None) or getattr(media, "path", None) or ""
    ext = PurePosixPath(str(src).replace("\\", "/")).suffix
    if ext.lower() not in IMAGE_SUFFIXES:
        ext = ".jpg"
    if item.id.lower().endswith(ext.lower()) and PurePosixPath(item.id).suffix:
        return item.id
    return item.id + ext


def _safe(name: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]", "_", name) or "default"


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Flags outside the readme's values, boxes without area that are not marked invalid,
    a dummy row missing after a zero count, images listed twice or not found."""
    problems: list[Problem] = []
    root, files = _locate(source)
    for path, subset in files:
        roots = media_roots(
            root / f"{SUBSET_PREFIX}{subset}" / IMAGES_DIR, root / f"{SUBSET_PREFIX}{subset}", root / IMAGES_DIR, root
        )
        index = MediaLookup(roots)
        seen: dict[str, int] = {}
        for rec in _parse(path):
            where = f"line {rec.line}"
            if rec.path in seen:
                problems.append(_warn(f"image {rec.path!r} is listed again (first at line {seen[rec.path]})", path, where))
            seen.setdefault(rec.path, rec.line)
            if rec.count == 0 and not rec.dummy:
                problems.append(_warn("no dummy row after a zero face count (the official loaders expect one)", path, where))
            if roots and index.find(rec.path) is None:
                problems.append(_warn(f"image {rec.path!r} not found", path, where))
            for face in rec.faces:
                for name, value in face.flags.items():
                    lo, hi = RANGES[name]
                    if not lo <= value <= hi:
                        problems.append(_warn(f"{name} is {value}; the readme defines {lo}..{hi}", path, f"line {face.line}"))
                if (face.values[2] == 0 or face.values[3] == 0) and face.flags.get("invalid") != 1:
                    problems.append(_warn("box without area is not marked invalid", path, f"line {face.line}"))
    return problems


def _warn(message: str, path: Path, location: str) -> Problem:
    return Problem(severity="warning", message=message, file=str(path), location=location)
