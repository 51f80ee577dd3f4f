"""ICDAR Robust Reading ground truth: word recognition, text localisation and text segmentation.

Specification: the ICDAR Robust Reading Competition task pages (ICDAR 2013 "Focused Scene Text"
and ICDAR 2015 "Incidental Scene Text", rrc.cvc.uab.es) and datumaro's ICDAR importers and
exporters, which fix the folder layout tools exchange:

- word recognition: ``<subset>/gt.txt``, one ``word_1.png, "transcription"`` per line, the word
  images in ``<subset>/images/``;
- text localisation: ``<subset>/gt_<image>.txt``, one region per line, either an ICDAR 2015
  quadrilateral ``x1,y1,x2,y2,x3,y3,x4,y4,transcription`` (the transcription may hold commas;
  ``###`` marks a region to ignore) or an ICDAR 2013 box ``xmin ymin xmax ymax "transcription"``
  (also written with commas);
- text segmentation: ``<subset>/<image>_GT.txt``, one ``R G B cx cy xmin ymin xmax ymax "c"``
  line per character (an empty line ends a word), and ``<image>_GT.bmp`` painting every
  character in its colour on white.

A folder may hold the three tasks side by side as ``word_recognition/``, ``text_localization/``
and ``text_segmentation/``. Files may start with a UTF-8 byte-order mark.

Canonical form: a caption per recognised word; a box or polygon per text region with the
transcription in ``attributes["text"]``; a mask per segmented character with its text, the
characters of one word sharing a ``group``. ICDAR has no classes: labels are not kept.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.geometry.masks import rgb_to_index, rle_area, rle_bbox, voc_colormap
from labelport.io.media import IMAGE_SUFFIXES, MediaIndex, export_media, image_size, safe_join
from labelport.io.text import read_lines
from labelport.plugin import Detection, FormatInfo, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import BBox, Caption, Dataset, Image, Item, Mask, Polygon

INFO = FormatInfo(
    name="icdar",
    title="ICDAR robust reading",
    description="ICDAR 2013/2015 ground truth: word recognition (captions), text localisation "
    "(boxes and quadrilaterals with transcriptions) and text segmentation (character masks).",
    extensions=(".txt",),
    annotation_types=frozenset({"caption", "bbox", "polygon", "mask"}),
    # attributes: only the transcription ("text"); groups: the characters of one segmented word
    features=frozenset({"attributes", "groups", "subsets"}),
    docs_url="https://rrc.cvc.uab.es/?ch=4&com=tasks",
)

TASKS = ("word_recognition", "text_localization", "text_segmentation")
REC, LOC, SEG = TASKS

# folders that hold ground truth without naming a subset (mmocr's gt/, the release's *_gt/)
_GENERIC_DIRS = {"gt", "gts", "ann", "anns", "annotation", "annotations", "label", "labels", "ground_truth", "groundtruth"}
_LOC_NAME = re.compile(r"^gt_(?P<stem>.+)\.txt$", re.I)
_SEG_NAME = re.compile(r"^(?P<stem>.+)_GT\.txt$")  # case-sensitive: WIDER Face's *_bbx_gt.txt is not ours
_REC_LINE = re.compile(r"^\s*(?P<name>[^,\"]+?)\s*,\s*(?P<text>.*?)\s*$")
_MAX_DEPTH = 6
_HEAD = 4096  # bytes of a file detection looks at


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """ICDAR file names (``gt.txt``, ``gt_<image>.txt``, ``<image>_GT.txt``) whose first lines parse."""
    if not probe.is_dir:
        task = _task_of_name(probe.path.name)
        if task is None or not _content_matches(task, probe.text(None, _HEAD)):
            return None
        return Detection(format="icdar", confidence=0.75, reason=f"ICDAR {task.replace('_', ' ')} file")
    found: set[str] = set()
    checked = 0
    for rel in probe.files("**/*.txt"):
        name = rel.rsplit("/", 1)[-1]
        task = _task_of_name(name)
        if task is None or task in found:
            continue
        checked += 1
        if checked > 50:
            break
        if _content_matches(task, probe.text(rel, _HEAD)):
            found.add(task)
    if not found:
        return None
    named = any(part in TASKS for rel in probe.files("**/*.txt")[:200] for part in rel.split("/")[:-1])
    tasks = ", ".join(sorted(t.replace("_", " ") for t in found))
    return Detection(format="icdar", confidence=0.9 if named or SEG in found else 0.85, reason=f"ICDAR {tasks} ground truth")


def _task_of_name(name: str) -> str | None:
    if name.lower() == "gt.txt":
        return REC
    if _LOC_NAME.match(name):
        return LOC
    if _SEG_NAME.match(name):
        return SEG
    return None


def _content_matches(task: str, text: str) -> bool:
    """The first few non-empty lines parse as the task's lines (a cheap look for detection)."""
    if "\x00" in text:
        return False
    lines = text.split("\n")
    if len(text) >= _HEAD - 8 and len(lines) > 1:
        lines.pop()  # the head may end inside a line
    lines = [ln for ln in lines if ln.strip()][:5]
    if not lines:
        return task != REC  # an image without text regions has an empty gt file
    try:
        for n, line in enumerate(lines, 1):
            if task == REC:
                m = _REC_LINE.match(line)
                if m is None or PurePosixPath(m.group("name")).suffix.lower() not in IMAGE_SUFFIXES:
                    return False
            elif task == LOC:
                _parse_region(line, "", n)
            else:
                _parse_char(line, "", n)
    except FormatError:
        return False
    return True


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    return _read(source, options, None)


