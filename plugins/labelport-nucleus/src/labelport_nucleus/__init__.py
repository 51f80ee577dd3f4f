"""Scale Nucleus payloads: annotations, dataset items, video scenes and taxonomies, as JSON or JSON Lines.

Specification followed: the Nucleus Python client (github.com/scaleapi/nucleus-python-client):
``nucleus/annotation.py`` (``to_payload``/``from_json`` of Box, Line, Polygon, Keypoints, Cuboid,
Category, MultiCategory, SceneCategory and Segmentation annotations), ``nucleus/constants.py`` (payload
keys), ``nucleus/dataset_item.py``, ``nucleus/scene.py`` (``VideoScene``), ``nucleus/utils.py``
(export rows) and ``nucleus/payload_constructor.py`` (taxonomies); and the Nucleus guides
(docs.nucleus.scale.com API reference, "Category Annotations", "Uploading videos").

Inputs:

- a ``.json`` file holding a list of payloads, an annotate request ``{"annotations": [...]}``, an append
  request ``{"items": [...]}`` / ``{"scenes": [...]}``, or an export (``{"exportedRows": [...]}`` or a
  list of rows ``{"item": {...}, "box": [...], "polygon": [...], "segmentation": {...}, ...}``);
- a ``.jsonl``/``.ndjson`` file with one payload per line (what the client's asynchronous upload writes);
- a folder of such files. Segmentation PNGs are found by ``mask_url`` relative to the payload file.

Mapping: ``box`` -> bbox, ``polygon`` -> polygon, ``line`` -> polyline, ``keypoints`` -> keypoints
(``visible`` true -> 2; false with coordinates -> 1; false without -> 0; ``names``/``skeleton`` become
the label's skeleton), ``cuboid`` -> cuboid_3d (``yaw`` is the rotation about z), ``category`` ->
label (``taxonomy_name`` kept; a category on a scene's reference id is a scene category),
``multicategory`` -> one label per entry, ``segmentation`` -> one mask per segment (``index`` kept).
``metadata`` is user data (annotation and item attributes); ``embedding_vector`` -> embedding;
``track_reference_id`` -> track id (digit strings as numbers, other strings numbered in order of
appearance and kept in ``metadata["nucleus_track_reference_id"]``).

Annotation ids: a payload without ``annotation_id`` gets the id the Nucleus client generates, so
re-importing is idempotent: ``{label}-{x}-{y}-{width}-{height}-{reference_id}`` for boxes and
``{label}-{reference_id}-keypoints`` for keypoints. The client generates none for the other kinds (the
server assigns one); for them labelport uses ``derived_id()`` (type, label and geometry), which is just as
deterministic. The writer writes every id; where the client's rule would give two annotations of one
item the same id (two skeletons of one label), the later one gets its ``derived_id()`` instead, since
Nucleus ignores an annotation whose id is taken.

Written layout (a folder): ``items.jsonl`` (dataset items; ``width``/``height`` added beside the
client's keys, which its ``from_json`` ignores), ``scenes.jsonl`` (video scenes with their frames),
``annotations.jsonl``, ``taxonomies.json`` and ``masks/*.png``. A ``.json``/``.jsonl`` target gets the
annotation payloads only.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import numpy as np
import orjson
from labelport.errors import FormatError
from labelport.geometry.masks import encode_png, masks_to_index, paste
from labelport.geometry.segmaps import read_map
from labelport.io.jsonio import JsonReader, dump_json, load_json, load_json_lines
from labelport.io.media import export_media, find_media, media_roots, safe_join
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
from labelport.schema import (
    BBox,
    Cuboid3D,
    Dataset,
    Image,
    Item,
    Keypoints,
    Label,
    Mask,
    PointCloud,
    Polygon,
    Polyline,
    Skeleton,
    Tag,
    Taxonomy,
    VideoFrame,
)


class NucleusWriteOptions(OptionsBase):
    """Nucleus writer options."""

    #: indent ``taxonomies.json`` and single ``.json`` targets
    indent: bool = False


INFO = FormatInfo(
    name="nucleus",
    title="Scale Nucleus payloads",
    description="Scale Nucleus annotation, dataset item, video scene and taxonomy payloads (JSON or JSON Lines).",
    extensions=(".json", ".jsonl", ".ndjson"),
    annotation_types=frozenset({"bbox", "polygon", "polyline", "keypoints", "cuboid_3d", "label", "mask"}),
    features=frozenset({"annotation_ids", "attributes", "item_attributes", "tracks", "embeddings", "skeletons"}),
    media=frozenset({"image", "video_frame", "point_cloud"}),
    single_file=True,
    write_options=NucleusWriteOptions,
    docs_url="https://docs.nucleus.scale.com/en/latest/api/nucleus/annotation/index.html",
)

ANNOTATION_TYPES = ("box", "line", "polygon", "keypoints", "cuboid", "category", "multicategory")
SEGMENTATION_TYPES = ("mask", "segmentation")
_ANN_KEYS = {
    "label",
    "labels",
    "type",
    "geometry",
    "reference_id",
    "annotation_id",
    "metadata",
    "embedding_vector",
    "track_reference_id",
    "task_id",
    "taxonomy_name",
    "mask_url",
    "annotations",
}
_ITEM_URL_KEYS = ("image_url", "original_image_url", "image_location", "pointcloud_url", "pointcloud_location", "url")
_SCENE_KEYS = {"frames", "video_url", "video_location", "frame_rate"}
_REMOTE_SCHEMES = {"http", "https", "s3", "gs", "gcs", "az", "azure", "abfs", "abfss", "wasb", "wasbs"}
_PAYLOAD_SUFFIXES = (".json", ".jsonl", ".ndjson")
_MAX_INDEX = 255  # Nucleus masks are 8-bit PNGs


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix not in _PAYLOAD_SUFFIXES:
            return None
        conf, what = _file_signature(probe, None)
        return Detection(format="nucleus", confidence=conf, reason=what) if conf else None
    best, reason = 0.0, ""
    for rel in _candidate_files(probe)[:50]:
        conf, what = _file_signature(probe, rel)
        if conf > best:
            best, reason = conf, f"{rel}: {what}"
    return Detection(format="nucleus", confidence=best, reason=reason) if best else None


def _candidate_files(probe: Probe) -> list[str]:
    return [f for f in probe.files() if f.count("/") <= 1 and f.lower().endswith(_PAYLOAD_SUFFIXES)]


def _file_signature(probe: Probe, rel: str | None) -> tuple[float, str]:
    """How much a file looks like Nucleus payloads: annotation payloads and export rows are
    unmistakable (``reference_id`` with ``geometry``/``mask_url``); items and scenes alone less so."""
    name = (rel or probe.path.name).lower()
    if name.endswith((".jsonl", ".ndjson")):
        objs = _head_lines(probe.text(rel, 1 << 18))
    else:
        doc = probe.json(rel)
        if doc is None:
            head = probe.head(rel, 1 << 20)
            if (
                head.lstrip()[:1] in (b"[", b"{")
                and b'"reference_id"' in head
                and (b'"geometry"' in head or b'"mask_url"' in head)
            ):
                return 0.85, "large JSON with Nucleus annotation keys"
            return 0.0, ""
        objs = _objects_of(doc)
    return _signature_of(objs)


def _head_lines(text: str) -> list[Any]:
    out = []
    for line in text.splitlines()[:20]:
        if not line.strip():
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            break  # a line cut by the probe's read limit, or not JSON Lines at all
    return out


def _objects_of(doc: Any) -> list[Any]:
    if isinstance(doc, list):
        return doc[:50]
    if isinstance(doc, dict):
        for key in ("annotations", "items", "scenes", "exportedRows"):
            if isinstance(doc.get(key), list):
                return doc[key][:50]
        return [doc]
    return []


def _signature_of(objs: list[Any]) -> tuple[float, str]:
    dicts = [o for o in objs if isinstance(o, dict)]
    if not dicts:
        return 0.0, ""
    kinds = Counter(_kind(o) for o in dicts)
    if kinds["annotation"] or kinds["segmentation"] or kinds["row"]:
        return 0.9, "Nucleus annotation payloads"
    if kinds["scene"]:
        return 0.6, "Nucleus video scene payloads"
    if kinds["taxonomy"] == len(dicts):
        return 0.3, "Nucleus taxonomy payloads"
    if kinds["item"] and all("reference_id" in o and any(k in o for k in _ITEM_URL_KEYS) for o in dicts):
        return 0.6, "Nucleus dataset item payloads"
    return 0.0, ""


def _is_member(probe: Probe, rel: str) -> bool:
    """A file of a Nucleus folder: signed like Nucleus payloads, or holding only payloads of known
    kinds (items without a location are read beside the annotations, never detected on their own)."""
    if _file_signature(probe, rel)[0] > 0:
        return True
    if rel.lower().endswith((".jsonl", ".ndjson")):
        objs = _head_lines(probe.text(rel, 1 << 18))
    else:
        objs = _objects_of(probe.json(rel))
    return bool(objs) and all(isinstance(o, dict) and _kind(o) != "unknown" for o in objs)


def _kind(obj: dict[str, Any]) -> str:
    """What a payload is: annotation, segmentation, item, scene, taxonomy or export row."""
    if isinstance(obj.get("item"), dict):
        return "row"
    t = obj.get("type")
    if "mask_url" in obj or (t in SEGMENTATION_TYPES and "annotations" in obj):
        return "segmentation"
    if "reference_id" in obj and t in ANNOTATION_TYPES and ("geometry" in obj or "label" in obj or "labels" in obj):
        return "annotation"
    if "taxonomy_name" in obj and "labels" in obj and "reference_id" not in obj:
        return "taxonomy"
    if ("reference_id" in obj or "ref_id" in obj) and _SCENE_KEYS & set(obj):
        return "scene"
    if (
        ("reference_id" in obj or "ref_id" in obj)
        and not {"geometry", "label", "labels"} & set(obj)
        and t in (None, "image", "pointcloud")
    ):
        return "item"
    return "unknown"


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    files = [source] if source.is_file() else [source / f for f in _payload_files(source)]
    if not files:
        raise FormatError("no Nucleus payload files found", file=source)
    records = _Records()
    for path in files:
        for where, obj in _file_records(path):
            records.add(path, where, obj)
    root = source.parent if source.is_file() else source
    return _Builder(records, root, options).build()


def _payload_files(folder: Path) -> list[str]:
    probe = Probe(folder)
    return [rel for rel in _candidate_files(probe) if _is_member(probe, rel)]


def _file_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(location, payload) pairs of a JSON or JSON Lines file."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for n, obj in load_json_lines(path):
            yield f"line {n}", obj
        return
    doc = load_json(path)
    if isinstance(doc, list):
        for i, obj in enumerate(doc):
            yield f"[{i}]", obj
        return
    if not isinstance(doc, dict):
        raise FormatError("expected a list of payloads or an object", file=path, location="$")
    lists = [k for k in ("annotations", "items", "scenes", "exportedRows") if isinstance(doc.get(k), list)]
    if lists and not (_kind(doc) == "segmentation"):
        for key in lists:
            for i, obj in enumerate(doc[key]):
                yield f"{key}[{i}]", obj
        return
    yield "$", doc


class _Records:
    """Every payload of the input, sorted by kind, with where it came from."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[Path, str, dict]] = {}
        self.scenes: dict[str, tuple[Path, str, dict]] = {}
        self.taxonomies: list[tuple[Path, str, dict]] = []
        self.annotations: list[tuple[Path, str, dict]] = []  # annotation and segmentation payloads
        self.repeated: list[tuple[Path, str, str]] = []  # items or scenes whose reference id came before

    def add(self, path: Path, where: str, obj: Any) -> None:
        j = JsonReader(path)
        if not isinstance(obj, dict):
            raise j.error(where, f"expected a payload object, got {type(obj).__name__}")
        kind = _kind(obj)
        if kind == "row":
            self._add_row(path, where, obj)
        elif kind in ("annotation", "segmentation"):
            self.annotations.append((path, where, obj))
        elif kind in ("item", "scene"):
            ref = _ref(j, obj, where)
            table = self.items if kind == "item" else self.scenes
            if ref in table:
                self.repeated.append((path, where, ref))
            table.setdefault(ref, (path, where, obj))
        elif kind == "taxonomy":
            self.taxonomies.append((path, where, obj))
        else:
            raise j.error(where, "not a Nucleus annotation, item, scene or taxonomy payload")

    def _add_row(self, path: Path, where: str, row: dict) -> None:
        """An export row: the item and its annotations listed by type (without reference ids)."""
        j = JsonReader(path)
        item = row["item"]
        ref = _ref(j, item, f"{where}.item")
        self.items.setdefault(ref, (path, f"{where}.item", item))
        for t in ANNOTATION_TYPES:
            anns = j.get(row, t, where, list, required=False, default=[])
            for i, ann in enumerate(anns):
                if not isinstance(ann, dict):
                    raise j.error(f"{where}.{t}[{i}]", "expected an object")
                self.annotations.append((path, f"{where}.{t}[{i}]", {"type": t, **ann, "reference_id": ref}))
        seg = row.get("segmentation")
        if seg is not None:
            j.check(seg, f"{where}.segmentation", dict)
            self.annotations.append((path, f"{where}.segmentation", {**seg, "reference_id": ref}))


