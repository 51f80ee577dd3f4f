"""Datumaro JSON: the native format of the Datumaro framework (format version 1.0 and the
legacy files written before ``dm_format_version`` existed).

Specification: the Datumaro documentation (docs/.../formats/datumaro.md) and its reference
importer/exporter (``datumaro/plugins/data_formats/datumaro``). Layout read::

    <root>/annotations/<subset>.json     one file per subset
    <root>/images/<subset>/<path>         (older exports: images/<path>)
    <root>/point_clouds/<subset>/<path>

A folder may hold several such roots (``*/annotations/*.json``); a single annotation file
can be read on its own. Conventions kept at the boundary:

- ``label_id`` indexes ``categories.label.labels``; ``group`` 0 means "no group".
- Image ``size`` is ``[height, width]``; an ellipse is stored as its box corners
  ``[x1, y1, x2, y2]``; masks are COCO compressed RLE.
- Like CVAT's exports, ``score``, ``track_id``, ``keyframe``, ``outside`` and box/ellipse
  ``rotation`` (degrees) travel in the annotation ``attributes``; ``occluded`` stays a user
  attribute.
- Skeleton joints in ``categories.points`` are read 1-based (COCO's convention, which
  Datumaro's COCO importer keeps) unless a file uses index 0; they are written 1-based.
- Attribute declarations hold only names in Datumaro; their full CVAT-style specs
  (type, values, default, mutable) are kept under ``infos.attribute_specs``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from labelport.errors import FormatError
from labelport.geometry.masks import rle_check, rle_compress
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.io.media import export_media, find_media, is_inside, media_roots
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
    RLE,
    AttributeDef,
    BBox,
    Caption,
    Cuboid2D,
    Cuboid3D,
    Dataset,
    Ellipse,
    Image,
    Info,
    Item,
    Keypoints,
    Label,
    LabelSet,
    Mask,
    PointCloud,
    Points,
    Polygon,
    Polyline,
    Skeleton,
    Tag,
    Taxonomy,
    VideoFrame,
)

FORMAT_VERSION = "1.0"
#: Datumaro's ``MediaType`` numbers for the media kinds labelport writes
MEDIA_TYPES = {"image": 2, "video_frame": 4, "point_cloud": 6}


class DatumaroWriteOptions(OptionsBase):
    """Datumaro writer options."""

    #: indent the JSON files (larger, readable by eye)
    indent: bool = False


INFO = FormatInfo(
    name="datumaro",
    title="Datumaro JSON",
    description="Datumaro 1.0 JSON (annotations/<subset>.json) and legacy Datumaro files: every shape, "
    "attributes, groups, label hierarchy, skeletons, mask colours and CVAT track attributes.",
    extensions=(".json",),
    annotation_types=frozenset(
        {
            "bbox",
            "polygon",
            "polyline",
            "points",
            "keypoints",
            "ellipse",
            "cuboid_2d",
            "cuboid_3d",
            "mask",
            "label",
            "caption",
        }
    ),
    features=frozenset(
        {
            "annotation_ids",
            "attributes",
            "item_attributes",
            "groups",
            "tracks",
            "track_outside",
            "z_order",
            "scores",
            "rotation",
            "subsets",
            "label_colors",
            "label_hierarchy",
            "label_attributes",
            "skeletons",
        }
    ),
    media=frozenset({"image", "video_frame", "point_cloud"}),
    write_options=DatumaroWriteOptions,
    docs_url="https://github.com/openvinotoolkit/datumaro/blob/develop/docs/source/docs/data-formats/formats/datumaro.md",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".json":
            return None
        keys = probe.json_keys()
        if _is_datumaro_keys(keys):
            return Detection(format="datumaro", confidence=_confidence(keys), reason="JSON with categories and items")
        return None
    files = _annotation_files(probe.path, probe)
    if not files:
        return None
    keys = probe.json_keys(files[0][0].relative_to(probe.path).as_posix())
    return Detection(format="datumaro", confidence=_confidence(keys), reason=f"{len(files)} Datumaro annotation files")


def _is_datumaro_keys(keys: set[str]) -> bool:
    # COCO also has "categories" but never "items"; "images" rules COCO in
    return {"categories", "items"} <= keys and "images" not in keys


def _confidence(keys: set[str]) -> float:
    return 0.95 if "dm_format_version" in keys else 0.9


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    files = _annotation_files(source)
    if not files:
        raise FormatError("no Datumaro annotation files (annotations/<subset>.json) found", file=source)
    state = _ReadState()
    for path, root in files:
        _read_file(path, root, options, state)
    info = state.info
    if state.global_attributes:
        info.metadata["datumaro_attributes"] = state.global_attributes
    if state.group_types:
        info.metadata["datumaro_group_types"] = state.group_types
    items = list(state.items.values())
    missing = [_media_name(i) for i in items if _media_missing(i)]
    if not options.keep_missing_media:
        items = [i for i in items if not _media_missing(i)]
    dataset = Dataset(items, info=info, labels=state.labels, taxonomies=state.taxonomies.values())
    dataset.missing_media = missing
    return dataset


def _media_missing(item: Item) -> bool:
    """The item names an image or point cloud file that is not on disk."""
    media = item.media
    return media is not None and media.kind != "volume" and media.name is not None and media.path is None


def _media_name(item: Item) -> str:
    return getattr(item.media, "name", None) or item.id


class _ReadState:
    """What the files of one dataset share: labels by name, items by (subset, id), info."""

    def __init__(self) -> None:
        self.labels = LabelSet()
        self.items: dict[tuple[str, str], Item] = {}
        self.info = Info()
        self.global_attributes: list[str] = []
        self.taxonomies: dict[str, Taxonomy] = {}
        self.group_types: dict[str, str] = {}
        self.attribute_specs: dict[str, Any] = {}


class _FileContext:
    """Per-file lookups: label names by index (ids are per file) and media roots."""

    def __init__(self, j: JsonReader, names: list[str], subset: str, image_roots: list[Path], pcd_roots: list[Path]):
        self.j = j
        self.names = names
        self.subset = subset
        self.image_roots = image_roots
        self.pcd_roots = pcd_roots


def _read_file(path: Path, root: Path, options: ReadOptions, state: _ReadState) -> None:
    doc = load_json(path)
    j = JsonReader(path)
    if not isinstance(doc, dict):
        raise j.error("$", "expected a Datumaro object with categories and items")
    version = doc.get("dm_format_version")
    if version is not None:
        j.check(version, "dm_format_version", str)
        m = re.fullmatch(r"(\d{1,6})(?:\.\d{1,6})*", version)
        if m is None:
            raise j.error("dm_format_version", f"invalid version {version!r}")
        if int(m.group(1)) > int(FORMAT_VERSION.split(".")[0]):
            raise j.error("dm_format_version", f"format version {version} is newer than the supported {FORMAT_VERSION}")
    subset = path.stem
    _read_infos(j, doc, state)
    names = _read_categories(j, doc, state)
    images = root / "images"
    pcds = root / "point_clouds"
    image_roots = media_roots(options.images, images / subset, images, root)
    pcd_roots = media_roots(pcds / subset, pcds, root)
    ctx = _FileContext(j, names, subset, image_roots, pcd_roots)
    raw_items = j.get(doc, "items", "", list)
    for i, desc in enumerate(raw_items):
        item = _read_item(ctx, desc, f"items[{i}]", state)
        key = (subset, item.id)
        if key in state.items:  # the same item in two sources: Datumaro merges them
            state.items[key].annotations.extend(item.annotations)
        else:
            state.items[key] = item
    if version is not None:
        state.info.metadata.setdefault("datumaro_format_version", version)


def _read_infos(j: JsonReader, doc: dict, state: _ReadState) -> None:
    key = "infos" if "infos" in doc else "info"
    raw = doc.get(key)
    if raw is None:
        return
    raw = dict(j.check(raw, key, dict))
    info = state.info
    for field in ("name", "description", "version"):
        if isinstance(raw.get(field), str):
            value = raw.pop(field)
            if getattr(info, field) is None:
                setattr(info, field, value)
    licenses = raw.pop("licenses", None)
    if isinstance(licenses, list) and not info.licenses:
        info.licenses = [x for x in licenses if isinstance(x, dict)]
    specs = raw.pop("attribute_specs", None)
    if isinstance(specs, dict):
        state.attribute_specs.update(specs)
    if raw:
        merged = info.metadata.setdefault("datumaro_infos", {})
        for k, v in raw.items():
            merged.setdefault(k, v)


def _read_categories(j: JsonReader, doc: dict, state: _ReadState) -> list[str]:
    """Merge this file's categories into the state; returns label names by index."""
    cats = j.get(doc, "categories", "", dict)
    names: list[str] = []
    label_cat = j.get(cats, "label", "categories", dict, required=False)
    specs = state.attribute_specs
    if label_cat is not None:
        where = "categories.label"
        for a in j.get(label_cat, "attributes", where, list, required=False, default=[]):
            name = str(j.check(a, f"{where}.attributes[]", (str, int)))
            if name not in state.global_attributes:
                state.global_attributes.append(name)
        for i, raw in enumerate(j.get(label_cat, "labels", where, list)):
            lw = f"{where}.labels[{i}]"
            name = str(j.get(raw, "name", lw, (str, int)))
            parent = j.get(raw, "parent", lw, str, required=False) or None
            attrs = []
            for k, a in enumerate(j.get(raw, "attributes", lw, list, required=False, default=[])):
                attrs.append(_attribute_def(j.check(a, f"{lw}.attributes[{k}]", (str, int)), specs.get(name)))
            names.append(name)
            if name not in state.labels:
                state.labels.add(Label(name=name, parent=parent, attributes=attrs))
        for i, raw in enumerate(j.get(label_cat, "label_groups", where, list, required=False, default=[])):
            gw = f"{where}.label_groups[{i}]"
            gname = str(j.get(raw, "name", gw, (str, int)))
            members = [str(j.check(x, f"{gw}.labels[]", (str, int))) for x in j.get(raw, "labels", gw, list)]
            gtype = j.get(raw, "group_type", gw, str, required=False, default="exclusive")
            state.taxonomies.setdefault(gname, Taxonomy(name=gname, labels=members))
            state.group_types.setdefault(gname, gtype)
    mask_cat = j.get(cats, "mask", "categories", dict, required=False)
    if mask_cat is not None:
        for i, raw in enumerate(j.get(mask_cat, "colormap", "categories.mask", list)):
            cw = f"categories.mask.colormap[{i}]"
            lid = j.get(raw, "label_id", cw, int)
            rgb = tuple(int(j.get(raw, c, cw, int)) for c in "rgb")
            if not all(0 <= v <= 255 for v in rgb):
                raise j.error(cw, f"colour {rgb} is outside 0..255")
            label = _label_at(j, names, lid, f"{cw}.label_id", state)
            if label.color is None:
                label.color = rgb  # type: ignore[assignment]
    points_cat = j.get(cats, "points", "categories", dict, required=False)
    if points_cat is not None:
        for i, raw in enumerate(j.get(points_cat, "items", "categories.points", list)):
            pw = f"categories.points.items[{i}]"
            lid = j.get(raw, "label_id", pw, int)
            point_names = [str(j.check(x, f"{pw}.labels[]", (str, int))) for x in j.get(raw, "labels", pw, list)]
            joints = []
            for k, pair in enumerate(j.get(raw, "joints", pw, list, required=False, default=[])):
                a, b = j.numbers(pair, f"{pw}.joints[{k}]", length=2)
                joints.append((int(a), int(b)))
            label = _label_at(j, names, lid, f"{pw}.label_id", state)
            if label.skeleton is None:
                label.skeleton = _skeleton(j, point_names, joints, pw)
                if any(0 in p for p in joints):
                    label.metadata["datumaro_joints_base"] = 0
    return names


