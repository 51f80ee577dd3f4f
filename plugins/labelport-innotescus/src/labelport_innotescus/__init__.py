"""Innotescus JSON export: classes, annotations, dataset items and their metadata definitions.

Documents followed: the Innotescus user guide, "Exporting Data & Annotations" (innotescus.app docs: the
export layout, one annotation set per dataset under ``annotations/<dataset>/`` - or
``annotations/<task>/<dataset>/`` when several tasks are exported - beside ``datasets/<dataset>/``
holding the media), and the Innotescus API client (``AnnotationFormat.INNOTESCUS_JSON``). The public
guide names the files of the JSON format but does not list every field; the field names below are
those of the five files as this plugin reads and writes them (a few other spellings - ``class``,
``item_index``, camelCase keys - are accepted when reading):

- ``classes.json``: ``[{"id", "name", "parent_id"}]`` - the class tree (label parents);
- ``dataset_items.json``: ``[{"index", "name", "type" ("image"/"video"), "width", "height",
  "frame_count", "metadata"}]``;
- ``annotations.json``: ``[{"id", "dataset_item_index", "frame_index", "type" ("Box"/"Poly"),
  "class_id", "instance_id", "box": {"x", "y", "width", "height", "orientation"}, "polygons":
  [[[x, y], ...], ...], "is_open", "annotators", "metadata"}]`` - pixel coordinates, top-left origin;
  ``orientation`` is the box's clockwise rotation in degrees about its centre; a ``Poly`` holds one
  or more rings (a multi-polygon), and ``is_open`` makes each ring a polyline;
- ``annotation_metadata_definitions.json`` / ``dataset_item_metadata_definitions.json``:
  ``[{"name", "type", "options"}]`` - the declared annotation and item metadata fields.

Mapping: each dataset is a subset; an image item's id is its file name without the suffix; a video
gives one item per annotated frame (``<video stem>/frame_<n>``, media ``VideoFrame``);
``instance_id`` is the track id (one object across frames); annotation ``metadata`` values are
attributes and the annotation metadata definitions are the labels' attribute declarations;
``annotators`` are kept in ``metadata["innotescus_annotators"]``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

from labelport.errors import FormatError
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.io.media import export_media, find_media, item_id, media_roots
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
from labelport.schema import AttributeDef, BBox, Dataset, Image, Item, Label, Polygon, Polyline, VideoFrame


class InnotescusWriteOptions(OptionsBase):
    """Innotescus writer options."""

    #: indent the JSON files (larger, readable by eye)
    indent: bool = False


INFO = FormatInfo(
    name="innotescus",
    title="Innotescus JSON",
    description="Innotescus JSON export: classes, boxes, multi-polygons, polylines, items, metadata definitions.",
    extensions=(),
    annotation_types=frozenset({"bbox", "polygon", "polyline"}),
    features=frozenset(
        {
            "annotation_ids",
            "attributes",
            "item_attributes",
            "tracks",
            "rotation",
            "subsets",
            "label_hierarchy",
            "label_attributes",
            "multipart_polygons",
        }
    ),
    media=frozenset({"image", "video_frame"}),
    write_options=InnotescusWriteOptions,
    docs_url="https://innotescus.app/assets/mkdocs/Projects/Exporting%20Data%20%26%20Annotations/",
)

CLASSES = "classes.json"
ANNOTATIONS = "annotations.json"
ITEMS = "dataset_items.json"
ANN_DEFS = "annotation_metadata_definitions.json"
ITEM_DEFS = "dataset_item_metadata_definitions.json"
_VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
_ITEM_INDEX_KEYS = ("dataset_item_index", "item_index", "datasetItemIndex")
_FRAME_KEYS = ("frame_index", "frameIndex", "frame")
_CLASS_KEYS = ("class_id", "classId", "class")
_INSTANCE_KEYS = ("instance_id", "instanceId")
_KNOWN_ANN_KEYS = {
    "id",
    "type",
    "box",
    "polygons",
    "is_open",
    "isOpen",
    "annotators",
    "metadata",
    *_ITEM_INDEX_KEYS,
    *_FRAME_KEYS,
    *_CLASS_KEYS,
    *_INSTANCE_KEYS,
}
_KNOWN_ITEM_KEYS = {"index", "name", "type", "width", "height", "frame_count", "metadata"}
# metadata definition types and the attribute types they declare
_DEF_TYPES = {
    "text": "text",
    "string": "text",
    "number": "float",
    "float": "float",
    "decimal": "float",
    "integer": "int",
    "int": "int",
    "boolean": "bool",
    "bool": "bool",
    "checkbox": "bool",
    "select": "select",
    "dropdown": "select",
    "list": "select",
    "enum": "select",
}
_ATTR_TO_DEF = {"text": "text", "float": "number", "int": "integer", "bool": "boolean", "select": "select"}


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.path.name.lower() != ANNOTATIONS:
            return None
        sibling = Probe(probe.path.parent)
        conf = _set_confidence(sibling, "")
        return (
            Detection(format="innotescus", confidence=min(conf, 0.9), reason="annotations.json beside classes.json")
            if conf
            else None
        )
    best = 0.0
    for folder in _set_folders_of(probe):
        best = max(best, _set_confidence(probe, folder))
    return Detection(format="innotescus", confidence=best, reason="Innotescus JSON annotation set") if best else None


def _set_folders_of(probe: Probe) -> list[str]:
    """Folders (relative, "" for the root) holding both classes.json and annotations.json."""
    out = []
    for rel in probe.files(f"**/{ANNOTATIONS}"):
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if folder.count("/") <= 2 and probe.has(f"{folder}/{CLASSES}" if folder else CLASSES):
            out.append(folder)
    return out


def _set_confidence(probe: Probe, folder: str) -> float:
    """An unmistakable set of file names, confirmed by their keys."""
    pre = f"{folder}/" if folder else ""
    if not probe.has(pre + CLASSES) or not probe.has(pre + ANNOTATIONS):
        return 0.0
    class_keys = probe.json_list_keys(pre + CLASSES)
    ann_keys = probe.json_list_keys(pre + ANNOTATIONS)
    classes_ok = {"id", "name"} <= class_keys or _empty_list(probe, pre + CLASSES)
    anns_ok = bool(set(_ITEM_INDEX_KEYS) & ann_keys) or _empty_list(probe, pre + ANNOTATIONS)
    if not (classes_ok and anns_ok):
        return 0.0
    return 0.95 if probe.has(pre + ITEMS) else 0.85


def _empty_list(probe: Probe, rel: str) -> bool:
    return probe.head(rel, 64).strip() in (b"[]", b"[ ]")


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    sets = _sets(source)
    if not sets:
        raise FormatError("no Innotescus annotation set (classes.json and annotations.json) found", file=source)
    reader = _Reader(options)
    for folder, task, dataset_name, top in sets:
        reader.read_set(folder, task, dataset_name, top)
    return reader.dataset()


def _sets(source: Path) -> list[tuple[Path, str | None, str | None, Path]]:
    """(set folder, task, dataset name, export root) of every annotation set below ``source``."""
    if source.is_file():
        folder = source.parent
        if folder.parent.name == "annotations":
            return [(folder, None, folder.name, folder.parent.parent)]
        if folder.parent.parent.name == "annotations":
            return [(folder, folder.parent.name, folder.name, folder.parent.parent.parent)]
        return [(folder, None, None, folder)]
    probe = Probe(source)
    out = []
    for rel in sorted(_set_folders_of(probe)):
        parts = PurePosixPath(rel).parts if rel else ()
        folder = source.joinpath(*parts)
        if len(parts) == 2 and parts[0] == "annotations":
            out.append((folder, None, parts[1], source))
        elif len(parts) == 3 and parts[0] == "annotations":
            out.append((folder, parts[1], parts[2], source))
        elif not parts:
            out.append((folder, None, None, source))
        else:
            # a set elsewhere (an export unpacked into a sub-folder): its folder names the dataset
            top = folder.parent.parent if folder.parent.name == "annotations" else folder.parent
            out.append((folder, None, parts[-1], top))
    return out


class _Reader:
    def __init__(self, options: ReadOptions):
        self.options = options
        self.labels: dict[str, Label] = {}
        self.items: dict[tuple[str | None, str, int | None], Item] = {}
        self.seen_ids: dict[str | None, dict[str, str]] = defaultdict(dict)
        self.item_defs: dict[str, list[dict]] = {}
        self.ann_defs: list[AttributeDef] = []
        self.notes: list[str] = []

    def dataset(self) -> Dataset:
        labels = list(self.labels.values())
        if self.ann_defs:
            labels = [lb.model_copy(update={"attributes": list(self.ann_defs)}) for lb in labels]
        ds = Dataset(list(self.items.values()), labels=labels)
        if self.item_defs:
            ds.info.metadata["innotescus_item_metadata_definitions"] = self.item_defs
        ds.notes.extend(self.notes)
        return ds

    def read_set(self, folder: Path, task: str | None, dataset_name: str | None, top: Path) -> None:
        classes = self._classes(folder / CLASSES)
        items = self._dataset_items(folder / ITEMS) if (folder / ITEMS).is_file() else {}
        self._ann_definitions(folder / ANN_DEFS)
        if (folder / ITEM_DEFS).is_file():
            defs = _definitions(folder / ITEM_DEFS)
            if defs:
                self.item_defs.setdefault(dataset_name or "default", defs)
        roots = media_roots(
            self.options.images,
            top / "datasets" / (dataset_name or ""),
            top / "datasets",
            folder,
            top,
        )
        made: dict[int, Item] = {}
        for index, raw in items.items():
            if not raw["video"]:
                made[index] = self._image_item(raw, dataset_name, roots)
        videos = {index for index, raw in items.items() if raw["video"]}
        path = folder / ANNOTATIONS
        j = JsonReader(path)
        anns = load_json(path)
        j.check(anns, "$", list)
        for i, ann in enumerate(anns):
            where = f"[{i}]"
            if not isinstance(ann, dict):
                raise j.error(where, "expected an object")
            index = _first(j, ann, _ITEM_INDEX_KEYS, where, int)
            raw_item = items.get(index)
            if raw_item is None:
                if items:
                    raise j.error(f"{where}.dataset_item_index", f"no dataset item has index {index}")
                raw_item = {
                    "index": index,
                    "name": str(index),
                    "video": False,
                    "width": None,
                    "height": None,
                    "attrs": {},
                    "extra": {},
                }
                items[index] = raw_item
            frame = _first(j, ann, _FRAME_KEYS, where, int, required=False)
            if raw_item["video"]:
                if frame is None:
                    raise j.error(where, "an annotation on a video needs a frame_index")
                if frame < 0:
                    raise j.error(f"{where}.frame_index", f"frame index {frame} is negative")
                item = self._frame_item(raw_item, frame, dataset_name, roots)
                videos.discard(index)
            else:
                item = made.get(index) or made.setdefault(index, self._image_item(raw_item, dataset_name, roots))
            for shape in self._shapes(j, ann, where, classes, task):
                item.annotations.append(shape)
        for index in sorted(videos):
            self.notes.append(f"{folder.name}: video {items[index]['name']!r} has no annotated frame, so no item")

    # ---------------------------------------------------------------- classes and definitions

    def _classes(self, path: Path) -> dict[Any, str]:
        j = JsonReader(path)
        doc = load_json(path)
        j.check(doc, "$", list)
        by_id: dict[Any, str] = {}
        parents: dict[str, Any] = {}
        for i, cls in enumerate(doc):
            where = f"[{i}]"
            cid = j.get(cls, "id", where, (int, str))
            name = str(j.get(cls, "name", where, (str, int)))
            if cid in by_id:
                raise j.error(f"{where}.id", f"class id {cid!r} repeats")
            by_id[cid] = name
            parent = j.get(cls, "parent_id", where, (int, str), required=False)
            if parent is None:
                parent = j.get(cls, "parentId", where, (int, str), required=False)
            parents[name] = parent
            if name not in self.labels:
                self.labels[name] = Label(name=name, id=cid if isinstance(cid, int) else None)
        accepted: dict[str, str] = {}
        for name, parent in parents.items():
            pname = by_id.get(parent)
            # an unknown parent, or the edge that would close a cycle, is left out (validate reports both)
            if pname is not None and not _ancestor(accepted, pname, name):
                accepted[name] = pname
                self.labels[name] = self.labels[name].model_copy(update={"parent": pname})
        return by_id

    def _ann_definitions(self, path: Path) -> None:
        if not path.is_file():
            return
        for d in _definitions(path):
            if any(a.name == d["name"] for a in self.ann_defs):
                continue
            atype = _DEF_TYPES.get(str(d.get("type", "text")).lower(), "text")
            values = d.get("options") or []
            self.ann_defs.append(
                AttributeDef(
                    name=d["name"],
                    type=atype,
                    values=list(values),
                    default=d.get("default"),
                    metadata={"innotescus": d},
                )  # type: ignore[arg-type]
            )

    # ---------------------------------------------------------------- items

    def _dataset_items(self, path: Path) -> dict[int, dict[str, Any]]:
        j = JsonReader(path)
        doc = load_json(path)
        j.check(doc, "$", list)
        out: dict[int, dict[str, Any]] = {}
        for i, raw in enumerate(doc):
            where = f"[{i}]"
            index = j.get(raw, "index", where, int, required=False, default=i)
            if index in out:
                raise j.error(f"{where}.index", f"dataset item index {index} repeats")
            name = str(j.get(raw, "name", where, (str, int)))
            width = j.get(raw, "width", where, int, required=False)
            height = j.get(raw, "height", where, int, required=False)
            if (width is not None and width <= 0) or (height is not None and height <= 0):
                raise j.error(where, f"image size {width}x{height} is not positive")
            kind = str(j.get(raw, "type", where, str, required=False, default="")).lower()
            frames = j.get(raw, "frame_count", where, int, required=False)
            video = kind == "video" or (
                not kind and (PurePosixPath(name).suffix.lower() in _VIDEO_SUFFIXES or frames is not None)
            )
            attrs = j.get(raw, "metadata", where, dict, required=False, default={})
            extra = {k: v for k, v in raw.items() if k not in _KNOWN_ITEM_KEYS}
            if frames is not None:
                extra["frame_count"] = frames
            out[index] = {
                "index": index,
                "name": name,
                "video": video,
                "width": width,
                "height": height,
                "attrs": attrs,
                "extra": extra,
            }
        return out

    def _image_item(self, raw: dict, dataset: str | None, roots: list[Path]) -> Item:
        key = (dataset, raw["name"], None)
        if key in self.items:
            return self.items[key]  # the same dataset exported by another task
        found = find_media(roots, raw["name"], stem_fallback=False) if roots else None
        media = Image(name=raw["name"], path=str(found) if found else None, width=raw["width"], height=raw["height"])
        item = Item(
            id=item_id(raw["name"], self.seen_ids[dataset]),
            subset=dataset,
            media=media,
            attributes=dict(raw["attrs"]),
            metadata=self._item_meta(raw),
        )
        self.items[key] = item
        return item

    def _frame_item(self, raw: dict, frame: int, dataset: str | None, roots: list[Path]) -> Item:
        key = (dataset, raw["name"], frame)
        if key in self.items:
            return self.items[key]
        found = find_media(roots, raw["name"], stem_fallback=False) if roots else None
        stem = raw["name"].rsplit(".", 1)[0] if PurePosixPath(raw["name"]).suffix else raw["name"]
        media = VideoFrame(
            video=raw["name"], frame=frame, path=str(found) if found else None, width=raw["width"], height=raw["height"]
        )
        item = Item(
            id=f"{stem}/frame_{frame:06d}",
            subset=dataset,
            media=media,
            attributes=dict(raw["attrs"]),
            metadata=self._item_meta(raw),
        )
        self.items[key] = item
        return item

    @staticmethod
    def _item_meta(raw: dict) -> dict[str, Any]:
        meta: dict[str, Any] = {"innotescus_index": raw["index"]}
        if raw["extra"]:
            meta["innotescus_extra"] = raw["extra"]
        return meta

    # ---------------------------------------------------------------- annotations

    def _shapes(self, j: JsonReader, ann: dict, where: str, classes: dict[Any, str], task: str | None) -> list[Any]:
        cid = _first(j, ann, _CLASS_KEYS, where, (int, str))
        label = classes.get(cid)
        if label is None:
            if isinstance(cid, str) and cid in self.labels:
                label = cid  # a class given by its name
            else:
                raise j.error(f"{where}.class_id", f"class {cid!r} is not in classes.json")
        common: dict[str, Any] = {"label": label, "metadata": {}}
        aid = ann.get("id")
        if aid is not None:
            common["id"] = j.check(aid, f"{where}.id", (int, str))
        instance = _first(j, ann, _INSTANCE_KEYS, where, int, required=False)
        if instance is not None:
            common["track_id"] = instance
        attrs = j.get(ann, "metadata", where, dict, required=False, default={})
        common["attributes"] = dict(attrs)
        annotators = j.get(ann, "annotators", where, list, required=False)
        if annotators is not None:
            common["metadata"]["innotescus_annotators"] = annotators
        if task is not None:
            common["metadata"]["innotescus_task"] = task
        extra = {k: v for k, v in ann.items() if k not in _KNOWN_ANN_KEYS}
        if extra:
            common["metadata"]["innotescus_extra"] = extra
        kind = str(j.get(ann, "type", where, str)).lower()
        if kind in ("box", "bbox", "rectangle"):
            box = j.get(ann, "box", where, dict)
            bw = f"{where}.box"
            x, y, w, h = (float(j.get(box, k, bw, float)) for k in ("x", "y", "width", "height"))
            if w < 0 or h < 0:
                raise j.error(bw, f"negative box size {w}x{h}")
            rotation = float(j.get(box, "orientation", bw, float, required=False, default=0.0)) % 360
            return [BBox(**common, x=x, y=y, w=w, h=h, rotation=rotation)]
        if kind in ("poly", "polygon", "polyline"):
            rings = _rings(j, j.get(ann, "polygons", where, list), f"{where}.polygons")
            is_open = ann.get("is_open", ann.get("isOpen", kind == "polyline"))
            if j.check(is_open, f"{where}.is_open", bool):
                for k, ring in enumerate(rings):
                    if len(ring) < 4:
                        raise j.error(f"{where}.polygons[{k}]", f"a line needs 2 points, got {len(ring) // 2}")
                return [Polyline(**common, points=ring) for ring in rings]
            for k, ring in enumerate(rings):
                if len(ring) < 6:
                    raise j.error(f"{where}.polygons[{k}]", f"a polygon needs 3 points, got {len(ring) // 2}")
            return [Polygon(**common, parts=rings)]
        raise j.error(f"{where}.type", f"unknown annotation type {ann.get('type')!r} (expected Box or Poly)")


def _first(j: JsonReader, obj: dict, keys: tuple[str, ...], where: str, kind: Any, *, required: bool = True) -> Any:
    """The value of the first of ``keys`` present (spellings differ between exports)."""
    for key in keys:
        if obj.get(key) is not None:
            return j.check(obj[key], f"{where}.{key}", kind)
    if required:
        raise j.error(f"{where}.{keys[0]}", "missing")
    return None


def _rings(j: JsonReader, polys: list, where: str) -> list[list[float]]:
    """Rings as flat point lists; each ring is ``[[x, y], ...]`` (a flat ``[x, y, ...]`` is accepted)."""
    if polys and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in polys):
        polys = [polys]  # one ring written flat
    elif polys and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(c, (int, float)) for c in p) for p in polys
    ):
        polys = [polys]  # one ring of points, not wrapped in a list of rings
    out = []
    for k, ring in enumerate(polys):
        rw = f"{where}[{k}]"
        j.check(ring, rw, list)
        if ring and all(isinstance(p, list) for p in ring):
            flat = []
            for n, p in enumerate(ring):
                flat += j.numbers(p, f"{rw}[{n}]", length=2)
        else:
            flat = j.numbers(ring, rw)
            if len(flat) % 2:
                raise j.error(rw, f"{len(flat)} coordinates: x, y pairs expected")
        out.append([float(v) for v in flat])
    if not out:
        raise j.error(where, "no polygon")
    return out


def _definitions(path: Path) -> list[dict[str, Any]]:
    j = JsonReader(path)
    doc = load_json(path)
    j.check(doc, "$", list)
    out = []
    for i, d in enumerate(doc):
        where = f"[{i}]"
        name = str(j.get(d, "name", where, (str, int)))
        opts = j.get(d, "options", where, list, required=False)
        typ = j.get(d, "type", where, str, required=False, default="text")
        out.append({**d, "name": name, "type": typ, **({"options": opts} if opts is not None else {})})
    return out


def _ancestor(parent_of: dict[Any, Any], start: Any, target: Any) -> bool:
    """``target`` is ``start`` or above it, following ``parent_of`` (guards against cycles)."""
    seen = set()
    node = start
    while node is not None and node not in seen:
        if node == target:
            return True
        seen.add(node)
        node = parent_of.get(node)
    return False


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: InnotescusWriteOptions = options.format_options or InnotescusWriteOptions()
    class_ids = _ClassIds(dataset)
    sets: dict[str, _Set] = {}
    tasks_seen: set[str | None] = set()
    for item in dataset:
        name = _folder_name(item.subset or "default", report)
        s = sets.get(name)
        if s is None:
            s = sets[name] = _Set(name)
        s.add(item, class_ids, report)
        if options.save_media != "none":
            _export_media(item, target / "datasets" / name, s, options, report)
        tasks_seen |= s.tasks
    classes = class_ids.classes_json()
    ann_defs = _annotation_definitions(dataset, sets.values())
    item_defs_known = dataset.info.metadata.get("innotescus_item_metadata_definitions") or {}
    nested = any(t is not None for t in tasks_seen)
    for name, s in sets.items():
        item_defs = item_defs_known.get(name) if isinstance(item_defs_known, dict) else None
        items_json = list(s.entries.values())
        # every task's set lists all of the dataset's items; a dataset without annotations still gets one set
        tasks = sorted(s.tasks, key=lambda t: (t is not None, t or "")) or [None] if nested else [None]
        for task in tasks:
            folder = (
                target / "annotations" / _folder_name(task or "default", report) / name
                if nested
                else target / "annotations" / name
            )
            folder.mkdir(parents=True, exist_ok=True)
            anns = [a for t, a in s.annotations if not nested or t == task]
            (folder / CLASSES).write_bytes(dump_json(classes, indent=opts.indent))
            (folder / ANNOTATIONS).write_bytes(dump_json(anns, indent=opts.indent))
            (folder / ITEMS).write_bytes(dump_json(items_json, indent=opts.indent))
            (folder / ANN_DEFS).write_bytes(dump_json(ann_defs, indent=opts.indent))
            (folder / ITEM_DEFS).write_bytes(
                dump_json(item_defs or _inferred_definitions(s.attribute_values), indent=opts.indent)
            )
    if not sets:
        folder = target / "annotations" / "default"
        folder.mkdir(parents=True)
        for fname, content in (
            (CLASSES, classes),
            (ANNOTATIONS, []),
            (ITEMS, []),
            (ANN_DEFS, ann_defs),
            (ITEM_DEFS, []),
        ):
            (folder / fname).write_bytes(dump_json(content, indent=opts.indent))
    return True


class _Set:
    """One dataset's items and annotations, gathered while the items stream by."""

    def __init__(self, name: str):
        self.name = name
        self.entries: dict[str, dict[str, Any]] = {}  # media name -> dataset item entry
        self.annotations: list[tuple[str | None, dict]] = []
        self.tasks: set[str | None] = set()
        self.attribute_values: dict[str, list[Any]] = defaultdict(list)
        self.ann_values: dict[str, list[Any]] = defaultdict(list)
        self.exported: set[str] = set()
        self.frame_items_without_annotations = 0

    def _entry(self, item: Item, report: Report) -> dict[str, Any]:
        media = item.media
        video = isinstance(media, VideoFrame)
        name = media.video if video else (getattr(media, "name", None) or f"{item.id}.jpg")  # type: ignore[union-attr]
        entry = self.entries.get(name)
        if entry is None:
            entry = {"index": len(self.entries), "name": name, "type": "video" if video else "image"}
            if getattr(media, "width", None) and getattr(media, "height", None):
                entry["width"], entry["height"] = media.width, media.height  # type: ignore[union-attr]
            entry["metadata"] = dict(item.attributes)
            entry.update(item.metadata.get("innotescus_extra") or {})
            self.entries[name] = entry
        elif video:
            for k, v in item.attributes.items():
                if entry["metadata"].setdefault(k, v) != v:
                    report.loss("frame attributes differing within a video", "kept the first frame's value")
        else:
            report.loss("items sharing one media name", "merged into one dataset item")
        for k, v in item.attributes.items():
            self.attribute_values[k].append(v)
        return entry

    def add(self, item: Item, class_ids: _ClassIds, report: Report) -> None:
        if item.media is not None and item.media.kind not in ("image", "video_frame"):
            report.loss(f"{item.media.kind} media", "written as an image name")
        entry = self._entry(item, report)
        frame = item.media.frame if isinstance(item.media, VideoFrame) else None
        written = 0
        for ann in item.annotations:
            if ann.label is None:
                report.loss(f"{ann.type} without a label", "dropped (an Innotescus annotation needs a class)")
                continue
            obj: dict[str, Any] = {}
            if ann.id is not None:
                obj["id"] = ann.id
            obj.update(
                {
                    "dataset_item_index": entry["index"],
                    "frame_index": frame,
                    "class_id": class_ids[ann.label],
                    "instance_id": ann.track_id,
                }
            )
            if ann.type == "bbox":
                obj["type"] = "Box"
                obj["box"] = {
                    "x": _num(ann.x),
                    "y": _num(ann.y),
                    "width": _num(ann.w),
                    "height": _num(ann.h),
                    "orientation": _num(ann.rotation),
                }
            elif ann.type == "polygon":
                if ann.holes:
                    report.loss("polygon holes", "dropped (outer boundary kept)")
                obj["type"] = "Poly"
                obj["polygons"] = [_pairs(part) for part in ann.parts]
                obj["is_open"] = False
            elif ann.type == "polyline":
                obj["type"] = "Poly"
                obj["polygons"] = [_pairs(ann.points)]
                obj["is_open"] = True
            else:
                report.loss(ann.type, "dropped (the format cannot hold it)")
                continue
            annotators = ann.metadata.get("innotescus_annotators")
            if annotators is not None:
                obj["annotators"] = annotators
            obj["metadata"] = ann.attributes
            for k, v in ann.attributes.items():
                self.ann_values[k].append(v)
            obj.update(ann.metadata.get("innotescus_extra") or {})
            task = ann.metadata.get("innotescus_task")
            self.tasks.add(task)
            self.annotations.append((task, obj))
            written += 1
        if frame is not None and not written:
            report.loss("video frames without annotations", "dropped (a video is exported by its annotated frames)")


