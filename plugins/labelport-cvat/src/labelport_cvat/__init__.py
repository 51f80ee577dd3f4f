"""CVAT for images 1.1 and CVAT for video 1.1 XML.

Specification: https://docs.cvat.ai/docs/dataset_management/formats/format-xml/ and CVAT's
dataset manager (``cvat/apps/dataset_manager/formats/cvat.py``). Layouts read: a single XML
file; a folder (or the CVAT zip) with ``annotations.xml`` and ``images/``; Datumaro's CVAT
layout ``<subset>.xml`` + ``images/``; a folder holding several of these.

How CVAT maps to the canonical schema:

- ``occluded="1"`` -> ``attributes["occluded"] = True`` (as Datumaro does); ``source`` ->
  ``metadata["cvat_source"]``; ``group_id`` -> ``group`` (0 = none); ``z_order`` -> ``z_order``.
- ``<track>`` shapes -> one annotation per stored frame, sharing ``track_id``, with
  ``keyframe`` and ``outside`` kept (outside shapes are kept: they close the track).
- ``<skeleton>`` -> ``keypoints`` in the order of the label's skeleton; element visibility
  0 = outside, 1 = occluded, 2 = visible.
- ``<mask>`` (row-major RLE inside its box) -> a full-image ``mask``; ``<cuboid>`` ->
  ``cuboid_2d`` (16 values in CVAT's corner order); ``<tag>`` -> ``label``.
- Frames of a video task become :class:`VideoFrame` items named ``frame_%06d`` unless an
  ``<image>`` element names them.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from labelport.errors import FormatError, LabelportError
from labelport.geometry.masks import cvat_rle_decode, cvat_rle_encode, rle_decode, rle_encode
from labelport.io.media import IMAGE_SUFFIXES, MediaIndex, export_media, find_media, frame_number, image_size, is_inside
from labelport.io.xml import parse_xml, xml_location
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
    AttributeDef,
    BBox,
    Cuboid2D,
    Dataset,
    Ellipse,
    Image,
    Info,
    Item,
    Keypoints,
    Label,
    Mask,
    Points,
    Polygon,
    Polyline,
    Skeleton,
    Tag,
    VideoFrame,
)
from lxml import etree


class CvatWriteOptions(OptionsBase):
    """CVAT writer options."""

    #: True writes CVAT for video (tracks), False CVAT for images; by default each subset
    #: is written as video when any of its annotations has a track id
    video: bool | None = None


INFO = FormatInfo(
    name="cvat",
    title="CVAT XML 1.1",
    description="CVAT for images 1.1 and CVAT for video 1.1 XML: shapes, tracks, skeletons, masks, tags, attributes.",
    extensions=(".xml",),
    annotation_types=frozenset(
        {"bbox", "polygon", "polyline", "points", "keypoints", "ellipse", "cuboid_2d", "mask", "label"}
    ),
    features=frozenset(
        {
            "attributes",
            "groups",
            "tracks",
            "track_outside",
            "z_order",
            "rotation",
            "subsets",
            "label_colors",
            "label_attributes",
            "skeletons",
        }
    ),
    media=frozenset({"image", "video_frame"}),
    single_file=True,
    write_options=CvatWriteOptions,
    docs_url="https://docs.cvat.ai/docs/dataset_management/formats/format-xml/",
)

SHAPES = ("box", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton")
CUBOID_KEYS = (
    "xtl1",
    "ytl1",
    "xbl1",
    "ybl1",
    "xtr1",
    "ytr1",
    "xbr1",
    "ybr1",
    "xtl2",
    "ytl2",
    "xbl2",
    "ybl2",
    "xtr2",
    "ytr2",
    "xbr2",
    "ybr2",
)
_KIND_TO_TAG = {
    "bbox": "box",
    "polygon": "polygon",
    "polyline": "polyline",
    "points": "points",
    "ellipse": "ellipse",
    "cuboid_2d": "cuboid",
    "mask": "mask",
    "keypoints": "skeleton",
}
#: the largest canvas a mask is decoded onto (a corrupt image size must not exhaust memory)
MAX_MASK_PIXELS = 1 << 30


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """An XML file (or a folder holding one) with CVAT's ``<annotations>`` root and ``<meta>``."""
    if not probe.is_dir:
        if probe.suffix != ".xml":
            return None
        strength = _signature(probe, None)
        if strength is None:
            return None
        return Detection(format="cvat", confidence=strength, reason="XML <annotations> with CVAT <version>/<meta>")
    found = [(rel, s) for rel in _candidate_files(probe) if (s := _signature(probe, rel)) is not None]
    if not found:
        return None
    best = max(s for _, s in found)
    return Detection(format="cvat", confidence=best, reason=f"{len(found)} CVAT XML file(s)")


def _signature(probe: Probe, rel: str | None) -> float | None:
    """0.95 for ``<annotations>`` with CVAT's ``<version>``/``<meta>``, 0.6 for one holding
    CVAT ``<image>``/``<track>`` elements only, None otherwise."""
    if probe.xml_root(rel) != "annotations":
        return None
    text = probe.text(rel)
    if "<version>" in text or "<meta>" in text:
        return 0.95
    if re.search(r"<(image|track)\s[^>]*\b(id|name|label)=", text):
        return 0.6
    return None


def _candidate_files(probe: Probe) -> list[str]:
    """XML files that may be CVAT annotations: ``annotations.xml`` at any depth up to 2,
    top-level XML files, and XML files next to an ``images`` folder (Datumaro's layout).
    Checking every XML of a VOC folder would be slow and pointless."""
    out: list[str] = []
    for rel in probe.files("**/*.xml"):
        depth = rel.count("/")
        if depth > 2:
            continue
        parent = rel.rsplit("/", 1)[0] if depth else ""
        if depth == 0 or Path(rel).name.lower() == "annotations.xml" or (probe.path / parent / "images").is_dir():
            out.append(rel)
        if len(out) >= 64:
            break
    return out


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    """Every CVAT XML file of ``source``: labels from ``<meta>``, one item per image or frame."""
    if source.is_file():
        files = [(source, None)]
    else:
        probe = Probe(source)
        rels = [rel for rel in _candidate_files(probe) if _signature(probe, rel) is not None]
        if not rels:
            raise FormatError("no CVAT annotation XML found", file=source)
        several = len(rels) > 1
        files = [(source / rel, _subset_from_file(rel, several)) for rel in rels]
    reader = _Reader(options)
    for path, subset_hint in files:
        reader.read_file(path, subset_hint)
    dataset = Dataset(reader.items, info=reader.info, labels=list(reader.labels.values()))
    dataset.missing_media = reader.missing_media
    return dataset


def _subset_from_file(rel: str, several: bool) -> str | None:
    """Datumaro names each CVAT file after its subset (``train.xml``); CVAT's own export is
    ``annotations.xml``, named after its folder when a folder holds several datasets."""
    path = Path(rel)
    if path.stem.lower() not in ("annotations", "default"):
        return path.stem
    if several and path.parent.name:
        return path.parent.name
    return None


@dataclass
class _Task:
    id: int | None = None
    name: str | None = None
    mode: str | None = None
    subset: str | None = None
    size: int | None = None
    start: int | None = None
    stop: int | None = None
    step: int | None = None
    frame_size: tuple[int, int] | None = None  # width, height


@dataclass
class _Frame:
    subset: str | None
    task: int | None
    frame: int
    name: str | None = None
    width: int | None = None
    height: int | None = None
    from_image: bool = False
    anns: list[Any] = field(default_factory=list)


@dataclass
class _PendingMask:
    """A mask waiting for its frame's size to be known."""

    common: dict[str, Any]
    counts: list[int]
    box: tuple[int, int, int, int]  # left, top, width, height
    where: str


