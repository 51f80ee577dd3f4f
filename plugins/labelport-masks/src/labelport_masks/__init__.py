"""PNG segmentation masks: the mask exports of Innotescus and similar annotation tools.

Layouts read and written (a dataset root may hold several; a sub-folder holding them is a subset)::

    classes.txt                               class names and their pixel values (see below)
    images/<id>.<ext>                         the images (optional)
    class_masks/<id>.png                      aggregated class masks: pixel = class value
    instance_masks/<id>.png                   instance masks: pixel = instance number, 0 = none; each
                                              instance's class is the most frequent value under it
                                              in class_masks/<id>.png
    individual_masks/<id>/<class>.png         individual masks: one binary PNG per class, ...
    individual_masks/<id>/<class>_<n>.png     ... or per instance n of a class
    <video>/frames/<frame>.<ext>              video layout: one folder per video with its frames,
    <video>/masks/<frame>.png                 aggregated class masks,
    <video>/instance_masks/<frame>.png        instance masks (an instance number is a track id),
    <video>/masks/<frame>/<class>_<n>.png     individual masks (n is the track id)

``<id>`` may hold sub-folders. Masks are 8- or 16-bit grayscale or palette PNGs (a palette
image's value is its palette index, not its colour); 0 is background everywhere. ``classes.txt``
holds one class a line: names only (line k is value k when the first line names the background,
otherwise value k + 1, 0 staying background) or ``<value> <name>`` lines (``<value>: <name>`` and
``<value>,<name>`` too). Class names in individual file names are percent-encoded where a file
name cannot hold them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote

import numpy as np
from labelport.errors import FormatError, LabelportError
from labelport.geometry.masks import rle_decode, rle_encode, voc_colormap
from labelport.geometry.segmaps import index_to_rles, paint, read_map, write_index_png
from labelport.io.media import IMAGE_SUFFIXES, export_media, find_media, frame_number, image_size, safe_join
from labelport.parallel import pmap
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
from labelport.schema import Dataset, Image, Item, Label, LabelSet, Mask, VideoFrame

CLASSES_FILE = "classes.txt"
CLASS_DIR = "class_masks"
INSTANCE_DIR = "instance_masks"
INDIVIDUAL_DIR = "individual_masks"
IMAGES_DIR = "images"
VIDEO_MASK_DIR = "masks"
VIDEO_FRAMES_DIR = "frames"
_LAYOUT_DIRS = (CLASS_DIR, INSTANCE_DIR, INDIVIDUAL_DIR)
_RESERVED_DIRS = {*_LAYOUT_DIRS, IMAGES_DIR, VIDEO_MASK_DIR, VIDEO_FRAMES_DIR}
_BACKGROUND_NAMES = {"background", "_background_", "__background__", "bg", "unlabeled", "unlabelled"}
_MAX_VALUE = 65535  # 16-bit PNG
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class MasksWriteOptions(OptionsBase):
    """Writer options of the masks format."""

    #: ``instance``: class_masks/ plus instance_masks/ for items with instance masks;
    #: ``class``: class_masks/ only (instances of one class merge);
    #: ``individual``: one binary PNG per mask (keeps overlapping masks)
    mask_layout: Literal["instance", "class", "individual"] = "instance"
    #: write class masks as palette PNGs (label colours, else the VOC palette) instead of grayscale
    palette: bool = False


INFO = FormatInfo(
    name="masks",
    title="PNG segmentation masks",
    description="Class, instance and individual PNG mask exports (Innotescus and similar tools), images and videos.",
    extensions=(),
    annotation_types=frozenset({"mask"}),
    # tracks: a video's instance numbers are track ids
    features=frozenset({"subsets", "tracks"}),
    media=frozenset({"image", "video_frame"}),
    write_options=MasksWriteOptions,
    docs_url="https://innotescus.app/assets/mkdocs/Projects/Exporting%20Data%20%26%20Annotations/",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """Real PNGs in ``class_masks/``, ``instance_masks/`` or ``individual_masks/`` (best with
    ``classes.txt``), or ``<video>/masks/`` PNGs beside ``<video>/frames/``."""
    if not probe.is_dir:
        return None
    has_classes = any(f.rsplit("/", 1)[-1] == CLASSES_FILE and f.count("/") <= 1 for f in probe.files("**/" + CLASSES_FILE))
    layout = video = 0
    for rel in probe.files("**/*.png"):
        parts = rel.split("/")[:-1]
        if any(p in _LAYOUT_DIRS for p in parts[:3]):
            layout += probe.head(rel, 8) == _PNG_MAGIC
        elif VIDEO_MASK_DIR in parts[-2:] and len(parts) <= 4:
            # <video>/masks/<frame>.png or <video>/masks/<frame>/<class>.png, beside <video>/frames
            i = len(parts) - 1 - parts[::-1].index(VIDEO_MASK_DIR)
            frames = probe.path.joinpath(*parts[:i], VIDEO_FRAMES_DIR)
            video += frames.is_dir() and probe.head(rel, 8) == _PNG_MAGIC
        if layout + video >= 3:
            break
    if layout:
        # the folder names are this format's own; classes.txt beside them makes it near certain
        conf = 0.85 if has_classes else 0.6
        return Detection(format="masks", confidence=conf, reason="PNG masks in class/instance/individual mask folders")
    if video:
        conf = 0.6 if has_classes else 0.4
        return Detection(format="masks", confidence=conf, reason="<video>/masks PNGs beside <video>/frames")
    return None


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    if not source.is_dir():
        raise FormatError("a masks dataset is a folder", file=source)
    units = _units(source)
    if not units:
        raise FormatError(f"no mask folders ({', '.join(_LAYOUT_DIRS)} or <video>/{VIDEO_MASK_DIR}) found", file=source)
    labels = LabelSet()
    for unit in units:
        if unit.classes is not None:
            for value, name in sorted(unit.classes.names.items()):
                labels.add(Label(name=name, id=value))

    def items() -> Iterator[Item]:
        dataset.missing_media.clear()
        for unit in units:
            for item_id, entry in _entries(unit).items():
                item = _read_item(unit, item_id, entry, labels, dataset.notes, None)
                if getattr(item.media, "path", None) is None:
                    dataset.missing_media.append(item.id)
                    if not options.keep_missing_media:
                        continue
                yield item

    dataset = Dataset(items, labels=labels)
    for unit in units:
        if unit.classes is not None and unit.classes.note and unit.classes.note not in dataset.notes:
            dataset.notes.append(unit.classes.note)
    return dataset


@dataclass
class _Classes:
    """A parsed classes.txt: class names by pixel value."""

    file: Path
    names: dict[int, str]
    background: str | None = None
    note: str | None = None

    def known(self) -> set[str]:
        return set(self.names.values())


@dataclass
class _Unit:
    """One folder holding mask folders: the root, a subset folder, or a video folder."""

    base: Path
    subset: str | None
    video: str | None
    classes: _Classes | None

    @property
    def class_dir(self) -> Path:
        return self.base / (VIDEO_MASK_DIR if self.video is not None else CLASS_DIR)

    @property
    def media_dir(self) -> Path:
        return self.base / (VIDEO_FRAMES_DIR if self.video is not None else IMAGES_DIR)

    @property
    def individual_dir(self) -> Path:
        # frames are flat, so a video's masks/ holds both <frame>.png and <frame>/<class>.png
        return self.class_dir if self.video is not None else self.base / INDIVIDUAL_DIR


@dataclass
class _Entry:
    """The mask files of one item."""

    class_png: Path | None = None
    instance_png: Path | None = None
    individual: list[Path] = field(default_factory=list)


def _units(root: Path) -> list[_Unit]:
    """Every folder of the dataset that holds mask folders, with its subset and video name."""
    root_classes = _load_classes(root / CLASSES_FILE) if (root / CLASSES_FILE).is_file() else None
    units: list[_Unit] = []

    def classes_of(folder: Path, inherited: _Classes | None) -> _Classes | None:
        own = folder / CLASSES_FILE
        return _load_classes(own) if folder != root and own.is_file() else inherited

    def visit(folder: Path, subset: str | None, classes: _Classes | None) -> None:
        if _is_video(folder):  # the root or a subset folder may itself be one video
            units.append(_Unit(folder, subset, folder.name, classes))
            return
        if any((folder / d).is_dir() for d in _LAYOUT_DIRS):
            units.append(_Unit(folder, subset, None, classes))
        for child in sorted(_subdirs(folder)):
            if child.name in _RESERVED_DIRS:
                continue
            if _is_video(child):
                units.append(_Unit(child, subset, child.name, classes_of(child, classes)))
            elif subset is None and (any((child / d).is_dir() for d in _LAYOUT_DIRS) or _has_videos(child)):
                visit(child, child.name, classes_of(child, classes))  # a subset folder (one level only)

    visit(root, None, root_classes)
    return units


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")]
    except OSError:
        return []


def _is_video(folder: Path) -> bool:
    return (folder / VIDEO_MASK_DIR).is_dir()


def _has_videos(folder: Path) -> bool:
    return any(_is_video(c) for c in _subdirs(folder))


_EXPLICIT = re.compile(r"^(\d+)\s*[:,\s]\s*(\S.*)$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _load_classes(path: Path) -> _Classes:
    """Parse classes.txt: names one a line, or ``<value> <name>`` lines."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise FormatError("not UTF-8 text", file=path, location=f"line {line}") from None
    entries: list[tuple[int, str]] = []
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _CONTROL.search(line):
            raise FormatError("class name holds control characters", file=path, location=f"line {lineno}")
        entries.append((lineno, line))
    names: dict[int, str] = {}
    background = None
    note = None
    explicit = bool(entries) and all(_EXPLICIT.match(line) for _, line in entries)
    if explicit:
        for lineno, line in entries:
            m = _EXPLICIT.match(line)
            assert m is not None
            value, name = int(m.group(1)), m.group(2).strip()
            if value > _MAX_VALUE:
                raise FormatError(
                    f"class value {value} is beyond 16-bit masks ({_MAX_VALUE})", file=path, location=f"line {lineno}"
                )
            if value in names or (value == 0 and background is not None):
                raise FormatError(f"class value {value} listed twice", file=path, location=f"line {lineno}")
            if value == 0:
                background = name  # pixel value 0 is background whatever the line calls it
            else:
                _add_name(names, value, name, path, lineno)
    else:
        first_is_background = bool(entries) and entries[0][1].lower() in _BACKGROUND_NAMES
        offset = 0 if first_is_background else 1
        if not first_is_background and entries:
            note = f"{path.name} has no background line: its first class is taken as pixel value 1"
        for k, (lineno, name) in enumerate(entries):
            value = k + offset
            if value > _MAX_VALUE:
                raise FormatError(f"more classes than 16-bit masks hold ({_MAX_VALUE})", file=path, location=f"line {lineno}")
            if value == 0:
                background = name
            else:
                _add_name(names, value, name, path, lineno)
    return _Classes(file=path, names=names, background=background, note=note)


