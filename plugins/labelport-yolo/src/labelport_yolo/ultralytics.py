"""Ultralytics YOLO: a ``data.yaml`` naming the classes and the splits, images in
``images/<split>/`` and one label file per image in the mirrored ``labels/<split>/``.

Specification: https://docs.ultralytics.com/datasets/ (detect, segment, pose, obb,
classify) and the reference loader (``ultralytics/data/utils.py``: ``check_det_dataset``,
``img2label_paths``). Rows are normalised: ``class cx cy w h`` boxes, ``class x1 y1 ...``
polygons, ``class x1 y1 x2 y2 x3 y3 x4 y4`` oriented boxes, ``class cx cy w h`` followed by
``kpt_shape`` keypoints for pose; classification datasets are ``<split>/<class>/<image>``
(CVAT adds ``<split>/labels.json``). Splits may be folders, list files or lists; Roboflow's
``../train/images`` paths are read as Ultralytics does (leading ``../`` dropped when that exists).

One task per dataset: the writer picks it from the annotations (``task="auto"``) and records
it as ``task:`` in ``data.yaml`` (Ultralytics ignores the key) so that 4-point polygons and
oriented boxes read back as what they were. Item sizes needed to normalise are kept in
``images.meta`` when the images are not written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson
import yaml
from labelport.errors import FormatError, LabelportError
from labelport.geometry import coords
from labelport.io.jsonio import JsonReader, load_json
from labelport.io.media import IMAGE_SUFFIXES, is_inside, safe_join
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
from labelport.schema import Dataset, Info, Item, Label, LabelSet, Skeleton, Tag
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
    decode,
    first_line,
    fmt,
    is_label_text,
    item_size,
    looks_like_row,
    make_item,
    media_suffix,
    meta_by_stem,
    place,
    read_lines,
    read_meta,
    read_names,
    resolve_size,
    safe_relpath,
    walk_files,
)
from pydantic import Field

TASKS = ("detect", "segment", "pose", "obb", "classify")


class UltralyticsWriteOptions(OptionsBase):
    """Ultralytics writer options."""

    #: the dataset's task; ``auto`` picks it from the annotations (keypoints: pose, rotated
    #: boxes: obb, polygons: segment, boxes: detect, image labels only: classify)
    task: Literal["auto", "detect", "segment", "pose", "obb", "classify"] = "auto"
    #: decimals of the normalised values (None: full precision)
    decimals: int | None = Field(default=6, ge=0, le=15)


INFO = FormatInfo(
    name="ultralytics",
    title="Ultralytics YOLO",
    description="Ultralytics YOLO (v5/v8/11): data.yaml with images/ and labels/ splits; detection, segmentation, "
    "pose, oriented boxes and classification folders.",
    extensions=(".yaml", ".yml"),
    annotation_types=frozenset({"bbox", "polygon", "keypoints", "label"}),
    features=frozenset({"subsets", "rotation", "skeletons", "groups"}),
    write_options=UltralyticsWriteOptions,
    docs_url="https://docs.ultralytics.com/datasets/",
)

_CONFIG_NAMES = ("data.yaml", "dataset.yaml", "data.yml", "dataset.yml")
#: data.yaml keys that are settings rather than splits
_SETTINGS = frozenset(
    {
        "path",
        "names",
        "nc",
        "kpt_shape",
        "flip_idx",
        "kpt_names",
        "download",
        "task",
        "channels",
        "yaml_file",
        "roboflow",
        "license",
        "url",
        "version",
        "description",
        "author",
        "date",
    }
)
_SPLIT_FOLDERS = ("train", "val", "valid", "validation", "test")
_NO_LABEL = "no_label"  # CVAT's folder for images without a class
_LABELS_JSON = "labels.json"  # CVAT's record of classification items
_YAML_KEYS = re.compile(r"^(names|nc)\s*:", re.M)
_YAML_SPLITS = re.compile(r"^(train|val|test)\s*:", re.M)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix in (".yaml", ".yml") and _is_config_text(probe.text(None, 65536)):
            return Detection(format="ultralytics", confidence=0.9, reason="Ultralytics data.yaml")
        return None
    top = [f for f in probe.files("*") if "/" not in f]
    for f in top:
        if f.lower().endswith((".yaml", ".yml")) and _is_config_text(probe.text(f, 65536)):
            return Detection(format="ultralytics", confidence=0.95, reason=f"{f} with names and splits")
    if any(f.lower() in CLASS_FILES or f.lower().endswith((".names", ".data")) for f in top):
        return None  # a darknet class list: the yolo format's layout
    labels = [f for f in probe.files("**/*.txt") if _in_labels_dir(f)][:5]
    if labels and probe.has("images/**/*", "*/images/*"):
        lines = [first_line(probe.text(f, 4096)) for f in labels]
        if any(lines) and all(looks_like_row(line) for line in lines if line):
            return Detection(
                format="ultralytics", confidence=0.45, reason="images/ and labels/ folders without data.yaml"
            )
    if probe.has("*/labels.json") and _classify_folders(probe):
        return Detection(
            format="ultralytics", confidence=0.7, reason="classification split folders with CVAT labels.json"
        )
    if _classify_folders(probe):
        return Detection(format="ultralytics", confidence=0.55, reason="classification folders <split>/<class>/<image>")
    return None


def _is_config_text(text: str) -> bool:
    return bool(_YAML_KEYS.search(text) and _YAML_SPLITS.search(text))


def _in_labels_dir(rel: str) -> bool:
    return "labels" in rel.split("/")[:-1]


def _classify_folders(probe: Probe) -> bool:
    """Top-level folders are split names only, and every file below them is an image in a
    class folder (``<split>/<class>/<image>``) or CVAT's ``<split>/labels.json``."""
    entries = probe.files()
    top_files = [f for f in entries if "/" not in f]
    if any(not f.lower().endswith((".yaml", ".yml")) for f in top_files):
        return False
    splits = set()
    for f in entries:
        parts = f.split("/")
        if len(parts) == 1:
            continue
        if parts[0].lower() not in _SPLIT_FOLDERS:
            return False
        splits.add(parts[0])
        if len(parts) == 2 and parts[1] == _LABELS_JSON:
            continue
        if (
            len(parts) != 3
            or parts[1].lower() in ("images", "labels", "annotations")
            or not f.lower().endswith(IMAGE_SUFFIXES)
        ):
            return False
    return bool(splits)