@dataclass
class _Source:
    """One ground-truth file: its task, the folder it is relative to, subset and id prefix."""

    task: str
    path: Path
    subset: str | None
    folder: str  # the annotation file's folder relative to the dataset base (POSIX, "" = base)
    id_dir: str  # sub-folders of the item id ("" for none)


@dataclass
class _Reader:
    base: Path
    options: ReadOptions
    problems: list[Problem] | None
    items: dict[tuple[str | None, str], Item] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    _index: MediaIndex | None = None

    @property
    def index(self) -> MediaIndex:
        if self._index is None:
            self._index = MediaIndex(self.base)
        return self._index

    def warn(self, message: str, file: Path | str, location: str | None = None) -> None:
        if self.problems is not None:
            self.problems.append(Problem(severity="warning", message=message, file=str(file), location=location))

    def item(self, subset: str | None, item_id: str, folder: str, image_name: str | None = None) -> Item:
        key = (subset, item_id)
        if key not in self.items:
            found = self.find_image(folder, image_name or item_id)
            width = height = None
            if found is not None:
                width, height = image_size(found)
            else:
                self.missing.append(image_name or item_id)
            name = image_name or (found.name if found is not None else None)
            self.items[key] = Item(
                id=item_id, subset=subset,
                media=Image(name=name, path=str(found) if found else None, width=width, height=height),
            )
        return self.items[key]

    def find_image(self, folder: str, name: str) -> Path | None:
        """The image of ``name`` (a file name or an item id) near the annotation file: in its
        ``images/`` folder, beside it, or in an ``images``/``imgs`` folder further up."""
        dirs = [folder]
        while dirs[-1]:
            dirs.append(dirs[-1].rsplit("/", 1)[0] if "/" in dirs[-1] else "")
        for d in dirs:
            for sub in ("images", "imgs", ""):
                rel = "/".join(p for p in (d, sub, name) if p)
                found = self.index.find_rel(rel)
                if found is not None:
                    return found
        return self.index.find(PurePosixPath(name).name)


def _read(source: Path, options: ReadOptions, problems: list[Problem] | None) -> Dataset:
    base = source if source.is_dir() else source.parent
    sources = _sources(source)
    if not sources:
        raise FormatError("no ICDAR ground truth found (gt.txt, gt_<image>.txt or <image>_GT.txt)", file=source)
    reader = _Reader(base=base, options=options, problems=problems)
    for src in sources:
        if src.task == REC:
            _read_recognition(reader, src)
        elif src.task == LOC:
            _read_localization(reader, src)
        else:
            _read_segmentation(reader, src)
    ds = Dataset(list(reader.items.values()))
    ds.notes.extend(reader.notes)
    ds.missing_media.extend(reader.missing)
    return ds


