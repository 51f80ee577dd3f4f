"""LabelMe JSON: one file per image, as the LabelMe desktop tool (wkentaro/labelme) writes it.

Specification: the tool's own reader and writer (``labelme/_label_file.py``, ``utils/shape.py``),
versions 3.x to 5.x. A file holds ``version``, image-level ``flags`` (name -> bool),
``shapes``, ``imagePath`` (relative to the JSON file), ``imageData`` (base64, or null),
``imageHeight`` and ``imageWidth``. Each shape has ``label``, ``points`` ([[x, y], ...]),
``group_id``, ``shape_type``, ``flags``, ``description`` and, for masks, ``mask``.

Mapping to the canonical schema:

- ``polygon`` (also files with no ``shape_type``, LabelMe 3.x) -> polygon
- ``rectangle`` (two opposite corners, any order) -> bbox; ``oriented_rectangle`` -> rotated bbox
- ``circle`` (centre, then a point on the rim) -> ellipse with equal radii
- ``line`` and ``linestrip`` -> polyline; ``point`` and ``points`` -> points
- ``mask`` (top-left and bottom-right pixel, base64 PNG of that patch) -> mask
- image-level flags set to true -> image labels; every flag name is a label
- ``group_id`` -> group; shape flags, a ``description`` and an ``attributes`` object -> attributes;
  ``score`` (written by LabelMe forks) -> score

Other keys (top level and per shape) are kept in ``metadata`` and written back: LabelMe
itself keeps unknown keys when it saves a file. Shapes of an unknown type are kept verbatim
in the item's metadata (``validate`` warns about them). ``labels.txt`` and ``flags.txt`` in
the dataset folder (the lists the tool's ``--labels``/``--flags`` options read) declare labels.
"""

from __future__ import annotations

import base64
import binascii
import math
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.geometry.coords import ellipse_polygon
from labelport.geometry.masks import crop, decode_mask_image, encode_png, paste
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.io.media import export_media, image_size, is_inside, safe_join
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
    Dataset,
    Ellipse,
    Image,
    Item,
    LabelSet,
    Mask,
    Points,
    Polygon,
    Polyline,
    Tag,
)

from labelport_labelme._common import MAX_MASK_PIXELS, FileLookup, image_size_from_bytes, join_rel

#: the version written into files that did not come from LabelMe (the schema written is 5.x's)
LABELME_VERSION = "5.5.0"
SHAPE_TYPES = ("polygon", "rectangle", "oriented_rectangle", "circle", "line", "linestrip", "point", "points", "mask")
_TOP_KEYS = ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth")
_SHAPE_KEYS = ("label", "points", "group_id", "description", "shape_type", "flags", "mask", "attributes", "score")
_MAX_SCANNED = 20


class LabelmeReadOptions(OptionsBase):
    """LabelMe reader options."""

    #: keep embedded ``imageData`` as the item's image bytes (False saves memory)
    load_image_data: bool = True


class LabelmeWriteOptions(OptionsBase):
    """LabelMe writer options."""

    #: embed each image as base64 ``imageData`` (from the item's bytes or its file)
    image_data: bool = False