def _ref(j: JsonReader, obj: dict, where: str) -> str:
    ref = obj.get("reference_id", obj.get("ref_id"))
    if ref is None:
        raise j.error(f"{where}.reference_id", "missing")
    return str(j.check(ref, f"{where}.reference_id", (str, int)))


class _Builder:
    """Turns the collected payloads into items, labels and taxonomies."""

    def __init__(self, records: _Records, root: Path, options: ReadOptions):
        self.r = records
        self.root = root
        self.options = options
        self.labels: dict[str, Label] = {}
        self.items: dict[str, Item] = {}
        self.tracks: dict[str, int] = {}
        self.taxonomy_labels: dict[str, list[str]] = {}
        self.taxonomy_kind: dict[str, str] = {}
        self.notes: list[str] = []
        self.used_track_ids: set[int] = set()

    def build(self) -> Dataset:
        for ref, (path, where, obj) in self.r.items.items():
            self.items[ref] = self._item(path, where, obj, ref)
        for ref, (path, where, obj) in self.r.scenes.items():
            self._scene(path, where, obj, ref)
        for path, where, obj in self.r.taxonomies:
            self._taxonomy(path, where, obj)
        self._reserve_numeric_tracks()
        for path, where, obj in self.r.annotations:
            j = JsonReader(path)
            ref = _ref(j, obj, where)
            item = self._item_for(ref)
            if _kind(obj) == "segmentation":
                self._segmentation(j, path, where, obj, item)
                continue
            item.annotations.extend(self._annotations(j, where, obj, ref))
        taxonomies = [
            Taxonomy(name=name, labels=labels, kind=self.taxonomy_kind.get(name, "category"))  # type: ignore[arg-type]
            for name, labels in self.taxonomy_labels.items()
        ]
        ds = Dataset(list(self.items.values()), labels=list(self.labels.values()), taxonomies=taxonomies)
        ds.notes.extend(self.notes)
        return ds

    # ---------------------------------------------------------------- items and scenes

    def _roots(self, path: Path) -> list[Path]:
        return media_roots(self.options.images, path.parent, path.parent / "images", self.root, self.root / "images")

    def _item(
        self, path: Path, where: str, obj: dict, ref: str, scene: str | None = None, frame: int | None = None
    ) -> Item:
        j = JsonReader(path)
        attrs = j.get(obj, "metadata", where, dict, required=False, default={})
        meta: dict[str, Any] = {}
        width = j.get(obj, "width", where, int, required=False)
        height = j.get(obj, "height", where, int, required=False)
        if (width is not None and width <= 0) or (height is not None and height <= 0):
            raise j.error(where, f"image size {width}x{height} is not positive")
        url, key = None, None
        for k in _ITEM_URL_KEYS:
            if obj.get(k) is not None:
                url, key = str(j.check(obj[k], f"{where}.{k}", str)), k
                break
        if obj.get("upload_to_scale") is False:
            meta["nucleus_upload_to_scale"] = False
        media: Any = None
        if url is not None:
            name, keep_url = _media_name(url)
            if keep_url:
                meta["nucleus_url"] = url
            found = find_media(self._roots(path), name, basename_fallback=True)
            spath = str(found) if found else None
            is_cloud = "pointcloud" in key or obj.get("type") == "pointcloud"
            if scene is not None and not is_cloud:
                media = VideoFrame(video=scene, frame=frame or 0, name=name, path=spath, width=width, height=height)
            elif is_cloud:
                media = PointCloud(name=name, path=spath)
            else:
                media = Image(name=name, path=spath, width=width, height=height)
        elif scene is not None:
            media = VideoFrame(video=scene, frame=frame or 0, width=width, height=height)
        return Item(id=ref, media=media, attributes=dict(attrs), metadata=meta)

    def _scene(self, path: Path, where: str, obj: dict, ref: str) -> None:
        j = JsonReader(path)
        frames = j.get(obj, "frames", where, list, required=False, default=[])
        scene_meta = {
            k: obj[k] for k in ("metadata", "frame_rate", "video_url", "upload_to_scale") if obj.get(k) is not None
        }
        if "metadata" in scene_meta:
            j.check(scene_meta["metadata"], f"{where}.metadata", dict)
        for pos, fr in enumerate(frames):
            fw = f"{where}.frames[{pos}]"
            if not isinstance(fr, dict):
                raise j.error(fw, "expected an object")
            if isinstance(fr.get("items"), dict):
                raise j.error(fw, "LiDAR scene frames (items per sensor) are not supported; video scenes are")
            fref = _ref(j, fr, fw)
            number = j.get(fr, "frame", fw, int, required=False, default=pos)
            if number < 0:
                raise j.error(f"{fw}.frame", f"frame number {number} is negative")
            item = self._item(path, fw, fr, fref, scene=ref, frame=number)
            item.metadata["nucleus_scene"] = {"reference_id": ref, **scene_meta}
            self.items.setdefault(fref, item)
        if not frames:
            # a scene given by its video alone: its scene categories still need a home
            self._scene_item(ref).metadata["nucleus_scene"] = {"reference_id": ref, **scene_meta}

    def _scene_item(self, ref: str) -> Item:
        item = self.items.get(ref)
        if item is None:
            item = self.items[ref] = Item(id=ref, metadata={"nucleus_scene_item": True})
        return item

    def _item_for(self, ref: str) -> Item:
        if ref in self.r.scenes:
            return self._scene_item(ref)
        item = self.items.get(ref)
        if item is None:
            item = self.items[ref] = Item(id=ref)
        return item

    def _taxonomy(self, path: Path, where: str, obj: dict) -> None:
        j = JsonReader(path)
        name = str(j.get(obj, "taxonomy_name", where, (str, int)))
        labels = j.get(obj, "labels", where, list)
        names = [str(j.check(v, f"{where}.labels[{i}]", (str, int))) for i, v in enumerate(labels)]
        known = self.taxonomy_labels.setdefault(name, [])
        known += [n for n in names if n not in known]
        for n in names:
            self._label(n)  # a taxonomy declares its labels, used or not

    # ---------------------------------------------------------------- annotations

    def _label(self, name: str) -> str:
        self.labels.setdefault(name, Label(name=name))
        return name

    def _reserve_numeric_tracks(self) -> None:
        # numeric track references keep their number; other strings take numbers no one uses
        for _, _, obj in self.r.annotations:
            t = obj.get("track_reference_id")
            if isinstance(t, str) and _numeric(t):
                self.used_track_ids.add(int(t))
            elif isinstance(t, int) and not isinstance(t, bool):
                self.used_track_ids.add(t)

    def _track(self, j: JsonReader, obj: dict, where: str, common: dict) -> None:
        t = obj.get("track_reference_id")
        if t is None:
            return
        t = j.check(t, f"{where}.track_reference_id", (str, int))
        if isinstance(t, int) or _numeric(t):
            common["track_id"] = int(t)
            return
        if t not in self.tracks:
            n = 1
            while n in self.used_track_ids:
                n += 1
            self.used_track_ids.add(n)
            self.tracks[t] = n
        common["track_id"] = self.tracks[t]
        common["metadata"]["nucleus_track_reference_id"] = t

    def _common(self, j: JsonReader, obj: dict, where: str) -> dict[str, Any]:
        common: dict[str, Any] = {"metadata": {}}
        aid = obj.get("annotation_id")
        if aid is not None:
            common["id"] = j.check(aid, f"{where}.annotation_id", (str, int))
        attrs = obj.get("metadata")
        if attrs is not None:
            common["attributes"] = dict(j.check(attrs, f"{where}.metadata", dict))
        emb = obj.get("embedding_vector")
        if emb is not None:
            common["embedding"] = [float(v) for v in j.numbers(emb, f"{where}.embedding_vector")]
        self._track(j, obj, where, common)
        task = obj.get("task_id")
        if task is not None:
            common["metadata"]["nucleus_task_id"] = task
        extra = {k: v for k, v in obj.items() if k not in _ANN_KEYS}
        if extra:
            common["metadata"]["nucleus_extra"] = extra
        return common

    def _annotations(self, j: JsonReader, where: str, obj: dict, ref: str) -> list[Any]:
        t = obj["type"]
        common = self._common(j, obj, where)
        if t == "multicategory":
            labels = j.get(obj, "labels", where, list)
            tax = _taxonomy_name(j, obj, where)
            out = []
            for i, lb in enumerate(labels):
                name = self._label(str(j.check(lb, f"{where}.labels[{i}]", (str, int))))
                meta = {**common["metadata"], "nucleus_multicategory": True}
                tag = Tag(**{**common, "metadata": meta}, label=name, taxonomy=tax)
                if tag.id is None:
                    tag.id = tag.derived_id()
                out.append(tag)
                self._note_taxonomy(tax, name, ref)
            return out
        raw_label = obj.get("label")
        if raw_label is None:
            raise j.error(f"{where}.label", "missing")
        label = self._label(str(j.check(raw_label, f"{where}.label", (str, int))))
        geom = obj.get("geometry")
        if t == "category":
            tax = _taxonomy_name(j, obj, where)
            self._note_taxonomy(tax, label, ref)
            ann: Any = Tag(**common, label=label, taxonomy=tax)
        else:
            geom = j.get(obj, "geometry", where, dict)
            gw = f"{where}.geometry"
            if t == "box":
                x, y, w, h = (_num(j, geom, k, gw) for k in ("x", "y", "width", "height"))
                if w < 0 or h < 0:
                    raise j.error(gw, f"negative box size {w}x{h}")
                ann = BBox(**common, label=label, x=x, y=y, w=w, h=h)
                if ann.id is None:
                    # the client's rule, formatted from the values as written
                    ann.id = f"{raw_label}-{geom['x']}-{geom['y']}-{geom['width']}-{geom['height']}-{ref}"
            elif t in ("line", "polygon"):
                pts = _vertices(j, geom, gw)
                ann = (
                    Polyline(**common, label=label, points=pts)
                    if t == "line"
                    else Polygon(**common, label=label, parts=[pts])
                )
            elif t == "keypoints":
                ann = self._keypoints(j, geom, gw, common, label)
                if ann.id is None:
                    ann.id = f"{raw_label}-{ref}-keypoints"
            else:  # cuboid
                pos = _point3d(j, j.get(geom, "position", gw, dict), f"{gw}.position")
                dims = _point3d(j, j.get(geom, "dimensions", gw, dict), f"{gw}.dimensions")
                yaw = float(j.get(geom, "yaw", gw, float, required=False, default=0.0))
                ann = Cuboid3D(**common, label=label, position=pos, dimensions=dims, rotation=(0.0, 0.0, yaw))
        if ann.id is None:
            ann.id = ann.derived_id()
        return [ann]

    def _note_taxonomy(self, tax: str | None, label: str, ref: str) -> None:
        if tax is None:
            return
        known = self.taxonomy_labels.setdefault(tax, [])
        if label not in known:
            known.append(label)
        if ref in self.r.scenes:
            self.taxonomy_kind[tax] = "scene"

    def _keypoints(self, j: JsonReader, geom: dict, gw: str, common: dict, label: str) -> Keypoints:
        kps = j.get(geom, "keypoints", gw, list)
        names = j.get(geom, "names", gw, list)
        if len(names) != len(kps):
            raise j.error(f"{gw}.names", f"{len(names)} names for {len(kps)} keypoints")
        names = [str(j.check(n, f"{gw}.names[{i}]", (str, int))) for i, n in enumerate(names)]
        points: list[float] = []
        vis: list[int] = []
        for i, kp in enumerate(kps):
            kw = f"{gw}.keypoints[{i}]"
            if not isinstance(kp, dict):
                raise j.error(kw, "expected an object")
            visible = j.get(kp, "visible", kw, bool, required=False, default=True)
            x = j.get(kp, "x", kw, float, required=False)
            y = j.get(kp, "y", kw, float, required=False)
            if (x is None) != (y is None):
                raise j.error(kw, "a keypoint needs both x and y or neither")
            if x is None:
                if visible:
                    raise j.error(kw, "a visible keypoint needs x and y")
                points += [0.0, 0.0]
                vis.append(0)
            else:
                points += [float(x), float(y)]
                vis.append(2 if visible else 1)
        edges: list[tuple[int, int]] = []
        skeleton = j.get(geom, "skeleton", gw, list, required=False, default=[])
        for k, pair in enumerate(skeleton):
            a, b = j.numbers(pair, f"{gw}.skeleton[{k}]", length=2)
            if a != int(a) or b != int(b) or not (0 <= a < len(kps) and 0 <= b < len(kps)):
                raise j.error(f"{gw}.skeleton[{k}]", f"skeleton index pair {pair} is not in 0..{len(kps) - 1}")
            edges.append((int(a), int(b)))
        lb = self.labels[label]
        if lb.skeleton is None:
            self.labels[label] = lb.model_copy(update={"skeleton": Skeleton(points=names, edges=edges)})
        return Keypoints(**common, label=label, points=points, visibility=vis, names=names)

    def _segmentation(self, j: JsonReader, path: Path, where: str, obj: dict, item: Item) -> None:
        url = str(j.get(obj, "mask_url", where, str))
        segments = j.get(obj, "annotations", where, list, required=False, default=[])
        parsed = []
        for i, seg in enumerate(segments):
            sw = f"{where}.annotations[{i}]"
            if not isinstance(seg, dict):
                raise j.error(sw, "expected an object")
            raw_label = seg.get("label")
            if raw_label is None:
                raise j.error(f"{sw}.label", "missing")
            label = str(j.check(raw_label, f"{sw}.label", (str, int)))
            index = seg.get("index")
            if isinstance(index, str) and index.isdigit():
                index = int(index)  # the client's own docstring example writes indices as strings
            index = j.check(index, f"{sw}.index", int) if index is not None else None
            if index is None:
                raise j.error(f"{sw}.index", "missing")
            attrs = j.get(seg, "metadata", sw, dict, required=False, default={})
            parsed.append((label, index, attrs))
        if _is_remote(url):
            # a mask in the cloud cannot be read here: keep the payload so a writer can pass it on
            item.metadata.setdefault("nucleus_remote_segmentations", []).append(obj)
            self.notes.append(f"item {item.id}: segmentation mask {url} is remote; kept as a reference, not read")
            for label, _, _ in parsed:
                self._label(label)
            return
        mask_path = _mask_path(path, url, j, where)
        arr = _read_index_png(mask_path, j, where)
        h, w = arr.shape
        media = item.media
        if media is not None and getattr(media, "width", None) and (media.width, media.height) != (w, h):  # type: ignore[union-attr]
            raise j.error(f"{where}.mask_url", f"mask is {w}x{h}, the image {media.width}x{media.height}")  # type: ignore[union-attr]
        if isinstance(media, (Image, VideoFrame)) and not media.width:
            item.media = media.model_copy(update={"width": w, "height": h})
        elif media is None:
            item.media = Image(width=w, height=h)
        seg_meta: dict[str, Any] = {}
        if obj.get("annotation_id") is not None:
            seg_meta["nucleus_segmentation_id"] = obj["annotation_id"]
        for label, index, attrs in parsed:
            ann = Mask.from_array(
                arr == index,
                label=self._label(label),
                attributes=dict(attrs),
                metadata={"nucleus_index": index, **seg_meta},
            )
            ann.id = ann.derived_id()
            item.annotations.append(ann)