# --------------------------------------------------------------------------- read


@dataclass
class _Source:
    """One split source: a folder of images (labels mirrored), a list file, one image,
    or a classification folder."""

    subset: str
    kind: Literal["dir", "list", "image", "classify"]
    images: Path
    labels: Path | None = None


@dataclass
class _Record:
    subset: str | None
    id: str
    image: Path | None
    label: Path | None
    name: str | None
    meta_key: str | None
    tags: list[str] = field(default_factory=list)


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    layout = _Layout(source, Sink(), options.images)
    dataset = Dataset(layout.items, labels=layout.labels, info=layout.info)
    dataset.missing_media = layout.missing
    layout.notes = dataset.notes
    return dataset


class _Layout:
    """An Ultralytics dataset on disk: settings, classes, split sources."""

    def __init__(self, source: Path, sink: Sink, images: Path | None = None):
        self.sink = sink
        # names of images not found, which the core reports (it tracks them itself for read option images)
        self.missing: list[str] = []
        self.track_missing = images is None
        self.notes: list[str] = []
        if source.is_file():
            self.config_path: Path | None = source
            root = source.parent
        else:
            root = source
            self.config_path = _find_config(root)
            if not root.is_dir():
                raise FormatError("an Ultralytics dataset is a folder or its data.yaml", file=source)
        doc = _load_yaml(self.config_path) if self.config_path else {}
        self.doc = doc
        self.base = _base(root, doc)
        where = self.config_path or root
        self.task = doc.get("task") if doc.get("task") in TASKS else None
        names = _names(doc, where)
        if names is None:
            for cand in CLASS_FILES:
                if (self.base / cand).is_file():
                    names = dict(enumerate(read_names(self.base / cand)))
                    break
        self.names = names
        self.kpt_shape = _kpt_shape(doc, where)
        if self.kpt_shape and self.task is None:
            self.task = "pose"
        skeletons = _skeletons(doc, where, self.kpt_shape, names)
        self.labels = LabelSet(Label(name=n, id=k, skeleton=skeletons.get(k)) for k, n in sorted((names or {}).items()))
        self.rows = Rows(
            self.labels, names, task=self.task, kpt_shape=self.kpt_shape, names_source=where.name if where else "names"
        )
        self.images = Images(self.base, images)
        self.meta = read_meta(self.base / META_FILE)
        self.meta_stems = meta_by_stem(self.meta)
        self.sources = self._sources()
        self._classify_docs: dict[Path, dict] = {}
        for src in self.sources:
            if src.kind == "classify":
                for name in self._classify_labels(src):
                    self.labels.add(name)
        if self.sources and all(s.kind == "classify" for s in self.sources) and self.task is None:
            self.task = "classify"
        meta: dict[str, Any] = {}
        if self.task:
            meta["ultralytics_task"] = self.task
        if self.kpt_shape:
            meta["ultralytics_kpt_shape"] = list(self.kpt_shape)
        self.info = Info(metadata=meta)

    # ------------------------------------------------------------------ sources

    def _sources(self) -> list[_Source]:
        out: list[_Source] = []
        seen: set[tuple[str, Path]] = set()

        def add(src: _Source) -> None:
            key = (src.kind, src.images.resolve())
            if key not in seen:
                seen.add(key)
                out.append(src)

        for key, value in self.doc.items():
            if not isinstance(key, str) or key in _SETTINGS or value is None or value == "":
                continue
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                if key in ("train", "val", "test"):
                    raise FormatError(f"{key}: expected a path or a list of paths", file=self.config_path, location=key)
                continue
            found = [s for v in values for s in self._resolve(key, v)]
            if not found:
                self.sink.warn(f"split {key!r}: {value!r} not found", self.config_path, key)
            for src in found:
                add(src)
        for src in self._discover():
            add(src)
        return out

    def _resolve(self, subset: str, value: str) -> list[_Source]:
        rel = value.strip().replace("\\", "/")
        cands = [rel, rel[3:]] if rel.startswith("../") else [rel]
        for cand in cands:
            while cand.startswith("./"):
                cand = cand[2:]
            cand = cand.rstrip("/") or "."
            if not is_inside(self.base, cand):
                continue
            path = safe_join(self.base, cand)
            if path.is_file():
                suffix = path.suffix.lower()
                if suffix == ".txt":
                    return [_Source(subset, "list", path)]
                if suffix in IMAGE_SUFFIXES:
                    return [_Source(subset, "image", path)]
                continue
            src = self._folder(subset, path)
            if src is not None:
                return [src]
        return []

    def _folder(self, subset: str, path: Path) -> _Source | None:
        if path.is_dir() and (path / "images").is_dir():
            path = path / "images"  # a split named by its folder holding images/ and labels/
        mirror = _mirror(self.base, path)
        if path.is_dir() and self._is_classify(path, mirror):
            return _Source(subset, "classify", path)
        if path.is_dir() or (mirror is not None and mirror.is_dir()):
            return _Source(subset, "dir", path, mirror)
        return None

    def _is_classify(self, folder: Path, mirror: Path | None) -> bool:
        if self.task is not None:
            return self.task == "classify"
        if (folder / _LABELS_JSON).is_file():
            return True
        if mirror is not None and mirror.is_dir():
            return False
        has_dirs = False
        for entry in folder.iterdir():
            if entry.is_file() and entry.suffix.lower() in (*IMAGE_SUFFIXES, ".txt"):
                return False
            has_dirs |= entry.is_dir() and not entry.name.startswith(".")
        return has_dirs and mirror is None

    def _discover(self) -> Iterator[_Source]:
        """Split folders the settings do not name (Roboflow renames ``valid`` to ``val``
        only on one side; labels-only folders are written without their images)."""
        base = self.base
        for name in ("images", "labels"):
            if (base / name).is_dir():
                for sub in sorted(p for p in (base / name).iterdir() if p.is_dir() and not p.name.startswith(".")):
                    yield _Source(sub.name, "dir", base / "images" / sub.name, base / "labels" / sub.name)
        for sub in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if sub.name in ("images", "labels"):
                continue
            if (sub / "images").is_dir() or (sub / "labels").is_dir():
                yield _Source(sub.name, "dir", sub / "images", sub / "labels")
            elif (
                sub.name.lower() in _SPLIT_FOLDERS and self.task in (None, "classify") and self._is_classify(sub, None)
            ):
                yield _Source(sub.name, "classify", sub)

    # ------------------------------------------------------------------ items

    def records(self) -> Iterator[_Record]:
        seen: set[str] = set()  # an image named by a list and found again in its folder is one item
        for src in self.sources:
            if src.kind == "dir":
                recs = self._dir_records(src)
            elif src.kind in ("list", "image"):
                recs = self._list_records(src)
            else:
                recs = self._classify_records(src)
            for rec in recs:
                key = str(rec.image or rec.label or "")
                if key and src.kind != "classify":
                    if key in seen:
                        continue
                    seen.add(key)
                yield rec

    def _dir_records(self, src: _Source) -> Iterator[_Record]:
        found: dict[str, list[Path | None]] = {}
        for key, path in walk_files(src.images, IMAGE_SUFFIXES):
            found[key] = [path, None]
        label_dir = src.labels if src.labels is not None else src.images
        for key, path in walk_files(label_dir, (".txt",)):
            found.setdefault(key, [None, None])[1] = path
        img_rel = _rel(self.base, src.images)
        for key, (image, label) in found.items():
            if image is not None:
                meta_key = _rel(self.base, image)
                name = image.name
            else:
                meta_key = self.meta_stems.get(f"{img_rel}/{key}" if img_rel else key)
                name = meta_key.rsplit("/", 1)[-1] if meta_key else None
            yield _Record(src.subset, key, image, label, name, meta_key)

    def _list_records(self, src: _Source) -> Iterator[_Record]:
        entries = [(0, src.images.name)] if src.kind == "image" else read_lines(src.images)
        for n, line in entries:
            if src.kind == "image":
                image = src.images
            else:
                image = self._list_entry(line, src.images, n)
                if image is None:
                    continue
            rel = _rel(self.base, image)
            parts = rel.split("/")
            if "images" in parts[:-1]:
                i = len(parts) - 2 - parts[-2::-1].index("images")
                inner = parts[i + 2 :] if len(parts) > i + 2 else parts[i + 1 :]
            else:
                inner = parts
            key = "/".join(inner)
            item_id = key.rsplit(".", 1)[0] if "." in inner[-1] else key
            label = Path(_img2label(str(image)))
            yield _Record(src.subset, item_id, image, label, image.name, rel)

    def _list_entry(self, line: str, list_file: Path, n: int) -> Path | None:
        text = line.strip().replace("\\", "/")
        cands: list[tuple[Path, str]] = []
        if text.startswith("./"):
            cands.append((list_file.parent, text[2:]))
        cands.append((self.base, text))
        if text.startswith("data/"):
            cands.append((self.base, text[5:]))  # CVAT prefixes list entries with data/
        for root, rel in cands:
            if rel and is_inside(root, rel) and is_inside(self.base, _rel(self.base, root / rel)):
                path = safe_join(root, rel)
                if path.exists() or Path(_img2label(str(path))).is_file():
                    return path
        for root, rel in cands:
            if rel and is_inside(root, rel):
                return safe_join(root, rel)  # an image written without its file: its label may still exist
        parts = [p for p in text.split("/") if p not in ("", ".", "..")]
        for k in (3, 2, 1):  # an absolute path: find it inside the dataset by its last components
            rel = "/".join(parts[-k:])
            if len(parts) >= k and is_inside(self.base, rel) and (self.base / rel).is_file():
                return self.base / rel
        self.sink.error(
            FormatError(
                f"image path {line!r} is outside the dataset and not found in it", file=list_file, location=f"line {n}"
            )
        )
        return None

    def _classify_doc(self, src: _Source) -> dict | None:
        path = src.images / _LABELS_JSON
        if not path.is_file():
            return None
        if path not in self._classify_docs:
            doc = load_json(path)
            j = JsonReader(path)
            j.check(doc, "$", dict)
            for item_id, entry in doc.items():
                where = f"{item_id}"
                labels = j.get(entry, "labels", where, list)
                for k, name in enumerate(labels):
                    j.check(name, f"{where}.labels[{k}]", str)
                j.get(entry, "path", where, str, required=False)
            self._classify_docs[path] = doc
        return self._classify_docs[path]

    def _classify_labels(self, src: _Source) -> list[str]:
        doc = self._classify_doc(src)
        names = sorted(
            p.name for p in src.images.iterdir() if p.is_dir() and p.name != _NO_LABEL and not p.name.startswith(".")
        )
        if doc is not None:
            names += [n for entry in doc.values() for n in entry["labels"]]
        return names

    def _classify_records(self, src: _Source) -> Iterator[_Record]:
        doc = self._classify_doc(src)
        if doc is not None:
            for item_id, entry in doc.items():
                rel = entry.get("path")
                image = (
                    safe_join(src.images, rel, file=src.images / _LABELS_JSON, location=f"{item_id}.path")
                    if rel
                    else None
                )
                name = rel.rsplit("/", 1)[-1] if rel else None
                yield _Record(
                    src.subset,
                    str(item_id),
                    image,
                    None,
                    name,
                    _rel(self.base, image) if image else None,
                    list(entry["labels"]),
                )
            return
        for key, path in walk_files(src.images, IMAGE_SUFFIXES):
            parts = key.split("/")
            tags = [parts[0]] if len(parts) > 1 and parts[0] != _NO_LABEL else []
            yield _Record(src.subset, key, path, None, path.name, _rel(self.base, path), tags)

    def items(self) -> Iterator[Item]:
        self.missing.clear()
        for rec in self.records():
            try:
                lines = read_lines(rec.label) if rec.label is not None and rec.label.is_file() else []
                if rec.image is None and not is_label_text(lines):
                    continue  # a README or a class list beside the labels
                image = self.images.locate(rec.image, rec.name, rec.id)
                if self.track_missing and (image is None or not image.is_file()):
                    self.missing.append(rec.name or rec.id)
                size = resolve_size(image, rec.meta_key, self.meta)
                item = make_item(rec.id, rec.subset, rec.name, image, rec.label, lines, self.rows, size, self.sink)
                if rec.tags:
                    item.annotations.extend(Tag(label=self.labels.add(t).name) for t in rec.tags)
                yield item
            except LabelportError as exc:
                self.sink.error(exc)
        self.sink.flush(self.notes)