INFO = FormatInfo(
    name="labelme",
    title="LabelMe JSON",
    description="The LabelMe desktop tool's JSON, one file per image (versions 3.x to 5.x): polygons, "
    "rectangles, circles, lines, points, masks, groups, flags and embedded images.",
    extensions=(".json",),
    annotation_types=frozenset({"bbox", "polygon", "polyline", "points", "ellipse", "mask", "label"}),
    features=frozenset({"attributes", "groups", "rotation", "scores"}),
    read_options=LabelmeReadOptions,
    write_options=LabelmeWriteOptions,
    docs_url="https://github.com/wkentaro/labelme",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


def _keys_confidence(keys: set[str]) -> float | None:
    if "shapes" not in keys:
        return None
    if "imagePath" in keys:
        return 0.95  # the two keys every LabelMe version writes
    if keys & {"imageData", "imageHeight", "version", "lineColor"}:
        return 0.7
    return None


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".json":
            return None
        conf = _keys_confidence(probe.json_keys())
        return Detection(format="labelme", confidence=conf, reason="JSON with shapes and imagePath") if conf else None
    files = probe.files("**/*.json")[:_MAX_SCANNED]
    hits = [c for c in (_keys_confidence(probe.json_keys(f)) for f in files) if c]
    if not hits:
        return None
    conf = max(hits)
    if len(hits) * 2 < len(files):
        conf = min(conf, 0.6)  # a folder mostly of other JSON files
    return Detection(format="labelme", confidence=conf, reason=f"{len(hits)} LabelMe JSON files")


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: LabelmeReadOptions = options.format_options or LabelmeReadOptions()
    root = source.parent if source.is_file() else source
    labels = LabelSet(_label_list(root / "labels.txt") + _label_list(root / "flags.txt"))
    files = _scan(source, labels)
    lookup = FileLookup(root, listing=source.is_dir())

    def items() -> Iterator[Item]:
        for path in files:
            doc = load_json(path)
            if isinstance(doc, dict):  # the file changed since the scan otherwise; skip it as the scan would
                yield _read_item(path, root, doc, opts, labels, lookup)

    return Dataset(items, labels=labels)


def _label_list(path: Path) -> list[str]:
    """The names in a ``labels.txt``/``flags.txt`` list, one per line."""
    if not path.is_file():
        return []
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read label list: {exc}", file=path) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def _json_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source]
    return sorted(
        p for p in source.rglob("*.json")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(source).parts)
    )


def _scan(source: Path, labels: LabelSet) -> list[Path]:
    """The LabelMe files of ``source`` (a file or a folder); collects their labels up front
    so that the items can be streamed with every label already declared."""
    files = []
    for path in _json_files(source):
        doc = load_json(path)
        if not isinstance(doc, dict) or "shapes" not in doc:
            if source.is_file():
                raise FormatError("not a LabelMe file: no 'shapes'", file=path)
            continue  # another JSON file in the folder (a config, a class map)
        shapes = doc.get("shapes")
        for shape in shapes if isinstance(shapes, list) else []:
            label = shape.get("label") if isinstance(shape, dict) else None
            if isinstance(label, str) and label:
                labels.add(label)
        flags = doc.get("flags")
        for name in flags if isinstance(flags, dict) else []:
            labels.add(name)
        files.append(path)
    if not files:
        raise FormatError("no LabelMe JSON files found", file=source)
    return files


def _read_item(path: Path, root: Path, doc: dict, opts: LabelmeReadOptions, labels: LabelSet, lookup: FileLookup) -> Item:
    j = JsonReader(path)
    rel = path.relative_to(root).with_suffix("").as_posix()
    version = j.get(doc, "version", "", (str, int, float), required=False)
    flags = _bool_map(j, j.get(doc, "flags", "", dict, required=False, default={}), "flags")
    shapes = j.get(doc, "shapes", "", list)
    image_path = j.get(doc, "imagePath", "", str, required=False)
    image_data_b64 = j.get(doc, "imageData", "", str, required=False)
    width = _dimension(j, doc, "imageWidth")
    height = _dimension(j, doc, "imageHeight")

    found = _find_image(lookup, rel, image_path)
    data = None
    if image_data_b64:
        try:
            data = base64.b64decode(image_data_b64)
        except (binascii.Error, ValueError) as exc:
            raise j.error("imageData", f"invalid base64: {exc}") from None
    if width is None or height is None:
        width, height = _size_from_image(path, data, found, width, height)

    item_meta: dict[str, Any] = {"labelme_flags": list(flags)}
    if image_path is not None:
        item_meta["labelme_image_path"] = image_path
    if version is not None:
        item_meta["labelme_version"] = version
    extra = {k: v for k, v in doc.items() if k not in _TOP_KEYS}
    if extra:
        item_meta["labelme_extra"] = extra

    annotations: list[Any] = [Tag(label=name) for name, on in flags.items() if on]
    unknown: list[Any] = []
    for i, shape in enumerate(shapes):
        ann = _read_shape(j, shape, f"shapes[{i}]", path, width, height)
        if ann is None:
            unknown.append({"index": i, "shape": shape})
            continue
        if ann.label is not None:
            labels.add(ann.label)
        annotations.append(ann)
    if unknown:
        item_meta["labelme_unknown_shapes"] = unknown

    media = Image(
        name=_media_name(rel, image_path, found),
        path=str(found) if found else None,
        width=width,
        height=height,
        data=data if opts.load_image_data else None,
    )
    return Item(id=rel, media=media, annotations=annotations, metadata=item_meta)