def _add_name(names: dict[int, str], value: int, name: str, path: Path, lineno: int) -> None:
    if name in names.values():
        raise FormatError(f"class {name!r} listed twice", file=path, location=f"line {lineno}")
    names[value] = name


def _walk_pngs(folder: Path, nested: bool = True) -> Iterator[tuple[str, Path]]:
    """``(relative posix path, path)`` of the PNGs below ``folder`` (with ``nested``, in its
    sub-folders too), sorted, links not followed."""
    if not folder.is_dir():
        return
    found = []
    for dirpath, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if nested else []
        for f in files:
            if f.lower().endswith(".png") and not f.startswith("."):
                path = Path(dirpath) / f
                found.append((path.relative_to(folder).as_posix(), path))
    yield from sorted(found)


def _entries(unit: _Unit) -> dict[str, _Entry]:
    """The items of a unit by id, with their mask files."""
    out: dict[str, _Entry] = {}
    nested = unit.video is None
    for rel, _ in _walk_pngs(unit.class_dir, nested):
        out.setdefault(rel[:-4], _Entry()).class_png = safe_join(unit.class_dir, rel)
    instance_dir = unit.base / INSTANCE_DIR
    for rel, _ in _walk_pngs(instance_dir, nested):
        out.setdefault(rel[:-4], _Entry()).instance_png = safe_join(instance_dir, rel)
    individual_dir = unit.individual_dir
    if individual_dir.is_dir():
        for dirpath, dirs, files in os.walk(individual_dir):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            folder = Path(dirpath)
            if folder == individual_dir:
                continue
            pngs = sorted(f for f in files if f.lower().endswith(".png") and not f.startswith("."))
            if pngs or not dirs:  # a folder of masks, or an empty leaf: an item without masks
                entry = out.setdefault(folder.relative_to(individual_dir).as_posix(), _Entry())
                entry.individual = [safe_join(individual_dir, (folder / f).relative_to(individual_dir).as_posix()) for f in pngs]
    if unit.video is not None:
        # a video's frames in frame order (names without a number keep their sorted place)
        keyed = sorted(out.items(), key=lambda kv: (frame_number(kv[0]) is None, frame_number(kv[0]) or 0, kv[0]))
        return dict(keyed)
    return dict(sorted(out.items()))