def _find_config(root: Path) -> Path | None:
    for name in _CONFIG_NAMES:
        if (root / name).is_file():
            return root / name
    if root.is_dir():
        for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
            if path.is_file() and _is_config_text(path.read_bytes()[:65536].decode("utf-8", "replace")):
                return path
    return None


def _load_yaml(path: Path) -> dict:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    text = decode(data, path)
    try:
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise FormatError(
            f"malformed YAML: {exc.problem}", file=path, location=f"line {mark.line + 1}" if mark else None
        ) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        raise FormatError(f"malformed YAML: {exc}", file=path) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise FormatError("expected a mapping of settings (names, train, val, ...)", file=path)
    return doc


def _base(root: Path, doc: dict) -> Path:
    """The dataset root: ``path`` when it is a folder inside the yaml's folder, else the
    yaml's folder (a ``path`` elsewhere names where the dataset was, not where it is)."""
    value = doc.get("path")
    if isinstance(value, str) and value.strip() not in ("", "."):
        rel = value.strip().replace("\\", "/")
        if is_inside(root, rel):
            cand = safe_join(root, rel)
            if cand.is_dir():
                return cand
    return root


def _names(doc: dict, where: Path) -> dict[int, str] | None:
    raw = doc.get("names")
    nc = doc.get("nc")
    if raw is None:
        if isinstance(nc, int) and not isinstance(nc, bool) and 0 <= nc <= 1_000_000:
            return {k: str(k) for k in range(nc)}
        return None
    if isinstance(raw, list):
        return {k: _name(v, where, f"names[{k}]") for k, v in enumerate(raw)}
    if isinstance(raw, dict):
        out = {}
        for key, v in raw.items():
            k = (
                key
                if isinstance(key, int) and not isinstance(key, bool)
                else int(key)
                if isinstance(key, str) and key.isdigit()
                else None
            )
            if k is None or k < 0:
                raise FormatError(f"class id {key!r} is not a non-negative integer", file=where, location="names")
            out[k] = _name(v, where, f"names.{key}")
        return out
    raise FormatError("expected a list or a mapping of class names", file=where, location="names")


