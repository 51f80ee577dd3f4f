"""Apple Create ML object detection JSON.

Specification: Apple's Create ML documentation ("Building an object detector data
source", ``MLObjectDetector.AnnotationType.boundingBox``). A file is a list of
``{"image": name, "annotations": [{"label": ..., "coordinates": {"x", "y", "width",
"height"}}]}``; ``x``/``y`` are the box centre in pixels. Older tools write
``imagefilename``/``annotation`` for the two keys; both spellings are read.

Layouts read: a single JSON file; Roboflow's ``<subset>/_annotations.createml.json``
with the images beside it; any folder of Create ML JSON files (a file inside a
sub-folder takes the folder name as its subset).
"""

from __future__ import annotations

import re
import math
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.io.media import export_media, find_media, image_size, media_roots
from labelport.io.media import item_id as make_item_id
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import BBox, Dataset, Image, Item, Label

#: the file name Roboflow gives a Create ML export in each subset folder
ROBOFLOW_NAME = "_annotations.createml.json"
_IMAGE_KEYS = ("image", "imagefilename")
_ANNOTATION_KEYS = ("annotations", "annotation")
_COORD_KEYS = ("x", "y", "width", "height")
_MAX_PROBED = 20
#: image-level keys other tools add (labelImg: verified; annotation apps: imageURL, width, height)
_EXTRA_KEYS = ("verified", "imageURL", "width", "height", "id", "type")


class CreateMLReadOptions(OptionsBase):
    """Create ML reader options."""

    #: read each found image's size from its header (Create ML files do not store sizes)
    read_image_sizes: bool = True


class CreateMLWriteOptions(OptionsBase):
    """Create ML writer options."""

    #: indent the JSON (larger files, readable by eye)
    indent: bool = False