class _Reader:
    """Reads CVAT XML files into items, labels and info."""

    def __init__(self, options: ReadOptions):
        self.options = options
        self.labels: dict[str, Label] = {}
        self.info = Info()
        self.items: list[Item] = []
        self._keys: set[tuple[str | None, str]] = set()
        self._track_ids: set[int] = set()
        self.missing_media: list[str] = []
        self._spec_cache: dict[str | None, dict[str, AttributeDef]] = {}

    # ------------------------------------------------------------ file

    def read_file(self, path: Path, subset_hint: str | None) -> None:
        self.file = str(path)
        root = parse_xml(path)
        if not isinstance(root.tag, str) or etree.QName(root).localname != "annotations":
            raise FormatError("the root element is not <annotations>", file=path, location=xml_location(root))
        self.subset_hint = subset_hint
        self.tasks: dict[int | None, _Task] = {None: _Task()}
        self.project = False
        self.video_name: str | None = None
        self.frames: dict[tuple[str | None, int | None, int], _Frame] = {}
        version = root.findtext("version")
        if version is not None:
            self.info.metadata.setdefault("cvat_version", version.strip())
        meta = root.find("meta")
        if meta is not None:
            self._read_meta(meta)
        for child in root:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "image":
                self._read_image(child)
            elif child.tag == "track":
                tid = self._int(child, "id")
                if tid in self._track_ids:
                    # CVAT gives track ids no meaning; a repeated one (or one of another file) is renumbered
                    tid = max(self._track_ids) + 1
                self._track_ids.add(tid)
                self._read_track(child, tid)
        if any(t.mode == "interpolation" for t in self.tasks.values()):
            self._add_unannotated_frames(path.parent)
        self._build_items(path.parent)

    # ------------------------------------------------------------ meta

    def _read_meta(self, meta: etree._Element) -> None:
        project = meta.find("project")
        store: dict[str, Any] = {}
        if project is not None:
            self.project = True
            store["kind"] = "project"
            holder = project
            for t in project.findall("tasks/task"):
                task = self._read_task(t)
                self.tasks[task.id] = task
                store.setdefault("tasks", []).append(_task_dict(task))
            subsets = project.findtext("subsets")
            if subsets:
                store["subsets"] = [s.strip() for s in subsets.split("\n") if s.strip()]
        else:
            holder = meta.find("task")
            if holder is None:
                holder = meta.find("job")
            if holder is None:
                holder = meta
            store["kind"] = holder.tag if holder is not meta else "task"
            task = self._read_task(holder)
            task.id = None  # one task: frames are not told apart by task
            self.tasks[None] = task
            store.update(_task_dict(task))
        for key in ("id", "name", "bugtracker", "created", "updated", "overlap", "flipped"):
            text = holder.findtext(key)
            if text is not None and text.strip():
                store[key] = text.strip()
        owner = holder.find("owner")
        if owner is not None:
            store["owner"] = {c.tag: (c.text or "").strip() for c in owner if isinstance(c.tag, str)}
        for key in ("dumped", "source"):
            text = meta.findtext(key)
            if text is not None and text.strip():
                store[key] = text.strip()
        self.video_name = store.get("source")
        name = store.get("name")
        if name and self.info.name is None:
            self.info.name = name
        self.info.metadata.setdefault("cvat", store)
        labels = holder.find("labels")
        if labels is not None:
            self._read_labels(labels)

    def _read_task(self, el: etree._Element) -> _Task:
        task = _Task()
        task.id = self._meta_int(el, "id")
        task.name = (el.findtext("name") or "").strip() or None
        task.mode = (el.findtext("mode") or "").strip() or None
        task.subset = (el.findtext("subset") or "").strip() or None
        task.size = self._meta_int(el, "size")
        task.start = self._meta_int(el, "start_frame")
        task.stop = self._meta_int(el, "stop_frame")
        task.step = _step(el.findtext("frame_filter"))
        size = el.find("original_size")
        if size is not None:
            w, h = self._meta_int(size, "width"), self._meta_int(size, "height")
            if w and h and w > 0 and h > 0:
                task.frame_size = (w, h)
        return task

    def _meta_int(self, el: etree._Element, key: str) -> int | None:
        child = el.find(key)
        if child is None or not (child.text or "").strip():
            return None
        try:
            return int(child.text.strip())
        except ValueError:
            raise FormatError(
                f"<{key}> {child.text.strip()!r} is not an integer", file=self.file, location=xml_location(child)
            ) from None

    def _read_labels(self, labels_el: etree._Element) -> None:
        specs = []
        for lab in labels_el.findall("label"):
            name = lab.findtext("name")
            if name is None or not name.strip():
                raise FormatError("label without a <name>", file=self.file, location=xml_location(lab))
            specs.append(
                {
                    "name": name.strip(),
                    "color": _color(lab.findtext("color")),
                    "type": (lab.findtext("type") or "").strip() or None,
                    "parent": (lab.findtext("parent") or "").strip() or None,
                    "svg": lab.findtext("svg"),
                    "attributes": [self._read_attribute_spec(a) for a in lab.findall("attributes/attribute")],
                }
            )
        names = {s["name"] for s in specs if not s["parent"]}
        children: dict[str, list[dict]] = defaultdict(list)
        for spec in specs:
            if spec["parent"] and spec["parent"] in names:
                children[spec["parent"]].append(spec)
        for spec in specs:
            if spec["parent"] and spec["parent"] in names:
                continue
            attrs = [a for a, _ in spec["attributes"]]
            meta: dict[str, Any] = {}
            if spec["type"]:
                meta["cvat_type"] = spec["type"]
            raw_types = {a.name: k for a, k in spec["attributes"] if k != _CANONICAL_INPUT[a.type]}
            if raw_types:
                meta["cvat_input_types"] = raw_types
            skeleton = None
            kids = children.get(spec["name"], [])
            if kids or spec["type"] == "skeleton":
                skeleton = _skeleton_from_svg(spec["svg"] or "", [k["name"] for k in kids])
                if spec["svg"]:
                    meta["cvat_svg"] = spec["svg"]
                elements = {}
                for k in kids:
                    info: dict[str, Any] = {}
                    if k["color"]:
                        info["color"] = list(k["color"])
                    if k["attributes"]:
                        info["attributes"] = [a.model_dump() for a, _ in k["attributes"]]
                        info["input_types"] = {a.name: kind for a, kind in k["attributes"]}
                    if info:
                        elements[k["name"]] = info
                if elements:
                    meta["cvat_elements"] = elements
            if spec["name"] not in self.labels:
                self.labels[spec["name"]] = Label(
                    name=spec["name"], color=spec["color"], attributes=attrs, skeleton=skeleton, metadata=meta
                )

    def _read_attribute_spec(self, el: etree._Element) -> tuple[AttributeDef, str]:
        name = (el.findtext("name") or "").strip()
        if not name:
            raise FormatError("attribute without a <name>", file=self.file, location=xml_location(el))
        raw_type = (el.findtext("input_type") or "text").strip().lower()
        values = [v.strip() for v in (el.findtext("values") or "").split("\n") if v.strip()]
        default = el.findtext("default_value")
        mutable = (el.findtext("mutable") or "").strip().lower() in ("true", "1")
        if raw_type in ("select", "radio"):
            kind = "select"
        elif raw_type == "checkbox":
            kind = "bool"
        elif raw_type == "number":
            # CVAT 2 stores "min;max;step", older files list the values
            nums = [n for v in (default or "", *values) for n in re.split(r"[;\s]+", v) if n]
            kind = "int" if all(re.fullmatch(r"[+-]?\d+", n) for n in nums) else "float"
        else:
            kind = "text"
        spec = AttributeDef(name=name, type=kind, values=values, mutable=mutable)
        if default is not None:
            spec.default = _typed_value(default.strip() if kind != "text" else default, spec)
        return spec, raw_type

    # ------------------------------------------------------------ images and tracks

    def _frame(self, subset: str | None, task: int | None, frame: int) -> _Frame:
        key = (subset, task if self.project else None, frame)
        rec = self.frames.get(key)
        if rec is None:
            rec = self.frames[key] = _Frame(subset, key[1], frame)
        return rec

    def _subset(self, el: etree._Element, task: int | None) -> str | None:
        return el.get("subset") or self.tasks.get(task if self.project else None, _Task()).subset or self.subset_hint

    def _read_image(self, el: etree._Element) -> None:
        frame = self._int(el, "id")
        task = self._int(el, "task_id", required=False)
        rec = self._frame(self._subset(el, task), task, frame)
        if rec.from_image:
            raise FormatError(f"image id {frame} appears twice", file=self.file, location=xml_location(el))
        rec.from_image = True
        rec.name = el.get("name") or None
        rec.width = self._size(el, "width")
        rec.height = self._size(el, "height")
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if child.tag in SHAPES:
                rec.anns.append(self._shape(child, _label(child.get("label")), None))
            elif child.tag == "tag":
                rec.anns.append(self._tag(child))

    def _read_track(self, el: etree._Element, track_id: int) -> None:
        task = self._int(el, "task_id", required=False)
        subset = self._subset(el, task)
        track = {
            "track_id": track_id,
            "label": _label(el.get("label")),
            "group": self._int(el, "group_id", required=False) or None,
            "source": el.get("source"),
        }
        skeleton_frames: list[tuple[_Frame, Keypoints]] = []
        nested: dict[str, dict[int, etree._Element]] = {}
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if child.tag == "track":  # Datumaro's form: one sub-track per skeleton point
                pname = child.get("label") or ""
                for shape in child:
                    if isinstance(shape.tag, str) and shape.tag == "points":
                        nested.setdefault(pname, {})[self._int(shape, "frame")] = shape
                continue
            if child.tag not in SHAPES:
                continue
            rec = self._frame(subset, task, self._int(child, "frame"))
            ann = self._shape(child, track["label"], track)
            rec.anns.append(ann)
            if child.tag == "skeleton":
                skeleton_frames.append((rec, ann))
        if nested:
            self._merge_nested(skeleton_frames, nested)

    def _merge_nested(self, frames: list[tuple[_Frame, Any]], nested: dict[str, dict[int, etree._Element]]) -> None:
        """Fill skeleton shapes from per-point sub-tracks: a point without a shape on a frame
        keeps the skeleton's own coordinates, and stays outside once its sub-track left."""
        for rec, ann in frames:
            sk = self.labels[ann.label].skeleton if ann.label in self.labels else None
            if sk is None:
                continue
            pts, vis = list(ann.points), list(ann.visibility)
            keyframes = list(ann.metadata.get("cvat_element_keyframes") or [bool(ann.keyframe)] * len(vis))
            for i, pname in enumerate(sk.points):
                shapes = nested.get(pname, {})
                el = shapes.get(rec.frame)
                if el is None:
                    before = [f for f in shapes if f < rec.frame]
                    if before and _flag(shapes[max(before)], "outside", self.file):
                        vis[i] = 0
                    continue
                xy = self._points(el, "points")
                if len(xy) != 2:
                    raise FormatError(
                        "a skeleton point must have exactly one x,y pair", file=self.file, location=xml_location(el)
                    )
                pts[2 * i : 2 * i + 2] = xy
                vis[i] = _visibility(el, self.file)
                keyframes[i] = _flag(el, "keyframe", self.file)
            meta = dict(ann.metadata)
            if any(k != bool(ann.keyframe) for k in keyframes):
                meta["cvat_element_keyframes"] = keyframes
            idx = next(k for k, a in enumerate(rec.anns) if a is ann)
            rec.anns[idx] = ann.model_copy(update={"points": pts, "visibility": vis, "metadata": meta})

    # ------------------------------------------------------------ shapes

    def _common(self, el: etree._Element, label: str | None, track: dict | None) -> dict[str, Any]:
        if label is not None and label not in self.labels:
            self.labels[label] = Label(name=label)  # used but not declared in <meta>
        attrs: dict[str, Any] = {}
        if _flag(el, "occluded", self.file):
            attrs["occluded"] = True
        attrs.update(self._attributes(el, self._specs(label)))
        meta: dict[str, Any] = {}
        source = (track or {}).get("source") or el.get("source")
        if source:
            meta["cvat_source"] = source
        common: dict[str, Any] = {"label": label, "attributes": attrs, "metadata": meta}
        if track is not None:
            common.update(
                track_id=track["track_id"],
                group=track["group"],
                keyframe=_flag(el, "keyframe", self.file),
                outside=_flag(el, "outside", self.file),
            )
        else:
            common["group"] = self._int(el, "group_id", required=False) or None
        if el.tag != "tag":
            common["z_order"] = self._int(el, "z_order", required=False) or 0
        return common

    def _specs(self, label: str | None) -> dict[str, AttributeDef]:
        """The declared attributes of a label by name (cached: looked up for every shape)."""
        if label not in self._spec_cache:
            lab = self.labels.get(label) if label else None
            self._spec_cache[label] = {a.name: a for a in lab.attributes} if lab else {}
        return self._spec_cache[label]

    def _attributes(self, el: etree._Element, specs: dict[str, AttributeDef]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in el:
            if a.tag != "attribute":
                continue
            name = a.get("name")
            if name is None:
                raise FormatError("<attribute> without a name", file=self.file, location=xml_location(a))
            out[name] = _typed_value(a.text or "", specs.get(name))
        return out

    def _shape(self, el: etree._Element, label: str | None, track: dict | None) -> Any:
        if label is None and el.tag == "skeleton":
            raise FormatError("a skeleton needs a label", file=self.file, location=xml_location(el))
        common = self._common(el, label, track)
        kind = el.tag
        try:
            if kind == "box":
                xtl, ytl, xbr, ybr = (self._float(el, k) for k in ("xtl", "ytl", "xbr", "ybr"))
                rotation = self._float(el, "rotation", required=False) or 0.0
                return BBox(**common, x=xtl, y=ytl, w=xbr - xtl, h=ybr - ytl, rotation=rotation)
            if kind == "polygon":
                return Polygon(**common, parts=[self._points(el, "points")])
            if kind == "polyline":
                return Polyline(**common, points=self._points(el, "points"))
            if kind == "points":
                return Points(**common, points=self._points(el, "points"))
            if kind == "ellipse":
                cx, cy, rx, ry = (self._float(el, k) for k in ("cx", "cy", "rx", "ry"))
                return Ellipse(
                    **common, cx=cx, cy=cy, rx=rx, ry=ry, rotation=self._float(el, "rotation", required=False) or 0.0
                )
            if kind == "cuboid":
                return Cuboid2D(**common, points=[self._float(el, k) for k in CUBOID_KEYS])
            if kind == "mask":
                return self._mask(el, common)
            return self._skeleton(el, common, track is not None)
        except (ValueError, TypeError) as exc:  # a pydantic check on a value read from the file
            raise FormatError(f"invalid <{kind}>: {exc}", file=self.file, location=xml_location(el)) from None

    def _mask(self, el: etree._Element, common: dict[str, Any]) -> _PendingMask:
        raw = el.get("rle")
        if raw is None:
            raise FormatError("<mask> has no rle", file=self.file, location=xml_location(el))
        try:
            counts = [int(v) for v in raw.replace(" ", "").split(",") if v != ""]
        except ValueError:
            raise FormatError(
                "mask rle holds a value that is not an integer", file=self.file, location=xml_location(el)
            ) from None
        box = tuple(self._int(el, k) for k in ("left", "top", "width", "height"))
        if any(v < 0 for v in box) or any(c < 0 for c in counts):
            raise FormatError("negative mask box or run length", file=self.file, location=xml_location(el))
        if sum(counts) != box[2] * box[3]:
            raise FormatError(
                f"mask rle covers {sum(counts)} pixels, its box {box[2]}x{box[3]}",
                file=self.file,
                location=xml_location(el),
            )
        return _PendingMask(common, counts, box, xml_location(el))  # type: ignore[arg-type]

    def _skeleton(self, el: etree._Element, common: dict[str, Any], in_track: bool) -> Keypoints:
        label = common["label"]
        elements = [c for c in el if isinstance(c.tag, str) and c.tag == "points"]
        lab = self.labels.get(label)
        if lab is None or lab.skeleton is None:
            # an undeclared skeleton: its points are the elements of its first instance
            names = [c.get("label") or "" for c in elements]
            if not names or not all(names) or len(set(names)) != len(names):
                raise FormatError(
                    f"skeleton {label!r} is not declared and its points are not named uniquely",
                    file=self.file,
                    location=xml_location(el),
                )
            update = {"skeleton": Skeleton(points=names)}
            lab = Label(name=label, **update) if lab is None else lab.model_copy(update=update)
            self.labels[label] = lab
        sk = lab.skeleton
        assert sk is not None
        index = {n: i for i, n in enumerate(sk.points)}
        n = len(sk.points)
        pts, vis = [0.0] * (2 * n), [0] * n
        keyframes: list[bool] = [bool(common.get("keyframe"))] * n
        element_attrs: dict[str, dict[str, Any]] = {}
        element_specs = lab.metadata.get("cvat_elements", {})
        for c in elements:
            pname = c.get("label") or ""
            i = index.get(pname)
            if i is None:
                raise FormatError(
                    f"{pname!r} is not a point of skeleton {label!r}", file=self.file, location=xml_location(c)
                )
            xy = self._points(c, "points")
            if len(xy) != 2:
                raise FormatError(
                    "a skeleton point must have exactly one x,y pair", file=self.file, location=xml_location(c)
                )
            pts[2 * i : 2 * i + 2] = xy
            vis[i] = _visibility(c, self.file)
            if in_track and c.get("keyframe") is not None:
                keyframes[i] = _flag(c, "keyframe", self.file)
            raw_specs = element_specs.get(pname, {}).get("attributes") or []
            attrs = self._attributes(c, {s.name: s for s in map(AttributeDef.model_validate, raw_specs)})
            if attrs:
                element_attrs[pname] = attrs
        if not elements and (el.get("points") or "").strip():
            # Datumaro's form: the skeleton's own points attribute holds every point, in order
            own = self._points(el, "points")[: 2 * n]
            pts[: len(own)] = own
            vis[: len(own) // 2] = [2] * (len(own) // 2)
        meta = dict(common.pop("metadata"))
        if element_attrs:
            meta["cvat_element_attributes"] = element_attrs
        if in_track:
            if any(k != bool(common.get("keyframe")) for k in keyframes):
                meta["cvat_element_keyframes"] = keyframes
            if el.get("outside") is None:
                common["outside"] = bool(elements) and all(v == 0 for v in vis)
        return Keypoints(**common, points=pts, visibility=vis, metadata=meta)

    def _tag(self, el: etree._Element) -> Tag:
        return Tag(**self._common(el, _label(el.get("label")), None))

    # ------------------------------------------------------------ values

    def _int(self, el: etree._Element, key: str, *, required: bool = True) -> Any:
        raw = el.get(key)
        if raw is None or (not required and raw.strip() == ""):
            if required:
                raise FormatError(f"<{el.tag}> has no {key}", file=self.file, location=xml_location(el))
            return None
        try:
            return int(raw.strip())
        except ValueError:
            raise FormatError(f"{key}={raw!r} is not an integer", file=self.file, location=xml_location(el)) from None

    def _size(self, el: etree._Element, key: str) -> int | None:
        value = self._int(el, key, required=False)
        if value is not None and value <= 0:
            raise FormatError(f"{key}={value} is not a positive size", file=self.file, location=xml_location(el))
        return value

    def _float(self, el: etree._Element, key: str, *, required: bool = True) -> Any:
        raw = el.get(key)
        if raw is None:
            if required:
                raise FormatError(f"<{el.tag}> has no {key}", file=self.file, location=xml_location(el))
            return None
        return _number(raw, key, self.file, el)

    def _points(self, el: etree._Element, key: str) -> list[float]:
        raw = el.get(key)
        if raw is None or not raw.strip():
            raise FormatError(f"<{el.tag}> has no {key}", file=self.file, location=xml_location(el))
        out: list[float] = []
        for pair in raw.split(";"):
            if not pair.strip():
                continue
            xy = pair.split(",")
            if len(xy) != 2:
                raise FormatError(
                    f"{key}: {pair.strip()!r} is not an x,y pair", file=self.file, location=xml_location(el)
                )
            out += [_number(xy[0], key, self.file, el), _number(xy[1], key, self.file, el)]
        if not out:
            raise FormatError(f"<{el.tag}> has no {key}", file=self.file, location=xml_location(el))
        return out

    # ------------------------------------------------------------ items

    def _roots(self, base: Path, subset: str | None) -> list[Path]:
        cands = [Path(self.options.images)] if self.options.images is not None else []
        if subset:
            cands.append(base / "images" / subset)
        cands += [base / "images", base]
        return [c for c in dict.fromkeys(cands) if c.is_dir()]

    def _add_unannotated_frames(self, base: Path) -> None:
        """Frames of a video task that are in ``images/`` but carry no annotation (CVAT lists
        tracks only) are items too."""
        if self.project:
            return  # frames of several tasks cannot be told apart by file name
        subset = self.tasks[None].subset or self.subset_hint
        cands = [Path(self.options.images)] if self.options.images is not None else []
        cands += [base / "images" / subset] if subset else []
        folder = next((c for c in [*cands, base / "images"] if c.is_dir()), None)
        if folder is None:
            return
        for path in sorted(folder.iterdir()):
            frame = frame_number(path.name, strict=True)
            if frame is not None and path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                self._frame(subset, None, frame)

    def _build_items(self, base: Path) -> None:
        subset_order: dict[str | None, int] = {}
        for rec in self.frames.values():
            subset_order.setdefault(rec.subset, len(subset_order))
        indexes: dict[Path, MediaIndex] = {}
        for key in sorted(self.frames, key=lambda k: (subset_order[k[0]], k[1] if k[1] is not None else -1, k[2])):
            rec = self.frames[key]
            task = self.tasks.get(rec.task) or self.tasks[None]
            roots = self._roots(base, rec.subset)
            path = None
            if rec.name:
                # other extensions are tried only for names without one (CVAT video frame names)
                path = find_media(roots, rec.name, stem_fallback=Path(rec.name).suffix.lower() not in IMAGE_SUFFIXES)
            else:
                # a frame without an <image>: matched by CVAT's frame name, else by its number
                # (image folders are indexed; the XML's own folder is only looked into)
                for root in roots:
                    if root == base:
                        path = find_media([root], f"frame_{rec.frame:06d}") or find_media([root], str(rec.frame))
                    else:
                        if root not in indexes:
                            indexes[root] = MediaIndex(root)
                        path = indexes[root].find(f"frame_{rec.frame:06d}", frame=rec.frame)
                    if path is not None:
                        break
            if path is None:
                self.missing_media.append(rec.name or f"frame_{rec.frame:06d}")
                if not self.options.keep_missing_media:
                    continue
            width, height = rec.width, rec.height
            if (width is None or height is None) and task.frame_size:
                width, height = task.frame_size
            if (width is None or height is None) and path is not None:
                try:
                    width, height = image_size(path)
                except LabelportError:
                    width = height = None
            name = rec.name
            if name is None and path is not None:
                root = next((r for r in roots if r in path.parents), path.parent)
                name = path.relative_to(root).as_posix()
            item_id = self._item_id(rec)
            if task.mode == "interpolation":
                video = self.video_name or task.name or self.info.name or "video"
                media: Any = VideoFrame(
                    video=video,
                    frame=rec.frame,
                    name=name,
                    path=str(path) if path else None,
                    width=width,
                    height=height,
                )
            else:
                media = Image(name=name, path=str(path) if path else None, width=width, height=height)
            anns = [self._finish_mask(a, width, height) if isinstance(a, _PendingMask) else a for a in rec.anns]
            meta: dict[str, Any] = {"cvat_frame": rec.frame}
            if rec.task is not None:
                meta["cvat_task_id"] = rec.task
            self.items.append(Item(id=item_id, subset=rec.subset, media=media, annotations=anns, metadata=meta))

    def _item_id(self, rec: _Frame) -> str:
        base = _strip_suffix(rec.name) if rec.name else f"frame_{rec.frame:06d}"
        candidates = [base]
        if rec.name:
            candidates.append(rec.name.replace("\\", "/"))
        candidates.append(f"{base}_{rec.frame}")
        for cand in candidates:
            if (rec.subset, cand) not in self._keys:
                self._keys.add((rec.subset, cand))
                return cand
        k = 1
        while (rec.subset, f"{base}_{rec.frame}_{k}") in self._keys:
            k += 1
        self._keys.add((rec.subset, f"{base}_{rec.frame}_{k}"))
        return f"{base}_{rec.frame}_{k}"

    def _finish_mask(self, pending: _PendingMask, width: int | None, height: int | None) -> Mask:
        left, top, w, h = pending.box
        # an unknown image size: the canvas ends where the mask does
        canvas_w, canvas_h = max(width or 0, left + w), max(height or 0, top + h)
        if canvas_w * canvas_h > MAX_MASK_PIXELS:
            raise FormatError(f"mask canvas {canvas_w}x{canvas_h} is too large", file=self.file, location=pending.where)
        full = cvat_rle_decode(pending.counts, left, top, w, h, canvas_h, canvas_w)
        if width and height:
            full = full[:height, :width]
        return Mask(**pending.common, rle=rle_encode(full))


def _task_dict(task: _Task) -> dict[str, Any]:
    return {k: v for k, v in task.__dict__.items() if v is not None and k != "frame_size"} | (
        {"original_size": list(task.frame_size)} if task.frame_size else {}
    )


def _label(raw: str | None) -> str | None:
    return raw if raw else None


def _step(frame_filter: str | None) -> int | None:
    m = re.search(r"step\s*=\s*(\d+)", frame_filter or "")
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def _color(raw: str | None) -> tuple[int, int, int] | None:
    m = re.fullmatch(r"\s*#?([0-9a-fA-F]{6})\s*", raw or "")
    if not m:
        return None
    v = int(m.group(1), 16)
    return (v >> 16) & 255, (v >> 8) & 255, v & 255


def _number(raw: str, key: str, file: str, el: etree._Element) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise FormatError(f"{key}: {raw.strip()!r} is not a number", file=file, location=xml_location(el)) from None
    if not math.isfinite(value):
        raise FormatError(f"{key}: {raw.strip()!r} is not a finite number", file=file, location=xml_location(el))
    return value


def _flag(el: etree._Element, key: str, file: str) -> bool:
    raw = el.get(key)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false", ""):
        return False
    raise FormatError(f"{key}={raw!r} is not 0 or 1", file=file, location=xml_location(el))


def _visibility(el: etree._Element, file: str) -> int:
    if _flag(el, "outside", file):
        return 0
    return 1 if _flag(el, "occluded", file) else 2


def _typed_value(raw: str, spec: AttributeDef | None) -> Any:
    """An attribute value as its declared type; undeclared values stay text."""
    if spec is None:
        return raw
    if spec.type == "bool":
        low = raw.strip().lower()
        return True if low == "true" else False if low == "false" else raw
    if spec.type in ("int", "float"):
        text = raw.strip()
        if spec.type == "int" and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        try:
            value = float(text)
        except ValueError:
            return raw
        return value if math.isfinite(value) else raw
    return raw


def _strip_suffix(name: str) -> str:
    name = name.replace("\\", "/")
    suffix = Path(name).suffix
    return name[: -len(suffix)] if suffix and suffix.lower() in IMAGE_SUFFIXES else name


_SVG_TAG = re.compile(r"<(line|circle)\b([^>]*)>", re.I)
_SVG_ATTR = re.compile(r'([\w:-]+)\s*=\s*"([^"]*)"')


def _skeleton_from_svg(svg: str, children: list[str]) -> Skeleton:
    """Point names and edges of a skeleton label. The svg is a fragment of markup kept as
    text (Datumaro writes it without spaces between attributes, so it is not always
    well-formed XML): nodes are circles with ``data-node-id``/``data-label-name``, edges are
    lines with ``data-node-from``/``data-node-to``."""
    nodes: dict[int, str] = {}
    edges: list[tuple[int, int]] = []
    for tag, body in _SVG_TAG.findall(svg):
        attrs = {k.lower(): v for k, v in _SVG_ATTR.findall(body)}
        try:
            if tag.lower() == "circle" and "data-node-id" in attrs:
                nodes[int(attrs["data-node-id"])] = attrs.get("data-label-name") or attrs["data-node-id"]
            elif tag.lower() == "line" and "data-node-from" in attrs and "data-node-to" in attrs:
                edges.append((int(attrs["data-node-from"]), int(attrs["data-node-to"])))
        except ValueError:
            continue
    names = [nodes[k] for k in sorted(nodes)]
    if not names:
        names = list(children)
        nodes = {i + 1: n for i, n in enumerate(names)}
    names += [c for c in children if c not in names]
    position = {node_id: names.index(name) for node_id, name in nodes.items()}
    pairs: list[tuple[int, int]] = []
    for a, b in edges:
        if a in position and b in position and (position[a], position[b]) not in pairs:
            pairs.append((position[a], position[b]))
    return Skeleton(points=names, edges=pairs)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    """``annotations.xml`` (and ``images/``), or the XML file itself for a ``.xml`` target.
    Two passes: the first learns labels, frames and tracks, the second writes the items."""
    opts: CvatWriteOptions = options.format_options or CvatWriteOptions()
    single = target.suffix.lower() == ".xml"
    plan = _Plan(dataset, opts)  # first pass: labels, attributes, frames and tracks
    if single:
        xml_path = target
        if options.save_media != "none":
            plan.note("media not saved: the target is a single XML file")
    else:
        target.mkdir(parents=True, exist_ok=True)
        xml_path = target / "annotations.xml"
    with etree.xmlfile(str(xml_path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("annotations"):
            _write(xf, _el("version", "1.1"))
            _write(xf, plan.meta_element(dataset))
            if plan.video:
                for track in plan.track_elements():
                    _write(xf, track)
            for index, item in enumerate(dataset):  # second pass
                for el in plan.item_elements(index, item):
                    _write(xf, el)
                if options.save_media != "none" and not single:
                    plan.save_media(index, item, target, options, report)
            xf.write("\n")
    plan.flush(report)
    return True


def _write(xf: Any, el: etree._Element) -> None:
    """One child of <annotations>, indented like CVAT's own files."""
    etree.indent(el, space="  ", level=1)
    el.tail = None
    xf.write("\n  ")
    xf.write(el)


@dataclass
class _ItemInfo:
    subset: str
    hint: int | None  # the item's own frame number (video frame, or read from CVAT)
    number: int | None  # a frame number in its name ("frame_000012", "12")
    name: str
    width: int | None
    height: int | None
    video: str | None  # the video of a video frame
    is_video: bool
    frame: int = 0
    task: int = 0


@dataclass
class _SubsetInfo:
    name: str
    task_id: int
    start: int
    stop: int
    step: int
    size: tuple[int, int] | None
    source: str | None  # the video's name
    video: bool  # written as CVAT for video (tracks)
    interpolation: bool  # a video task (frames), even when written as images


class _Plan:
    """What the first pass learns: item frames, labels and their attributes, and tracks."""

    def __init__(self, dataset: Dataset, opts: CvatWriteOptions):
        self.losses: Counter[tuple[str, str]] = Counter()
        self.notes: list[str] = []
        self.items: list[_ItemInfo] = []
        self.tracks: dict[tuple[str, Any], list[tuple[int, Any]]] = {}
        self.usage: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        self.used_labels: dict[str, None] = {}
        self.keypoint_sizes: dict[str, int] = {}
        self.keypoint_names: dict[str, list[str]] = {}
        self.track_ids: set[int] = set()
        self.force_video = opts.video
        for item in dataset:
            media = item.media
            is_video = isinstance(media, VideoFrame)
            for ann in item.annotations:
                if ann.type == "keypoints" and ann.label is None:
                    continue  # dropped (and counted) in the second pass
                if ann.label is not None:
                    self.used_labels.setdefault(ann.label, None)
                    self._use_attributes(ann)
                    if ann.type == "keypoints":
                        self.keypoint_sizes[ann.label] = max(self.keypoint_sizes.get(ann.label, 0), len(ann.visibility))
                        if ann.names and len(ann.names) == len(ann.visibility):
                            self.keypoint_names.setdefault(ann.label, list(ann.names))
                if ann.track_id is not None and ann.type != "label":
                    self.tracks.setdefault(((item.subset or "default"), ann.track_id), []).append(
                        (len(self.items), ann)
                    )
                    if isinstance(ann.track_id, int):
                        self.track_ids.add(ann.track_id)
            self.items.append(
                _ItemInfo(
                    subset=item.subset or "default",
                    hint=_frame_hint(item),
                    number=_frame_number(item),
                    name=_media_name(item),
                    width=getattr(media, "width", None),
                    height=getattr(media, "height", None),
                    video=media.video if is_video else None,
                    is_video=is_video,
                )
            )
        self.stored = dataset.info.metadata.get("cvat") if isinstance(dataset.info.metadata.get("cvat"), dict) else {}
        self.info_name = dataset.info.name
        self.skeletons: dict[str, Skeleton] = {lb.name: lb.skeleton for lb in dataset.labels if lb.skeleton is not None}
        for name, n in self.keypoint_sizes.items():
            if name not in self.skeletons:  # keypoints of a label without a skeleton: name the points
                names = self.keypoint_names.get(name)
                points = names if names and len(names) == n and len(set(names)) == n else [str(i + 1) for i in range(n)]
                self.skeletons[name] = Skeleton(points=points)
        self._assign_frames()
        self.next_track_id = max(self.track_ids, default=-1) + 1
        n = sum(len(v) for (subset, _), v in self.tracks.items() if not self.subsets[subset].video)
        if n:
            self.loss("track ids", "dropped (CVAT for images has no tracks)", n)

    @property
    def video(self) -> bool:
        return any(s.video for s in self.subsets.values())

    # ------------------------------------------------------------ first pass helpers

    def loss(self, what: str, action: str, count: int = 1) -> None:
        self.losses[(what, action)] += count

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)

    def flush(self, report: Report) -> None:
        """Record losses and notes once the last pass is done (each pass resets the report)."""
        for (what, action), count in self.losses.items():
            report.loss(what, action, count)
        for message in self.notes:
            report.note(message)

    def _use_attributes(self, ann: Any) -> None:
        seen = self.usage[ann.label]
        for name, value in ann.attributes.items():
            if name == "occluded" and isinstance(value, bool) and ann.type != "label":
                continue
            values = seen[name]
            if len(values) < 64 and not any(type(v) is type(value) and v == value for v in values):
                values.append(value)

    def _assign_frames(self) -> None:
        """Frame numbers unique within each subset: the items' own when they are, else 0..n-1."""
        by_subset: dict[str, list[_ItemInfo]] = {}
        for info in self.items:
            by_subset.setdefault(info.subset, []).append(info)
        self.subsets: dict[str, _SubsetInfo] = {}
        stored_tasks = {t.get("subset"): t for t in self.stored.get("tasks", []) if isinstance(t, dict)}
        tracked = {subset for subset, _ in self.tracks}
        for k, (name, infos) in enumerate(by_subset.items()):
            # each subset is one CVAT task: a video task when it has tracks (or only video frames)
            video = self.force_video if self.force_video is not None else name in tracked
            interpolation = video or all(i.is_video for i in infos)
            hints = [i.hint if i.hint is not None or not interpolation else i.number for i in infos]
            if None in hints or len(set(hints)) != len(hints) or min(hints) < 0:  # type: ignore[type-var]
                if any(h is not None for h in hints):
                    self.note(f"frame numbers of subset {name!r} were not unique: renumbered 0..{len(infos) - 1}")
                hints = list(range(len(infos)))
            for info, frame in zip(infos, hints, strict=True):
                info.frame = frame  # type: ignore[assignment]
            frames = sorted(hints)  # type: ignore[type-var]
            stored = stored_tasks.get(name if name != "default" else None) or (
                self.stored if len(by_subset) == 1 else {}
            )
            start, stop = frames[0], frames[-1]
            step = 0
            for a, b in zip(frames, frames[1:], strict=False):
                step = math.gcd(step, b - a)
            step = step or 1
            s_start, s_step = stored.get("start"), stored.get("step") or 1
            if isinstance(s_start, int) and s_start <= start and all((f - s_start) % s_step == 0 for f in frames):
                start, step = s_start, s_step
                s_stop = stored.get("stop")
                if not isinstance(s_stop, int) and isinstance(stored.get("size"), int):
                    s_stop = s_start + (stored["size"] - 1) * s_step
                if isinstance(s_stop, int) and s_stop > stop:
                    stop = s_stop
            sizes = {(i.width, i.height) for i in infos}
            size = next(iter(sizes)) if len(sizes) == 1 and None not in next(iter(sizes)) else None
            if interpolation and len(sizes) > 1:
                self.note(f"frames of subset {name!r} differ in size; <original_size> is left out")
            videos = {i.video for i in infos if i.video}
            task_id = stored.get("id") if isinstance(stored.get("id"), int) and len(by_subset) > 1 else k + 1
            for info in infos:
                info.task = task_id
            source = next(iter(videos)) if len(videos) == 1 else None
            self.subsets[name] = _SubsetInfo(name, task_id, start, stop, step, size, source, video, interpolation)

    # ------------------------------------------------------------ meta

    @property
    def project(self) -> bool:
        return len(self.subsets) > 1

    def meta_element(self, dataset: Dataset) -> etree._Element:
        meta = etree.Element("meta")
        stored = self.stored
        name = self.info_name or stored.get("name") or "labelport"
        if self.project:
            holder = etree.SubElement(meta, "project")
            _sub(holder, "id", str(stored.get("id", "")) if stored.get("kind") == "project" else "")
            _sub(holder, "name", name)
            self._stored_fields(holder)
            tasks = etree.SubElement(holder, "tasks")
            for sub in self.subsets.values():
                self._task_fields(etree.SubElement(tasks, "task"), sub, sub.name, str(sub.task_id))
            _sub(holder, "subsets", "\n".join(self.subsets))
        else:
            holder = etree.SubElement(meta, "task")
            sub = next(iter(self.subsets.values()), None) or _SubsetInfo(
                "default", 1, 0, 0, 1, None, None, False, False
            )
            self._task_fields(holder, sub, name, str(stored.get("id", "")) if stored.get("kind") != "project" else "")
        holder.append(self._labels_element(dataset))
        if "owner" in stored and isinstance(stored["owner"], dict):
            owner = etree.SubElement(holder, "owner")
            for key, value in stored["owner"].items():
                _sub(owner, str(key), str(value))
        if not self.project and sub.size and sub.interpolation:
            size = etree.SubElement(holder, "original_size")
            _sub(size, "width", str(sub.size[0]))
            _sub(size, "height", str(sub.size[1]))
        if stored.get("dumped"):
            _sub(meta, "dumped", str(stored["dumped"]))
        source = next((s.source for s in self.subsets.values() if s.source), None)
        if source:
            _sub(meta, "source", source)
        return meta

    def _stored_fields(self, holder: etree._Element) -> None:
        for key in ("bugtracker", "created", "updated"):
            if key in self.stored:
                _sub(holder, key, str(self.stored[key]))

    def _task_fields(self, task: etree._Element, sub: _SubsetInfo, name: str, task_id: str) -> None:
        _sub(task, "id", task_id)
        _sub(task, "name", name)
        _sub(task, "size", str((sub.stop - sub.start) // sub.step + 1 if sub.interpolation else self._count(sub.name)))
        _sub(task, "mode", "interpolation" if sub.interpolation else "annotation")
        if "overlap" in self.stored and not self.project:
            _sub(task, "overlap", str(self.stored["overlap"]))
        if not self.project:
            self._stored_fields(task)
        if sub.name != "default":
            _sub(task, "subset", sub.name)
        _sub(task, "start_frame", str(sub.start))
        _sub(task, "stop_frame", str(sub.stop))
        _sub(task, "frame_filter", f"step={sub.step}" if sub.step > 1 else "")
        if self.project and sub.size and sub.interpolation:
            size = etree.SubElement(task, "original_size")
            _sub(size, "width", str(sub.size[0]))
            _sub(size, "height", str(sub.size[1]))

    def _count(self, subset: str) -> int:
        return sum(1 for i in self.items if i.subset == subset)

    def _labels_element(self, dataset: Dataset) -> etree._Element:
        labels = etree.Element("labels")
        declared = {lb.name: lb for lb in dataset.labels}
        for name in [*declared, *(n for n in self.used_labels if n not in declared)]:
            label = declared.get(name) or Label(name=name)
            skeleton = self.skeletons.get(name)
            el = etree.SubElement(labels, "label")
            _sub(el, "name", name)
            if label.color is not None:
                _sub(el, "color", "#{:02x}{:02x}{:02x}".format(*label.color))
            _sub(el, "type", "skeleton" if skeleton else str(label.metadata.get("cvat_type") or "any"))
            el.append(
                self._attributes_element(
                    label.attributes, self.usage.get(name, {}), label.metadata.get("cvat_input_types") or {}
                )
            )
            if skeleton is not None:
                _sub(el, "svg", _skeleton_svg(skeleton, label.metadata.get("cvat_svg")))
                elements = label.metadata.get("cvat_elements") or {}
                for point in skeleton.points:
                    info = elements.get(point) if isinstance(elements.get(point), dict) else {}
                    child = etree.SubElement(labels, "label")
                    _sub(child, "name", point)
                    color = info.get("color")
                    if isinstance(color, (list, tuple)) and len(color) == 3:
                        _sub(child, "color", "#{:02x}{:02x}{:02x}".format(*(int(c) for c in color)))
                    _sub(child, "type", "points")
                    specs = []
                    for raw in info.get("attributes") or []:
                        try:
                            specs.append(AttributeDef.model_validate(raw))
                        except ValueError:
                            continue
                    child.append(self._attributes_element(specs, {}, info.get("input_types") or {}))
                    _sub(child, "parent", name)
        return labels

    def _attributes_element(
        self, declared: list[AttributeDef], used: dict[str, list[Any]], input_types: dict[str, str]
    ) -> etree._Element:
        out = etree.Element("attributes")
        specs = list(declared)
        names = {a.name for a in specs}
        for name, values in used.items():
            if name not in names:
                specs.append(_infer_spec(name, values))
        for spec in specs:
            el = etree.SubElement(out, "attribute")
            _sub(el, "name", spec.name)
            _sub(el, "mutable", "True" if spec.mutable else "False")
            kind = _CANONICAL_INPUT[spec.type]
            stored = input_types.get(spec.name)
            if stored in _COMPATIBLE_INPUTS.get(spec.type, ()):
                kind = stored
            _sub(el, "input_type", kind)
            default = spec.default
            if default is None:
                default = spec.values[0] if spec.values else (False if spec.type == "bool" else "")
            _sub(el, "default_value", _text(default))
            _sub(el, "values", "\n".join(_text(v) for v in spec.values))
        return out

    # ------------------------------------------------------------ tracks

    def _new_track_id(self) -> int:
        while self.next_track_id in self.track_ids:
            self.next_track_id += 1
        self.track_ids.add(self.next_track_id)
        return self.next_track_id

    def track_elements(self) -> Iterator[etree._Element]:
        used: set[int] = set()
        order = list(self.subsets)
        keys = sorted(
            self.tracks,
            key=lambda k: (order.index(k[0]), not isinstance(k[1], int), k[1] if isinstance(k[1], int) else 0),
        )
        for subset, tid in keys:
            entries = self.tracks[(subset, tid)]
            if not self.subsets[subset].video:
                continue
            entries = sorted(entries, key=lambda e: self.items[e[0]].frame)
            parts: list[list[tuple[int, Any]]] = []
            for entry in entries:
                ann = entry[1]
                frame = self.items[entry[0]].frame
                home = next(
                    (
                        p
                        for p in parts
                        if (p[0][1].label, p[0][1].type) == (ann.label, ann.type)
                        and all(self.items[i].frame != frame for i, _ in p)
                    ),
                    None,
                )
                if home is None:
                    parts.append([entry])
                else:
                    home.append(entry)
            if len(parts) > 1:
                self.loss(
                    "track ids",
                    "split (a CVAT track holds one label, one shape kind and one shape per frame)",
                    len(parts) - 1,
                )
            for k, part in enumerate(parts):
                track_id = tid if k == 0 and isinstance(tid, int) and tid not in used else self._new_track_id()
                used.add(track_id)
                yield self._track(track_id, subset, part)

    def _track(self, track_id: int, subset: str, entries: list[tuple[int, Any]]) -> etree._Element:
        first = entries[0][1]
        sub = self.subsets[subset]
        el = etree.Element("track", id=str(track_id), label=first.label or "")
        if first.metadata.get("cvat_source"):
            el.set("source", str(first.metadata["cvat_source"]))
        if self.project:
            el.set("subset", subset)
            el.set("task_id", str(sub.task_id))
        if first.group:
            el.set("group_id", str(first.group))
        if len({a.group for _, a in entries}) > 1:
            self.loss("annotation groups", "a track keeps the group of its first shape", len(entries) - 1)
        cvat_keyframes = any(a.keyframe is not None for _, a in entries)
        closed = 0
        for n, (index, ann) in enumerate(entries):
            frame = self.items[index].frame
            el.append(self._track_shape(ann, frame, ann.keyframe if ann.keyframe is not None else True, ann.outside))
            if cvat_keyframes or ann.outside:
                continue
            # a track read from per-frame data ends where its shapes stop: close it with an
            # outside keyframe, or CVAT would carry the shape on to the end of the video
            following = self.items[entries[n + 1][0]].frame if n + 1 < len(entries) else None
            nxt = frame + sub.step
            if (following is None or following > nxt) and nxt <= sub.stop:
                el.append(self._track_shape(ann, nxt, True, True))
                closed += 1
        if closed:
            self.note("tracks without keyframes were closed with an outside keyframe after each run of frames")
        return el

    def _track_shape(self, ann: Any, frame: int, keyframe: bool, outside: bool) -> etree._Element:
        el = _shape_element(ann, self, track=(frame, keyframe, outside))
        return el

    # ------------------------------------------------------------ second pass

    def item_elements(self, index: int, item: Item) -> Iterator[etree._Element]:
        if index >= len(self.items):
            raise LabelportError("the dataset yielded more items on its second pass than on its first")
        info = self.items[index]
        sub = self.subsets[info.subset]
        anns = []
        for ann in item.annotations:
            if ann.type == "keypoints" and ann.label is None:
                self.loss("keypoints without a label", "dropped (a CVAT skeleton needs its label)")
                continue
            if ann.type == "label" and ann.track_id is not None:
                self.loss("track ids", "dropped from tags (CVAT tags have no tracks)")
            anns.append(ann)
        if sub.video:
            tags = []
            for ann in anns:
                if ann.type == "label":
                    tags.append(ann)
                elif ann.track_id is None:
                    yield self._one_frame_track(ann, info, sub)
            if tags or not anns:
                # tags, and frames without any annotation, need an <image> (CVAT matches it by name or id)
                image = self._image_element(info)
                for tag in tags:
                    image.append(_tag_element(tag, self))
                yield image
            return
        image = self._image_element(info)
        for ann in anns:
            if ann.outside:
                self.loss("outside shapes", "dropped (only tracks hold them)")
                continue
            image.append(_tag_element(ann, self) if ann.type == "label" else _shape_element(ann, self))
        yield image

    def _image_element(self, info: _ItemInfo) -> etree._Element:
        el = etree.Element("image", id=str(info.frame), name=info.name)
        if self.project:
            el.set("subset", info.subset)
            el.set("task_id", str(info.task))
        if info.width and info.height:
            el.set("width", str(info.width))
            el.set("height", str(info.height))
        return el

    def _one_frame_track(self, ann: Any, info: _ItemInfo, sub: _SubsetInfo) -> etree._Element:
        """A shape without a track becomes a track of one frame, as CVAT exports it."""
        self.note("shapes without a track were written as one-frame tracks")
        one = ann.model_copy(update={"track_id": self._new_track_id(), "keyframe": True})
        el = etree.Element("track", id=str(one.track_id), label=ann.label or "")
        if ann.metadata.get("cvat_source"):
            el.set("source", str(ann.metadata["cvat_source"]))
        if self.project:
            el.set("subset", info.subset)
            el.set("task_id", str(info.task))
        if ann.group:
            el.set("group_id", str(ann.group))
        el.append(self._track_shape(one, info.frame, True, False))
        if info.frame + sub.step <= sub.stop:
            el.append(self._track_shape(one, info.frame + sub.step, True, True))
        return el

    def save_media(self, index: int, item: Item, target: Path, options: WriteOptions, report: Report) -> None:
        """The item's image under ``images/`` (``images/<subset>/`` for a project), named as in the XML."""
        info = self.items[index]
        src = getattr(item.media, "path", None)
        name = info.name if Path(info.name).suffix or not src else info.name + Path(src).suffix
        folder = target / "images" / info.subset if self.project else target / "images"
        if not is_inside(folder, name):
            report.missing_media.append(item.id)
            return
        export_media(item, folder, options.save_media, report, name=name)


_CANONICAL_INPUT = {"select": "select", "bool": "checkbox", "int": "number", "float": "number", "text": "text"}
_COMPATIBLE_INPUTS = {
    "select": ("select", "radio"),
    "bool": ("checkbox",),
    "int": ("number",),
    "float": ("number",),
    "text": ("text",),
}


def _frame_hint(item: Item) -> int | None:
    if isinstance(item.media, VideoFrame):
        return item.media.frame
    stored = item.metadata.get("cvat_frame")
    return stored if isinstance(stored, int) and not isinstance(stored, bool) else None


def _frame_number(item: Item) -> int | None:
    """The frame number in the name of a frame that went through a format without frame
    numbers: ``frame_000012`` and ``12`` are frame 12."""
    for name in (item.id, getattr(item.media, "name", None)):
        if name:
            number = frame_number(Path(name).name, strict=True)
            if number is not None:
                return number
    return None


def _media_name(item: Item) -> str:
    media = item.media
    name = getattr(media, "name", None)
    if name:
        return str(name).replace("\\", "/")
    if isinstance(media, VideoFrame):
        suffix = Path(media.path).suffix if media.path else ""
        return f"frame_{media.frame:06d}{suffix}"
    path = getattr(media, "path", None)
    if path:
        return Path(path).name
    return item.id


def _infer_spec(name: str, values: list[Any]) -> AttributeDef:
    """The declaration of an attribute used but not declared, from the values seen."""
    kinds = {type(v) for v in values}
    if kinds == {bool}:
        return AttributeDef(name=name, type="bool", values=[False, True], default=False, mutable=True)
    if kinds and kinds <= {int, float}:
        nums = [float(v) for v in values]
        integer = kinds == {int}
        lo, hi = (int(min(nums)), int(max(nums))) if integer else (min(nums), max(nums))
        step = "1" if integer else "0.01"
        return AttributeDef(
            name=name,
            type="int" if integer else "float",
            values=[f"{_text(lo)};{_text(hi)};{step}"],
            default=lo,
            mutable=True,
        )
    return AttributeDef(name=name, type="text", values=[], default="", mutable=True)


def _text(value: Any) -> str:
    """An attribute value as CVAT writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        from labelport.io.jsonio import dump_json

        return dump_json(value).decode()
    return str(value)


def _num(value: float) -> str:
    """CVAT's two decimals when they are exact, else the shortest exact form."""
    text = f"{value:.2f}"
    if float(text) == value:
        return text
    return repr(float(value))


def _el(tag: str, text: str) -> etree._Element:
    el = etree.Element(tag)
    el.text = text
    return el


def _sub(parent: etree._Element, tag: str, text: str) -> etree._Element:
    el = etree.SubElement(parent, tag)
    el.text = text
    return el


def _skeleton_svg(skeleton: Skeleton, stored: Any) -> str:
    """The stored svg when it still describes the skeleton, else a new one (nodes on a circle)."""
    if isinstance(stored, str) and stored:
        try:
            again = _skeleton_from_svg(stored, [])
        except ValueError:
            again = None
        if again is not None and again.points == skeleton.points and sorted(again.edges) == sorted(skeleton.edges):
            return stored
    n = max(len(skeleton.points), 1)
    pos = [(50 + 40 * math.cos(2 * math.pi * i / n), 50 + 40 * math.sin(2 * math.pi * i / n)) for i in range(n)]
    parts = []
    for a, b in skeleton.edges:
        (x1, y1), (x2, y2) = pos[a], pos[b]
        parts.append(
            f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}" stroke="black" data-type="edge" '
            f'data-node-from="{a + 1}" stroke-width="0.5" data-node-to="{b + 1}"></line>'
        )
    for i, point in enumerate(skeleton.points):
        x, y = pos[i]
        parts.append(
            f'<circle r="1.5" stroke="black" fill="#b3b3b3" cx="{x:.2f}" cy="{y:.2f}" stroke-width="0.1" '
            f'data-type="element node" data-element-id="{i + 1}" data-node-id="{i + 1}" '
            f'data-label-name="{escape(point)}"></circle>'
        )
    return "".join(parts)


def _put_attributes(el: etree._Element, attributes: dict[str, Any], skip_occluded: bool) -> None:
    for name, value in attributes.items():
        if skip_occluded and name == "occluded" and isinstance(value, bool):
            continue
        a = etree.SubElement(el, "attribute", name=str(name))
        a.text = _text(value)


def _tag_element(ann: Any, plan: _Plan) -> etree._Element:
    el = etree.Element("tag", label=ann.label or "")
    if ann.metadata.get("cvat_source"):
        el.set("source", str(ann.metadata["cvat_source"]))
    if ann.group:
        el.set("group_id", str(ann.group))
    _put_attributes(el, ann.attributes, skip_occluded=False)
    return el


def _shape_element(ann: Any, plan: _Plan, track: tuple[int, bool, bool] | None = None) -> etree._Element:
    """One CVAT shape; ``track`` is (frame, keyframe, outside) for a shape inside a track."""
    tag = _KIND_TO_TAG[ann.type]
    el = etree.Element(tag)
    if track is None:
        el.set("label", ann.label or "")
        if ann.metadata.get("cvat_source"):
            el.set("source", str(ann.metadata["cvat_source"]))
    else:
        el.set("frame", str(track[0]))
        el.set("keyframe", "1" if track[1] else "0")
        el.set("outside", "1" if track[2] else "0")
    el.set("occluded", "1" if ann.attributes.get("occluded") is True else "0")
    if ann.type == "bbox":
        for key, v in zip(("xtl", "ytl", "xbr", "ybr"), (ann.x, ann.y, ann.x + ann.w, ann.y + ann.h), strict=True):
            el.set(key, _num(v))
        if ann.rotation:
            el.set("rotation", _num(ann.rotation))
    elif ann.type in ("polygon", "polyline", "points"):
        pts = ann.parts[0] if ann.type == "polygon" else ann.points
        el.set("points", ";".join(f"{_num(pts[i])},{_num(pts[i + 1])}" for i in range(0, len(pts) - 1, 2)))
        if ann.type == "points" and ann.visibility and any(v != 2 for v in ann.visibility):
            if all(v == 1 for v in ann.visibility):
                el.set("occluded", "1")
            else:
                plan.loss("point visibility", "dropped (CVAT points have one occluded flag)")
    elif ann.type == "ellipse":
        for key in ("cx", "cy", "rx", "ry"):
            el.set(key, _num(getattr(ann, key)))
        if ann.rotation:
            el.set("rotation", _num(ann.rotation))
    elif ann.type == "cuboid_2d":
        for key, v in zip(CUBOID_KEYS, ann.points, strict=True):
            el.set(key, _num(v))
    elif ann.type == "mask":
        counts, left, top, width, height = cvat_rle_encode(rle_decode(ann.rle))
        el.set("rle", ", ".join(str(c) for c in counts))
        el.set("left", str(left))
        el.set("top", str(top))
        el.set("width", str(width))
        el.set("height", str(height))
    if track is not None and tag == "skeleton":
        el.set("outside", "1" if track[2] else "0")
    el.set("z_order", str(ann.z_order))
    if track is None and ann.group:
        el.set("group_id", str(ann.group))
    if tag == "skeleton":
        _skeleton_elements(el, ann, plan, track)
    _put_attributes(el, ann.attributes, skip_occluded=True)
    return el


def _skeleton_elements(el: etree._Element, ann: Any, plan: _Plan, track: tuple[int, bool, bool] | None) -> None:
    names = plan.skeletons[ann.label].points if ann.label in plan.skeletons else []
    keyframes = ann.metadata.get("cvat_element_keyframes")
    element_attrs = ann.metadata.get("cvat_element_attributes") or {}
    if len(ann.visibility) != len(names):
        plan.loss("keypoints", "fitted to the label's skeleton (extra points dropped, missing ones outside)")
    for i, name in enumerate(names):
        vis = ann.visibility[i] if i < len(ann.visibility) else 0
        xy = ann.points[2 * i : 2 * i + 2] if i < len(ann.visibility) else [0.0, 0.0]
        p = etree.SubElement(el, "points", label=name)
        if track is None and ann.metadata.get("cvat_source"):
            p.set("source", str(ann.metadata["cvat_source"]))
        if track is not None:
            kf = (
                keyframes[i]
                if isinstance(keyframes, list) and i < len(keyframes) and track[1] == bool(ann.keyframe)
                else track[1]
            )
            p.set("keyframe", "1" if kf else "0")
        p.set("outside", "1" if vis == 0 or (track is not None and track[2]) else "0")
        p.set("occluded", "1" if vis == 1 else "0")
        p.set("points", f"{_num(xy[0])},{_num(xy[1])}")
        attrs = element_attrs.get(name)
        if isinstance(attrs, dict):
            _put_attributes(p, attrs, skip_occluded=False)


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Version, duplicate image ids, labels and attributes not declared in the meta, values
    outside a select's list, and tracks with two shapes on one frame or mixed shape kinds."""
    if source.is_file():
        files = [source]
    else:
        probe = Probe(source)
        files = [source / rel for rel in _candidate_files(probe) if _signature(probe, rel) is not None]
    problems: list[Problem] = []
    for path in files:
        try:
            root = parse_xml(path)
        except LabelportError:
            continue  # the read already reported it
        problems += _validate_file(root, str(path))
    return problems


def _validate_file(root: etree._Element, file: str) -> list[Problem]:
    out: list[Problem] = []

    def problem(message: str, el: etree._Element, severity: str = "error") -> None:
        out.append(Problem(severity=severity, message=message, file=file, location=xml_location(el)))  # type: ignore[arg-type]

    version = root.find("version")
    if version is not None and (version.text or "").strip() not in ("1.0", "1.1"):
        problem(f"version {(version.text or '').strip()!r}: this reader follows CVAT XML 1.1", version, "warning")
    declared: dict[str, dict[str, tuple[str, list[str]]]] = {}
    parents: dict[str, str] = {}
    for lab in root.iterfind("meta//labels/label"):
        name = (lab.findtext("name") or "").strip()
        attrs = {}
        for a in lab.findall("attributes/attribute"):
            values = [v.strip() for v in (a.findtext("values") or "").split("\n") if v.strip()]
            attrs[(a.findtext("name") or "").strip()] = ((a.findtext("input_type") or "text").strip().lower(), values)
        declared[name] = attrs
        parent = (lab.findtext("parent") or "").strip()
        if parent:
            parents[name] = parent
    has_labels = bool(declared)

    def check_shape(el: etree._Element, label: str | None) -> None:
        if has_labels and label and label not in declared:
            problem(f"label {label!r} is not declared in <meta>", el, "warning")
        specs = declared.get(label or "", {})
        for a in el.findall("attribute"):
            name = a.get("name") or ""
            spec = specs.get(name)
            if spec is None:
                if has_labels and label in declared:
                    problem(f"attribute {name!r} is not declared for label {label!r}", a, "warning")
                continue
            kind, values = spec
            value = (a.text or "").strip()
            if kind in ("select", "radio") and values and value not in values:
                problem(f"attribute {name!r}: {value!r} is not one of {values}", a, "warning")
            elif kind == "checkbox" and value.lower() not in ("true", "false"):
                problem(f"attribute {name!r}: {value!r} is not true or false", a, "warning")
            elif kind == "number" and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
                problem(f"attribute {name!r}: {value!r} is not a number", a, "warning")

    images: set[tuple[str | None, str | None, str | None]] = set()
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if child.tag == "image":
            key = (child.get("subset"), child.get("task_id"), child.get("id"))
            if key in images:
                problem(f"image id {child.get('id')} appears twice", child)
            images.add(key)
            for shape in child:
                if isinstance(shape.tag, str) and (shape.tag in SHAPES or shape.tag == "tag"):
                    check_shape(shape, shape.get("label") or None)
        elif child.tag == "track":
            frames: set[str | None] = set()
            kinds: set[str] = set()
            for shape in child:
                if not isinstance(shape.tag, str) or shape.tag not in SHAPES:
                    continue
                kinds.add(shape.tag)
                if shape.get("frame") in frames:
                    problem(f"track {child.get('id')} has two shapes on frame {shape.get('frame')}", shape)
                frames.add(shape.get("frame"))
                check_shape(shape, child.get("label") or None)
            if len(kinds) > 1:
                problem(f"track {child.get('id')} mixes shape kinds {sorted(kinds)}", child)
    return out