def _attribute_def(name: Any, spec: Any) -> AttributeDef:
    """An attribute declaration, with its full spec when ``infos.attribute_specs`` has one."""
    name = str(name)
    if isinstance(spec, list):
        for s in spec:
            if isinstance(s, dict) and s.get("name") == name:
                try:
                    return AttributeDef.model_validate(s)
                except ValueError:
                    break
    return AttributeDef(name=name)


def _skeleton(j: JsonReader, names: list[str], joints: list[tuple[int, int]], where: str) -> Skeleton:
    # 1-based as in COCO (Datumaro's COCO importer keeps COCO's pairs); a 0 means 0-based
    base = 0 if any(0 in p for p in joints) else 1
    edges = [(a - base, b - base) for a, b in joints]
    for k, (a, b) in enumerate(edges):
        if not (0 <= a < len(names) and 0 <= b < len(names)):
            raise j.error(
                f"{where}.joints[{k}]", f"joint {joints[k]} refers to a point outside the {len(names)} labels"
            )
    return Skeleton(points=names, edges=edges)


def _label_at(j: JsonReader, names: list[str], lid: int, where: str, state: _ReadState) -> Label:
    if not 0 <= lid < len(names):
        raise j.error(where, f"label id {lid} is outside the {len(names)} declared labels")
    return state.labels[names[lid]]


