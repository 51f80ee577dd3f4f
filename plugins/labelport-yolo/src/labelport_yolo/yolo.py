"""YOLO darknet: one ``.txt`` per image with rows ``class cx cy w h``, normalised by the
image size and centre-based; class ids are 0-based lines of a class list.

Specification: AlexeyAB/darknet "How to train to detect your custom objects" (``obj.data``,
``obj.names``, ``train.txt``) and pjreddie's ``voc_label.py``. Layouts read: CVAT's
"YOLO 1.1" export (``obj.data`` + ``obj.names`` + ``<subset>.txt`` + ``obj_<subset>_data/``),
and loose folders of label files with a class list named ``obj.names``, ``classes.txt``,
``label.labels`` (Datature) or ``darknet.labels`` (Innotescus), labels next to the images or
in a mirrored ``labels/`` (``Annotations/``) tree. Written: the CVAT layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from labelport.errors import FormatError, LabelportError
from labelport.geometry import coords
from labelport.io.media import is_inside, safe_join
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
from labelport.schema import Dataset, Item, Label, LabelSet
from labelport_yolo._common import (
    CLASS_FILES,
    META_FILE,
    ClassIndex,
    Folders,
    Images,
    MissingSizes,
    Rows,
    Sink,
    Stems,
    first_line,
    fmt,
    is_label_text,
    item_size,
    looks_like_row,
    make_item,
    media_suffix,
    place,
    read_lines,
    read_meta,
    read_names,
    resolve_size,
    walk_files,
)
from pydantic import Field


class YoloWriteOptions(OptionsBase):
    """YOLO darknet writer options."""

    #: decimals of the normalised values (None: full precision)
    decimals: int | None = Field(default=6, ge=0, le=15)


INFO = FormatInfo(
    name="yolo",
    title="YOLO (darknet)",
    description="Darknet YOLO: per-image rows 'class cx cy w h' normalised to [0, 1], obj.data/obj.names layouts.",
    extensions=(".txt",),
    annotation_types=frozenset({"bbox"}),
    features=frozenset({"subsets"}),
    write_options=YoloWriteOptions,
    docs_url="https://github.com/AlexeyAB/darknet#how-to-train-to-detect-your-custom-objects",
)

#: obj.data keys that are settings, not subset lists
_RESERVED = frozenset({"classes", "names", "backup", "eval", "results", "map", "labels"})
_DATA_LINE = re.compile(r"^\s*([^=\s#]+)\s*=\s*(.*?)\s*$")
_LIST_FILES = ("train.txt", "valid.txt", "val.txt", "test.txt")


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix == ".data" and _data_keys(probe.text(None, 8192)) >= {"names"}:
            return Detection(format="yolo", confidence=0.9, reason="darknet .data file")
        return None
    top = [f for f in probe.files("*") if "/" not in f]
    data = [f for f in top if f.lower().endswith(".data") and "names" in _data_keys(probe.text(f, 8192))]
    names = [f for f in top if f.lower() in CLASS_FILES or f.lower().endswith(".names")]
    rows = _label_rows(probe)
    if data and (names or rows):
        return Detection(format="yolo", confidence=0.95, reason=f"darknet {data[0]} with a class list")
    if _has_ultralytics_yaml(probe, top):
        return None  # an Ultralytics data.yaml: not darknet
    if names and rows:
        return Detection(
            format="yolo", confidence=0.85, reason=f"class list {names[0]} and label rows 'class cx cy w h'"
        )
    if rows:
        return Detection(format="yolo", confidence=0.4, reason="label rows 'class cx cy w h' without a class list")
    return None


def _data_keys(text: str) -> set[str]:
    keys = set()
    for line in text.split("\n"):
        m = _DATA_LINE.match(line)
        if m and not line.lstrip().startswith("#"):
            keys.add(m.group(1).lower())
    return keys


def _label_rows(probe: Probe) -> bool:
    """Whether the folder's label-like .txt files hold darknet rows (a sample of five)."""
    seen = 0
    for rel in probe.files("**/*.txt"):
        name = rel.rsplit("/", 1)[-1].lower()
        if name in CLASS_FILES or name in _LIST_FILES or name.startswith("readme"):
            continue
        line = first_line(probe.text(rel, 512))
        if line is None:
            continue
        if not looks_like_row(line, max_columns=6):
            return False
        seen += 1
        if seen >= 5:
            break
    return seen > 0


