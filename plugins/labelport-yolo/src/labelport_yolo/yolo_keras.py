"""YOLO Keras TXT: one annotation file, a line per image ``path x1,y1,x2,y2,class ...``
in pixels, and a class list (one name per line, 0-based).

Specification: the keras-yolo3 README ("Row format: image_file_path box1 box2 ... boxN;
Box format: x_min,y_min,x_max,y_max,class_id (no space)") and Roboflow's "YOLO Keras TXT".
Files read: ``yolokeras.annotations.txt`` + ``yolokeras.classes.txt``, Roboflow's
``<split>/_annotations.txt`` + ``_classes.txt``, ``annotations.txt`` + ``classes.txt``, and
the variant with one box per line (``annotation.txt`` + ``label.txt``), where an image's
lines repeat its path. Image paths may hold spaces: the path is what precedes the first box.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from labelport.errors import FormatError, LabelportError
from labelport.io.media import IMAGE_SUFFIXES, image_size, is_inside, safe_join
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
from labelport.schema import BBox, Dataset, Image, Item, Label, LabelSet
from labelport_yolo._common import (
    ClassIndex,
    Images,
    Sink,
    fmt,
    media_suffix,
    place,
    read_lines,
    read_names,
    safe_relpath,
    to_float,
    to_int,
)
from pydantic import Field


class YoloKerasWriteOptions(OptionsBase):
    """YOLO Keras writer options."""

    #: a line per box (annotation.txt + label.txt) instead of a line per image with all
    #: its boxes (yolokeras.annotations.txt + yolokeras.classes.txt)
    one_box_per_line: bool = False
    #: decimals of the pixel coordinates (None: as they are; 0: whole pixels, as keras-yolo3 reads them)
    decimals: int | None = Field(default=None, ge=0, le=15)


INFO = FormatInfo(
    name="yolo_keras",
    title="YOLO Keras TXT",
    description="keras-yolo3 annotation file: a line per image 'path x1,y1,x2,y2,class ...' in pixels, "
    "with a class list.",
    extensions=(".txt",),
    annotation_types=frozenset({"bbox"}),
    features=frozenset({"subsets"}),
    write_options=YoloKerasWriteOptions,
    docs_url="https://github.com/qqwweee/keras-yolo3",
)

#: annotation file -> class list, by the names tools give them
PAIRS = {
    "yolokeras.annotations.txt": "yolokeras.classes.txt",
    "_annotations.txt": "_classes.txt",
    "annotations.txt": "classes.txt",
    "annotation.txt": "label.txt",
    "train_annotations.txt": "classes.txt",
}
_NUM = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_BOX = re.compile(rf"{_NUM},{_NUM},{_NUM},{_NUM},[+-]?[0-9]+(?:\.0*)?")
_BOXISH = re.compile(r"[0-9eE+\-.]*,[0-9eE+\-.,]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix == ".txt" and _is_keras_text(probe.text(None, 65536)):
            known = probe.path.name.lower() in PAIRS
            return Detection(
                format="yolo_keras", confidence=0.9 if known else 0.8, reason="lines 'path x1,y1,x2,y2,class'"
            )
        return None
    files = [f for f in probe.files("*.txt") + probe.files("*/*.txt")]
    known = [f for f in files if f.rsplit("/", 1)[-1].lower() in PAIRS]
    for rel in known:
        if _is_keras_text(probe.text(rel, 65536)):
            classes = (
                rel.rsplit("/", 1)[0] + "/" + PAIRS[rel.rsplit("/", 1)[-1].lower()]
                if "/" in rel
                else PAIRS[rel.lower()]
            )
            conf = 0.9 if classes in files or PAIRS[rel.rsplit("/", 1)[-1].lower()] in files else 0.8
            return Detection(format="yolo_keras", confidence=conf, reason=f"{rel} with lines 'path x1,y1,x2,y2,class'")
    for rel in files:
        if "/" not in rel and _is_keras_text(probe.text(rel, 65536)):
            return Detection(format="yolo_keras", confidence=0.6, reason=f"{rel} with lines 'path x1,y1,x2,y2,class'")
    return None


def _is_keras_text(text: str) -> bool:
    """At least one line with a box, and the first lines all of the shape ``path [box ...]``."""
    lines = [line for line in text.split("\n")[: -1 if len(text) >= 65536 else None] if line.strip()][:50]
    boxes = 0
    for line in lines:
        toks = line.split()
        first = next((i for i, t in enumerate(toks) if _BOX.fullmatch(t)), None)
        if first is None:
            if any(_BOXISH.fullmatch(t) for t in toks):
                return False
            continue
        if first == 0 or not all(_BOX.fullmatch(t) for t in toks[first:]):
            return False
        boxes += 1
    return boxes > 0


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    layout = _Layout(source, Sink(), options.images)
    dataset = Dataset(layout.items, labels=layout.labels)
    dataset.missing_media = layout.missing
    return dataset


class _Layout:
    """The annotation files of a dataset, their subsets and the class list."""

    def __init__(self, source: Path, sink: Sink, images: Path | None = None):
        self.sink = sink
        # names of images not found, which the core reports (it tracks them itself for read option images)
        self.missing: list[str] = []
        self.track_missing = images is None
        self.files = _annotation_files(source)
        if not self.files:
            raise FormatError("no YOLO Keras annotation file found", file=source)
        self.root = source.parent if source.is_file() else source
        names = None
        for path, _ in self.files:
            cls = _classes_file(path)
            if cls is not None:
                names = read_names(cls)
                self.classes_file: Path | None = cls
                break
        else:
            self.classes_file = None
        self.names = names
        self.labels = LabelSet(Label(name=n, id=k) for k, n in enumerate(names or []))
        self.images = Images(self.root, images)

    def label(self, tok: str, file: Path, where: str) -> str:
        k = to_int(tok, file, where, "class id")
        if self.names is None:
            if k < 0:
                raise FormatError(f"class id {k} is negative", file=file, location=where)
            return self.labels.add(Label(name=str(k), id=k)).name
        if not 0 <= k < len(self.names):
            name = self.classes_file.name if self.classes_file else "the class list"
            raise FormatError(
                f"class id {k} is not declared ({len(self.names)} classes in {name})", file=file, location=where
            )
        return self.names[k]

    def items(self) -> Iterator[Item]:
        self.missing.clear()
        for path, subset in self.files:
            try:
                yield from self._file_items(path, subset)
            except LabelportError as exc:
                self.sink.error(exc)

    def _file_items(self, path: Path, subset: str | None) -> Iterator[Item]:
        order: list[str] = []
        found: dict[str, tuple[str, list[BBox]]] = {}
        for n, line in read_lines(path):
            try:
                image, boxes = self._line(line, path, n)
            except FormatError as exc:
                self.sink.error(exc)
                continue
            if image not in found:
                found[image] = (image, [])
                order.append(image)
            found[image][1].extend(boxes)
        for name in order:
            try:
                yield self._item(name, found[name][1], path, subset)
            except LabelportError as exc:
                self.sink.error(exc)

    def _line(self, line: str, file: Path, n: int) -> tuple[str, list[BBox]]:
        where = f"line {n}"
        toks = line.split()
        first = next((i for i, t in enumerate(toks) if _BOX.fullmatch(t)), len(toks))
        if first == 0:
            raise FormatError("the line starts with a box; expected the image path first", file=file, location=where)
        for t in toks[:first]:
            if _BOXISH.fullmatch(t):
                raise FormatError(
                    f"malformed box {t!r}: expected x_min,y_min,x_max,y_max,class_id", file=file, location=where
                )
        boxes = []
        for k, t in enumerate(toks[first:], 1):
            if not _BOX.fullmatch(t):
                raise FormatError(f"box {k}: {t!r} is not x_min,y_min,x_max,y_max,class_id", file=file, location=where)
            fields = t.split(",")
            x1, y1, x2, y2 = (to_float(v, file, where) for v in fields[:4])
            if x2 < x1 or y2 < y1:
                raise FormatError(f"box {k}: x_max/y_max below x_min/y_min", file=file, location=where)
            boxes.append(BBox(label=self.label(fields[4], file, where), x=x1, y=y1, w=x2 - x1, h=y2 - y1))
        return " ".join(toks[:first]), boxes

    def _item(self, name: str, boxes: list[BBox], file: Path, subset: str | None) -> Item:
        folder = file.parent
        rel = name.replace("\\", "/")
        image: Path | None = None
        metadata = {}
        if is_inside(folder, rel):
            item_id = rel.rsplit(".", 1)[0] if Path(rel).suffix.lower() in IMAGE_SUFFIXES else rel
            image = safe_join(folder, rel)
        else:
            # absolute paths (keras-yolo3's own scripts write them) are never followed: the
            # image is looked up by its file name inside the dataset
            base = rel.rstrip("/").rsplit("/", 1)[-1]
            item_id = base.rsplit(".", 1)[0] if Path(base).suffix.lower() in IMAGE_SUFFIXES else base
            image = self.images.in_root(base)
            metadata["yolo_keras_path"] = name
            self.sink.warn(f"image path {name!r} leaves the dataset; looked up as {base!r} inside it", file)
            name = base
        image = self.images.locate(image, rel, item_id)
        if image is not None and not image.is_file():
            image = None
        if image is None and self.track_missing:
            self.missing.append(name)
        width = height = None
        if image is not None:
            width, height = image_size(image)
        media = Image(name=name, path=str(image) if image else None, width=width, height=height)
        return Item(id=item_id, subset=subset, media=media, annotations=boxes, metadata=metadata)


def _annotation_files(source: Path) -> list[tuple[Path, str | None]]:
    """Annotation files with their subsets: the input file, known names at the top (no subset)
    and in split folders (the folder's name), else any top-level text of keras lines."""
    if source.is_file():
        return [(source, None)]
    if not source.is_dir():
        return []
    out: list[tuple[Path, str | None]] = []
    for path in sorted(source.iterdir()):
        if path.is_file() and path.name.lower() in PAIRS:
            out.append((path, None))
    for sub in sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(sub.iterdir()):
            if path.is_file() and path.name.lower() in PAIRS:
                out.append((path, sub.name))
                break
    if not out:
        for path in sorted(source.glob("*.txt")):
            if path.is_file() and _is_keras_text(path.read_bytes()[:65536].decode("utf-8", "replace")):
                out.append((path, None))
    return out


def _classes_file(annotations: Path) -> Path | None:
    folder = annotations.parent
    name = PAIRS.get(annotations.name.lower())
    cands = [name] if name else []
    cands += [n for n in dict.fromkeys(PAIRS.values()) if n not in cands]
    for cand in cands:
        for where in (folder, folder.parent):
            if (where / cand).is_file() and (where / cand) != annotations:
                return where / cand
    return None


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: YoloKerasWriteOptions = options.format_options or YoloKerasWriteOptions()
    ann_name, cls_name = (
        ("annotation.txt", "label.txt")
        if opts.one_box_per_line
        else ("yolokeras.annotations.txt", "yolokeras.classes.txt")
    )
    classes = ClassIndex(dataset.labels)
    files: dict[str, IO[str]] = {}
    used: set[tuple[str, str]] = set()
    target.mkdir(parents=True, exist_ok=True)
    d = opts.decimals
    try:
        for item in dataset:
            # items without a subset: files at the top; a subset: its own folder (as Roboflow splits)
            folder = "" if not item.subset else re.sub(r"[\s/\\]+", "_", item.subset).strip("_.") or "default"
            if folder not in files:
                (target / folder).mkdir(parents=True, exist_ok=True)
                files[folder] = open(target / folder / ann_name, "w", encoding="utf-8")
            path = safe_relpath(item.id, "item") + media_suffix(item)
            k = 0
            while (folder, path) in used:
                k += 1
                path = f"{safe_relpath(item.id, 'item')}_{k}{media_suffix(item)}"
            used.add((folder, path))
            if k:
                report.note(f"item id {item.id!r} repeats; written as {path}")
            if any(c.isspace() for c in path):
                report.warn(f"image path {path!r} holds spaces, which keras-yolo3 splits on")
            boxes = []
            for ann in item.annotations:
                if ann.type != "bbox":
                    continue
                if ann.label is None:
                    report.loss("unlabelled annotation", "dropped (a box needs a class)")
                    continue
                values = (ann.x, ann.y, ann.x + ann.w, ann.y + ann.h)
                text = [fmt(v, d) for v in values]
                if d is not None and any(abs(float(t) - v) > 1e-9 for t, v in zip(text, values, strict=True)):
                    report.loss("sub-pixel box coordinates", f"rounded to {d} decimals")
                boxes.append(",".join([*text, str(classes.index(ann.label))]))
            fh = files[folder]
            if not opts.one_box_per_line or not boxes:
                fh.write(" ".join([path, *boxes]) + "\n")
            else:
                fh.writelines(f"{path} {box}\n" for box in boxes)
            place(item, target / folder if folder else target, path, options.save_media, report)
    finally:
        for fh in files.values():
            fh.close()
    names = "".join(f"{n}\n" for n in classes.names())
    for folder in files or {"": None}:
        (target / folder / cls_name).write_text(names, encoding="utf-8")
    return True


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Every malformed line and box (with its line), class ids outside the class list,
    and images that cannot be found (warnings)."""
    sink = Sink(collect=True)
    try:
        layout = _Layout(source, sink, options.images)
        if layout.classes_file is None:
            sink.warn(
                "no class list (yolokeras.classes.txt, _classes.txt, classes.txt or label.txt): "
                "class ids are used as names",
                source,
            )
        for item in layout.items():
            if item.media is not None and item.media.path is None:
                sink.warn(f"image {item.media.name!r} not found", source)
    except LabelportError as exc:
        sink.error(exc)
    return sink.problems or []