def _pairs(flat: list[float]) -> list[list[float]]:
    return [[_num(flat[i]), _num(flat[i + 1])] for i in range(0, len(flat) - 1, 2)]


def _num(v: float) -> int | float:
    """Whole numbers as integers, as annotation tools write pixel coordinates."""
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**53 else v


class _ClassIds(dict):
    """Each label's class id: its own when it is a free integer, else the next free one; a label
    that annotations use without declaring it gets an id when first seen."""

    def __init__(self, dataset: Dataset):
        super().__init__()
        self.dataset = dataset
        for lb in dataset.labels:
            if isinstance(lb.id, int) and lb.id not in self.values():
                self[lb.name] = lb.id
        for lb in dataset.labels:
            if lb.name not in self:
                self._new(lb.name)

    def _new(self, name: str) -> int:
        used = set(self.values())
        n = 1
        while n in used:
            n += 1
        self[name] = n
        return n

    def __missing__(self, name: str) -> int:
        return self._new(name)

    def classes_json(self) -> list[dict]:
        parents = {lb.name: lb.parent for lb in self.dataset.labels}
        names = [lb.name for lb in self.dataset.labels] + [n for n in self if n not in parents]
        return [
            {"id": self[n], "name": n, "parent_id": self.get(parents[n]) if parents.get(n) else None} for n in names
        ]