def _name(value: Any, where: Path, location: str) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise FormatError("a class name must be text", file=where, location=location)
    return str(value)


def _kpt_shape(doc: dict, where: Path) -> tuple[int, int] | None:
    raw = doc.get("kpt_shape")
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
        or not 1 <= raw[0] <= 10_000
        or raw[1] not in (2, 3)
    ):
        raise FormatError("expected [number of keypoints, 2 or 3]", file=where, location="kpt_shape")
    return raw[0], raw[1]


def _skeletons(
    doc: dict, where: Path, shape: tuple[int, int] | None, names: dict[int, str] | None
) -> dict[int, Skeleton]:
    """Keypoint layouts: point names (``kpt_names``) and flip pairs (``flip_idx``)."""
    if shape is None:
        return {}
    k = shape[0]
    pairs: list[tuple[int, int]] = []
    flip = doc.get("flip_idx")
    if flip is not None:
        if (
            not isinstance(flip, list)
            or len(flip) != k
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < k for v in flip)
        ):
            raise FormatError(f"expected {k} keypoint indices", file=where, location="flip_idx")
        pairs = [(i, j) for i, j in enumerate(flip) if i < j]
    raw = doc.get("kpt_names")
    point_names: dict[int, list[str]] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            if not isinstance(key, int) or not isinstance(value, list) or len(value) != k:
                raise FormatError(f"expected {k} point names per class id", file=where, location=f"kpt_names.{key}")
            point_names[key] = [str(v) for v in value]
    elif raw is not None:
        raise FormatError("expected a mapping of class id to point names", file=where, location="kpt_names")
    default = [str(i) for i in range(k)]
    classes = point_names.keys() if point_names else (names or {}).keys()
    return {c: Skeleton(points=point_names.get(c, default), flip_pairs=pairs) for c in classes}