def _media_name(rel: str, image_path: str | None, found: Path | None) -> str | None:
    """The image's name relative to the dataset folder (``imagePath`` is relative to the JSON
    file, and is kept as written in the item's metadata); just the file name when the path
    leaves the folder or is absolute."""
    if not image_path:
        return found.name if found else None
    return _within(rel, image_path) or posixpath.basename(image_path.replace("\\", "/")) or None


def _within(rel: str, image_path: str) -> str | None:
    """``imagePath`` of the JSON file ``rel`` as a path relative to the dataset folder; None when
    it is absolute or leaves the folder."""
    name = image_path.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return None
    return join_rel(posixpath.dirname(rel), name)


def _dimension(j: JsonReader, doc: dict, key: str) -> int | None:
    value = j.get(doc, key, "", (int, float), required=False)
    if value is None:
        return None
    if value != int(value) or value <= 0:
        raise j.error(key, f"image size must be a positive integer, got {value!r}")
    return int(value)


def _bool_map(j: JsonReader, value: dict, where: str) -> dict[str, bool]:
    """LabelMe flags: names mapped to true or false (the tool refuses anything else)."""
    for name, flag in value.items():
        if not isinstance(flag, bool):
            raise j.error(f"{where}.{name}", f"a flag is true or false, got {flag!r}")
    return value


def _find_image(lookup: FileLookup, rel: str, image_path: str | None) -> Path | None:
    """The image file: ``imagePath`` is relative to the JSON file (the tool writes Windows
    separators on Windows, and absolute paths exist in the wild); names that leave the
    dataset are never followed, but an image of the same name next to the JSON is found.
    (An ``images`` folder given as a read option is matched by the core.)"""
    candidates: list[str | None] = []
    if image_path:
        candidates.append(_within(rel, image_path))
        candidates.append(join_rel(posixpath.dirname(rel), posixpath.basename(image_path.replace("\\", "/"))))
    candidates.append(rel)  # an image with the JSON's own stem
    for cand in candidates:
        found = lookup.find(cand) if cand else None
        if found is not None and found.suffix.lower() != ".json":  # some files name themselves
            return found
    return None


def _size_from_image(path: Path, data: bytes | None, found: Path | None, width: int | None, height: int | None) -> tuple[int | None, int | None]:
    """Image size from the embedded image or the image file's header when the JSON lacks it
    (LabelMe 3.x files have no imageHeight/imageWidth)."""
    try:
        if data:
            w, h = image_size_from_bytes(data, file=path, location="imageData")
        elif found is not None:
            w, h = image_size(found)
        else:
            return width, height
    except FormatError:
        return width, height
    return width or w, height or h