def _folder_name(name: str, report: Report) -> str:
    """A dataset or task name as one folder name (subset names from other formats may hold slashes)."""
    safe = name.replace("/", "_").replace("\\", "_")
    if safe in ("", ".", ".."):
        safe = "default"
    if safe != name:
        report.loss("subset or task names that are no folder name", "renamed")
    return safe


def _export_media(item: Item, dest: Path, s: _Set, options: WriteOptions, report: Report) -> None:
    media = item.media
    if isinstance(media, VideoFrame):
        path = media.path or ""
        if PurePosixPath(path).suffix.lower() not in _VIDEO_SUFFIXES:
            report.loss("video frame images", "not copied (Innotescus datasets hold the video file)")
            return
        fname = media.video
    else:
        fname = getattr(media, "name", None) or f"{item.id}.jpg"
    if fname not in s.exported:
        s.exported.add(fname)
        export_media(item, dest, options.save_media, report, name=fname)


def _annotation_definitions(dataset: Dataset, sets: Any) -> list[dict]:
    """Declared attributes of every label (once per name), then any attribute used but undeclared."""
    out: dict[str, dict] = {}
    for lb in dataset.labels:
        for a in lb.attributes:
            if a.name in out:
                continue
            original = a.metadata.get("innotescus")
            if isinstance(original, dict):
                out[a.name] = original
                continue
            d: dict[str, Any] = {"name": a.name, "type": _ATTR_TO_DEF.get(a.type, "text")}
            if a.values:
                d["options"] = list(a.values)
            if a.default is not None:
                d["default"] = a.default
            out[a.name] = d
    used: dict[str, list[Any]] = defaultdict(list)
    for s in sets:
        for k, vals in s.ann_values.items():
            used[k] += vals
    for d in _inferred_definitions(used):
        out.setdefault(d["name"], d)
    return list(out.values())