def _mirror(base: Path, images: Path) -> Path | None:
    """The labels folder of an images folder (the last ``images`` component renamed)."""
    rel = _rel(base, images)
    parts = rel.split("/") if rel else []
    if "images" not in parts:
        return None
    i = len(parts) - 1 - parts[::-1].index("images")
    return base.joinpath(*parts[:i], "labels", *parts[i + 1 :])


def _img2label(path: str) -> str:
    """Ultralytics' rule: the last ``/images/`` becomes ``/labels/``, the suffix ``.txt``."""
    p = path.replace("\\", "/")
    if "/images/" in p:
        head, tail = p.rsplit("/images/", 1)
        p = f"{head}/labels/{tail}"
    stem = p.rsplit(".", 1)[0] if "." in p.rsplit("/", 1)[-1] else p
    return stem + ".txt"


def _rel(base: Path, path: Path) -> str:
    try:
        rel = path.relative_to(base).as_posix()
    except ValueError:
        return path.name
    return "" if rel == "." else rel


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: UltralyticsWriteOptions = options.format_options or UltralyticsWriteOptions()
    task, shape = _choose_task(dataset, opts.task)
    target.mkdir(parents=True, exist_ok=True)
    classes = ClassIndex(dataset.labels)
    writer = (
        _ClassifyWriter(target, classes, options, report)
        if task == "classify"
        else _Writer(target, classes, task, shape, opts, options, report)
    )
    defaulted = False
    try:
        for item in dataset:
            defaulted |= not item.subset
            writer.item(item)
        writer.finish()
    finally:
        writer.close()
    if defaulted:
        report.note("items without a subset were written to the 'train' split")
    _write_yaml(dataset, target, task, shape, classes, writer.subsets, report)
    return True


