"""Market-1501 person re-identification: identity, camera, sequence, frame and box in file names.

Specification: the Market-1501 readme (Zheng et al., "Scalable Person Re-identification: A
Benchmark", ICCV 2015) and its evaluation code. Every image is a person crop named
``<person>_c<camera>s<sequence>_<frame>_<box>.jpg``, e.g. ``0001_c1s1_001051_00.jpg``: person
0001, camera 1, sequence 1, frame 001051, the first box detected in that frame. Person ``-1``
marks junk images and ``0000`` distractors. Layout::

    bounding_box_train/  bounding_box_test/  query/  [gt_bbox/]   the images
    images_<subset>.txt                                           optional lists of image paths
                                                                  (datumaro, CVAT)

Items: the id is the file name without extension; the person is the image label (none for
junk and distractors); the rest of the name, and the person as written, are item attributes
named as datumaro and CVAT name them: ``person_id`` (text), ``camera_id`` (0-based),
``track_id`` (the sequence), ``frame_id``, ``bbox_id``, ``query``. An item whose id is not such
a name is written with its id after the encoded part (``0001_c1s1_000000_00<id>``) and read
back under its id, as datumaro does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from labelport.errors import FormatError, UnsafeInputError
from labelport.io.media import IMAGE_SUFFIXES, export_media, image_size, keep_item, safe_join
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import Dataset, Image, Item, Label, LabelSet, Tag

BBOX_PREFIX = "bounding_box_"
QUERY_DIR = "query"
GT_DIRS = ("gt_bbox",)
LIST_PREFIX = "images_"
#: ``<person>_c<camera>s<sequence>_<frame:6>_<box:2>`` and whatever follows (an item's own id)
NAME_RE = re.compile(r"^(-?\d+)_c(\d+)s(\d+)_(\d{6})_(\d{2})(.*)$")
NO_PERSON = {-1, 0}  # junk and distractors
ATTRIBUTES = ("person_id", "camera_id", "track_id", "frame_id", "bbox_id", "query")
_PID_RE = re.compile(r"^-?\d+$")


class Market1501ReadOptions(OptionsBase):
    """Market-1501 reader options."""

    #: read each found image's size from its header
    read_image_sizes: bool = True


INFO = FormatInfo(
    name="market1501",
    title="Market-1501",
    description="Market-1501 person re-identification: person, camera, sequence, frame and box index in file names.",
    extensions=(".jpg", ".txt"),
    annotation_types=frozenset({"label"}),
    features=frozenset({"subsets", "item_attributes"}),
    media=frozenset({"image"}),
    read_options=Market1501ReadOptions,
    docs_url="https://zheng-lab.cecs.anu.edu.au/Project/project_reid.html",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".txt" or not probe.path.name.startswith(LIST_PREFIX) or not _listed_names(probe.text(None)):
            return None
        return Detection(format="market1501", confidence=0.8, reason=f"Market-1501 {probe.path.name}")
    images = [f for f in probe.files() if "/" in f and _folder_subset(f.split("/", 1)[0]) and f.lower().endswith(IMAGE_SUFFIXES)]
    if images:
        named = sum(1 for f in images[:200] if NAME_RE.match(PurePosixPath(f).stem))
        if named == min(len(images), 200):
            return Detection(
                format="market1501",
                confidence=0.9,
                reason="bounding_box_*/query images named <person>_c<camera>s<sequence>_<frame>_<box>",
            )
        return Detection(format="market1501", confidence=0.5, reason="bounding_box_*/query image folders")
    lists = [f for f in probe.files(f"{LIST_PREFIX}*.txt") if _listed_names(probe.text(f))]
    if lists:
        return Detection(format="market1501", confidence=0.85, reason=f"Market-1501 {lists[0]}")
    return None


def _listed_names(text: str) -> bool:
    """Rows of image paths in Market-1501 folders (the list may be empty but for one row)."""
    rows = [ln.strip() for ln in text.splitlines()[:200] if ln.strip()]
    return bool(rows) and all(
        "/" in r and _folder_subset(r.replace("\\", "/").split("/", 1)[0]) and r.lower().endswith(IMAGE_SUFFIXES) for r in rows
    )


def _folder_subset(folder: str) -> str | None:
    """The subset of an image folder of the layout, None for other folders."""
    if folder.startswith(BBOX_PREFIX) and len(folder) > len(BBOX_PREFIX):
        return folder[len(BBOX_PREFIX) :]
    if folder in (QUERY_DIR, *GT_DIRS):
        return folder
    return None


# --------------------------------------------------------------------------- read


@dataclass
class _Entry:
    subset: str
    rel: str  # the image path below the dataset root
    file: Path | None  # the list it comes from
    line: int


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: Market1501ReadOptions = options.format_options or Market1501ReadOptions()
    root, entries = _entries(source)
    labels = LabelSet()
    for entry in entries:
        pid = _person(_parse(entry.rel)[0])
        if pid is not None:
            labels.add(Label(name=pid, id=int(pid)))

    def items() -> Iterator[Item]:
        dataset.missing_media.clear()
        seen: set[tuple[str, str]] = set()
        for entry in entries:
            item = _item(root, entry, opts)
            if (item.subset or "", item.id) in seen:
                # the same name in two folders of one subset (a query image and a gallery image):
                # the path tells them apart
                item = item.model_copy(update={"id": entry.rel.rsplit(".", 1)[0]})
            if (item.subset or "", item.id) in seen:
                continue  # the same path listed twice: validate reports it
            seen.add((item.subset or "", item.id))
            if keep_item(dataset, item, options):
                yield item

    dataset = Dataset(items, labels=labels)
    return dataset


def _entries(source: Path) -> tuple[Path, list[_Entry]]:
    """The images of the dataset: the rows of the image lists, then unlisted images in the folders."""
    if source.is_file():
        return source.parent, _list_entries(source)
    out: list[_Entry] = []
    for path in sorted(source.glob(f"{LIST_PREFIX}*.txt")):
        out += _list_entries(path)
    listed = {e.rel for e in out}
    for folder in sorted(p for p in source.iterdir() if p.is_dir()):
        subset = _folder_subset(folder.name)
        if subset is None:
            continue
        for dirpath, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES):
                    continue
                rel = Path(dirpath, name).relative_to(source).as_posix()
                if rel not in listed:
                    out.append(_Entry(subset, rel, None, 0))
    if not out:
        raise FormatError(f"no {BBOX_PREFIX}<subset>/ or {QUERY_DIR}/ images and no {LIST_PREFIX}<subset>.txt found", file=source)
    return source, out


def _list_entries(path: Path) -> list[_Entry]:
    subset = path.stem[len(LIST_PREFIX) :] if path.stem.startswith(LIST_PREFIX) else path.stem
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        rel = line.strip().replace("\\", "/")
        if not rel:
            continue
        if "\x00" in rel or PurePosixPath(rel).suffix.lower() not in IMAGE_SUFFIXES:
            raise FormatError(f"{rel[:60]!r} is not an image path", file=path, location=f"line {n}")
        out.append(_Entry(subset, rel, path, n))
    return out


def _parse(rel: str) -> tuple[dict[str, Any], str]:
    """``(fields, id)`` of an image path: the fields encoded in its name, and the item id (the
    name without extension, or the id written after the encoded part)."""
    parts = rel.replace("\\", "/").split("/")
    inner = parts[1:] if len(parts) > 1 else parts  # below the image folder
    stem = PurePosixPath(inner[-1]).stem
    folder = "/".join(inner[:-1])
    m = NAME_RE.match(stem)
    if not m:
        return {}, "/".join([*inner[:-1], stem]) if folder else stem
    pid, cam, seq, frame, box, custom = m.groups()
    fields = {
        "person_id": pid,
        "camera_id": int(cam) - 1,
        "track_id": int(seq),
        "frame_id": int(frame),
        "bbox_id": int(box),
        "query": parts[0] == QUERY_DIR,
    }
    base = custom or stem
    return fields, f"{folder}/{base}" if folder else base


def _person(fields: dict[str, Any]) -> str | None:
    pid = fields.get("person_id")
    if pid is None or int(pid) in NO_PERSON:
        return None
    return pid


def _item(root: Path, entry: _Entry, opts: Market1501ReadOptions) -> Item:
    fields, item_id = _parse(entry.rel)
    try:
        path: Path | None = safe_join(root, entry.rel)
    except UnsafeInputError:
        path = None  # a listed path or a link leaving the dataset is never followed; validate reports it
    found = path if path is not None and path.is_file() else None
    width = height = None
    if found is not None and opts.read_image_sizes:
        try:
            width, height = image_size(found)
        except FormatError:
            pass  # an unreadable image leaves the size unknown; validate reports it
    pid = _person(fields)
    return Item(
        id=item_id,
        subset=entry.subset,
        media=Image(name=entry.rel, path=str(found) if found else None, width=width, height=height),
        annotations=[Tag(label=pid)] if pid is not None else [],
        attributes=fields,
    )


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    lists: dict[str, IO[str]] = {}
    frames: dict[tuple[str, int, int], int] = {}
    lost = {"labels": 0, "extra": 0, "attributes": 0}
    try:
        for item in dataset:
            subset = _safe(item.subset or "default")
            fh = lists.get(subset)
            if fh is None:
                fh = lists[subset] = open(target / f"{LIST_PREFIX}{subset}.txt", "w", encoding="utf-8")
            name = _file_name(item, frames, lost)
            query = (
                item.attributes.get("query") is True or str(item.attributes.get("query")).lower() == "true" or subset == QUERY_DIR
            )
            rel = f"{QUERY_DIR if query else BBOX_PREFIX + subset}/{name}"
            fh.write(rel + "\n")
            if options.save_media != "none":
                export_media(item, target, options.save_media, report, name=rel)
    finally:
        for fh in lists.values():
            fh.close()
    if lost["labels"]:
        report.loss(
            "image labels that are not person numbers", "dropped (the person is a number in the file name)", lost["labels"]
        )
    if lost["extra"]:
        report.loss("image labels beyond the first", "dropped (a crop shows one person)", lost["extra"])
    if lost["attributes"]:
        report.loss("item attributes other than the Market-1501 name fields", "dropped", lost["attributes"])
    return True


def _file_name(item: Item, frames: dict[tuple[str, int, int], int], lost: dict[str, int]) -> str:
    """The file name encoding the item's person and attributes, its id after them unless the id
    is such a name already."""
    parsed, _ = _parse(f"x/{item.id}")
    attrs = item.attributes
    lost["attributes"] += len(set(attrs) - set(ATTRIBUTES))
    tags = list(dict.fromkeys(a.label for a in item.annotations if a.type == "label" and a.label is not None))
    lost["extra"] += max(len(tags) - 1, 0)
    pid = None
    if tags:
        if _PID_RE.match(tags[0]):
            pid = tags[0]
        else:
            lost["labels"] += 1
    if pid is None:
        stored = attrs.get("person_id", parsed.get("person_id"))
        if stored is not None and _PID_RE.match(str(stored)):
            pid = str(stored)
    ext = _ext(item)
    folder, _, base = item.id.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    if pid is None:
        return f"{item.id}{ext}"
    cam = _int(attrs.get("camera_id"), parsed.get("camera_id"), 0) + 1
    seq = _int(attrs.get("track_id"), parsed.get("track_id"), 1)
    box = _int(attrs.get("bbox_id"), parsed.get("bbox_id"), 0)
    key = (pid, cam, seq)
    frame = _int(attrs.get("frame_id"), parsed.get("frame_id"), None)
    if frame is None:
        frame = frames.get(key, -1) + 1  # unknown frames: number them per person, camera and sequence
    frames[key] = max(frames.get(key, -1), frame)
    encoded = f"{pid}_c{cam}s{seq}_{frame:06d}_{box:02d}"
    custom = "" if parsed and NAME_RE.match(base) and not NAME_RE.match(base).group(6) else base  # type: ignore[union-attr]
    return f"{prefix}{encoded}{custom}{ext}"


def _int(value: Any, fallback: Any, default: int | None) -> Any:
    for v in (value, fallback):
        if isinstance(v, bool):
            continue
        if isinstance(v, int) and v >= 0:
            return v
        if isinstance(v, str) and v.isdigit():
            return int(v)
    return default


def _ext(item: Item) -> str:
    media = item.media
    src = getattr(media, "name", None) or getattr(media, "path", None) or ""
    ext = PurePosixPath(str(src).replace("\\", "/")).suffix
    return ext if ext.lower() in IMAGE_SUFFIXES else ".jpg"


def _safe(name: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]", "_", name) or "default"


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Names that do not encode person, camera, sequence, frame and box; listed images that are
    not there or lead out of the dataset; images listed twice."""
    problems: list[Problem] = []
    root, entries = _entries(source)
    seen: dict[str, str] = {}
    for entry in entries:
        where = {"file": str(entry.file), "location": f"line {entry.line}"} if entry.file else {"file": str(root / entry.rel)}
        name = PurePosixPath(entry.rel).name
        if not NAME_RE.match(PurePosixPath(entry.rel).stem):
            problems.append(
                Problem(
                    severity="warning", message=f"{name} does not encode <person>_c<camera>s<sequence>_<frame>_<box>", **where
                )
            )
        if entry.rel in seen:
            problems.append(
                Problem(severity="warning", message=f"{entry.rel} is listed again (first at {seen[entry.rel]})", **where)
            )
        seen.setdefault(entry.rel, where.get("location") or entry.rel)
        try:
            path = safe_join(root, entry.rel)
        except UnsafeInputError:
            problems.append(Problem(message=f"{entry.rel} points outside the dataset; it is not read", **where))
            continue
        if entry.file is not None and not path.is_file():
            problems.append(Problem(severity="warning", message=f"image {entry.rel} not found", **where))
    return problems