def _read_shape(j: JsonReader, shape: Any, where: str, path: Path, width: int | None, height: int | None) -> Any:
    """One canonical annotation for a shape; None for a shape type this reader does not know."""
    if not isinstance(shape, dict):
        raise j.error(where, "expected an object")
    shape_type = j.get(shape, "shape_type", where, str, required=False) or "polygon"
    if shape_type not in SHAPE_TYPES and shape_type != "rotation":
        return None
    label = j.get(shape, "label", where, str, required=False) or None
    raw_points = j.get(shape, "points", where, list)
    if not raw_points:
        raise j.error(f"{where}.points", "a shape needs at least one point")
    pts: list[float] = []
    for k, p in enumerate(raw_points):
        x, y = j.numbers(p, f"{where}.points[{k}]", length=2)
        pts += [float(x), float(y)]
    group = j.get(shape, "group_id", where, int, required=False)
    attributes: dict[str, Any] = dict(_bool_map(j, j.get(shape, "flags", where, dict, required=False, default={}), f"{where}.flags"))
    description = j.get(shape, "description", where, str, required=False)
    if description:
        attributes["description"] = description
    extra_attrs = j.get(shape, "attributes", where, dict, required=False, default={})
    attributes.update(extra_attrs)
    score = j.get(shape, "score", where, float, required=False)
    meta: dict[str, Any] = {"labelme_shape_type": shape_type}
    extra = {k: v for k, v in shape.items() if k not in _SHAPE_KEYS}
    if extra:
        meta["labelme_extra"] = extra
    common = {"label": label, "group": group, "attributes": attributes, "score": score, "metadata": meta}

    def need(n: int, exact: bool = True) -> None:
        if len(pts) // 2 != n if exact else len(pts) // 2 < n:
            raise j.error(f"{where}.points", f"a {shape_type} has {'' if exact else 'at least '}{n} points, got {len(pts) // 2}")

    if shape_type == "polygon":
        return Polygon(**common, parts=[pts])
    if shape_type == "rectangle":
        need(2, exact=False)  # two opposite corners; converters that write all four corners exist
        xs, ys = pts[0::2], pts[1::2]
        x, y, w, h = coords.xyxy_to_xywh(min(xs), min(ys), max(xs), max(ys))
        return BBox(**common, x=x, y=y, w=w, h=h)
    if shape_type in ("oriented_rectangle", "rotation"):
        need(4)
        x, y, w, h, rotation = coords.corners_to_rotated_box(pts)
        return BBox(**common, x=x, y=y, w=w, h=h, rotation=rotation)
    if shape_type == "circle":
        need(2)
        r = math.hypot(pts[2] - pts[0], pts[3] - pts[1])
        return Ellipse(**common, cx=pts[0], cy=pts[1], rx=r, ry=r)
    if shape_type in ("line", "linestrip"):
        return Polyline(**common, points=pts)
    if shape_type in ("point", "points"):
        return Points(**common, points=pts)
    # mask: the patch's top-left pixel, then its bottom-right one; the PNG gives the extent
    encoded = j.get(shape, "mask", where, str)
    try:
        png = base64.b64decode(encoded)
    except (binascii.Error, ValueError) as exc:
        raise j.error(f"{where}.mask", f"invalid base64: {exc}") from None
    patch = decode_mask_image(png, file=str(path), location=f"{where}.mask")
    if width is None or height is None:
        raise j.error(where, "a mask shape needs the image size: imageHeight/imageWidth are missing and the image cannot be read")
    if width * height > MAX_MASK_PIXELS:
        raise j.error(where, f"image size {width}x{height} is too large for a mask")
    left, top = round(pts[0]), round(pts[1])
    return Mask.from_array(paste(patch, left, top, height, width), **common)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: LabelmeWriteOptions = options.format_options or LabelmeWriteOptions()
    target.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    flag_names: dict[str, None] = {}
    shape_labels: set[str] = set()
    embedded_not_written = 0
    for item in dataset:
        rel = item.id if item.subset in (None, "default") else f"{item.subset}/{item.id}"
        if rel in written:
            report.warn(f"item {item.id!r} appears twice; the second is written as {rel}~2")
            rel = f"{rel}~2"
        written.add(rel)
        json_path = safe_join(target, rel + ".json")
        json_path.parent.mkdir(parents=True, exist_ok=True)
        doc, has_data = _item_json(item, opts, report, json_path, target, options)
        embedded_not_written += has_data
        for name in doc["flags"]:
            flag_names.setdefault(name, None)
        shape_labels.update(s["label"] for s in doc["shapes"] if isinstance(s.get("label"), str))
        json_path.write_bytes(dump_json(doc, indent=True) + b"\n")
    if embedded_not_written:
        report.note(f"{embedded_not_written} embedded images were not written into the JSON files; "
                    "pass image_data=True to embed them or save_media to write them as files")
    names = [lb.name for lb in dataset.labels]
    label_list = [n for n in names if n not in flag_names or n in shape_labels]
    flag_list = [n for n in names if n in flag_names] + [n for n in flag_names if n not in dataset.labels]
    if label_list:
        (target / "labels.txt").write_text("".join(f"{n}\n" for n in label_list), encoding="utf-8")
    if flag_list:
        (target / "flags.txt").write_text("".join(f"{n}\n" for n in flag_list), encoding="utf-8")
    return True