def _read_png(path: Path) -> np.ndarray:
    """The values of a mask PNG as a 2D integer array (palette images give their indices); a
    grey mask saved as RGB is accepted, a colour-coded one is not this format."""
    arr = read_map(path)
    if arr.ndim == 3:
        if not (np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2])):
            bad = np.flatnonzero((arr[..., 0] != arr[..., 1]) | (arr[..., 0] != arr[..., 2]))[0]
            raise FormatError(
                "colour-coded mask: this format stores class values (grey or palette index)",
                file=path,
                location=f"pixel x={bad % arr.shape[1]}, y={bad // arr.shape[1]}",
            )
        arr = arr[..., 0]
    if arr.size and arr.min() < 0:
        raise FormatError("mask holds negative values", file=path)
    return arr


def _label_for(value: int, unit: _Unit, labels: LabelSet, notes: list[str], issues: list[Problem] | None, file: Path) -> str:
    """The label of a class value; values classes.txt does not list are named ``class_<value>``."""
    if unit.classes is not None and value in unit.classes.names:
        return unit.classes.names[value]
    name = f"class_{value}"
    if name not in labels:
        labels.add(Label(name=name, id=value))
    note = "pixel values without a class in classes.txt are named class_<value>"
    if note not in notes:
        notes.append(note)
    if issues is not None:
        where = "no classes.txt" if unit.classes is None else f"not in {unit.classes.file.name}"
        issues.append(Problem(severity="warning", message=f"pixel value {value} has no class ({where})", file=str(file)))
    return name