# ------------------------------------------------------------------ items


def _read_item(ctx: _FileContext, desc: Any, where: str, state: _ReadState) -> Item:
    j = ctx.j
    if not isinstance(desc, dict):
        raise j.error(where, "expected an object")
    item_id = str(j.get(desc, "id", where, (str, int)))
    attrs = j.get(desc, "attr", where, dict, required=False, default={})
    meta: dict[str, Any] = {}
    media = _read_media(ctx, desc, where, item_id, meta)
    anns: list[Any] = []
    for k, ann in enumerate(j.get(desc, "annotations", where, list, required=False, default=[])):
        parsed = _read_annotation(ctx, ann, f"{where}.annotations[{k}]", state)
        if parsed is not None:
            anns.append(parsed)
    return Item(id=item_id, subset=ctx.subset, media=media, annotations=anns, attributes=dict(attrs), metadata=meta)


def _read_media(ctx: _FileContext, desc: dict, where: str, item_id: str, meta: dict[str, Any]) -> Any:
    j = ctx.j
    image = j.get(desc, "image", where, dict, required=False)
    pcd = j.get(desc, "point_cloud", where, dict, required=False)
    frame = j.get(desc, "video_frame", where, dict, required=False)
    if image is not None and pcd is not None:
        raise j.error(where, "an item cannot have both an image and a point cloud")
    if pcd is not None:
        name = j.get(pcd, "path", f"{where}.point_cloud", str, required=False)
        related = []
        for k, ri in enumerate(j.get(desc, "related_images", where, list, required=False, default=[])):
            related.append(j.get(ri, "path", f"{where}.related_images[{k}]", str))
        found = _find(ctx.pcd_roots, name) if name else None
        return PointCloud(name=name, path=str(found) if found else None, related_images=related)
    width = height = None
    name = None
    if image is not None:
        name = j.get(image, "path", f"{where}.image", str, required=False)
        size = image.get("size")
        if size is not None:
            h, w = j.numbers(size, f"{where}.image.size", length=2)
            if h != int(h) or w != int(w) or h < 0 or w < 0:
                raise j.error(
                    f"{where}.image.size", f"image size {size} is not two non-negative integers [height, width]"
                )
            height, width = int(h), int(w)
    if frame is not None:
        video = str(j.get(frame, "video_path", f"{where}.video_frame", (str, int), required=False, default=""))
        index = j.get(frame, "frame_index", f"{where}.video_frame", int)
        if index < 0:
            raise j.error(f"{where}.video_frame.frame_index", f"negative frame index {index}")
        found = _find(ctx.image_roots, name) if name else None
        return VideoFrame(
            video=video, frame=index, name=name, path=str(found) if found else None, width=width, height=height
        )
    if image is not None:
        found = _find(ctx.image_roots, name or f"{item_id}.jpg")
        return Image(name=name, path=str(found) if found else None, width=width, height=height)
    other = j.get(desc, "media", where, dict, required=False)
    if other is not None and other.get("path") is not None:
        name = j.get(other, "path", f"{where}.media", str)
        meta["datumaro_media_element"] = True
        found = _find(ctx.image_roots, name)
        return Image(name=name, path=str(found) if found else None)
    video = j.get(desc, "video", where, dict, required=False)
    if video is not None:
        meta["datumaro_video"] = video  # a whole video as one item: no canonical media kind
    return None


