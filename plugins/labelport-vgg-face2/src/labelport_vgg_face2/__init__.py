"""VGGFace2: one face box and five facial landmarks per image, images by identity.

Specification: the VGGFace2 dataset description (Cao et al., "VGGFace2: A dataset for
recognising faces across pose and age", and the files of the release)::

    bb_landmark/loose_bb_<subset>.csv        NAME_ID,X,Y,W,H          (box: top-left corner, size)
    bb_landmark/loose_landmark_<subset>.csv  NAME_ID,P1X,P1Y,...,P5X,P5Y (five landmarks)
    <subset>/<identity>/<image>.jpg          NAME_ID is <identity>/<image> without extension
    <subset>_list.txt                        optional: the images of a subset, one per row
    identity_meta.csv or meta/identity_meta.csv   optional: Class_ID, Name, Sample_Num, Flag, Gender
    labels.txt                               optional (datumaro, CVAT): <identity> [<name>] per row

The item id is the NAME_ID; the identity is the label of the box and the landmarks (an image
with neither gets an image label, as datumaro and CVAT read it). A landmarks row with empty
values marks an image without landmarks.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from labelport.errors import FormatError
from labelport.io.media import IMAGE_SUFFIXES, MediaLookup, export_media, image_size, keep_item, media_roots
from labelport.io.text import read_lines
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import BBox, Dataset, Image, Item, Label, LabelSet, Points, Tag

ANNOTATION_DIR = "bb_landmark"
BOXES_PREFIX = "loose_bb_"
LANDMARKS_PREFIX = "loose_landmark_"
LABELS_FILE = "labels.txt"
META_FILE = "identity_meta.csv"
NO_LABEL = "no_label"  # the folder datumaro/CVAT give images without an identity
BOX_COLUMNS = ("X", "Y", "W", "H")
LANDMARK_COLUMNS = tuple(f"P{i}{axis}" for i in range(1, 6) for axis in "XY")
_FILE_RE = re.compile(rf"^({BOXES_PREFIX}|{LANDMARKS_PREFIX})(.+)\.csv$", re.I)
_LIST_RE = re.compile(r"^(.+)_list\.txt$", re.I)


class VggFace2ReadOptions(OptionsBase):
    """VGGFace2 reader options."""

    #: read each found image's size from its header (the CSV files do not store it)
    read_image_sizes: bool = True


INFO = FormatInfo(
    name="vgg_face2",
    title="VGGFace2",
    description="VGGFace2 face boxes and five-point landmarks in bb_landmark/*.csv, images by identity.",
    extensions=(".csv",),
    annotation_types=frozenset({"bbox", "points", "label"}),
    features=frozenset({"subsets"}),
    media=frozenset({"image"}),
    read_options=VggFace2ReadOptions,
    docs_url="https://github.com/ox-vgg/vgg_face2",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".csv" or not _FILE_RE.match(probe.path.name) or not _has_header(probe.text(None, 4096)):
            return None
        return Detection(format="vgg_face2", confidence=0.9, reason=f"VGGFace2 {probe.path.name}")
    for rel in probe.files(f"{ANNOTATION_DIR}/*.csv"):
        if _FILE_RE.match(rel.split("/")[-1]) and _has_header(probe.text(rel, 4096)):
            return Detection(format="vgg_face2", confidence=0.95, reason=f"VGGFace2 {rel}")
    return None


def _has_header(text: str) -> bool:
    first = text.lstrip().split("\n", 1)[0].strip()
    cols = [c.strip() for c in first.split(",")]
    return bool(cols) and cols[0] == "NAME_ID" and (tuple(cols[1:5]) == BOX_COLUMNS or tuple(cols[1:11]) == LANDMARK_COLUMNS)


# --------------------------------------------------------------------------- read


@dataclass
class _Entry:
    """What the files say about one NAME_ID of a subset."""

    name_id: str
    box: tuple[float, float, float, float] | None = None
    landmarks: list[float] | None = None
    where: dict[str, str] = field(default_factory=dict)


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: VggFace2ReadOptions = options.format_options or VggFace2ReadOptions()
    root, subsets = _locate(source)
    labels = _read_labels(root)
    entries = {subset: _read_subset(files) for subset, files in subsets.items()}
    for table in entries.values():
        for entry in table.values():
            identity = _identity(entry.name_id)
            if identity is not None:
                labels.add(identity)

    def items() -> Iterator[Item]:
        dataset.missing_media.clear()
        for subset, table in entries.items():
            index = MediaLookup(media_roots(root / subset, root / "data" / subset, root))
            for entry in table.values():
                item = _item(entry, subset, index, opts)
                if keep_item(dataset, item, options):
                    yield item

    dataset = Dataset(items, labels=labels)
    return dataset


def _locate(source: Path) -> tuple[Path, dict[str, list[Path]]]:
    """The dataset root and, per subset, its annotation files (boxes, landmarks, image list)."""
    if source.is_file():
        m = _FILE_RE.match(source.name)
        if not m:
            raise FormatError("not a VGGFace2 loose_bb_<subset>.csv or loose_landmark_<subset>.csv file", file=source)
        folder = source.parent
        root = folder.parent if folder.name == ANNOTATION_DIR else folder
        return root, {m.group(2): [source]}
    folder = source / ANNOTATION_DIR
    if not folder.is_dir():
        raise FormatError(f"no {ANNOTATION_DIR}/ folder with loose_bb_<subset>.csv files", file=source)
    subsets: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        m = _FILE_RE.match(path.name)
        if m and path.is_file():
            subsets.setdefault(m.group(2), []).append(path)
    for path in sorted(source.glob("*_list.txt")):
        m = _LIST_RE.match(path.name)
        if m and path.is_file():
            subsets.setdefault(m.group(1), []).append(path)
    if not subsets:
        raise FormatError(f"no loose_bb_<subset>.csv or loose_landmark_<subset>.csv in {ANNOTATION_DIR}/", file=source)
    return source, subsets


def _read_labels(root: Path) -> LabelSet:
    labels = LabelSet()
    for meta in (root / META_FILE, root / "meta" / META_FILE):
        if meta.is_file():
            _read_identity_meta(meta, labels)
            break
    path = root / LABELS_FILE
    if path.is_file():
        for _, line in read_lines(path):
            name, _, person = line.strip().partition(" ")
            if not name:
                continue
            label = labels.add(Label(name=name))
            if person.strip():
                label.metadata["person_name"] = person.strip()
    return labels


def _read_identity_meta(path: Path, labels: LabelSet) -> None:
    """The release's identity_meta.csv: ``Class_ID, Name, Sample_Num, Flag, Gender``."""
    rows = csv.reader(io.StringIO("\n".join(line for _, line in read_lines(path))), skipinitialspace=True)
    header = next(rows, None)
    if not header or header[0].strip() != "Class_ID":
        raise FormatError("expected the header Class_ID, Name, Sample_Num, Flag, Gender", file=path, location="line 1")
    keys = [h.strip() for h in header]
    for row in rows:
        if not row or not row[0].strip():
            continue
        meta = {k: v.strip() for k, v in zip(keys[1:], row[1:], strict=False)}
        label = labels.add(Label(name=row[0].strip()))
        if meta.get("Name"):
            label.metadata["person_name"] = meta.pop("Name")
        label.metadata.update({f"vgg_face2_{k.lower()}": v for k, v in meta.items() if v})