def _choose_task(dataset: Dataset, wanted: str) -> tuple[str, tuple[int, int] | None]:
    stored = dataset.info.metadata.get("ultralytics_task")
    stored_shape = dataset.info.metadata.get("ultralytics_kpt_shape")
    dims = (
        stored_shape[1]
        if isinstance(stored_shape, list) and len(stored_shape) == 2 and stored_shape[1] in (2, 3)
        else 3
    )
    skeleton_k = max((len(lb.skeleton.points) for lb in dataset.labels if lb.skeleton), default=0)
    task = wanted
    kinds: set[str] = set()
    rotated = False
    most = 0
    if task == "auto" or (task == "pose" and not skeleton_k):
        for item in dataset:
            for ann in item.annotations:
                kinds.add(ann.type)
                if ann.type == "bbox" and ann.rotation % 360:
                    rotated = True
                elif ann.type == "keypoints":
                    most = max(most, len(ann.visibility))
    k = skeleton_k or most or (stored_shape[0] if isinstance(stored_shape, list) and stored_shape else 0)
    if task == "auto":
        if "keypoints" in kinds:
            task = "pose"
        elif rotated:
            task = "obb"
        elif "polygon" in kinds:
            task = "segment"
        elif "bbox" in kinds:
            task = stored if stored in ("detect", "segment", "obb") or (stored == "pose" and k) else "detect"
        elif "label" in kinds:
            task = "classify"
        else:
            task = stored if stored in TASKS and (stored != "pose" or k) else "detect"
    if task == "pose" and not k:
        task = "detect"
    return task, ((k, dims) if task == "pose" else None)


def subset_name(subset: str | None) -> str:
    """A split name usable as a data.yaml key and a folder name (empty: ``train``)."""
    name = re.sub(r"[\s/\\:#]+", "_", subset or "").strip("_.") or "train"
    return f"{name}_" if name in _SETTINGS or name in ("images", "labels") else name