def _has_ultralytics_yaml(probe: Probe, top: list[str]) -> bool:
    for f in top:
        if f.lower().endswith((".yaml", ".yml")):
            text = probe.text(f, 65536)
            if re.search(r"^(names|nc)\s*:", text, re.M) and re.search(r"^(train|val|test)\s*:", text, re.M):
                return True
    return False


# --------------------------------------------------------------------------- read


@dataclass
class _Record:
    subset: str | None
    id: str
    label: Path | None
    image: Path | None
    name: str | None
    meta_key: str | None


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    layout = _Layout(source, Sink(), options.images)
    dataset = Dataset(layout.items, labels=layout.labels)
    dataset.missing_media = layout.missing
    layout.notes = dataset.notes
    return dataset


class _Layout:
    """A darknet dataset on disk: its class list, subsets and label files."""

    def __init__(self, source: Path, sink: Sink, images: Path | None = None):
        self.sink = sink
        # names of images not found, which the core reports (it tracks them itself for read option images)
        self.missing: list[str] = []
        self.track_missing = images is None
        self.notes: list[str] = []
        self.root = source.parent if source.is_file() else source
        if not self.root.is_dir() or source.is_file() and source.suffix.lower() != ".data":
            raise FormatError("a YOLO dataset is a folder (or its .data file)", file=source)
        self.data_file = source if source.is_file() else _find_data_file(self.root)
        self.config = _parse_data(self.data_file) if self.data_file else {}
        self.names_file = self._names_file()
        names = read_names(self.names_file) if self.names_file else None
        self.labels = LabelSet(Label(name=n, id=k) for k, n in enumerate(names or []))
        name_map = {k: n for k, n in enumerate(names)} if names is not None else None
        if names is not None and len(set(names)) != len(names):
            sink.warn("class list repeats a name; its ids share one label", self.names_file)
        source_name = self.names_file.name if self.names_file else "no class list"
        self.rows = Rows(self.labels, name_map, darknet=True, names_source=source_name)
        self.meta = read_meta(self.root / META_FILE)
        self.images = Images(self.root, images)

    def _names_file(self) -> Path | None:
        value = self.config.get("names")
        if value:
            path = _resolve(self.root, value)
            if path is not None and path.is_file():
                return path
        for name in CLASS_FILES:
            if (self.root / name).is_file():
                return self.root / name
        found = sorted(p for p in self.root.glob("*.names") if p.is_file())
        return found[0] if found else None

    def records(self) -> Iterator[_Record]:
        listed = False
        for key, value in self.config.items():
            if key.lower() in _RESERVED:
                continue
            path = _resolve(self.root, value)
            if path is None or not path.is_file():
                path = self.root / f"{key}.txt"
                if not path.is_file():
                    self.sink.warn(f"subset {key!r}: list file {value!r} not found", self.data_file)
                    continue
            listed = True
            yield from self._listed(key, path)
        if not listed:
            yield from self._loose()

    def _listed(self, subset: str, list_file: Path) -> Iterator[_Record]:
        for n, line in read_lines(list_file):
            rel = _localize(self.root, line)
            if rel is None:
                rel = self._relocate(line)
                if rel is None:
                    self.sink.error(
                        FormatError(
                            f"image path {line!r} is outside the dataset and not found in it",
                            file=list_file,
                            location=f"line {n}",
                        )
                    )
                    continue
            image = safe_join(self.root, rel, file=list_file, location=f"line {n}")
            parts = rel.split("/")
            inner = "/".join(parts[1:]) if len(parts) > 1 else parts[0]
            item_id = inner.rsplit(".", 1)[0] if "." in parts[-1] else inner
            label = image.with_suffix(".txt") if image.suffix else image.with_name(image.name + ".txt")
            if not label.is_file():
                self.sink.warn(f"no label file for {rel!r}", list_file, f"line {n}")
            yield _Record(subset, item_id, label, image, inner, rel)

    def _relocate(self, line: str) -> str | None:
        """An absolute path (darknet lists often hold them) found inside the dataset by its last components."""
        parts = [p for p in line.strip().replace("\\", "/").split("/") if p not in ("", ".", "..")]
        for k in (3, 2, 1):
            if len(parts) >= k:
                rel = "/".join(parts[-k:])
                if is_inside(self.root, rel) and (self.root / rel).is_file():
                    return rel
        return None

    def _loose(self) -> Iterator[_Record]:
        skip = {p.resolve() for p in (self.names_file, self.data_file) if p is not None}
        for key, label in walk_files(self.root, (".txt",)):
            if label.resolve() in skip or ("/" not in key and f"{key.lower()}.txt" in (*CLASS_FILES, *_LIST_FILES)):
                continue
            subset, item_id, candidates = _loose_names(key)
            image = next((p for p in map(self.images.in_root, candidates) if p is not None), None)
            meta_key = image.relative_to(self.root).as_posix() if image is not None else None
            name = image.name if image is not None else None
            yield _Record(subset, item_id, label, image, name, meta_key)

    def items(self) -> Iterator[Item]:
        self.missing.clear()
        for rec in self.records():
            try:
                lines = read_lines(rec.label) if rec.label is not None and rec.label.is_file() else []
                if rec.meta_key is None and not is_label_text(lines):
                    continue  # a README, a path list or a class list, not a label file
                image = self.images.locate(rec.image, rec.name, rec.id)
                if self.track_missing and (image is None or not image.is_file()):
                    self.missing.append(rec.name or rec.id)
                size = resolve_size(image, rec.meta_key, self.meta)
                yield make_item(rec.id, rec.subset, rec.name, image, rec.label, lines, self.rows, size, self.sink)
            except LabelportError as exc:
                self.sink.error(exc)
        self.sink.flush(self.notes)