INFO = FormatInfo(
    name="createml",
    title="Apple Create ML JSON",
    description="Create ML object detection annotations: a JSON list of images with centre-based pixel boxes.",
    extensions=(".json",),
    annotation_types=frozenset({"bbox"}),
    features=frozenset({"subsets"}),
    media=frozenset({"image"}),
    single_file=True,
    read_options=CreateMLReadOptions,
    write_options=CreateMLWriteOptions,
    docs_url="https://developer.apple.com/documentation/createml/building-an-object-detector-data-source",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect

_HEAD_COORDS = re.compile(rb'"coordinates"\s*:\s*\{\s*"(x|y|width|height)"')


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".json":
            return None
        return _detect_file(probe, None)
    best: Detection | None = None
    # a folder of many JSON files is one-file-per-image (LabelMe and the like): look at a few only
    for rel in _candidate_files(probe)[:_MAX_PROBED]:
        found = _detect_file(probe, rel)
        if found is not None and (best is None or found.confidence > best.confidence):
            best = found
    if best is None:
        return None
    # a folder is a little less certain than the file itself: another format may own the folder
    return Detection(format="createml", confidence=round(best.confidence - 0.05, 2), reason=f"folder with {best.reason}")


def _detect_file(probe: Probe, rel: str | None) -> Detection | None:
    named = (rel or probe.path.name).endswith(ROBOFLOW_NAME)
    doc = probe.json(rel)
    if doc is None:
        # too large for the probe: the keys of the list's objects and the first megabyte
        keys = probe.json_list_keys(rel)
        if not (keys & set(_IMAGE_KEYS) and keys & set(_ANNOTATION_KEYS)) or keys - {*_IMAGE_KEYS, *_ANNOTATION_KEYS, *_EXTRA_KEYS}:
            return None
        if _HEAD_COORDS.search(probe.head(rel, 1 << 20)):
            return Detection(format="createml", confidence=0.9, reason="JSON list of images with centre-based coordinates (first megabyte)")
        return Detection(format="createml", confidence=0.7, reason="JSON list of images with annotation lists (first megabyte)")
    shape = _shape(doc)
    if shape == "boxes":
        return Detection(format="createml", confidence=0.95 if named else 0.9, reason="JSON list of images with centre-based coordinates")
    if shape == "images":
        return Detection(format="createml", confidence=0.9 if named else 0.7, reason="JSON list of images with annotation lists")
    return None


def _shape(doc: Any) -> str | None:
    """'boxes' for a list of Create ML entries holding boxes, 'images' when none has a box yet."""
    if not isinstance(doc, list) or not doc:
        return None
    boxes = False
    for entry in doc[:50]:
        if not isinstance(entry, dict):
            return None
        image = next((entry[k] for k in _IMAGE_KEYS if k in entry), None)
        anns = next((entry[k] for k in _ANNOTATION_KEYS if k in entry), None)
        if not isinstance(image, str) or not isinstance(anns, list):
            return None
        for ann in anns[:5]:
            if not isinstance(ann, dict):
                return None
            c = ann.get("coordinates")
            if not isinstance(c, dict) or not all(k in c for k in _COORD_KEYS):
                return None
            boxes = True
    return "boxes" if boxes else "images"


def _candidate_files(probe: Probe) -> list[str]:
    return [rel for rel in probe.files("**/*.json") if rel.count("/") <= 1]


def _annotation_files(source: Path) -> list[Path]:
    """The Create ML files of a folder and of its sub-folders (one level down)."""
    probe = Probe(source)
    return [source / rel for rel in _candidate_files(probe) if _detect_file(probe, rel) is not None]


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: CreateMLReadOptions = options.format_options or CreateMLReadOptions()
    if source.is_file():
        files, root = [source], source.parent
    else:
        files, root = _annotation_files(source), source
        if not files:
            raise FormatError("no Create ML JSON files found", file=source)
    labels: dict[str, Label] = {}
    items: dict[tuple[str | None, str], Item] = {}
    for path in files:
        subset = _subset_of(path, root) if source.is_dir() else None
        _read_file(path, subset, options, opts, labels, items)
    return Dataset(list(items.values()), labels=list(labels.values()))


def _subset_of(path: Path, root: Path) -> str | None:
    parent = path.parent.relative_to(root)
    return parent.parts[-1] if parent.parts else None


def _read_file(
    path: Path, subset: str | None, options: ReadOptions, opts: CreateMLReadOptions,
    labels: dict[str, Label], items: dict[tuple[str | None, str], Item],
) -> None:
    doc = load_json(path)
    j = JsonReader(path)
    j.check(doc, "$", list)
    roots = media_roots(options.images, path.parent, path.parent / "images")
    names: dict[str, str] = {}  # item id -> image name, to keep ids unique
    for i, entry in enumerate(doc):
        where = f"[{i}]"
        if not isinstance(entry, dict):
            raise j.error(where, "expected an object")
        image_key = next((k for k in _IMAGE_KEYS if k in entry), "image")
        name = j.get(entry, image_key, where, str)
        if not name.strip():
            raise j.error(f"{where}.{image_key}", "empty image name")
        ann_key = next((k for k in _ANNOTATION_KEYS if k in entry), "annotations")
        raw_anns = j.get(entry, ann_key, where, list, required=False, default=[])
        item_id = make_item_id(name, names)
        key = (subset, item_id)
        item = items.get(key)
        if item is None:
            item = items[key] = _new_item(item_id, name, subset, entry, image_key, ann_key, roots, opts)
        for k, ann in enumerate(raw_anns):
            box = _read_box(j, ann, f"{where}.{ann_key}[{k}]")
            if box.label is not None and box.label not in labels:
                labels[box.label] = Label(name=box.label)
            item.annotations.append(box)






def _new_item(
    item_id: str, name: str, subset: str | None, entry: dict, image_key: str, ann_key: str,
    roots: list[Path], opts: CreateMLReadOptions,
) -> Item:
    found = find_media(roots, name, stem_fallback=False, basename_fallback=True)
    width = height = None
    if found is not None and opts.read_image_sizes:
        try:
            width, height = image_size(found)
        except FormatError:
            pass  # an unreadable image leaves the size unknown; validate reports it
    meta: dict[str, Any] = {}
    extra = {k: v for k, v in entry.items() if k not in (image_key, ann_key)}
    if extra:
        meta["createml_extra"] = extra
    if image_key != "image":
        meta["createml_keys"] = [image_key, ann_key]
    media = Image(name=name, path=str(found) if found else None, width=width, height=height)
    return Item(id=item_id, subset=subset, media=media, metadata=meta)




def _read_box(j: JsonReader, ann: Any, where: str) -> BBox:
    # the hot path of big files: plain type checks; the JsonReader only builds the error
    if type(ann) is not dict:
        raise j.error(where, "expected an object")
    label = ann.get("label")
    if label is not None and type(label) is not str:
        label = j.get(ann, "label", where, (str, int))
    c = ann.get("coordinates")
    values = [c.get(k) for k in _COORD_KEYS] if type(c) is dict else []
    if len(values) == 4 and all(type(v) is float or type(v) is int for v in values) and all(map(math.isfinite, values)):
        cx, cy, w, h = (float(v) for v in values)
    else:
        c = j.get(ann, "coordinates", where, dict)
        cx, cy, w, h = (float(j.get(c, k, f"{where}.coordinates", float)) for k in _COORD_KEYS)
    if w < 0 or h < 0:
        raise j.error(f"{where}.coordinates", f"negative box size {w:g}x{h:g}")
    x, y, w, h = coords.cxcywh_to_xywh(cx, cy, w, h)
    extra = {k: v for k, v in ann.items() if k not in ("label", "coordinates")}
    meta = {"createml_extra": extra} if extra else {}
    text = str(label) if label is not None else ""
    return BBox(label=text or None, x=x, y=y, w=w, h=h, metadata=meta)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: CreateMLWriteOptions = options.format_options or CreateMLWriteOptions()
    single = target.suffix.lower() == ".json"
    subsets_seen: set[str] = set()
    with ExitStack() as stack:
        files: dict[str, _ListWriter] = {}
        for item in dataset:
            subset = item.subset if item.subset not in (None, "default") else ""
            subsets_seen.add(subset)
            key = "" if single else subset
            writer = files.get(key)
            if writer is None:
                path = target if single else (target / subset / ROBOFLOW_NAME if subset else target / ROBOFLOW_NAME)
                path.parent.mkdir(parents=True, exist_ok=True)
                writer = files[key] = _ListWriter(stack.enter_context(open(path, "wb")), opts.indent)
            entry, name = _entry(item, report)
            writer.add(entry)
            if options.save_media != "none" and not single:
                export_media(item, target / subset if subset else target, options.save_media, report, name=name)
        if not files:
            path = target if single else target / ROBOFLOW_NAME
            path.parent.mkdir(parents=True, exist_ok=True)
            files[""] = _ListWriter(stack.enter_context(open(path, "wb")), opts.indent)
        for writer in files.values():
            writer.close()
    if single and len(subsets_seen) > 1:
        report.loss("subset names", "merged into one file (write to a folder to keep subsets)")
    return True


class _ListWriter:
    """Streams a JSON list one entry at a time."""

    def __init__(self, fh: IO[bytes], indent: bool):
        self.fh, self.indent, self.first = fh, indent, True
        fh.write(b"[")

    def add(self, entry: dict[str, Any]) -> None:
        self.fh.write((b"" if self.first else b",") + (b"\n" if self.indent else b"") + dump_json(entry, indent=self.indent))
        self.first = False

    def close(self) -> None:
        self.fh.write(b"\n]\n" if self.indent else b"]")


def _entry(item: Item, report: Report) -> tuple[dict[str, Any], str]:
    media = item.media
    name = getattr(media, "name", None)
    if not name:
        path = getattr(media, "path", None)
        name = Path(path).name if path else f"{item.id}.jpg"
    image_key, ann_key = item.metadata.get("createml_keys") or ("image", "annotations")
    anns = []
    for ann in item.annotations:
        if ann.type != "bbox":  # the core reduced every other kind already; be safe
            report.loss(ann.type, "dropped (the format cannot hold it)")
            continue
        cx, cy, w, h = coords.xywh_to_cxcywh(ann.x, ann.y, ann.w, ann.h)
        obj: dict[str, Any] = {"label": ann.label if ann.label is not None else "", "coordinates": {"x": cx, "y": cy, "width": w, "height": h}}
        obj.update(ann.metadata.get("createml_extra") or {})
        anns.append(obj)
    entry: dict[str, Any] = {image_key: name, ann_key: anns}
    for k, v in (item.metadata.get("createml_extra") or {}).items():
        entry.setdefault(k, v)
    return entry, name


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Images listed twice, boxes without a label or without area, images not found."""
    problems: list[Problem] = []
    files = [source] if source.is_file() else _annotation_files(source)
    for path in files:
        doc = load_json(path)
        if not isinstance(doc, list):
            continue
        seen: dict[str, int] = {}
        roots = media_roots(options.images, path.parent, path.parent / "images")
        for i, entry in enumerate(doc):
            if not isinstance(entry, dict):
                continue
            name = next((entry[k] for k in _IMAGE_KEYS if k in entry), None)
            if isinstance(name, str):
                if name in seen:
                    problems.append(_warn(f"image {name!r} is listed again (first at [{seen[name]}]); its boxes are merged", path, f"[{i}]"))
                seen.setdefault(name, i)
                if find_media(roots, name, stem_fallback=False, basename_fallback=True) is None:
                    problems.append(_warn(f"image {name!r} not found", path, f"[{i}]"))
            anns = next((entry[k] for k in _ANNOTATION_KEYS if k in entry), None)
            for k, ann in enumerate(anns if isinstance(anns, list) else []):
                where = f"[{i}].annotations[{k}]"
                if not isinstance(ann, dict):
                    continue
                if not ann.get("label"):
                    problems.append(_warn("box without a label", path, where))
                c = ann.get("coordinates")
                if isinstance(c, dict) and any(c.get(key) == 0 for key in ("width", "height")):
                    problems.append(_warn("box has no area (width or height is 0)", path, f"{where}.coordinates"))
    return problems


def _warn(message: str, path: Path, location: str) -> Problem:
    return Problem(severity="warning", message=message, file=str(path), location=location)