def _read_subset(files: list[Path]) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    for path in sorted(files, key=lambda p: (not p.name.lower().endswith("_list.txt"), p.name)):
        if path.name.lower().endswith("_list.txt"):
            for n, line in read_lines(path):
                name = line.strip()
                if name:
                    name_id = _strip_image_suffix(name.replace("\\", "/"))
                    entries.setdefault(name_id, _Entry(name_id=name_id)).where.setdefault("list", f"{path.name}:{n}")
            continue
        boxes = path.name.lower().startswith(BOXES_PREFIX)
        columns = BOX_COLUMNS if boxes else LANDMARK_COLUMNS
        for n, name_id, values in _rows(path, columns):
            entry = entries.setdefault(name_id, _Entry(name_id=name_id))
            kind = "box" if boxes else "landmarks"
            if kind in entry.where:
                raise FormatError(f"{name_id} is listed again (first at {entry.where[kind]})", file=path, location=f"line {n}")
            entry.where[kind] = f"{path.name}:{n}"
            if values is None:
                continue
            if boxes:
                x, y, w, h = values
                if w < 0 or h < 0:
                    raise FormatError(f"negative box size {w:g}x{h:g}", file=path, location=f"line {n}")
                entry.box = (x, y, w, h)
            else:
                entry.landmarks = values
    return entries


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, str, list[float] | None]]:
    lines = read_lines(path)
    if not lines:
        return
    header = [h.strip() for h in _csv_row(lines[0][1], path, lines[0][0])]
    if header[:1] != ["NAME_ID"] or any(c not in header for c in columns):
        raise FormatError(f"expected the header NAME_ID,{','.join(columns)}", file=path, location="line 1")
    pos = [header.index(c) for c in columns]
    for n, line in lines[1:]:
        row = _csv_row(line, path, n)  # row by row: a stray quote cannot merge rows and shift line numbers
        if not row or not any(cell.strip() for cell in row):
            continue
        name_id = row[0].strip().replace("\\", "/")
        if not name_id:
            raise FormatError("empty NAME_ID", file=path, location=f"line {n}")
        cells = [row[i].strip() if i < len(row) else "" for i in pos]
        if not any(cells):
            yield n, name_id, None  # a row without values: the image has no such annotation
            continue
        values: list[float] = []
        for col, cell in zip(columns, cells, strict=True):
            try:
                v = float(cell)
            except ValueError:
                raise FormatError(f"{col} {cell!r} is not a number", file=path, location=f"line {n}") from None
            if not math.isfinite(v):
                raise FormatError(f"{col} {cell!r} is not finite", file=path, location=f"line {n}")
            values.append(v)
        yield n, name_id, values