def _sources(source: Path) -> list[_Source]:
    if source.is_file():
        task = _task_of_name(source.name)
        if task is None:
            text = _text_head(source)
            task = next((t for t in (LOC, SEG, REC) if _content_matches(t, text)), None)
            if task is None:
                raise FormatError("not an ICDAR ground-truth file", file=source)
        return [_Source(task, source, None, "", "")]
    roots: list[tuple[str | None, Path]] = []
    if source.name in TASKS:
        roots.append((source.name, source))
    else:
        roots += [(t, source / t) for t in TASKS if (source / t).is_dir()]
        if not roots:
            roots.append((None, source))
    out: list[_Source] = []
    for task_hint, root in roots:
        for path in _txt_files(root):
            rel = path.relative_to(root)
            task = task_hint or _task_of_name(path.name)
            if task is None or (task == REC and _is_vocabulary(path.name)):
                continue
            if task == REC and path.name.lower() != "gt.txt" and not _content_matches(REC, _text_head(path)):
                continue  # a task folder's other text files (datumaro reads them all) only when they look right
            dirs = list(rel.parts[:-1])
            subset = None
            if dirs:
                first = dirs.pop(0)
                subset = None if first.lower() in _GENERIC_DIRS else first
            folder = path.parent.relative_to(source).as_posix()
            out.append(_Source(task, path, subset, "" if folder == "." else folder, "/".join(dirs)))
    return out


def _txt_files(root: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirs, files in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < _MAX_DEPTH)
        out += [Path(dirpath) / f for f in sorted(files) if f.lower().endswith(".txt") and not f.startswith(".")]
    return out


def _is_vocabulary(name: str) -> bool:
    low = name.lower()
    return "vocabulary" in low or "lexicon" in low