def _read_item(
    unit: _Unit, item_id: str, entry: _Entry, labels: LabelSet, notes: list[str], issues: list[Problem] | None
) -> Item:
    class_map = _read_png(entry.class_png) if entry.class_png else None
    inst_map = _read_png(entry.instance_png) if entry.instance_png else None
    shape = None
    for arr, path in ((class_map, entry.class_png), (inst_map, entry.instance_png)):
        if arr is None:
            continue
        if shape is not None and arr.shape != shape:
            raise FormatError(f"mask is {arr.shape[1]}x{arr.shape[0]}, the item's other masks {shape[1]}x{shape[0]}", file=path)
        shape = arr.shape
    anns: list[Mask] = []
    if inst_map is not None:
        anns += _instances(inst_map, class_map, unit, labels, notes, issues, entry.instance_png)
    if class_map is not None:
        # pixels of instances are theirs; what remains of a class is its class mask
        rest = class_map if inst_map is None else np.where(inst_map != 0, 0, class_map)
        for value, rle in sorted(index_to_rles(rest, skip=(0,)).items()):
            label = _label_for(value, unit, labels, notes, issues, entry.class_png)  # type: ignore[arg-type]
            anns.append(Mask(rle=rle, label=label, semantics="class"))
    for path in entry.individual:
        arr = _read_png(path)
        if shape is not None and arr.shape != shape:
            raise FormatError(f"mask is {arr.shape[1]}x{arr.shape[0]}, the item's other masks {shape[1]}x{shape[0]}", file=path)
        shape = arr.shape
        if issues is not None and arr.size and int(np.count_nonzero((arr != 0) & (arr != arr.max()))):
            issues.append(
                Problem(
                    severity="warning",
                    message="individual mask is not binary: every non-zero pixel counts",
                    file=str(path),
                )
            )
        name, instance = _parse_individual(path.stem, unit)
        labels.add(name)
        rle = rle_encode(arr != 0)
        if instance is None:
            anns.append(Mask(rle=rle, label=name, semantics="class"))
        else:
            anns.append(Mask(rle=rle, label=name, semantics="instance", **_instance_fields(unit, instance)))
    media = _media(unit, item_id, shape)
    full_id = f"{unit.video}/{item_id}" if unit.video is not None else item_id
    return Item(id=full_id, subset=unit.subset, media=media, annotations=anns)