def _item_json(item: Item, opts: LabelmeWriteOptions, report: Report, json_path: Path, target: Path, options: WriteOptions) -> tuple[dict[str, Any], bool]:
    media = item.media
    width, height = getattr(media, "width", None), getattr(media, "height", None)
    stored_flags = item.metadata.get("labelme_flags")
    flags: dict[str, bool] = {str(n): False for n in stored_flags} if isinstance(stored_flags, list) else {}
    shapes: list[dict[str, Any]] = []
    for ann in item.annotations:
        if ann.type == "label":
            if ann.label is None:
                report.loss("image label without a name", "dropped")
                continue
            if ann.attributes or ann.score is not None or ann.group is not None:
                report.loss("attributes, scores and groups of image labels", "dropped (LabelMe flags are true or false)")
            if flags.get(ann.label) is True:
                report.loss("repeated image label", "merged (a flag is set once)")
            flags[ann.label] = True
            continue
        if ann.type == "mask" and (width is None or height is None):
            height, width = ann.rle.size
        shape = _shape_json(ann, report)
        if shape is not None:
            shapes.append(shape)
    for entry in item.metadata.get("labelme_unknown_shapes") or []:
        if isinstance(entry, dict) and isinstance(entry.get("shape"), dict):
            index = entry.get("index")
            pos = index if isinstance(index, int) and 0 <= index <= len(shapes) else len(shapes)
            shapes.insert(pos, entry["shape"])

    image_path = _image_path(item)
    data = getattr(media, "data", None)
    encoded = None
    if opts.image_data:
        raw = data if data else _file_bytes(getattr(media, "path", None))
        if raw is None:
            report.missing_media.append(item.id)
        else:
            encoded = base64.b64encode(raw).decode("ascii")
    if options.save_media != "none":
        image_path = _export_media(item, image_path, json_path, target, options, report)
    version = item.metadata.get("labelme_version")
    doc: dict[str, Any] = {
        "version": version if isinstance(version, (str, int, float)) else LABELME_VERSION,
        "flags": flags,
        "shapes": shapes,
        "imagePath": image_path,
        "imageData": encoded,
        "imageHeight": height,
        "imageWidth": width,
    }
    for key, value in (item.metadata.get("labelme_extra") or {}).items():
        doc.setdefault(key, value)
    return doc, bool(data) and encoded is None and options.save_media == "none"


def _image_path(item: Item) -> str:
    stored = item.metadata.get("labelme_image_path")
    if isinstance(stored, str) and stored:
        return stored
    media = item.media
    name = getattr(media, "name", None) or getattr(media, "path", None)
    if name:
        return posixpath.basename(str(name).replace("\\", "/"))
    return posixpath.basename(item.id) + ".jpg"