def _find(roots: list[Path], name: str) -> Path | None:
    """The media file for a name from the annotation file; names leaving the dataset
    (absolute paths written by old exports, ``../``) are looked up by their base name."""
    return find_media(roots, name, stem_fallback=False, basename_fallback=True)


# ------------------------------------------------------------------ annotations

_SHAPES = ("bbox", "polygon", "polyline", "points", "ellipse", "cuboid_2d", "mask", "skeleton")


def _read_annotation(ctx: _FileContext, ann: Any, where: str, state: _ReadState) -> Any:
    j = ctx.j
    if not isinstance(ann, dict):
        raise j.error(where, "expected an object")
    kind = j.get(ann, "type", where, str)
    if kind == "hash_key":
        return None  # a model-inference cache entry, not an annotation
    common, rotation = _common(ctx, ann, where, kind, state)
    if kind == "label":
        return Tag(**common)
    if kind == "caption":
        common.pop("label", None)
        return Caption(**common, text=j.get(ann, "caption", where, str))
    if kind == "bbox":
        x, y, w, h = j.numbers(ann.get("bbox"), f"{where}.bbox", length=4)
        return BBox(**common, x=x, y=y, w=w, h=h, rotation=rotation)
    if kind == "polygon":
        return Polygon(**common, parts=[_flat_points(j, ann, where, min_points=0)])
    if kind == "polyline":
        return Polyline(**common, points=_flat_points(j, ann, where, min_points=0))
    if kind == "points":
        return _read_points(ctx, ann, where, common, state)
    if kind == "ellipse":
        x1, y1, x2, y2 = j.numbers(ann.get("points"), f"{where}.points", length=4)
        return Ellipse(
            **common, cx=(x1 + x2) / 2, cy=(y1 + y2) / 2, rx=(x2 - x1) / 2, ry=(y2 - y1) / 2, rotation=rotation
        )
    if kind == "cuboid_2d":
        raw = ann.get("points")
        if isinstance(raw, list) and raw and all(isinstance(p, list) for p in raw):
            flat = [v for k, p in enumerate(raw) for v in j.numbers(p, f"{where}.points[{k}]", length=2)]
        else:
            flat = j.numbers(raw, f"{where}.points")
        if len(flat) != 16:
            raise j.error(f"{where}.points", f"a 2D cuboid has 8 points, got {len(flat) / 2:g}")
        return Cuboid2D(**common, points=flat)
    if kind == "cuboid_3d":
        position = j.numbers(ann.get("position"), f"{where}.position", length=3)
        rotation = j.numbers(ann.get("rotation", [0, 0, 0]), f"{where}.rotation", length=3)
        scale = j.numbers(ann.get("scale", [1, 1, 1]), f"{where}.scale", length=3)
        return Cuboid3D(**common, position=tuple(position), rotation=tuple(rotation), dimensions=tuple(scale))
    if kind == "mask":
        return Mask(**common, rle=_read_rle(j, ann, where))
    if kind == "skeleton":
        return _read_skeleton(ctx, ann, where, common, state)
    raise j.error(f"{where}.type", f"unknown annotation type {kind!r}")