def _find_data_file(root: Path) -> Path | None:
    if (root / "obj.data").is_file():
        return root / "obj.data"
    for path in sorted(root.glob("*.data")):
        if path.is_file() and "names" in _data_keys(path.read_bytes()[:8192].decode("utf-8", "replace")):
            return path
    return None


def _parse_data(path: Path) -> dict[str, str]:
    """darknet ``key = value`` settings; ``#`` starts a comment."""
    out: dict[str, str] = {}
    for n, line in read_lines(path):
        if line.startswith("#"):
            continue
        m = _DATA_LINE.match(line)
        if not m:
            raise FormatError("expected 'key = value'", file=path, location=f"line {n}")
        out[m.group(1)] = m.group(2)
    return out


def _localize(root: Path, value: str) -> str | None:
    """A path from obj.data or a list file relative to the root: CVAT prefixes ``data/``
    (darknet runs from its own folder); None when it leaves the root."""
    rel = value.strip().replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    if not is_inside(root, rel) or not rel:
        return None
    if rel.startswith("data/") and not (root / "data").is_dir():
        rel = rel[5:]
    return rel


def _resolve(root: Path, value: str) -> Path | None:
    rel = _localize(root, value)
    return safe_join(root, rel) if rel else None


def _loose_names(key: str) -> tuple[str | None, str, list[str]]:
    """Subset, item id and image candidates (relative, no extension) of a loose label file."""
    parts = key.split("/")
    folders = parts[:-1]
    lowered = [p.lower() for p in folders]
    for marker, mirrors in (("labels", ("images",)), ("annotations", ("Images", "images", "JPEGImages"))):
        if marker in lowered:
            i = len(lowered) - 1 - lowered[::-1].index(marker)
            rest = parts[i + 1 :]
            if len(rest) >= 2:
                subset, item_id = rest[0], "/".join(rest[1:])
            else:
                subset, item_id = (folders[i - 1] if i > 0 else None), "/".join(rest)
            cands = ["/".join([*parts[:i], m, *parts[i + 1 :]]) for m in mirrors]
            return subset, item_id, [*cands, key]
    m = re.fullmatch(r"obj_(.+)_data", parts[0]) if len(parts) > 1 else None
    if m:
        return m.group(1), "/".join(parts[1:]), [key]
    return None, key, [key]


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: YoloWriteOptions = options.format_options or YoloWriteOptions()
    d = opts.decimals
    classes = ClassIndex(dataset.labels)
    stems = Stems(report)
    folders = Folders()
    missing = MissingSizes()
    target.mkdir(parents=True, exist_ok=True)
    lists: dict[str, IO[str]] = {}
    meta: IO[str] | None = None
    defaulted = False
    try:
        for item in dataset:
            subset = subset_name(item.subset)
            defaulted |= not item.subset
            folder = f"obj_{subset}_data"
            stem = stems.take(folder, item.id)
            image_rel = f"{folder}/{stem}{media_suffix(item)}"
            rows: list[str] = []
            boxes = [a for a in item.annotations if a.type == "bbox"]
            size = item_size(item) if boxes or options.save_media == "none" else None
            if boxes and size is None:
                missing.add(item)
                boxes = []
            for ann in boxes:
                if ann.label is None:
                    report.loss("unlabelled annotation", "dropped (a YOLO row needs a class)")
                    continue
                cx, cy, w, h = coords.normalize(coords.xywh_to_cxcywh(ann.x, ann.y, ann.w, ann.h), *size)  # type: ignore[misc]
                rows.append(f"{classes.index(ann.label)} {fmt(cx, d)} {fmt(cy, d)} {fmt(w, d)} {fmt(h, d)}\n")
            folders.file(target / folder / f"{stem}.txt").write_text("".join(rows), encoding="utf-8")
            if subset not in lists:
                lists[subset] = open(target / f"{subset}.txt", "w", encoding="utf-8")
            lists[subset].write(f"data/{image_rel}\n")
            if not place(item, target, image_rel, options.save_media, report) and size is not None:
                if meta is None:
                    meta = open(target / META_FILE, "w", encoding="utf-8")
                meta.write(f"{image_rel} {size[1]} {size[0]}\n")
        missing.check("YOLO")
    finally:
        for fh in [*lists.values(), *([meta] if meta else [])]:
            fh.close()
    if defaulted:
        report.note("items without a subset were written to the 'train' subset (darknet trains from 'train')")
    names = classes.names()
    (target / "obj.names").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    lines = [
        f"classes = {len(names)}\n",
        *(f"{s} = data/{s}.txt\n" for s in lists),
        "names = data/obj.names\n",
        "backup = backup/\n",
    ]
    (target / "obj.data").write_text("".join(lines), encoding="utf-8")
    return True


def subset_name(subset: str | None) -> str:
    """A subset name usable as an obj.data key and in folder names (empty: ``train``)."""
    name = re.sub(r"[\s/\\=#]+", "_", subset or "").strip("_.") or "train"
    return f"{name}_" if name.lower() in _RESERVED else name


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Every row problem (column counts, class ids out of range, values outside [0, 1]),
    missing list and label files, and images whose size is unknown."""
    sink = Sink(collect=True)
    try:
        layout = _Layout(source, sink, options.images)
        if layout.names_file is None:
            sink.warn("no class list (obj.names, classes.txt, ...): class ids are used as names", source)
        for _ in layout.items():
            pass
    except LabelportError as exc:
        sink.error(exc)
    return sink.problems or []