def _instances(
    inst_map: np.ndarray,
    class_map: np.ndarray | None,
    unit: _Unit,
    labels: LabelSet,
    notes: list[str],
    issues: list[Problem] | None,
    file: Path | None,
) -> list[Mask]:
    """One mask per instance number; its class is the most frequent non-zero class value under it."""
    rles = index_to_rles(inst_map, skip=(0,))
    values = sorted(rles)
    classes: dict[int, int] = {}
    if class_map is not None and values:
        sel = inst_map != 0
        base = int(class_map.max()) + 1
        pairs = inst_map[sel].astype(np.int64) * base + class_map[sel].astype(np.int64)
        uniq, counts = np.unique(pairs, return_counts=True)
        best: dict[int, tuple[int, int]] = {}
        for pair, count in zip(uniq.tolist(), counts.tolist(), strict=True):
            inst, cls = divmod(pair, base)
            if cls and count > best.get(inst, (0, 0))[0]:
                best[inst] = (count, cls)
        classes = {inst: cls for inst, (_, cls) in best.items()}
    if class_map is None and values and issues is not None:
        issues.append(
            Problem(
                severity="warning",
                message="instance mask without a class mask: its instances have no class",
                file=str(file),
            )
        )
    out = []
    for v in values:
        cls = classes.get(v)
        label = _label_for(cls, unit, labels, notes, issues, file) if cls else None  # type: ignore[arg-type]
        if label is None and class_map is not None and issues is not None:
            issues.append(
                Problem(
                    severity="warning",
                    message=f"instance {v} has no class (no class mask value under it)",
                    file=str(file),
                )
            )
        out.append(Mask(rle=rles[v], label=label, semantics="instance", **_instance_fields(unit, v)))
    return out


def _instance_fields(unit: _Unit, number: int) -> dict[str, Any]:
    """In a video an instance number names one object in every frame: its track id. In images
    it is only the image's own numbering, kept as bookkeeping."""
    if unit.video is not None:
        return {"track_id": number}
    return {"metadata": {"instance": number}}


_INSTANCE_SUFFIX = re.compile(r"^(.+)_(\d+)$")


def _parse_individual(stem: str, unit: _Unit) -> tuple[str, int | None]:
    """Class name and instance number from an individual mask's file name."""
    name = unquote(stem)
    known = unit.classes.known() if unit.classes is not None else set()
    if name in known:
        return name, None
    m = _INSTANCE_SUFFIX.match(name)
    if m:
        return m.group(1), int(m.group(2))
    return name, None


def _media(unit: _Unit, item_id: str, shape: tuple[int, ...] | None) -> Image | VideoFrame:
    found = find_media([unit.media_dir], item_id) if unit.media_dir.is_dir() else None
    height, width = (shape[0], shape[1]) if shape is not None else (None, None)
    if found is not None and shape is None:
        width, height = image_size(found)  # an item without masks: the image tells its size
    name = found.relative_to(unit.media_dir).as_posix() if found is not None else None
    path = str(found) if found is not None else None
    if unit.video is not None:
        frame = frame_number(item_id)
        return VideoFrame(
            video=unit.video, frame=frame if frame is not None else 0, name=name, path=path, width=width, height=height
        )
    return Image(name=name, path=path, width=width, height=height)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts = options.format_options or MasksWriteOptions()
    values = _assign_values(dataset.labels)
    target.mkdir(parents=True, exist_ok=True)
    # painting and PNG encoding are the per-item work: with options.workers > 1 they run in other
    # processes (in item order, so the files are the same), and their losses come back to the report
    for losses in pmap(_paint, _paint_jobs(dataset, target, values, opts, options, report), workers=options.workers, chunksize=4):
        for what, action, count in losses:
            report.loss(what, action, count)
    _write_classes(target / CLASSES_FILE, values)
    return True