def _common(ctx: _FileContext, ann: dict, where: str, kind: str, state: _ReadState) -> tuple[dict[str, Any], float]:
    """The fields every annotation has, and the box/ellipse rotation kept in the attributes."""
    j = ctx.j
    rotation = 0.0
    out: dict[str, Any] = {}
    ann_id = ann.get("id")
    if ann_id is not None:
        out["id"] = j.check(ann_id, f"{where}.id", (int, str))
    label = _label_name(ctx, ann, where, state)
    if label is not None:
        out["label"] = label
    group = j.get(ann, "group", where, int, required=False, default=0)
    if group:
        out["group"] = group
    z_order = j.get(ann, "z_order", where, int, required=False, default=0)
    if z_order:
        out["z_order"] = z_order
    attrs = dict(j.get(ann, "attributes", where, dict, required=False, default={}))
    # CVAT and Datumaro keep these in the attributes; they are fields of the canonical model
    score = attrs.get("score")
    if _is_number(score):
        out["score"] = float(j.check(attrs.pop("score"), f"{where}.attributes.score", float))
    track = attrs.get("track_id")
    if isinstance(track, int) and not isinstance(track, bool):
        out["track_id"] = attrs.pop("track_id")
    elif isinstance(ann.get("object_id"), int) and not isinstance(ann["object_id"], bool) and ann["object_id"] >= 0:
        out["track_id"] = ann["object_id"]
    if isinstance(attrs.get("keyframe"), bool):
        out["keyframe"] = attrs.pop("keyframe")
    if isinstance(attrs.get("outside"), bool):
        out["outside"] = attrs.pop("outside")
    if kind in ("bbox", "ellipse") and _is_number(attrs.get("rotation")):
        rotation = float(j.check(attrs.pop("rotation"), f"{where}.attributes.rotation", float))
    out["attributes"] = attrs
    return out, rotation


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _label_name(ctx: _FileContext, ann: dict, where: str, state: _ReadState) -> str | None:
    lid = ann.get("label_id")
    if lid is None:
        return None
    ctx.j.check(lid, f"{where}.label_id", int)
    if 0 <= lid < len(ctx.names):
        return ctx.names[lid]
    # Datumaro itself accepts an index past the declared labels; keep the annotation under a
    # placeholder label (validation reports it) rather than refusing the whole file
    name = f"label_{lid}"
    if name not in state.labels:
        state.labels.add(Label(name=name, metadata={"datumaro_undeclared": True}))
    return name


def _flat_points(j: JsonReader, ann: dict, where: str, min_points: int) -> list[float]:
    pts = j.numbers(ann.get("points"), f"{where}.points")
    if len(pts) % 2:
        raise j.error(f"{where}.points", f"odd number of coordinates ({len(pts)})")
    if len(pts) < 2 * min_points:
        raise j.error(f"{where}.points", f"expected at least {min_points} points, got {len(pts) // 2}")
    return [float(v) for v in pts]


def _visibility(j: JsonReader, raw: Any, where: str, n: int) -> list[int]:
    vis = j.numbers(raw, where, length=n)
    if any(v not in (0, 1, 2) for v in vis):
        raise j.error(where, "visibility flags must be 0 (absent), 1 (hidden) or 2 (visible)")
    return [int(v) for v in vis]


def _read_points(ctx: _FileContext, ann: dict, where: str, common: dict[str, Any], state: _ReadState) -> Any:
    j = ctx.j
    pts = _flat_points(j, ann, where, min_points=0)
    n = len(pts) // 2
    raw_vis = ann.get("visibility")
    vis = _visibility(j, raw_vis, f"{where}.visibility", n) if raw_vis is not None else None
    label = state.labels.get(common.get("label")) if common.get("label") else None
    if label is not None and label.skeleton is not None and len(label.skeleton.points) == n and n:
        # a points annotation of a label with a points category is a skeleton instance
        return Keypoints(**common, points=pts, visibility=vis if vis is not None else [2] * n)
    return Points(**common, points=pts, visibility=vis)


def _read_skeleton(ctx: _FileContext, ann: dict, where: str, common: dict[str, Any], state: _ReadState) -> Keypoints:
    """CVAT's skeleton annotation: either ``elements`` (one points annotation per skeleton
    point, labelled with the point's label) or flat ``points`` triplets ``x, y, v`` with
    ``points_attributes``."""
    j = ctx.j
    label = state.labels.get(common.get("label")) if common.get("label") else None
    if label is None or label.skeleton is None:
        raise j.error(f"{where}.label_id", "a skeleton annotation needs a label with a points category")
    names = label.skeleton.points
    n = len(names)
    pts = [0.0] * (2 * n)
    vis = [0] * n
    point_attrs: list[dict[str, Any]] = [{} for _ in range(n)]
    meta: dict[str, Any] = {}
    if "elements" in ann:
        meta["datumaro_skeleton_form"] = "elements"
        for k, el in enumerate(j.get(ann, "elements", where, list)):
            ew = f"{where}.elements[{k}]"
            if not isinstance(el, dict):
                raise j.error(ew, "expected an object")
            name = _label_name(ctx, el, ew, state)
            if name not in names:
                raise j.error(f"{ew}.label_id", f"label {name!r} is not a point of the skeleton {label.name!r}")
            idx = names.index(name)
            xy = _flat_points(j, el, ew, min_points=1)
            if len(xy) != 2:
                raise j.error(f"{ew}.points", f"a skeleton element is one point, got {len(xy) // 2}")
            raw_vis = el.get("visibility")
            v = _visibility(j, raw_vis, f"{ew}.visibility", 1)[0] if raw_vis is not None else 2
            pts[2 * idx : 2 * idx + 2] = xy
            vis[idx] = v
            point_attrs[idx] = dict(j.get(el, "attributes", ew, dict, required=False, default={}))
    else:
        meta["datumaro_skeleton_form"] = "triplets"
        flat = j.numbers(ann.get("points"), f"{where}.points", length=3 * n)
        for k in range(n):
            x, y, v = flat[3 * k : 3 * k + 3]
            if v not in (0, 1, 2):
                raise j.error(f"{where}.points[{3 * k + 2}]", "visibility flags must be 0, 1 or 2")
            pts[2 * k : 2 * k + 2] = [float(x), float(y)]
            vis[k] = int(v)
        raw_attrs = j.get(ann, "points_attributes", where, list, required=False, default=[])
        for k, a in enumerate(raw_attrs[:n]):
            point_attrs[k] = dict(j.check(a, f"{where}.points_attributes[{k}]", dict))
    if any(point_attrs):
        meta["datumaro_point_attributes"] = point_attrs
    return Keypoints(**common, points=pts, visibility=vis, metadata=meta)