def _csv_row(line: str, path: Path, n: int) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        raise FormatError(f"malformed CSV row: {exc}", file=path, location=f"line {n}") from None


def _strip_image_suffix(name: str) -> str:
    return name.rsplit(".", 1)[0] if PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES else name


def _identity(name_id: str) -> str | None:
    head = name_id.split("/", 1)[0] if "/" in name_id else None
    return None if head in (None, "", NO_LABEL) else head



def _item(entry: _Entry, subset: str, index: MediaLookup, opts: VggFace2ReadOptions) -> Item:
    identity = _identity(entry.name_id)
    found = index.find(entry.name_id)
    width = height = None
    if found is not None and opts.read_image_sizes:
        try:
            width, height = image_size(found)
        except FormatError:
            pass  # an unreadable image leaves the size unknown; validate reports it
    anns: list[Any] = []
    if entry.box is not None:
        x, y, w, h = entry.box
        anns.append(BBox(label=identity, x=x, y=y, w=w, h=h))
    if entry.landmarks is not None:
        anns.append(Points(label=identity, points=entry.landmarks))
    if not anns and identity is not None:
        anns.append(Tag(label=identity))
    item_id = entry.name_id[len(NO_LABEL) + 1 :] if entry.name_id.startswith(NO_LABEL + "/") else entry.name_id
    name = found.relative_to(_root_of(found, entry.name_id)).as_posix() if found else entry.name_id + ".jpg"
    return Item(
        id=item_id,
        subset=subset,
        media=Image(name=name, path=str(found) if found else None, width=width, height=height),
        annotations=anns,
    )