class _Losses:
    """A picklable stand-in for the report inside a worker: it only records losses."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, int]] = []

    def loss(self, what: str, action: str, count: int = 1) -> None:
        self.items.append((what, action, count))


def _paint(job: tuple[str, tuple]) -> list[tuple[str, str, int]]:
    kind, args = job
    losses = _Losses()
    if kind == "individual":
        _write_individual(*args, losses)  # type: ignore[arg-type]
    else:
        _write_maps(*args, losses)  # type: ignore[arg-type]
    return losses.items


def _paint_jobs(
    dataset: Dataset, target: Path, values: dict[str, int], opts: Any, options: WriteOptions, report: Report
) -> Iterator[tuple[str, tuple]]:
    for item in dataset:
        base = target if item.subset in (None, "default") else safe_join(target, item.subset)
        media = item.media
        if isinstance(media, VideoFrame):
            base = safe_join(base, media.video)
            stem = item.id[len(media.video) + 1 :] if item.id.startswith(media.video + "/") else _frame_stem(media)
            class_dir, media_dir = base / VIDEO_MASK_DIR, base / VIDEO_FRAMES_DIR
        else:
            stem = item.id
            class_dir, media_dir = base / CLASS_DIR, base / IMAGES_DIR
        masks = [a for a in item.annotations if isinstance(a, Mask)]
        kept = [a for a in masks if a.label is None or a.label.lower() not in _BACKGROUND_NAMES]
        if len(kept) < len(masks):
            report.loss("masks of the background class", "dropped (pixel value 0 is background)", len(masks) - len(kept))
            masks = kept
        for ann in masks:
            if ann.label is not None and ann.label not in values:
                # a label first seen in the items: the smallest free value (ids may reach 65535)
                taken = set(values.values())
                values[ann.label] = next(v for v in range(1, len(taken) + 2) if v not in taken)
        shape = _item_shape(item, masks, report)
        masks = [a for a in masks if tuple(a.rle.size) == shape]
        is_video = isinstance(media, VideoFrame)
        masks = _drop_track_details(masks, is_video, opts, report)
        if options.save_media != "none":
            suffix = _media_suffix(media)
            export_media(item, media_dir, options.save_media, report, name=stem + suffix)
        if opts.mask_layout == "individual":
            yield "individual", (class_dir if is_video else base / INDIVIDUAL_DIR, stem, masks, is_video)
        elif shape is None:
            report.loss("item without an image size or masks", "dropped (a mask PNG needs a size)")
        else:
            yield "maps", (class_dir, base / INSTANCE_DIR, stem, shape, masks, dict(values), opts, dataset.labels, is_video)


def _assign_values(labels: LabelSet) -> dict[str, int]:
    """Pixel values by label: the labels' own ids when they are distinct values 1..65535, else 1..n."""
    named = [lb for lb in labels if lb.name.lower() not in _BACKGROUND_NAMES]
    ids = [lb.id for lb in named]
    if named and all(isinstance(i, int) and 1 <= i <= _MAX_VALUE for i in ids) and len(set(ids)) == len(ids):
        return {lb.name: int(lb.id) for lb in named}  # type: ignore[arg-type]
    return {lb.name: k for k, lb in enumerate(named, 1)}


def _frame_stem(media: VideoFrame) -> str:
    if media.name:
        return Path(media.name.replace("\\", "/")).stem
    return f"frame_{media.frame:06d}"


def _media_suffix(media: Any) -> str:
    for name in (getattr(media, "name", None), getattr(media, "path", None)):
        if name:
            suffix = Path(str(name)).suffix.lower()
            if suffix in IMAGE_SUFFIXES:
                return suffix
    return ".jpg"