def _read_rle(j: JsonReader, ann: dict, where: str) -> RLE:
    rle = j.get(ann, "rle", where, dict)
    size = j.numbers(rle.get("size"), f"{where}.rle.size", length=2)
    if any(v != int(v) or v < 0 for v in size):
        raise j.error(f"{where}.rle.size", f"mask size {size} is not two non-negative integers [height, width]")
    h, w = int(size[0]), int(size[1])
    counts = rle.get("counts")
    if isinstance(counts, list):
        counts = [int(c) for c in j.numbers(counts, f"{where}.rle.counts")]
        if any(c < 0 for c in counts) or sum(counts) != h * w:
            raise j.error(f"{where}.rle.counts", f"run lengths do not cover the {h}x{w} mask")
        return RLE(size=(h, w), counts=counts)
    j.check(counts, f"{where}.rle.counts", str)
    try:
        return rle_check(RLE(size=(h, w), counts=counts))
    except FormatError as exc:
        raise j.error(f"{where}.rle.counts", f"invalid compressed RLE ({exc.message})") from None



def _annotation_files(source: Path, probe: Probe | None = None) -> list[tuple[Path, Path]]:
    """``(annotation file, dataset root)`` pairs: the file itself, ``annotations/*.json``
    below the folder (several datasets may sit side by side), or a bare annotations folder."""
    if source.is_file():
        root = source.parent.parent if source.parent.name == "annotations" else source.parent
        return [(source, root)]
    probe = probe or Probe(source)
    out: list[tuple[Path, Path]] = []
    candidates = [f for f in probe.files("**/annotations/*.json") if f.count("/") <= 3]
    if not candidates and source.name == "annotations":
        candidates = probe.files("*.json")
    for rel in candidates:
        if not _is_datumaro_keys(probe.json_keys(rel)):
            continue
        path = source / rel
        root = path.parent.parent if path.parent.name == "annotations" else path.parent
        out.append((path, root))
    return out


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: DatumaroWriteOptions = options.format_options or DatumaroWriteOptions()
    ann_dir = target / "annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    writer = _Writer(dataset, target, options, report)
    try:
        for item in dataset:
            writer.add(item)
    finally:
        for part in writer.parts.values():
            part.close()
    if not writer.parts:
        writer.part("default").close()  # an empty dataset still reads back
    # the head names every label, known only once all items went by
    header = _header(dataset, writer, report)
    for subset, part in writer.parts.items():
        out = ann_dir / f"{subset}.json"
        with open(out, "wb") as fh, open(part.path, "rb") as body:
            fh.write(header[:-1] + b',"items":[')
            shutil.copyfileobj(body, fh, 1 << 20)
            fh.write(b"]}")
        part.path.unlink()
        if opts.indent:
            out.write_bytes(dump_json(orjson.loads(out.read_bytes()), indent=True))
    return True