def _root_of(found: Path, name_id: str) -> Path:
    """The folder the NAME_ID is relative to."""
    root = found.parent
    for _ in range(name_id.count("/")):
        root = root.parent
    return root


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    folder = target / ANNOTATION_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tables: dict[str, tuple[Any, Any]] = {}
    handles: list[IO[str]] = []
    names = [lb.name for lb in dataset.labels]
    lost = {"boxes": 0, "landmarks": 0, "shape": 0, "identities": 0, "spaces": 0}
    try:
        for item in dataset:
            subset = item.subset or "default"
            writers = tables.get(subset)
            if writers is None:
                writers = tables[subset] = _open_tables(folder, subset, handles)
            boxes = [a for a in item.annotations if a.type == "bbox"]
            points = [a for a in item.annotations if a.type == "points"]
            five = [p for p in points if len(p.points) == 2 * 5]
            lost["boxes"] += max(len(boxes) - 1, 0)
            lost["shape"] += len(points) - len(five)
            lost["landmarks"] += max(len(five) - 1, 0)
            box = boxes[0] if boxes else None
            marks = five[0] if five else None
            candidates = [a.label for a in (box, marks) if a is not None and a.label is not None]
            candidates += [a.label for a in item.annotations if a.type == "label" and a.label is not None]
            identity = candidates[0] if candidates else None
            lost["identities"] += len(set(candidates)) - 1 if candidates else 0
            if identity is not None and any(c.isspace() for c in identity):
                # labels.txt rows are split at the first space: the identity keeps none
                identity = re.sub(r"\s", "_", identity)
                lost["spaces"] += 1
            if identity is not None and identity not in names:
                names.append(identity)
            name_id = _name_id(item.id, identity)
            if box is not None:
                writers[0].writerow([name_id, *(_num(v) for v in (box.x, box.y, box.w, box.h))])
            if marks is not None:
                writers[1].writerow([name_id, *(_num(v) for v in marks.points)])
            elif box is None:
                writers[1].writerow([name_id] + [""] * len(LANDMARK_COLUMNS))  # keeps the image and its identity
            if options.save_media != "none":
                export_media(item, target / _safe(subset), options.save_media, report, name=name_id + _ext(item))
    finally:
        for fh in handles:
            fh.close()
    labels = {lb.name: lb for lb in dataset.labels}
    with open(target / LABELS_FILE, "w", encoding="utf-8") as fh:
        for name in dict.fromkeys(re.sub(r"\s", "_", n) for n in names):
            person = labels[name].metadata.get("person_name") if name in labels else None
            fh.write(f"{name} {person}\n" if person else f"{name}\n")
    if lost["boxes"]:
        report.loss("boxes beyond the first of an image", "dropped (VGGFace2 holds one face box per image)", lost["boxes"])
    if lost["landmarks"]:
        report.loss("landmark sets beyond the first of an image", "dropped (VGGFace2 holds one set per image)", lost["landmarks"])
    if lost["shape"]:
        report.loss("points that are not five landmarks", "dropped", lost["shape"])
    if lost["spaces"]:
        report.loss("white space in identities", "replaced by _ (labels.txt rows are split at spaces)", lost["spaces"])
    if lost["identities"]:
        report.loss(
            "labels other than the image's identity", "dropped (the first label names the identity folder)", lost["identities"]
        )
    return True


def _open_tables(folder: Path, subset: str, handles: list[IO[str]]) -> tuple[Any, Any]:
    out = []
    for prefix, columns in ((BOXES_PREFIX, BOX_COLUMNS), (LANDMARKS_PREFIX, LANDMARK_COLUMNS)):
        fh = open(folder / f"{prefix}{_safe(subset)}.csv", "w", encoding="utf-8", newline="")
        handles.append(fh)
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["NAME_ID", *columns])
        out.append(writer)
    return out[0], out[1]


def _name_id(item_id: str, identity: str | None) -> str:
    """``<identity>/<image>``: the item id when it already starts with its identity folder."""
    folder = identity if identity is not None else NO_LABEL
    if item_id.startswith(folder + "/"):
        return item_id
    return f"{folder}/{item_id}"


def _ext(item: Item) -> str:
    media = item.media
    src = getattr(media, "name", None) or getattr(media, "path", None) or ""
    ext = PurePosixPath(str(src).replace("\\", "/")).suffix
    return ext if ext.lower() in IMAGE_SUFFIXES else ".jpg"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _safe(name: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]", "_", name) or "default"


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """NAME_IDs without an identity folder, landmarks outside their face box, images not found."""
    problems: list[Problem] = []
    root, subsets = _locate(source)
    for subset, files in subsets.items():
        index = MediaLookup(media_roots(root / subset, root / "data" / subset, root))
        for entry in _read_subset(files).values():
            where = next(iter(entry.where.values()), "")
            file, _, line = where.rpartition(":")
            located = {
                "file": str((root / ANNOTATION_DIR / file) if not file.endswith("_list.txt") else root / file),
                "location": f"line {line}",
            }
            if _identity(entry.name_id) is None and not entry.name_id.startswith(NO_LABEL + "/"):
                problems.append(Problem(severity="warning", message=f"{entry.name_id} has no identity folder", **located))
            if index.roots and index.find(entry.name_id) is None:
                problems.append(Problem(severity="warning", message=f"image {entry.name_id} not found", **located))
            if entry.box is not None and entry.landmarks is not None:
                x, y, w, h = entry.box
                xs, ys = entry.landmarks[0::2], entry.landmarks[1::2]
                if min(xs) < x - 1 or max(xs) > x + w + 1 or min(ys) < y - 1 or max(ys) > y + h + 1:
                    problems.append(
                        Problem(severity="warning", message=f"{entry.name_id}: landmarks outside the face box", **located)
                    )
    return problems