def _numeric(text: str) -> bool:
    """A track reference that is a plain number (no sign, no leading zeros) keeps that number."""
    return text.isascii() and text.isdigit() and str(int(text)) == text


def _taxonomy_name(j: JsonReader, obj: dict, where: str) -> str | None:
    tax = obj.get("taxonomy_name")
    return None if tax is None else str(j.check(tax, f"{where}.taxonomy_name", (str, int)))


def _num(j: JsonReader, obj: dict, key: str, where: str) -> float:
    return float(j.get(obj, key, where, float))


def _vertices(j: JsonReader, geom: dict, gw: str) -> list[float]:
    verts = j.get(geom, "vertices", gw, list)
    pts: list[float] = []
    for i, v in enumerate(verts):
        vw = f"{gw}.vertices[{i}]"
        pts += [_num(j, v, "x", vw), _num(j, v, "y", vw)]
    return pts


def _point3d(j: JsonReader, obj: dict, where: str) -> tuple[float, float, float]:
    return (_num(j, obj, "x", where), _num(j, obj, "y", where), _num(j, obj, "z", where))


def _is_remote(url: str) -> bool:
    return urlparse(url).scheme.lower() in _REMOTE_SCHEMES or "://" in url


def _is_absolute(norm: str) -> bool:
    return norm.startswith("/") or (len(norm) > 1 and norm[1] == ":")