def _file_bytes(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def _export_media(item: Item, image_path: str, json_path: Path, target: Path, options: WriteOptions, report: Report) -> str:
    """Put the image where ``imagePath`` points, or next to the JSON when that would leave
    the target; returns the ``imagePath`` to write."""
    name = image_path.replace("\\", "/")
    folder = json_path.parent.relative_to(target).as_posix()
    joined = posixpath.normpath(posixpath.join(folder, name))
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or not is_inside(target, joined):
        image_path = posixpath.basename(name)
        joined = posixpath.join(folder, image_path) if folder != "." else image_path
    if not safe_join(target, joined).exists():  # else several items share one image
        export_media(item, target, options.save_media, report, name=joined)
    return image_path


def _shape_json(ann: Any, report: Report) -> dict[str, Any] | None:
    """The LabelMe shape of one annotation, in the key order the tool writes."""
    stored_type = ann.metadata.get("labelme_shape_type")
    t = ann.type
    mask = None
    if t == "polygon":
        shape_type, pts = "polygon", ann.parts[0] if ann.parts else []
    elif t == "bbox":
        if ann.rotation or stored_type in ("oriented_rectangle", "rotation"):
            shape_type = "rotation" if stored_type == "rotation" else "oriented_rectangle"
            pts = coords.rotated_box_corners(ann.x, ann.y, ann.w, ann.h, ann.rotation)
        else:
            shape_type, pts = "rectangle", list(coords.xywh_to_xyxy(ann.x, ann.y, ann.w, ann.h))
    elif t == "ellipse":
        if math.isclose(ann.rx, ann.ry, rel_tol=0, abs_tol=1e-9):
            shape_type, pts = "circle", [ann.cx, ann.cy, ann.cx + ann.rx, ann.cy]
        else:
            report.loss("ellipse", "approximated by a 64-point polygon (LabelMe holds circles only)")
            shape_type, pts = "polygon", ellipse_polygon(ann.cx, ann.cy, ann.rx, ann.ry, ann.rotation)
    elif t == "polyline":
        shape_type = "line" if stored_type == "line" and len(ann.points) == 4 else "linestrip"
        pts = ann.points
    elif t == "points":
        pts = ann.points
        if ann.visibility:
            if 0 in ann.visibility:  # not labelled: its coordinates mean nothing
                report.loss("unlabelled points (visibility 0)", "dropped")
                pts = [c for k, v in enumerate(ann.visibility) if v != 0 for c in ann.points[2 * k : 2 * k + 2]]
            if 1 in ann.visibility:
                report.loss("point visibility", "dropped (LabelMe points have none)")
        if not pts:
            report.loss("points without any point", "dropped")
            return None
        shape_type = "point" if len(pts) == 2 else "points"
    elif t == "mask":
        shape_type = "mask"
        found = crop(ann.to_array())
        if found is None:  # an empty mask: a one-pixel empty patch keeps it
            patch, left, top = ann.to_array()[:1, :1], 0, 0
        else:
            patch, left, top = found
        h, w = patch.shape
        pts = [float(left), float(top), float(left + w - 1), float(top + h - 1)]
        mask = base64.b64encode(encode_png(patch)).decode("ascii")
    else:  # the core reduced every other kind already
        report.loss(t, "dropped (the format cannot hold it)")
        return None
    flags = {k: v for k, v in ann.attributes.items() if isinstance(v, bool)}
    description = ann.attributes.get("description")
    rest = {k: v for k, v in ann.attributes.items() if k not in flags and not (k == "description" and isinstance(v, str))}
    shape: dict[str, Any] = {
        "label": ann.label or "",
        "points": [[pts[k], pts[k + 1]] for k in range(0, len(pts) - 1, 2)],
        "group_id": ann.group,
        "description": description if isinstance(description, str) else "",
        "shape_type": shape_type,
        "flags": flags,
        "mask": mask,
    }
    if rest:
        shape["attributes"] = rest  # kept by LabelMe on save; the key LabelMe forks use for attributes
    if ann.score is not None:
        shape["score"] = ann.score
    for key, value in (ann.metadata.get("labelme_extra") or {}).items():
        shape.setdefault(key, value)
    return shape


# --------------------------------------------------------------------------- validate

_POINT_COUNTS = {"rectangle": 2, "circle": 2, "line": 2, "point": 1, "mask": 2, "oriented_rectangle": 4}


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Point counts that do not fit the shape type, unknown shape types, mask shapes without
    mask data, images neither found nor embedded. (The core compares image sizes.)"""
    problems: list[Problem] = []
    root = source.parent if source.is_file() else source
    lookup = FileLookup(root, listing=source.is_dir())
    for path in _json_files(source):
        doc = load_json(path)
        if not isinstance(doc, dict) or "shapes" not in doc:
            continue
        f = str(path)
        shapes = doc.get("shapes") if isinstance(doc.get("shapes"), list) else []
        for i, shape in enumerate(shapes):
            if not isinstance(shape, dict):
                continue
            st = shape.get("shape_type") or "polygon"
            n = len(shape["points"]) if isinstance(shape.get("points"), list) else 0
            if st not in SHAPE_TYPES and st != "rotation":
                problems.append(Problem(severity="warning", message=f"unknown shape type {st!r}: kept as it is, not converted", file=f, location=f"shapes[{i}]"))
            elif st in _POINT_COUNTS and n != _POINT_COUNTS[st]:
                # (too few points for a polygon or a line strip the core's checks report)
                problems.append(Problem(severity="warning", message=f"a {st} has {_POINT_COUNTS[st]} points, this one {n}", file=f, location=f"shapes[{i}].points"))
            if st == "mask" and not shape.get("mask"):
                problems.append(Problem(message="a mask shape without mask data", file=f, location=f"shapes[{i}].mask"))
        image_path = doc.get("imagePath") if isinstance(doc.get("imagePath"), str) else None
        rel = path.relative_to(root).with_suffix("").as_posix()
        if image_path and _within(rel, image_path) is None:
            problems.append(Problem(
                severity="warning", file=f, location="imagePath",
                message=f"imagePath {image_path!r} leaves the dataset folder: not followed (an image of that name beside the file is used)",
            ))
        if _find_image(lookup, rel, image_path) is None and not doc.get("imageData"):
            problems.append(Problem(severity="warning", message=f"image {image_path!r} not found and no imageData embedded", file=f, location="imagePath"))
    return problems