class _Writer:
    """Detection, segmentation, pose and oriented-box rows, one label file per item."""

    def __init__(
        self,
        target: Path,
        classes: ClassIndex,
        task: str,
        shape: tuple[int, int] | None,
        opts: UltralyticsWriteOptions,
        options: WriteOptions,
        report: Report,
    ):
        self.target, self.classes, self.task, self.shape = target, classes, task, shape
        self.d = opts.decimals
        self.options, self.report = options, report
        self.stems = Stems(report)
        self.folders = Folders()
        self.missing = MissingSizes()
        self.subsets: list[str] = []
        self.meta: IO[str] | None = None
        self.mixed = False

    def item(self, item: Item) -> None:
        subset = subset_name(item.subset)
        if subset not in self.subsets:
            self.subsets.append(subset)
        stem = self.stems.take(subset, item.id)
        image_rel = f"images/{subset}/{stem}{media_suffix(item)}"
        writable = [a for a in item.annotations if a.type != "label"]
        size = item_size(item) if writable or self.options.save_media == "none" else None
        rows = self._rows(item, size) if writable else []
        for ann in item.annotations:
            if ann.type == "label":
                self.report.loss("label", f"dropped (an Ultralytics {self.task} dataset holds no image labels)")
        if writable and size is None:
            self.missing.add(item)
        self.folders.file(self.target / "labels" / subset / f"{stem}.txt").write_text("".join(rows), encoding="utf-8")
        if not place(item, self.target, image_rel, self.options.save_media, self.report) and size is not None:
            if self.meta is None:
                self.meta = open(self.target / META_FILE, "w", encoding="utf-8")
            self.meta.write(f"{image_rel} {size[1]} {size[0]}\n")

    def _rows(self, item: Item, size: tuple[int, int] | None) -> list[str]:
        if size is None:
            return []
        task, report = self.task, self.report
        groups: dict[int, list[Any]] = defaultdict(list)
        for ann in item.annotations:
            if ann.group is not None:
                groups[ann.group].append(ann)
        paired: set[int] = set()
        rows: list[str] = []
        kinds = set()
        for ann in item.annotations:
            if id(ann) in paired or ann.type == "label":
                continue
            if ann.label is None:
                report.loss("unlabelled annotation", "dropped (a YOLO row needs a class)")
                continue
            cls = self.classes.index(ann.label)
            if ann.type == "keypoints":
                if task != "pose":
                    report.loss("keypoints", f"dropped (an Ultralytics {task} dataset holds no keypoints)")
                    continue
                box = (
                    next((a for a in groups.get(ann.group, []) if a.type == "bbox" and id(a) not in paired), None)
                    if ann.group is not None
                    else None
                )
                if box is not None:
                    paired.update((id(ann), id(box)))
                elif ann.group is not None:
                    report.loss("annotation groups", "dropped")
                row = self._pose(cls, ann, box, size)
                if row:
                    rows.append(row)
                continue
            if ann.group is not None:
                report.loss("annotation groups", "dropped")
            if ann.type == "polygon" and task == "segment":
                if len(ann.points) < 6:
                    report.loss("polygon with fewer than 3 points", "dropped")
                    continue
                pts = self._clip(list(ann.points), size, "polygon")
                rows.append(f"{cls} " + " ".join(fmt(v, self.d) for v in coords.normalize(pts, *size)) + "\n")
                kinds.add("polygon")
                continue
            if ann.type == "polygon":
                report.loss("polygon", f"reduced to its box (an Ultralytics {task} dataset holds no polygons)")
                x, y, w, h = coords.polygon_bbox(ann.points)
                rotation = 0.0
            else:
                x, y, w, h, rotation = ann.x, ann.y, ann.w, ann.h, ann.rotation
            if task == "obb":
                # Ultralytics drops an image whose values leave [0, 1] by more than 1%: corners are
                # clipped (the box then reads back as the rectangle through its first three corners)
                corners = self._clip(coords.rotated_box_corners(x, y, w, h, rotation), size, "rotated bbox")
                rows.append(f"{cls} " + " ".join(fmt(v, self.d) for v in coords.normalize(corners, *size)) + "\n")
                continue
            if rotation % 360:
                report.loss(
                    "rotated bbox", f"replaced by its axis-aligned enclosing box (an Ultralytics {task} dataset)"
                )
                x, y, w, h = coords.polygon_bbox(coords.rotated_box_corners(x, y, w, h, rotation))
            kinds.add("bbox")
            rows.append(self._box(cls, (x, y, w, h), size) + (self._zeros() if task == "pose" else "") + "\n")
        if len(kinds) == 2 and not self.mixed:
            self.mixed = True
            report.note("boxes and polygons share label files; Ultralytics trains such a mixed dataset on boxes only")
        return rows

    def _clip(self, pts: list[float], size: tuple[int, int], what: str) -> list[float]:
        out = [min(max(v, 0.0), float(size[i % 2])) for i, v in enumerate(pts)]
        if any(abs(a - b) > 1e-9 * max(size) for a, b in zip(out, pts, strict=True)):
            self.report.loss(f"{what} outside the image", "clipped to the image")
        return out

    def _box(self, cls: int, box: tuple[float, float, float, float], size: tuple[int, int]) -> str:
        x1, y1, x2, y2 = self._clip(list(coords.xywh_to_xyxy(*box)), size, "bbox")
        cx, cy, w, h = coords.normalize(coords.xywh_to_cxcywh(*coords.xyxy_to_xywh(x1, y1, x2, y2)), *size)
        d = self.d
        return f"{cls} {fmt(cx, d)} {fmt(cy, d)} {fmt(w, d)} {fmt(h, d)}"

    def _zeros(self) -> str:
        assert self.shape is not None
        k, dims = self.shape
        return " 0 0 0" * k if dims == 3 else " 0 0" * k

    def _pose(self, cls: int, ann: Any, box: Any, size: tuple[int, int]) -> str | None:
        assert self.shape is not None
        k, dims = self.shape
        pts, vis = list(ann.points), list(ann.visibility)
        if len(vis) != k:
            self.report.loss("keypoints", f"padded or cut to the dataset's {k} points")
            pts, vis = (pts + [0.0] * 2 * k)[: 2 * k], (vis + [0] * k)[:k]
        if box is not None:
            x, y, w, h = box.x, box.y, box.w, box.h
            if box.rotation % 360:
                self.report.loss(
                    "rotated bbox", "replaced by its axis-aligned enclosing box (an Ultralytics pose dataset)"
                )
                x, y, w, h = coords.polygon_bbox(coords.rotated_box_corners(x, y, w, h, box.rotation))
        else:
            visible = [c for i, v in enumerate(vis) if v for c in pts[2 * i : 2 * i + 2]]
            if not visible:
                self.report.loss("keypoints without labelled points", "dropped")
                return None
            x, y, w, h = coords.polygon_bbox(visible)
        pts = self._clip(pts, size, "keypoints")
        norm = coords.normalize(pts, *size)
        d = self.d
        values = []
        for i, v in enumerate(vis):
            px, py = fmt(norm[2 * i], d), fmt(norm[2 * i + 1], d)
            if dims == 3:
                values.append(f"{px} {py} {v}")
            else:
                if v == 1:
                    self.report.loss("keypoint visibility", "kept as visible (the dataset stores x, y only)")
                values.append(f"{px} {py}" if v else "0 0")  # 2-value keypoints: (0, 0) is unlabelled
        return self._box(cls, (x, y, w, h), size) + " " + " ".join(values) + "\n"

    def finish(self) -> None:
        self.missing.check("Ultralytics YOLO")

    def close(self) -> None:
        if self.meta is not None:
            self.meta.close()