class _Part:
    """The items of one subset, written as they stream by (joined into the file at the end)."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = open(path, "wb")
        self.count = 0

    def write(self, data: bytes) -> None:
        if self.count:
            self.fh.write(b",")
        self.fh.write(data)
        self.count += 1

    def close(self) -> None:
        self.fh.close()


class _Writer:
    def __init__(self, dataset: Dataset, target: Path, options: WriteOptions, report: Report):
        self.dataset = dataset
        self.target = target
        self.options = options
        self.report = report
        self.parts: dict[str, _Part] = {}
        self.media_kinds: set[str] = set()
        self.index = {name: k for k, name in enumerate(dataset.labels.names())}

    def part(self, subset: str) -> _Part:
        if subset not in self.parts:
            self.parts[subset] = _Part(self.target / "annotations" / f".{subset}.items.part")
        return self.parts[subset]

    def subset_name(self, subset: str | None) -> str:
        """The subset as a file name (Datumaro names each file after its subset)."""
        name = subset or "default"
        safe = name.replace("/", "_").replace("\\", "_").strip(".") or "default"
        if safe != name:
            self.report.loss("subset names that are not file names", f"renamed ({name!r} -> {safe!r})")
        return safe

    def label_id(self, name: str | None) -> int | None:
        if name is None:
            return None
        if name not in self.index:  # a label met only in the items (or declared while streaming)
            self.dataset.labels.add(name)
            self.index = {n: k for k, n in enumerate(self.dataset.labels.names())}
        return self.index[name]

    def add(self, item: Item) -> None:
        subset = self.subset_name(item.subset)
        part = self.part(subset)
        desc: dict[str, Any] = {"id": item.id, "annotations": []}
        if item.attributes:
            desc["attr"] = item.attributes
        self._media(item, subset, desc)
        for ann in item.annotations:
            converted = self._annotation(ann)
            if converted is not None:
                desc["annotations"].append(converted)
        part.write(dump_json(desc))

    # ------------------------------------------------------------------ media

    def _media(self, item: Item, subset: str, desc: dict[str, Any]) -> None:
        media = item.media
        if media is None:
            if "datumaro_video" in item.metadata:
                desc["video"] = item.metadata["datumaro_video"]
            return
        if media.kind == "volume":
            self.report.loss("volume media", "dropped (Datumaro JSON holds images, video frames and point clouds)")
            return
        self.media_kinds.add(media.kind)
        if media.kind == "point_cloud":
            name = self._place(item, media, self.target / "point_clouds" / subset)
            desc["point_cloud"] = {"path": name}
            if media.related_images:
                desc["related_images"] = [{"path": p} for p in media.related_images]
            return
        name = self._place(item, media, self.target / "images" / subset)
        image: dict[str, Any] = {}
        if name is not None:
            image["path"] = name
        if media.width is not None and media.height is not None:
            image["size"] = [media.height, media.width]
        if item.metadata.get("datumaro_media_element") and "size" not in image and name is not None:
            desc["media"] = {"path": name}
            return
        if image:
            desc["image"] = image
        if media.kind == "video_frame":
            desc["video_frame"] = {"video_path": media.video, "frame_index": media.frame}

    def _place(self, item: Item, media: Any, folder: Path) -> str | None:
        """The media name to write; puts the file below ``folder`` when media are saved."""
        name = media.name
        if self.options.save_media == "none":
            return name
        if name is None or not is_inside(folder, name):  # absolute or ../ names: keep the base name
            src = Path(media.path) if media.path else None
            name = Path(name).name if name else (src.name if src else f"{item.id}.jpg")
        export_media(item, folder, self.options.save_media, self.report, name=name)
        return name

    # ------------------------------------------------------------------ annotations

    def _annotation(self, ann: Any) -> dict[str, Any] | None:
        report = self.report
        attrs = dict(ann.attributes)
        if ann.score is not None:
            attrs["score"] = ann.score
        if ann.track_id is not None:
            attrs["track_id"] = ann.track_id
        if ann.keyframe is not None:
            attrs["keyframe"] = ann.keyframe
        if ann.outside or ann.track_id is not None:
            attrs["outside"] = ann.outside
        if ann.type in ("bbox", "ellipse") and ann.rotation:
            attrs["rotation"] = ann.rotation
        if ann.group == 0:
            report.loss("annotation group 0", "dropped (0 means 'no group' in Datumaro)")
        out: dict[str, Any] = {"type": ann.type, "attributes": attrs, "group": ann.group or 0}
        if ann.id is not None:  # without an id Datumaro's reader uses its default
            out = {"id": self._ann_id(ann.id), **out}
        if ann.type != "caption":
            out["label_id"] = self.label_id(ann.label)
        elif ann.label is not None:
            report.loss("caption labels", "dropped (a Datumaro caption has no label)")
        out["z_order"] = ann.z_order
        t = ann.type
        if t == "label":
            if ann.taxonomy:
                report.loss("tag taxonomies", "dropped (Datumaro label groups keep the label sets)")
        elif t == "caption":
            out["caption"] = ann.text
        elif t == "bbox":
            out["bbox"] = [ann.x, ann.y, ann.w, ann.h]
        elif t == "polygon":
            out["points"] = ann.parts[0] if ann.parts else []
        elif t == "polyline":
            out["points"] = ann.points
        elif t == "points":
            out["points"] = ann.points
            if ann.visibility is not None:
                out["visibility"] = ann.visibility
        elif t == "keypoints":
            return self._keypoints(ann, out)
        elif t == "ellipse":
            out["points"] = [ann.cx - ann.rx, ann.cy - ann.ry, ann.cx + ann.rx, ann.cy + ann.ry]
        elif t == "cuboid_2d":
            out["points"] = [ann.points[k : k + 2] for k in range(0, 16, 2)]
        elif t == "cuboid_3d":
            out["position"] = list(ann.position)
            out["rotation"] = list(ann.rotation)
            out["scale"] = list(ann.dimensions)
        elif t == "mask":
            rle = rle_compress(ann.rle)
            out["rle"] = {"counts": rle.counts, "size": list(rle.size)}
        else:  # the core reduced the dataset to the declared kinds
            raise AssertionError(t)
        return out

    def _ann_id(self, value: Any) -> int:
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.lstrip("-").isdecimal() and len(value) < 20:
            return int(value)
        self.report.loss("annotation ids that are not integers", "replaced by 0")
        return 0

    def _keypoints(self, ann: Keypoints, out: dict[str, Any]) -> dict[str, Any]:
        form = ann.metadata.get("datumaro_skeleton_form")
        label = self.dataset.labels.get(ann.label) if ann.label else None
        names = label.skeleton.points if label is not None and label.skeleton is not None else None
        point_attrs = ann.metadata.get("datumaro_point_attributes") or [{}] * len(ann.visibility)
        n = len(ann.visibility)
        if form == "triplets" and names is not None and len(names) == n:
            out["type"] = "skeleton"
            out["points"] = [v for k in range(n) for v in (ann.points[2 * k], ann.points[2 * k + 1], ann.visibility[k])]
            out["points_attributes"] = list(point_attrs)[:n]
            return out
        if (
            form == "elements"
            and names is not None
            and len(names) == n
            and all(p in self.dataset.labels for p in names)
        ):
            out["type"] = "skeleton"
            out["elements"] = [
                {
                    "id": 0,
                    "type": "points",
                    "attributes": dict(point_attrs[k]) if k < len(point_attrs) else {},
                    "group": 0,
                    "label_id": self.label_id(names[k]),
                    "z_order": 0,
                    "points": [ann.points[2 * k], ann.points[2 * k + 1]],
                    "visibility": [ann.visibility[k]],
                }
                for k in range(n)
            ]
            return out
        if any(point_attrs):
            self.report.loss("skeleton point attributes", "dropped (written as a Datumaro points annotation)")
        out["type"] = "points"
        out["points"] = ann.points
        out["visibility"] = ann.visibility
        return out


def _header(dataset: Dataset, writer: _Writer, report: Report) -> bytes:
    """The file head (everything but the items), built once all labels are known."""
    labels = list(dataset.labels)
    label_cat: dict[str, Any] = {
        "labels": [
            {"name": lb.name, "parent": lb.parent or "", "attributes": [a.name for a in lb.attributes]} for lb in labels
        ],
        "attributes": sorted(set(dataset.info.metadata.get("datumaro_attributes") or [])),
    }
    group_types = dataset.info.metadata.get("datumaro_group_types") or {}
    groups = []
    for tax in dataset.taxonomies:
        gtype = group_types.get(tax.name, "exclusive")
        groups.append({"name": tax.name, "group_type": gtype, "labels": tax.labels})
    if groups:
        label_cat["label_groups"] = groups
    categories: dict[str, Any] = {"label": label_cat}
    colormap = [
        {"label_id": i, "r": lb.color[0], "g": lb.color[1], "b": lb.color[2]} for i, lb in enumerate(labels) if lb.color
    ]
    if colormap:
        categories["mask"] = {"colormap": colormap}
    points = []
    for i, lb in enumerate(labels):
        if lb.skeleton is None:
            continue
        base = 0 if lb.metadata.get("datumaro_joints_base") == 0 else 1
        points.append(
            {
                "label_id": i,
                "labels": lb.skeleton.points,
                "joints": [[a + base, b + base] for a, b in lb.skeleton.edges],
            }
        )
        if lb.skeleton.flip_pairs:
            report.loss("skeleton flip pairs", "dropped (Datumaro points categories have none)")
    if points:
        categories["points"] = {"items": points}
    kinds = writer.media_kinds
    media_type = MEDIA_TYPES[next(iter(kinds))] if len(kinds) == 1 else MEDIA_TYPES["image"]
    return dump_json(
        {
            "dm_format_version": FORMAT_VERSION,
            "media_type": media_type,
            "infos": _infos(dataset),
            "categories": categories,
        }
    )


def _infos(dataset: Dataset) -> dict[str, Any]:
    info = dataset.info
    out = dict(info.metadata.get("datumaro_infos") or {})
    for field in ("name", "description", "version"):
        if getattr(info, field):
            out[field] = getattr(info, field)
    if info.licenses:
        out["licenses"] = info.licenses
    specs = {
        lb.name: [a.model_dump() for a in lb.attributes]
        for lb in dataset.labels
        if any(a != AttributeDef(name=a.name) for a in lb.attributes)
    }
    if specs:  # Datumaro declares attributes by name only; keep CVAT's full specs beside them
        out["attribute_specs"] = specs
    return out


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Label indices past the declared labels (Datumaro's reader accepts them; the annotation
    is read under a placeholder label) and colour-map or points entries for unknown labels."""
    problems: list[Problem] = []
    for path, _root in _annotation_files(source):
        doc = load_json(path)
        if not isinstance(doc, dict):
            continue

        def problem(message: str, location: str, severity: str = "error", file: str = str(path)) -> None:
            problems.append(Problem(severity=severity, message=message, file=file, location=location))  # type: ignore[arg-type]

        cats = doc.get("categories") if isinstance(doc.get("categories"), dict) else {}
        label_cat = cats.get("label") if isinstance(cats.get("label"), dict) else {}
        labels = label_cat.get("labels") if isinstance(label_cat.get("labels"), list) else []
        n = len(labels)
        names = [lb.get("name") for lb in labels if isinstance(lb, dict)]
        for name in sorted({x for x in names if isinstance(x, str) and names.count(x) > 1}):
            problem(f"label {name!r} is declared more than once", "categories.label.labels", "warning")
        for i, item in enumerate(doc.get("items") or []):
            if not isinstance(item, dict):
                continue
            for k, ann in enumerate(item.get("annotations") or []):
                if not isinstance(ann, dict):
                    continue
                for lid, where in _label_refs(ann, f"items[{i}].annotations[{k}]"):
                    if isinstance(lid, int) and not isinstance(lid, bool) and not 0 <= lid < n:
                        problem(f"label_id {lid} is outside the {n} declared labels", where)
    return problems


def _label_refs(ann: dict, where: str) -> Iterator[tuple[Any, str]]:
    yield ann.get("label_id"), f"{where}.label_id"
    for k, el in enumerate(ann.get("elements") or []):
        if isinstance(el, dict):
            yield el.get("label_id"), f"{where}.elements[{k}].label_id"