def _inferred_definitions(values: dict[str, list[Any]]) -> list[dict]:
    out = []
    for name, vals in values.items():
        kinds = {type(v) for v in vals if v is not None}
        if kinds == {bool}:
            typ = "boolean"
        elif kinds and kinds <= {int}:
            typ = "integer"
        elif kinds and kinds <= {int, float}:
            typ = "number"
        else:
            typ = "text"
        out.append({"name": name, "type": typ})
    return out


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Class tree problems (unknown parents, cycles), metadata not matching its definitions, and an
    instance id given to objects of different classes within one item or video."""
    problems: list[Problem] = []
    for folder, _task, _name, _top in _sets(source):
        classes_path = folder / CLASSES
        doc = load_json(classes_path)
        if not isinstance(doc, list):
            continue
        by_id = {c.get("id"): c.get("name") for c in doc if isinstance(c, dict)}
        parent_ids = {c.get("id"): c.get("parent_id") for c in doc if isinstance(c, dict)}
        for i, c in enumerate(doc):
            if not isinstance(c, dict) or c.get("parent_id") is None:
                continue
            if c["parent_id"] not in by_id:
                problems.append(
                    Problem(
                        severity="warning",
                        message=f"parent class {c['parent_id']!r} is not in classes.json",
                        file=str(classes_path),
                        location=f"[{i}].parent_id",
                    )
                )
            elif _ancestor(parent_ids, c["parent_id"], c.get("id")):
                problems.append(
                    Problem(
                        message=f"class {c.get('name')!r} is its own ancestor",
                        file=str(classes_path),
                        location=f"[{i}].parent_id",
                    )
                )
        problems += _check_annotations(folder, by_id)
    return problems


def _check_annotations(folder: Path, by_id: dict) -> list[Problem]:
    problems: list[Problem] = []
    path = folder / ANNOTATIONS
    anns = load_json(path)
    if not isinstance(anns, list):
        return problems
    defs = {d["name"]: d for d in _definitions(folder / ANN_DEFS)} if (folder / ANN_DEFS).is_file() else None
    instance_class: dict[tuple, tuple[Any, int]] = {}
    for i, ann in enumerate(anns):
        if not isinstance(ann, dict):
            continue
        meta = ann.get("metadata") or {}
        if defs is not None and isinstance(meta, dict):
            for key, value in meta.items():
                d = defs.get(key)
                if d is None:
                    problems.append(
                        Problem(
                            severity="warning",
                            message=f"metadata field {key!r} is not defined in {ANN_DEFS}",
                            file=str(path),
                            location=f"[{i}].metadata.{key}",
                        )
                    )
                elif not _fits(value, d):
                    problems.append(
                        Problem(
                            severity="warning",
                            message=f"metadata {key!r} = {value!r} does not fit its definition ({d.get('type')})",
                            file=str(path),
                            location=f"[{i}].metadata.{key}",
                        )
                    )
        inst = ann.get("instance_id")
        if inst is None:
            continue
        key = (ann.get("dataset_item_index"), inst)
        cls = ann.get("class_id", ann.get("class"))
        first = instance_class.setdefault(key, (cls, i))
        if first[0] != cls:
            problems.append(
                Problem(
                    severity="warning",
                    message=f"instance {inst} is class {by_id.get(first[0], first[0])!r} at [{first[1]}]"
                    f" and {by_id.get(cls, cls)!r} here",
                    file=str(path),
                    location=f"[{i}].instance_id",
                )
            )
    return problems


def _fits(value: Any, definition: dict) -> bool:
    typ = _DEF_TYPES.get(str(definition.get("type", "text")).lower(), "text")
    if value is None:
        return True
    if typ == "bool":
        return isinstance(value, bool)
    if typ == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if typ == "select":
        options = definition.get("options") or []
        return not options or value in options
    return True


__all__ = ["INFO", "InnotescusWriteOptions"]