class _ClassifyWriter:
    """``<split>/<class>/<image>`` folders and CVAT's ``<split>/labels.json`` (which keeps
    the items when their images are not written)."""

    def __init__(self, target: Path, classes: ClassIndex, options: WriteOptions, report: Report):
        self.target, self.classes, self.options, self.report = target, classes, options, report
        self.subsets: list[str] = []
        self.files: dict[str, IO[bytes]] = {}
        self.used: set[tuple[str, str]] = set()

    def item(self, item: Item) -> None:
        subset = subset_name(item.subset)
        if subset not in self.files:
            self.subsets.append(subset)
            (self.target / subset).mkdir(parents=True, exist_ok=True)
            self.files[subset] = open(self.target / subset / _LABELS_JSON, "wb")
            self.files[subset].write(b"{")
        else:
            self.files[subset].write(b",")
        tags = []
        for ann in item.annotations:
            if ann.type != "label":
                self.report.loss(ann.type, "dropped (an Ultralytics classification dataset holds image labels only)")
            elif ann.label is not None and ann.label not in tags:
                tags.append(ann.label)
        base = safe_relpath(item.id, "item").rsplit("/", 1)[-1] + media_suffix(item)
        paths = []
        for tag in tags or [_NO_LABEL]:
            if tag != _NO_LABEL:
                self.classes.index(tag)
            folder = safe_relpath(tag.replace("/", "_"), "label")
            name = base
            k = 0
            while (subset, f"{folder}/{name}") in self.used:
                k += 1
                name = f"{base.rsplit('.', 1)[0]}.{k}.{base.rsplit('.', 1)[1]}"
            self.used.add((subset, f"{folder}/{name}"))
            paths.append(f"{folder}/{name}")
            place(item, self.target / subset, f"{folder}/{name}", self.options.save_media, self.report)
        entry = {"labels": tags, "path": paths[0]}
        self.files[subset].write(orjson.dumps(item.id) + b":" + orjson.dumps(entry))

    def finish(self) -> None:
        for fh in self.files.values():
            fh.write(b"}")

    def close(self) -> None:
        for fh in self.files.values():
            fh.close()


def _write_yaml(
    dataset: Dataset,
    target: Path,
    task: str,
    shape: tuple[int, int] | None,
    classes: ClassIndex,
    subsets: list[str],
    report: Report,
) -> None:
    folder = (lambda s: s) if task == "classify" else (lambda s: f"images/{s}")
    cfg: dict[str, Any] = {s: folder(s) for s in subsets}
    # Ultralytics needs train and val: point a missing one at another split
    if "train" not in cfg:
        cfg["train"] = folder(subsets[0] if subsets else "train")
    if "val" not in cfg:
        cfg["val"] = cfg.get("valid") or cfg["train"]
        if subsets:
            report.note(f"data.yaml: no 'val' split; val points at {cfg['val']}")
    cfg["task"] = task
    names = classes.names()
    cfg["nc"] = len(names)
    cfg["names"] = dict(enumerate(names))
    if shape is not None:
        k, dims = shape
        cfg["kpt_shape"] = [k, dims]
        skeletons = [
            (lb.name, lb.skeleton) for lb in dataset.labels if lb.skeleton is not None and len(lb.skeleton.points) == k
        ]
        if skeletons:
            flip = list(range(k))
            for a, b in skeletons[0][1].flip_pairs:
                flip[a], flip[b] = b, a
            cfg["flip_idx"] = flip
            cfg["kpt_names"] = {classes.index(name): list(sk.points) for name, sk in skeletons}
        edges = sum(1 for lb in dataset.labels if lb.skeleton is not None and lb.skeleton.edges)
        if edges:
            report.loss("skeleton edges", "dropped (data.yaml holds point names and flip pairs only)", edges)
    (target / "data.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Row problems (column counts, class ids, values outside [0, 1]), splits not found,
    class-count mismatches and images whose size is unknown."""
    sink = Sink(collect=True)
    try:
        layout = _Layout(source, sink, options.images)
        nc = layout.doc.get("nc")
        if isinstance(nc, int) and layout.names is not None and nc != len(layout.names):
            sink.warn(f"nc is {nc} but names has {len(layout.names)} entries", layout.config_path, "nc")
        if layout.names is not None and len(set(layout.names.values())) != len(layout.names):
            sink.warn("names repeats a class name; its ids share one label", layout.config_path, "names")
        if layout.config_path is None:
            sink.warn("no data.yaml: splits found from the folders", source)
        for _ in layout.items():
            pass
    except LabelportError as exc:
        sink.error(exc)
    return sink.problems or []