def _media_name(url: str) -> tuple[str, bool]:
    """The media name for a Nucleus location and whether the location must be kept beside it:
    relative local paths are names as they are; cloud URLs and absolute paths give their base name."""
    if _is_remote(url):
        return PurePosixPath(urlparse(url).path).name or url.rsplit("/", 1)[-1], True
    norm = url.replace("\\", "/")
    if _is_absolute(norm) or ".." in PurePosixPath(norm).parts:
        return PurePosixPath(norm).name, True
    return norm, False


def _mask_path(path: Path, url: str, j: JsonReader, where: str) -> Path:
    """A local mask: relative to the payload file (never outside it); an absolute path written on
    another machine is looked up by its base name beside the file or in ``masks/``."""
    norm = url.replace("\\", "/")
    if not _is_absolute(norm):
        return safe_join(path.parent, norm, file=path, location=f"{where}.mask_url")
    found = find_media(media_roots(path.parent, path.parent / "masks"), PurePosixPath(norm).name, stem_fallback=False)
    if found is None:
        raise j.error(
            f"{where}.mask_url",
            f"mask {url!r} is an absolute path and no file {PurePosixPath(norm).name!r} is beside the payloads",
        )
    return found


def _read_index_png(path: Path, j: JsonReader, where: str) -> np.ndarray:
    index = read_map(path)
    if index.ndim != 2:
        raise j.error(f"{where}.mask_url", f"mask {path.name} is a colour image; Nucleus masks hold one index per pixel")
    return index.astype(np.int64, copy=False)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: NucleusWriteOptions = options.format_options or NucleusWriteOptions()
    single = target.suffix.lower() in _PAYLOAD_SUFFIXES
    if single:
        sink = _Sink(target, json_list=target.suffix.lower() == ".json", indent=opts.indent)
        w = _Writer(dataset, target, options, report, sink, sink)
    else:
        w = _Writer(
            dataset, target, options, report, _Sink(target / "items.jsonl"), _Sink(target / "annotations.jsonl")
        )
    try:
        for item in dataset:
            w.add(item)
    finally:
        w.items.close()
        w.annotations.close()
    w.annotations.finish()  # an empty dataset still gets its (empty) annotation file
    if not single:
        scenes = w.scene_payloads()
        if scenes:
            (target / "scenes.jsonl").write_bytes(b"".join(dump_json(p) + b"\n" for p in scenes))
        taxonomies = w.taxonomy_payloads()
        if taxonomies:
            (target / "taxonomies.json").write_bytes(dump_json(taxonomies, indent=opts.indent))
    w.report_label_losses()
    return True