def _text_head(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read(_HEAD).decode("utf-8-sig", errors="replace")
    except OSError:
        return ""


def _item_id(src: _Source, stem: str) -> str:
    return f"{src.id_dir}/{stem}" if src.id_dir else stem


# ----------------------------------------------------------------- word recognition


def _read_recognition(reader: _Reader, src: _Source) -> None:
    for n, line in read_lines(src.path):
        if not line.strip():
            continue
        m = _REC_LINE.match(line)
        if m is None:
            raise FormatError('expected `image, "transcription"`', file=src.path, location=f"line {n}")
        name = m.group("name").replace("\\", "/")
        if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
            raise FormatError(f"image name {name!r} points outside the dataset", file=src.path, location=f"line {n}")
        if src.id_dir:
            name = f"{src.id_dir}/{name}"
        stem = name.rsplit(".", 1)[0] if PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES else name
        item = reader.item(src.subset, stem, src.folder, name)
        raw = m.group("text")
        if raw:
            item.annotations.append(Caption(text=_unquote(raw, src.path, f"line {n}")))


# ----------------------------------------------------------------- text localisation


def _read_localization(reader: _Reader, src: _Source) -> None:
    m = _LOC_NAME.match(src.path.name)
    stem = m.group("stem") if m else src.path.stem
    item = reader.item(src.subset, _item_id(src, stem), src.folder)
    for n, line in read_lines(src.path):
        region = _parse_region(line, src.path, n)
        if region is None:
            continue
        points, text, is_box = region
        attrs = {"text": text} if text is not None else {}
        if is_box:
            x, y, w, h = coords.xyxy_to_xywh(*points)
            if w < 0 or h < 0:
                raise FormatError(f"box corners ({points[0]:g}, {points[1]:g}) and ({points[2]:g}, {points[3]:g}) are swapped",
                                  file=src.path, location=f"line {n}")
            item.annotations.append(BBox(x=x, y=y, w=w, h=h, attributes=attrs))
        else:
            if reader.problems is not None and _signed_area(points) < 0:
                reader.warn("quadrilateral runs counter-clockwise (ICDAR 2015 lists corners clockwise)", src.path, f"line {n}")
            item.annotations.append(Polygon(parts=[points], attributes=attrs))


def _parse_region(line: str, file: Path | str, n: int) -> tuple[list[float], str | None, bool] | None:
    """``(points, transcription, is_box)`` of a localisation line; None for an empty line."""
    s = line.strip()
    if not s:
        return None
    where = f"line {n}"
    fields = s.split(",", 8)
    nums = _numbers(fields[:8])
    if len(fields) >= 8 and nums is not None:
        # ICDAR 2015: 8 coordinates, then everything after the 8th comma is the transcription
        return nums, (_unquote(fields[8], file, where) if len(fields) == 9 else None), False
    nums = _numbers(fields[:4]) if len(fields) >= 4 else None
    if nums is not None:
        rest = s.split(",", 4)[4].strip() if len(fields) > 4 else ""
        if rest and not _is_quoted(rest):
            raise FormatError("expected 8 coordinates, or 4 and a quoted transcription", file=file, location=where)
        return nums, (_unquote(rest, file, where) if rest else None), True
    tokens = s.split(None, 8)
    nums = _numbers(tokens[:8])
    if len(tokens) >= 8 and nums is not None:
        return nums, (_unquote(tokens[8], file, where) if len(tokens) == 9 else None), False
    tokens = s.split(None, 4)
    nums = _numbers(tokens[:4]) if len(tokens) >= 4 else None
    if nums is not None:
        rest = tokens[4].strip() if len(tokens) == 5 else ""
        if rest and not _is_quoted(rest) and (len(rest.split()) > 1 or '"' in rest):
            raise FormatError("expected a quoted transcription after the box", file=file, location=where)
        return nums, (_unquote(rest, file, where) if rest else None), True
    expected = 'expected x1,y1,...,x4,y4,transcription or xmin ymin xmax ymax "transcription"'
    raise FormatError(expected, file=file, location=where)


def _numbers(tokens: list[str]) -> list[float] | None:
    out = []
    for t in tokens:
        try:
            v = float(t)
        except ValueError:
            return None
        if not math.isfinite(v):
            return None
        out.append(v)
    return out


def _signed_area(points: list[float]) -> float:
    """Shoelace sum in image coordinates (y down): positive when the ring runs clockwise."""
    xs, ys = points[0::2], points[1::2]
    k = len(xs)
    return sum(xs[i] * ys[(i + 1) % k] - xs[(i + 1) % k] * ys[i] for i in range(k)) / 2


# ----------------------------------------------------------------- text segmentation


def _read_segmentation(reader: _Reader, src: _Source) -> None:
    m = _SEG_NAME.match(src.path.name)
    stem = m.group("stem") if m else src.path.stem
    chars: list[dict[str, Any]] = []
    words: list[list[int]] = [[]]
    for n, line in read_lines(src.path):
        parsed = _parse_char(line, src.path, n)
        if parsed is None:
            if words[-1]:
                words.append([])
            continue
        parsed["line"] = n
        words[-1].append(len(chars))
        chars.append(parsed)
    item = reader.item(src.subset, _item_id(src, stem), src.folder)
    if not chars:
        return
    gt = _mask_image(src.path)
    if gt is None:
        raise FormatError(f"the character masks {stem}_GT.bmp are missing", file=src.path)
    rgb = _read_rgb(gt)
    h, w = rgb.shape[:2]
    media = item.media
    if isinstance(media, Image):
        if media.width is None:
            item.media = media.model_copy(update={"width": w, "height": h})
        elif (media.width, media.height) != (w, h):
            raise FormatError(f"mask image is {w}x{h}, the image {media.width}x{media.height}", file=gt)
    colours: dict[tuple[int, int, int], int] = {}
    for i, ch in enumerate(chars):
        if ch["color"] in colours:
            first = chars[colours[ch["color"]]]["line"]
            message = f"colour {ch['color']} is also used by line {first}: this character gets no pixels"
            reader.warn(message, src.path, f"line {ch['line']}")
            continue
        colours[ch["color"]] = i
    index = rgb_to_index(rgb, {c: i + 1 for c, i in colours.items()}, unknown=0)
    if reader.problems is not None:
        known = np.zeros(index.shape, dtype=bool) | (index > 0) | np.all(rgb == 255, axis=2)
        if not known.all():
            reader.warn(f"{int((~known).sum())} pixels have colours no line lists", gt)
    group_of: dict[int, int | None] = {}
    for number, word in enumerate((w_ for w_ in words if w_), 1):
        for i in word:
            group_of[i] = number if len(word) > 1 else None
    dropped = 0
    for i, ch in enumerate(chars):
        mask = index == i + 1
        if not mask.any():
            dropped += 1
            reader.warn("no pixel of the mask image has this character's colour", src.path, f"line {ch['line']}")
            continue
        meta: dict[str, Any] = {"icdar_color": list(ch["color"]), "icdar_box": ch["box"]}
        if ch["center"] is not None:
            meta["icdar_center"] = ch["center"]
        attrs = {"text": ch["text"]} if ch["text"] else {}  # the writer writes "" for a mask without text
        item.annotations.append(Mask.from_array(mask, group=group_of[i], attributes=attrs, metadata=meta))
    if dropped:
        reader.notes.append(f"{src.path.name}: {dropped} characters without pixels in the mask image were skipped")


def _parse_char(line: str, file: Path | str, n: int) -> dict[str, Any] | None:
    """A character line ``R G B cx cy xmin ymin xmax ymax "c"``; None for an empty line (a word break).
    A leading ``#`` marks a space character (as datumaro writes it)."""
    s = line.strip()
    if not s:
        return None
    where = f"line {n}"
    if s.startswith("#"):
        s = s[1:]
    parts = s.split(None, 9)
    if len(parts) < 9:
        raise FormatError('expected R G B cx cy xmin ymin xmax ymax "character"', file=file, location=where)
    try:
        color = tuple(int(p) for p in parts[:3])
    except ValueError:
        raise FormatError("colour components must be integers", file=file, location=where) from None
    if any(not 0 <= c <= 255 for c in color):
        raise FormatError(f"colour {color} is outside 0..255", file=file, location=where)
    center = None if parts[3] == "-" and parts[4] == "-" else _numbers(parts[3:5])
    box = _numbers(parts[5:9])
    if box is None or (center is None and parts[3:5] != ["-", "-"]):
        raise FormatError("centre and box must be numbers", file=file, location=where)
    text = _unquote(parts[9], file, where) if len(parts) == 10 else ""
    return {"color": color, "center": [_int_if_whole(v) for v in center] if center else None,
            "box": [_int_if_whole(v) for v in box], "text": text}


def _mask_image(txt: Path) -> Path | None:
    stem = txt.name[: -len(".txt")]
    for ext in (".bmp", ".png", ".BMP", ".PNG"):
        cand = txt.with_name(stem + ext)
        if cand.is_file():
            return cand
    return None


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError, PILImage.DecompressionBombError, ValueError, SyntaxError) as exc:
        raise FormatError(f"cannot decode the mask image: {exc}", file=path) from None