def _item_shape(item: Item, masks: list[Mask], report: Report) -> tuple[int, int] | None:
    """(height, width) of the item; masks of another size than the image are dropped."""
    width, height = getattr(item.media, "width", None), getattr(item.media, "height", None)
    if width and height:
        shape = (int(height), int(width))
    elif masks:
        shape = tuple(masks[0].rle.size)  # type: ignore[assignment]
    else:
        return None
    wrong = sum(1 for a in masks if tuple(a.rle.size) != shape)
    if wrong:
        report.loss("mask of another size than its image", "dropped", wrong)
    return shape  # type: ignore[return-value]


def _drop_track_details(masks: list[Mask], is_video: bool, opts: MasksWriteOptions, report: Report) -> list[Mask]:
    """Track ids survive only as the instance numbers of a video's instance masks (the core has
    already dropped frames where an object is outside)."""
    kept = masks
    lost = sum(
        1 for a in kept if a.track_id is not None and not (is_video and a.semantics == "instance" and opts.mask_layout != "class")
    )
    if lost:
        report.loss("track ids", "dropped (only instance masks of video frames keep them)", lost)
    return kept


class _Numbering:
    """Instance numbers for one item: each mask's own (its track id in a video, else the number it
    was read with) when distinct, fresh ones otherwise."""

    def __init__(self, masks: list[Mask], is_video: bool, limit: int = _MAX_VALUE):
        self.is_video = is_video
        wanted = [self.wanted(a) for a in masks if a.semantics == "instance"]
        self.reserved = {n for n in wanted if n is not None and 0 < n <= limit and wanted.count(n) == 1}
        self.used: set[int] = set()
        self.next_free = 1

    def wanted(self, ann: Mask) -> int | None:
        n = ann.track_id if self.is_video and ann.track_id is not None else ann.metadata.get("instance")
        return n if isinstance(n, int) and not isinstance(n, bool) else None

    def take(self, ann: Mask, report: Report) -> int:
        n = self.wanted(ann)
        if n not in self.reserved or n in self.used:
            if self.is_video and ann.track_id is not None:
                report.loss("track ids", "renumbered (shared by two masks of one frame, or beyond 16 bits)")
            while self.next_free in self.reserved or self.next_free in self.used:
                self.next_free += 1
            n = self.next_free
        self.used.add(n)  # type: ignore[arg-type]
        return n  # type: ignore[return-value]


def _write_maps(
    class_dir: Path,
    instance_dir: Path,
    stem: str,
    shape: tuple[int, int],
    masks: list[Mask],
    values: dict[str, int],
    opts: MasksWriteOptions,
    labels: LabelSet,
    is_video: bool,
    report: Report,
) -> None:
    """The aggregated class mask, and the instance mask when the item has instances."""
    with_instances = opts.mask_layout == "instance"
    shapes: list[tuple[int, np.ndarray]] = []
    class_of: list[int] = [0]  # by paint order (1-based): class value, instance number
    instance_of: list[int] = [0]
    per_label: dict[str, int] = {}
    numbering = _Numbering(masks, is_video)
    for ann in masks:
        is_instance = with_instances and ann.semantics == "instance"
        if ann.label is None and not is_instance:
            report.loss("mask without a label", "dropped (a class mask needs a class)")
            continue
        m = rle_decode(ann.rle)
        if not m.any():
            report.loss("empty mask", "dropped (it sets no pixel)")
            continue
        shapes.append((len(shapes) + 1, m))
        class_of.append(values[ann.label] if ann.label is not None else 0)
        instance_of.append(numbering.take(ann, report) if is_instance else 0)
        if not is_instance and ann.label is not None:
            per_label[ann.label] = per_label.get(ann.label, 0) + 1
    merged = sum(c - 1 for c in per_label.values() if c > 1)
    if merged:
        report.loss("masks of one label", "merged into one class mask", merged)
    # one pass paints every mask by its order; both maps are lookups of that order map
    order, overlaps = paint(shapes, shape)
    if overlaps:
        report.loss("overlapping mask pixels", "given to the later mask", overlaps)
    hidden = int(np.count_nonzero(np.bincount(order.ravel(), minlength=len(shapes) + 1)[1:] == 0))
    if hidden:
        report.loss("mask hidden under later masks", "dropped", hidden)
    class_map = np.asarray(class_of, dtype=np.int64)[order]
    palette = _palette(values, labels) if opts.palette and int(class_map.max(initial=0)) < 256 else None
    write_index_png(safe_join(class_dir, stem + ".png"), class_map, palette)
    if any(instance_of):
        write_index_png(safe_join(instance_dir, stem + ".png"), np.asarray(instance_of, dtype=np.int64)[order])