class _Sink:
    """Payloads written as they come (the dataset may be streamed): JSON Lines, or one JSON list."""

    def __init__(self, path: Path, *, json_list: bool = False, indent: bool = False):
        self.path = path
        self.json_list = json_list
        self.indent = indent
        self.fh: Any = None
        self.count = 0

    def append(self, payload: dict) -> None:
        if self.fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "wb")  # noqa: SIM115 - closed by close()
            if self.json_list:
                self.fh.write(b"[")
        if self.json_list:
            self.fh.write((b",\n" if self.count else b"\n") + dump_json(payload, indent=self.indent))
        else:
            self.fh.write(dump_json(payload) + b"\n")
        self.count += 1

    def close(self) -> None:
        if self.fh is not None and not self.fh.closed:
            if self.json_list:
                self.fh.write(b"\n]\n")
            self.fh.close()

    def finish(self) -> None:
        if self.fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"[]\n" if self.json_list else b"")


def _number(v: float) -> int | float:
    """Whole numbers as integers, as people write them in payloads (and as the client's id rule prints them)."""
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) < 2**53 else v


class _Writer:
    def __init__(
        self, dataset: Dataset, target: Path, options: WriteOptions, report: Report, items: _Sink, annotations: _Sink
    ):
        self.ds = dataset
        self.target = target
        self.options = options
        self.report = report
        self.single = items is annotations
        self.items = items
        self.annotations = annotations
        self.scenes: dict[str, dict] = {}
        self.frames: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        self.tax_used: dict[str, list[str]] = {}
        self.skeleton_written: set[str] = set()
        self.mask_names: set[str] = set()
        self.multi: list[Any] = []  # labels of multicategory payloads, gathered per item
        self.refs: set[str] = set()

    # ---------------------------------------------------------------- items

    def add(self, item: Item) -> None:
        if item.id in self.refs:
            # reference ids are unique in Nucleus; the same id in two subsets is told apart by its subset
            base = f"{item.subset}/{item.id}" if item.subset else item.id
            new, n = base, 1
            while new in self.refs:
                n += 1
                new = f"{base}#{n}"
            self.report.loss("items repeating a reference id (in another subset)", "renamed <subset>/<id>")
            item = item.model_copy(update={"id": new})
        self.refs.add(item.id)
        ref = item.id
        media = item.media
        if not self.single:
            if item.metadata.get("nucleus_scene_item"):
                # a scene's own annotations (scene categories); a scene without frames is written from here
                self._scene_base(item.id, item.metadata.get("nucleus_scene") or {})
            elif isinstance(media, VideoFrame):
                self._frame(item, media)
            else:
                self.items.append(self._item_payload(item))
        else:
            if media is not None and (getattr(media, "name", None) or item.attributes):
                self.report.loss(
                    "item media names and metadata", "dropped (a single payload file holds annotations only)"
                )
            if not item.annotations:
                self.report.loss("items without annotations", "dropped (a single payload file holds annotations only)")
        used_ids: set[str] = set()
        masks = []
        for ann in item.annotations:
            if ann.label is None:
                self.report.loss(f"{ann.type} without a label", "dropped (Nucleus requires one)")
                continue
            if ann.type == "mask":
                masks.append(ann)
                continue
            payload = self._annotation(ann, ref, used_ids)
            if payload is not None:
                self.annotations.append(payload)
        self._multicategories(ref)
        if masks:
            self._segmentation(item, masks)
        for seg in item.metadata.get("nucleus_remote_segmentations") or []:
            self.annotations.append({**seg, "reference_id": ref})

    def _location(self, item: Item) -> str | None:
        media = item.media
        if item.metadata.get("nucleus_url"):
            return str(item.metadata["nucleus_url"])
        if self.options.save_media != "none" and not self.single and media is not None:
            name = getattr(media, "name", None) or f"{item.id}.jpg"
            if export_media(item, self.target / "images", self.options.save_media, self.report, name=name) is not None:
                return f"images/{name}"
        return getattr(media, "name", None)

    def _item_payload(self, item: Item) -> dict:
        payload: dict[str, Any] = {"reference_id": item.id, "metadata": item.attributes}
        media = item.media
        location = self._location(item)
        if location is not None:
            payload["pointcloud_url" if isinstance(media, PointCloud) else "image_url"] = location
        if item.metadata.get("nucleus_upload_to_scale") is False:
            payload["upload_to_scale"] = False
        if getattr(media, "width", None) and getattr(media, "height", None):
            payload["width"], payload["height"] = media.width, media.height  # type: ignore[union-attr]
        if media is not None and media.kind == "volume":
            self.report.loss("volume media", "dropped (Nucleus items are images, point clouds or video frames)")
        return payload

    def _frame(self, item: Item, media: VideoFrame) -> None:
        self._scene_base(media.video, item.metadata.get("nucleus_scene") or {})
        frame: dict[str, Any] = {"reference_id": item.id, "type": "image", "metadata": item.attributes}
        location = self._location(item)
        if location is not None:
            frame["url"] = location
        if media.width and media.height:
            frame["width"], frame["height"] = media.width, media.height
        self.frames[media.video].append((media.frame, frame))

    def _scene_base(self, ref: str, scene: dict) -> None:
        if ref not in self.scenes:
            self.scenes[ref] = {"reference_id": ref, **{k: v for k, v in scene.items() if k != "reference_id"}}

    def scene_payloads(self) -> list[dict]:
        out = []
        for ref, scene in self.scenes.items():
            frames = sorted(self.frames[ref], key=lambda f: f[0])
            payload = dict(scene)
            if not frames:
                out.append(payload)
                continue
            payload["frames"] = []
            for pos, (number, frame) in enumerate(frames):
                if number != pos:
                    frame = {**frame, "frame": number}  # Nucleus frames are positions; keep a gap's numbers
                payload["frames"].append(frame)
            if payload.get("video_url") and payload["frames"]:
                payload.pop("video_url")  # a scene is a video or a list of frames, not both
            if not payload.get("frame_rate"):
                payload["frame_rate"] = 1  # required with frames; the source gave none
            out.append(payload)
        return out

    # ---------------------------------------------------------------- annotations

    def _common(self, ann: Any, ref: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"label": ann.label, "reference_id": ref, "metadata": ann.attributes}
        if ann.embedding is not None:
            payload["embedding_vector"] = ann.embedding
        if ann.track_id is not None:
            payload["track_reference_id"] = str(ann.metadata.get("nucleus_track_reference_id") or ann.track_id)
        if ann.metadata.get("nucleus_task_id") is not None:
            payload["task_id"] = ann.metadata["nucleus_task_id"]
        extra = ann.metadata.get("nucleus_extra")
        if isinstance(extra, dict):
            payload.update({k: v for k, v in extra.items() if k not in payload})
        return payload

    def _annotation(self, ann: Any, ref: str, used: set[str]) -> dict | None:
        p = self._common(ann, ref)
        rule_id: str | None = None
        t = ann.type
        if t == "bbox":
            geom = {"x": _number(ann.x), "y": _number(ann.y), "width": _number(ann.w), "height": _number(ann.h)}
            p.update(type="box", geometry=geom)
            rule_id = f"{ann.label}-{geom['x']}-{geom['y']}-{geom['width']}-{geom['height']}-{ref}"
        elif t in ("polygon", "polyline"):
            pts = ann.parts[0] if t == "polygon" else ann.points
            verts = [{"x": _number(pts[i]), "y": _number(pts[i + 1])} for i in range(0, len(pts) - 1, 2)]
            p.update(type="polygon" if t == "polygon" else "line", geometry={"vertices": verts})
        elif t == "keypoints":
            p.update(type="keypoints", geometry=self._keypoints_geometry(ann))
            rule_id = f"{ann.label}-{ref}-keypoints"
        elif t == "cuboid_3d":
            if ann.rotation[0] or ann.rotation[1]:
                self.report.loss("cuboid roll and pitch", "dropped (Nucleus cuboids turn about z only)")
            geom = {
                "position": dict(zip("xyz", map(_number, ann.position), strict=True)),
                "dimensions": dict(zip("xyz", map(_number, ann.dimensions), strict=True)),
                "yaw": ann.rotation[2],
            }
            p.update(type="cuboid", geometry=geom)
        elif t == "label":
            if ann.metadata.get("nucleus_multicategory"):
                self.multi.append(ann)
                return None
            p.update(type="category", geometry={})
            if ann.taxonomy is not None:
                p["taxonomy_name"] = ann.taxonomy
                self._use_taxonomy(ann.taxonomy, ann.label)
        else:
            self.report.loss(t, "dropped (the format cannot hold it)")
            return None
        p["annotation_id"] = self._id(ann, rule_id, used)
        return p

    def _multicategories(self, ref: str) -> None:
        """Labels read from one multicategory payload become one payload again (per taxonomy and track)."""
        groups: dict[tuple, list[Any]] = defaultdict(list)
        for ann in self.multi:
            key = (ann.taxonomy, ann.track_id, repr(sorted(ann.attributes.items())))
            groups[key].append(ann)
        for (tax, _, _), anns in groups.items():
            first = anns[0]
            p = self._common(first, ref)
            p.pop("label")
            p.update(labels=[a.label for a in anns], type="multicategory", geometry={})
            if tax is not None:
                p["taxonomy_name"] = tax
                for a in anns:
                    self._use_taxonomy(tax, a.label)
            self.annotations.append(p)
        self.multi.clear()

    def _id(self, ann: Any, rule_id: str | None, used: set[str]) -> str:
        if ann.id is not None:
            aid = str(ann.id)
        elif rule_id is not None and rule_id not in used:
            aid = rule_id
        else:
            aid = ann.derived_id()
        used.add(aid)
        return aid

    def _keypoints_geometry(self, ann: Keypoints) -> dict[str, Any]:
        label = self.ds.labels.get(ann.label) if ann.label else None
        skel = label.skeleton if label is not None else None
        n = len(ann.visibility)
        if ann.names and len(ann.names) == n:
            names = list(ann.names)
        elif skel is not None and len(skel.points) == n:
            names = list(skel.points)
        else:
            names = [str(i + 1) for i in range(n)]
        edges = [list(e) for e in skel.edges] if skel is not None and len(skel.points) == n else []
        if ann.label:
            self.skeleton_written.add(ann.label)
        kps = []
        for k, v in enumerate(ann.visibility):
            x, y = _number(ann.points[2 * k]), _number(ann.points[2 * k + 1])
            kps.append(
                {"x": x, "y": y, "visible": True}
                if v == 2
                else {"x": x, "y": y, "visible": False}
                if v == 1
                else {"x": None, "y": None, "visible": False}
            )
        return {"keypoints": kps, "names": names, "skeleton": edges}

    def _segmentation(self, item: Item, masks: list[Mask]) -> None:
        if self.single:
            self.report.loss(
                "mask", "dropped (a single payload file has no place for mask PNGs; write to a folder)", len(masks)
            )
            return
        media = item.media
        width, height = getattr(media, "width", None), getattr(media, "height", None)
        # a Nucleus mask has the image's size: masks of another size are cut or padded to it
        size = (height, width) if width and height else tuple(masks[0].rle.size)
        keep = masks
        misfits = sum(1 for m in keep if tuple(m.rle.size) != size)
        if misfits:
            self.report.loss("mask", "cut or padded to the image size", misfits)
        used: set[int] = set()
        wanted = [m.metadata.get("nucleus_index") for m in keep]
        counts = Counter(wanted)
        indices: list[int | None] = []
        for want in wanted:
            ok = isinstance(want, int) and 0 <= want <= _MAX_INDEX and counts[want] == 1 and want not in used
            indices.append(want if ok else None)
            if ok:
                used.add(want)  # type: ignore[arg-type]
        nxt = 1
        painted: list[tuple[int, np.ndarray]] = []
        segments = []
        for m, idx in zip(keep, indices, strict=True):
            if idx is None:
                while nxt in used:
                    nxt += 1
                if nxt > _MAX_INDEX:
                    self.report.loss("mask", "dropped (more than 255 segments in one 8-bit Nucleus mask)")
                    continue
                idx = nxt
                used.add(idx)
            arr = m.to_array()
            if arr.shape != size:
                arr = paste(arr, 0, 0, size[0], size[1])
            painted.append((idx, arr))
            seg: dict[str, Any] = {"label": m.label, "index": idx}
            if m.attributes:
                seg["metadata"] = m.attributes
            segments.append(seg)
        index_map = masks_to_index(painted, size)  # type: ignore[arg-type]
        overlaps = sum(1 for idx, arr in painted if (index_map[arr] != idx).any())
        if overlaps:
            self.report.loss(
                "mask", "partly covered by a later mask (a Nucleus mask holds one index per pixel)", overlaps
            )
        name = self._mask_name(item.id)
        (self.target / "masks").mkdir(parents=True, exist_ok=True)
        (self.target / "masks" / name).write_bytes(encode_png(index_map))
        payload: dict[str, Any] = {
            "type": "mask",
            "mask_url": f"masks/{name}",
            "annotations": segments,
            "reference_id": item.id,
        }
        seg_id = next(
            (
                m.metadata["nucleus_segmentation_id"]
                for m in keep
                if m.metadata.get("nucleus_segmentation_id") is not None
            ),
            None,
        )
        if seg_id is not None:
            payload["annotation_id"] = seg_id
        self.annotations.append(payload)

    def _mask_name(self, ref: str) -> str:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", ref).strip("._") or "item"
        name, n = f"{base}.png", 1
        while name.lower() in self.mask_names:
            n += 1
            name = f"{base}_{n}.png"
        self.mask_names.add(name.lower())
        return name

    # ---------------------------------------------------------------- taxonomies and labels

    def _use_taxonomy(self, tax: str, label: str) -> None:
        known = self.tax_used.setdefault(tax, [])
        if label not in known:
            known.append(label)

    def taxonomy_payloads(self) -> list[dict]:
        out: dict[str, list[str]] = {}
        for tax in self.ds.taxonomies:
            out[tax.name] = list(tax.labels)
        for name, labels in self.tax_used.items():
            known = out.setdefault(name, [])
            known += [lb for lb in labels if lb not in known]
        return [{"taxonomy_name": name, "type": "category", "labels": labels} for name, labels in out.items()]

    def report_label_losses(self) -> None:
        lost = [lb.name for lb in self.ds.labels if lb.skeleton is not None and lb.name not in self.skeleton_written]
        if lost:
            self.report.loss(
                "keypoint skeletons of labels without keypoints",
                "dropped (Nucleus keeps a skeleton on each keypoints payload)",
                len(lost),
            )


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """What Nucleus would refuse or silently ignore: duplicate annotation ids in an item (the later
    ones are ignored), a second segmentation of an item, repeated keypoint names, annotations on
    reference ids no item or scene declares."""
    files = [source] if source.is_file() else [source / f for f in _payload_files(source)]
    records = _Records()
    for path in files:
        for where, obj in _file_records(path):
            records.add(path, where, obj)
    problems: list[Problem] = [
        Problem(
            message=f"reference id {ref!r} is declared twice (the Nucleus client refuses duplicates)",
            file=str(path),
            location=where,
        )
        for path, where, ref in records.repeated
    ]
    ids: dict[tuple[str, str], str] = {}
    segs: dict[str, str] = {}
    frames = {
        str(fr.get("reference_id"))
        for _, _, s in records.scenes.values()
        for fr in s.get("frames") or []
        if isinstance(fr, dict)
    }
    declared = set(records.items) | set(records.scenes) | frames
    for path, where, obj in records.annotations:
        ref = str(obj.get("reference_id"))
        if declared and ref not in declared:
            problems.append(
                Problem(
                    severity="warning",
                    message=f"reference id {ref!r} is not a declared item or scene",
                    file=str(path),
                    location=where,
                )
            )
        if _kind(obj) == "segmentation":
            if ref in segs:
                problems.append(
                    Problem(
                        severity="warning",
                        message=f"a second segmentation for {ref!r} (Nucleus keeps one per item; first at {segs[ref]})",
                        file=str(path),
                        location=where,
                    )
                )
            segs.setdefault(ref, where)
            continue
        aid = obj.get("annotation_id")
        if aid is not None:
            key = (ref, str(aid))
            if key in ids:
                problems.append(
                    Problem(
                        severity="warning",
                        message=f"annotation id {aid!r} repeats in item {ref!r} (Nucleus ignores all but {ids[key]})",
                        file=str(path),
                        location=where,
                    )
                )
            ids.setdefault(key, where)
        geom = obj.get("geometry")
        names = geom.get("names") if isinstance(geom, dict) and obj.get("type") == "keypoints" else None
        if isinstance(names, list):
            dup = [n for n, c in Counter(map(str, names)).items() if c > 1]
            if dup:
                problems.append(
                    Problem(message=f"keypoint names repeat: {dup}", file=str(path), location=f"{where}.geometry.names")
                )
    return problems


__all__ = ["INFO", "NucleusWriteOptions"]