# ----------------------------------------------------------------- quoting


def _is_quoted(text: str) -> bool:
    t = text.strip()
    if len(t) < 2 or t[0] != '"' or t[-1] != '"':
        return False
    backslashes = len(t[1:-1]) - len(t[1:-1].rstrip("\\"))
    return backslashes % 2 == 0  # an escaped final quote does not close the string


def _unquote(text: str, file: Path | str, where: str) -> str:
    """A transcription: a quoted string (``\\"`` and ``\\\\`` escaped) or the bare text."""
    t = text.strip()
    if _is_quoted(t):
        return re.sub(r'\\(["\\])', r"\1", t[1:-1])
    return t


def _quote(text: str) -> str:
    return '"' + re.sub(r'(["\\])', r"\\\1", text) + '"'


def _int_if_whole(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    """Each item goes to the task its annotations belong to (captions: word recognition; boxes and
    polygons: text localisation; masks: text segmentation). One task is written as
    ``<subset>/...``, several as ``<task>/<subset>/...``."""
    writer = _Writer(target, options, report)
    for item in dataset:
        writer.add(item)
    writer.finish()
    return True


class _Writer:
    def __init__(self, target: Path, options: WriteOptions, report: Report):
        self.target = target
        self.options = options
        self.report = report
        self.used: set[str] = set()
        self.subsets: set[str] = set()
        self.recognition: dict[str, list[str]] = {}
        self.empty: list[Item] = []
        self.ambiguous = False  # a name the collapsed layout could not tell apart

    def folder(self, task: str, subset: str) -> Path:
        self.used.add(task)
        return self.target / task / subset

    def add(self, item: Item) -> None:
        subset = item.subset or "default"
        self.subsets.add(subset)
        kinds: dict[str, list[Any]] = {REC: [], LOC: [], SEG: []}
        for ann in item.annotations:
            if ann.label is not None:
                self.report.loss("annotation labels", "dropped (ICDAR has no classes)")
            extra = set(ann.attributes) - ({"text"} if ann.type != "caption" else set())
            if extra:
                self.report.loss("annotation attributes other than the transcription", "dropped")
            if ann.group is not None and ann.type != "mask":
                self.report.loss("annotation groups", "dropped (ICDAR groups only the characters of a word)")
            task = REC if ann.type == "caption" else SEG if ann.type == "mask" else LOC
            kinds[task].append(ann)
        if not any(kinds.values()):
            self.empty.append(item)
            return
        if kinds[REC]:
            self._recognition(item, subset, kinds[REC])
        if kinds[LOC]:
            self._localization(item, subset, kinds[LOC])
        if kinds[SEG]:
            self._segmentation(item, subset, kinds[SEG])

    def media(self, item: Item, task: str, subset: str, name: str | None = None) -> None:
        if self.options.save_media != "none":
            dest = self.folder(task, subset) / "images"
            export_media(item, dest, self.options.save_media, self.report, name=name or _image_name(item))

    def _recognition(self, item: Item, subset: str, captions: list[Caption]) -> None:
        self.folder(REC, subset)
        lines = self.recognition.setdefault(subset, [])
        name = _image_name(item)
        if "," in name or '"' in name:
            # gt.txt separates the name from the text by its first comma
            self.report.loss("commas and quotes in word image names", "replaced by _")
            name = re.sub(r'[,"]', "_", name)
        for cap in captions:
            lines.append(f"{name}, {_quote(self._one_line(cap.text))}")
        if not captions:
            lines.append(f"{name},")
        self.media(item, REC, subset, name)

    def _localization(self, item: Item, subset: str, shapes: list[Any]) -> None:
        lines = []
        for ann in shapes:
            text = ann.attributes.get("text")
            text = None if text is None else self._one_line(str(text))
            if ann.type == "bbox":
                pts = list(coords.xywh_to_xyxy(ann.x, ann.y, ann.w, ann.h))
                line = " ".join(_num(v) for v in pts) + (f" {_quote(text)}" if text is not None else "")
            else:
                pts = ann.parts[0]
                if len(pts) != 8:
                    self.report.loss("polygon without exactly 4 corners", "written as its bounding box corners")
                    x, y, w, h = coords.polygon_bbox(pts)
                    pts = [x, y, x + w, y, x + w, y + h, x, y + h]
                line = ",".join(_num(v) for v in pts) + ("," + _text15(text) if text is not None else "")
            lines.append(line)
        dirname, _, base = item.id.rpartition("/")
        if base.endswith("_GT"):
            self.ambiguous = True
        path = safe_join(self.folder(LOC, subset), "/".join(p for p in (dirname, f"gt_{base}.txt") if p))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
        self.media(item, LOC, subset)

    def _segmentation(self, item: Item, subset: str, masks: list[Mask]) -> None:
        base = item.id.rpartition("/")[2]
        if base.lower().startswith("gt_") or base.lower() == "gt":
            self.ambiguous = True
        txt = safe_join(self.folder(SEG, subset), f"{item.id}_GT.txt")
        txt.parent.mkdir(parents=True, exist_ok=True)
        arrays = []
        size = tuple(masks[0].rle.size)
        for ann in masks:
            if tuple(ann.rle.size) != size:
                self.report.loss("mask of another size than the item's first mask", "dropped")
                continue
            if rle_area(ann.rle) == 0:
                self.report.loss("empty mask", "dropped")
                continue
            arrays.append((ann, ann.to_array()))
        words: dict[Any, list[tuple[Mask, np.ndarray]]] = {}
        for k, (ann, arr) in enumerate(arrays):
            words.setdefault(("g", ann.group) if ann.group is not None else ("single", k), []).append((ann, arr))
        h, w = size
        canvas = np.full((h, w, 3), 255, dtype=np.uint8)
        painted = np.zeros((h, w), dtype=bool)
        colours = _Colours([tuple(a.metadata.get("icdar_color", ())) for a, _ in arrays])
        blocks = []
        for word in words.values():
            lines = []
            for ann, arr in word:
                colour = colours.take(ann.metadata.get("icdar_color"))
                if (painted & arr).any():
                    self.report.loss("overlapping mask pixels", "painted over by the later character")
                canvas[arr] = colour
                painted |= arr
                text = self._one_line(str(ann.attributes.get("text", "")))
                center = ann.metadata.get("icdar_center")
                if not _numbers_ok(center, 2):
                    ys, xs = np.nonzero(arr)
                    # pixel i spans [i, i + 1): the centre of mass is half a pixel past the mean index
                    center = [int(round(float(xs.mean()) + 0.5)), int(round(float(ys.mean()) + 0.5))]
                box = ann.metadata.get("icdar_box")
                if not _numbers_ok(box, 4):
                    x, y, bw, bh = rle_bbox(ann.rle)
                    box = [x, y, x + bw, y + bh]
                fields = [*colour, *center, *box]
                lines.append(("#" if text == " " else "") + " ".join(_num(v) for v in fields) + " " + _quote(text))
            blocks.append("".join(ln + "\n" for ln in lines))
        txt.write_text("\n".join(blocks), encoding="utf-8")
        if arrays:
            from PIL import Image as PILImage

            PILImage.fromarray(canvas, "RGB").save(txt.with_name(f"{txt.name[:-4]}.bmp"), format="BMP")
        self.media(item, SEG, subset)

    def _one_line(self, text: str) -> str:
        if "\n" in text or "\r" in text:
            self.report.loss("line breaks in transcriptions", "replaced by spaces")
            return re.sub(r"[\r\n]+", " ", text)
        return text

    def finish(self) -> None:
        only = next(iter(self.used)) if len(self.used) == 1 else None
        for item in self.empty:
            subset = item.subset or "default"
            if only == REC:
                self._recognition(item, subset, [])
            elif only == SEG:
                self._segmentation_empty(item, subset)
            else:
                self._localization(item, subset, [])
        for subset, lines in self.recognition.items():
            (self.target / REC / subset).mkdir(parents=True, exist_ok=True)
            (self.target / REC / subset / "gt.txt").write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")
        if len(self.used) == 1 and not self.ambiguous and not (self.subsets & (set(TASKS) | _GENERIC_DIRS)):
            # one task: the datumaro layout of a task folder, <subset>/... at the top
            (task,) = self.used
            staged = self.target / f".{task}-staged"
            (self.target / task).rename(staged)
            for child in sorted(staged.iterdir()):
                child.rename(self.target / child.name)
            staged.rmdir()

    def _segmentation_empty(self, item: Item, subset: str) -> None:
        txt = safe_join(self.folder(SEG, subset), f"{item.id}_GT.txt")
        txt.parent.mkdir(parents=True, exist_ok=True)
        txt.write_text("", encoding="utf-8")
        self.media(item, SEG, subset)


class _Colours:
    """Distinct character colours: a mask's own colour when it is free, else the next unused one."""

    def __init__(self, wanted: list[tuple]):
        self.used: set[tuple[int, int, int]] = {(255, 255, 255)}
        self.reserved = {tuple(int(c) for c in w) for w in wanted if len(w) == 3}
        self.palette = iter(tuple(int(c) for c in rgb) for rgb in voc_colormap(1 << 15)[1:])

    def take(self, wanted: Any) -> tuple[int, int, int]:
        if isinstance(wanted, (list, tuple)) and len(wanted) == 3 and all(isinstance(c, int) and 0 <= c <= 255 for c in wanted):
            colour = tuple(wanted)
            if colour not in self.used:
                self.used.add(colour)
                return colour  # type: ignore[return-value]
        for colour in self.palette:
            if colour not in self.used and colour not in self.reserved:
                self.used.add(colour)
                return colour
        raise FormatError("more characters in one image than distinct colours")


def _numbers_ok(value: Any, n: int) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == n and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value
    )


def _image_name(item: Item) -> str:
    media = item.media
    name = getattr(media, "name", None) or (Path(media.path).name if getattr(media, "path", None) else None)  # type: ignore[union-attr]
    suffix = PurePosixPath(name).suffix if name else ""
    return item.id + (suffix if suffix.lower() in IMAGE_SUFFIXES else ".png")


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _text15(text: str) -> str:
    """An ICDAR 2015 transcription: bare, quoted only when the bare text would read differently."""
    if text != text.strip() or _is_quoted(text) or text.startswith('"'):
        return _quote(text)
    return text


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Counter-clockwise quadrilaterals, mask colours that no line lists, characters without pixels,
    colours used twice."""
    problems: list[Problem] = []
    _read(source, options, problems)
    return problems