def _write_individual(folder: Path, stem: str, masks: list[Mask], is_video: bool, report: Report) -> None:
    """One binary PNG per mask: ``<class>.png`` for class masks, ``<class>_<n>.png`` for instances."""
    item_dir = safe_join(folder, stem)
    item_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, np.ndarray] = {}
    labelled = [a for a in masks if a.label is not None]
    if len(labelled) < len(masks):
        report.loss("mask without a label", "dropped (its file name needs a class)", len(masks) - len(labelled))
    numbering = {
        label: _Numbering([a for a in labelled if a.label == label], is_video, limit=10**9)
        for label in {a.label for a in labelled}
    }
    for ann in labelled:
        m = rle_decode(ann.rle)
        name = _file_name(ann.label)  # type: ignore[arg-type]
        if ann.semantics == "instance":
            name = f"{name}_{numbering[ann.label].take(ann, report)}"  # type: ignore[index]
        elif name in written:
            report.loss("masks of one label", "merged into one class mask")
            m = m | written[name]
        written[name] = m
    for name, m in written.items():
        write_index_png(item_dir / f"{name}.png", np.where(m, 255, 0))


def _file_name(label: str) -> str:
    """A label as a file name: percent-encoded, a leading dot too (hidden files are skipped)."""
    name = quote(label, safe=" ")
    return "%2E" + name[1:] if name.startswith(".") else name


def _palette(values: dict[str, int], labels: LabelSet) -> list[tuple[int, int, int]]:
    """Colours by class value: the label's own, else the Pascal VOC palette's."""
    cmap = [(int(r), int(g), int(b)) for r, g, b in voc_colormap(256)]
    for name, value in values.items():
        label = labels.get(name)
        if label is not None and label.color is not None and value < 256:
            cmap[value] = label.color
    return cmap


def _write_classes(path: Path, values: dict[str, int]) -> None:
    """Names only when the values run 1..n (line k = value k), else ``<value> <name>`` lines
    (also for names a names-only file would misread: comments, padded names)."""
    by_value = sorted((v, n) for n, v in values.items())
    plain_safe = all(n == n.strip() and n and not n.startswith("#") for _, n in by_value)
    if plain_safe and [v for v, _ in by_value] == list(range(1, len(by_value) + 1)):
        lines = ["background", *(n for _, n in by_value)]
    else:
        lines = ["0 background", *(f"{v} {n}" for v, n in by_value)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Unreadable or differently sized masks, pixel values classes.txt does not list, instances
    without a class, individual masks that are not binary (the core compares image sizes)."""
    problems: list[Problem] = []
    try:
        units = _units(source)
    except LabelportError as exc:
        return [Problem(message=exc.message, file=exc.file or str(source), location=exc.location)]
    labels = LabelSet()
    for unit in units:
        if unit.classes is None and (unit.class_dir.is_dir() or (unit.base / INSTANCE_DIR).is_dir()):
            problems.append(
                Problem(
                    severity="warning",
                    message=f"no {CLASSES_FILE}: classes are named by their pixel values",
                    file=str(unit.base),
                )
            )
        for item_id, entry in _entries(unit).items():
            issues: list[Problem] = []
            try:
                _read_item(unit, item_id, entry, labels, [], issues)
            except LabelportError as exc:
                problems.append(Problem(message=exc.message, file=exc.file or str(unit.base), location=exc.location))
            problems += _dedupe(issues)
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple] = set()
    out = []
    for p in problems:
        key = (p.severity, p.message, p.file, p.location)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
