"""LabelMe 3.0 XML: the annotation files of the MIT CSAIL LabelMe web tool, one per image.

Specification: the tool's XML (``Annotations/<folder>/<image>.xml``, template in
``annotationCache/XMLTemplates/labelme.xml``) and the importer/exporter CVAT uses (datumaro's
``labelme`` format). An ``<annotation>`` holds ``filename``, ``folder``, ``source``,
``imagesize`` (``nrows``/``ncols``, anywhere in the file) and ``object`` elements with
``name``, ``deleted``, ``verified``, ``occluded`` (yes/no), ``attributes`` (comma-separated
``name=value`` pairs, bare names meaning true), ``parts`` (``hasparts``/``ispartof`` object
ids), ``date``, ``id``, ``type`` (``bounding_box``) and either a ``polygon`` of ``pt`` (x, y in
pixels) or a ``segm`` with a ``mask`` PNG and its ``box``.

Layouts read: the tool's ``Annotations/<folder>/``, ``Images/<folder>/``, ``Masks/<folder>/``;
CVAT/datumaro's ``<subset>/<image>.xml`` with ``<subset>/Masks/``; a loose folder of XMLs.
Objects marked ``deleted`` are skipped. Objects linked through ``parts`` share a group.
The writer writes the CVAT/datumaro layout (``csail=True`` for the tool's own).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.geometry.masks import decode_mask_image, encode_png, paste, rle_bbox
from labelport.io.media import export_media, image_size, is_inside, safe_join
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
from labelport.schema import BBox, Dataset, Image, Item, Label, Mask, Polygon
from lxml import etree

from labelport_labelme._common import MAX_MASK_PIXELS, FileLookup, join_rel

_MAX_SCANNED = 10
_TAG_RE = {t: re.compile(rf"<{t}[\s/>]") for t in ("polygon", "pt", "segm", "imagesize", "sourceAnnotation", "nrows")}
#: the colour masks are painted in when their label has none (alpha marks the mask)
_MASK_COLOR = (255, 203, 0)


class Labelme3WriteOptions(OptionsBase):
    """LabelMe 3.0 writer options."""

    #: write the web tool's ``Annotations/<subset>/``, ``Masks/<subset>/``, ``Images/<subset>/``
    #: instead of CVAT/datumaro's ``<subset>/<id>.xml`` with ``<subset>/Masks/``
    csail: bool = False


INFO = FormatInfo(
    name="labelme3",
    title="LabelMe 3.0 XML",
    description="The MIT CSAIL LabelMe web tool's XML (also CVAT's LabelMe 3.0): polygons, boxes, "
    "masks with Masks/ PNGs, attributes, occluded and deleted flags, object parts.",
    extensions=(".xml",),
    annotation_types=frozenset({"bbox", "polygon", "mask"}),
    features=frozenset({"annotation_ids", "attributes", "groups", "subsets"}),
    write_options=Labelme3WriteOptions,
    docs_url="https://github.com/CSAILVision/LabelMeAnnotationTool",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


def _signature(probe: Probe, rel: str | None) -> float | None:
    """How surely one XML file is LabelMe 3.0: polygons of <pt> or <segm> masks are unmistakable;
    <imagesize>/<sourceAnnotation> (not in Pascal VOC) are likely."""
    if probe.xml_root(rel) != "annotation":
        return None
    text = probe.text(rel, 65536)
    if "<bndbox" in text:
        return None  # Pascal VOC
    if (_TAG_RE["polygon"].search(text) and _TAG_RE["pt"].search(text)) or _TAG_RE["segm"].search(text):
        return 0.95
    if any(_TAG_RE[t].search(text) for t in ("imagesize", "sourceAnnotation", "nrows")):
        return 0.8
    return None


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".xml":
            return None
        conf = _signature(probe, None)
        return Detection(format="labelme3", confidence=conf, reason="LabelMe 3.0 <annotation>") if conf else None
    files = probe.files("Annotations/**/*.xml") or probe.files("**/*.xml")
    hits = [c for c in (_signature(probe, f) for f in files[:_MAX_SCANNED]) if c]
    if not hits:
        return None
    return Detection(format="labelme3", confidence=max(hits), reason=f"{len(hits)} LabelMe 3.0 XML files")


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    root = source.parent if source.is_file() else source
    labels: dict[str, Label] = {}
    lookup = FileLookup(root, listing=source.is_dir())
    items = [_read_item(entry, root, lookup, labels) for entry in _xml_entries(source)]
    return Dataset(items, labels=list(labels.values()))


class _Entry(NamedTuple):
    """One annotation file and where it sits: its subset, item id, the folder of its subset
    (or collection) and whether the layout is the tool's ``Annotations/`` one."""

    path: Path
    subset: str | None
    item_id: str
    base: Path
    csail: bool


def _xml_entries(source: Path) -> list[_Entry]:
    if source.is_file():
        return [_Entry(source, None, source.stem, source.parent, False)]
    ann_root = source / "Annotations"
    csail = ann_root.is_dir() and any(ann_root.rglob("*.xml"))
    top = ann_root if csail else source
    out = []
    for path in sorted(top.rglob("*.xml")):
        rel = path.relative_to(top)
        if not path.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        if len(rel.parts) > 1:
            subset: str | None = rel.parts[0]
            item_id = Path(*rel.parts[1:]).with_suffix("").as_posix()
        else:
            subset, item_id = None, rel.with_suffix("").as_posix()
        out.append(_Entry(path, None if subset == "default" else subset, item_id, top / rel.parts[0] if subset else top, csail))
    if not out:
        raise FormatError("no LabelMe 3.0 XML files found", file=source)
    return out


def _text(parent: Any, tag: str) -> str | None:
    """The stripped text of a child element (the tool pads text with newlines), or None."""
    el = parent.find(tag)
    if el is None:
        return None
    return (el.text or "").strip()


def _number(el: Any, tag: str, file: Path) -> float:
    child = el.find(tag)
    text = (child.text or "").strip() if child is not None else ""
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"<{tag}> must be a number, got {text!r}", file=file, location=xml_location(child if child is not None else el)) from None
    if not np.isfinite(value):
        raise FormatError(f"<{tag}> is not finite", file=file, location=xml_location(child))
    return value


def _int_list(el: Any, tag: str, file: Path) -> list[int]:
    text = _text(el, tag) or ""
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise FormatError(f"<{tag}> must list object ids, got {text!r}", file=file, location=xml_location(el.find(tag))) from None


def _read_item(entry: _Entry, root: Path, lookup: FileLookup, labels: dict[str, Label]) -> Item:
    file = entry.path
    doc = parse_xml(file)
    if etree.QName(doc).localname != "annotation":
        raise FormatError(f"root element is <{etree.QName(doc).localname}>, expected <annotation>", file=file, location=xml_location(doc))
    filename = _text(doc, "filename") or None
    folder = _text(doc, "folder") or None
    width = height = None
    size_el = doc.find("imagesize")
    if size_el is not None and size_el.find("nrows") is not None and size_el.find("ncols") is not None:
        nrows, ncols = _number(size_el, "nrows", file), _number(size_el, "ncols", file)
        if nrows != int(nrows) or ncols != int(ncols) or nrows <= 0 or ncols <= 0:
            raise FormatError(f"image size {ncols:g}x{nrows:g} must be positive integers", file=file, location=xml_location(size_el))
        width, height = int(ncols), int(nrows)

    # candidate places, relative to the root, for the tool's layout and CVAT's
    xml_dir = entry.path.parent.relative_to(root).as_posix()
    base = entry.base.relative_to(root).as_posix()
    collection = entry.base.name if entry.csail else None
    image_names = [
        join_rel("Images", collection, filename), join_rel("Images", folder, filename),
        join_rel(xml_dir, filename), join_rel(base, filename), join_rel(filename),
    ] if filename else []
    found = None
    for rel in [*image_names, join_rel(xml_dir, entry.path.stem)]:  # (an images folder option is matched by the core)
        found = lookup.find(rel) if rel else None
        if found is not None:
            break
    if (width is None or height is None) and found is not None:
        try:
            width, height = image_size(found)
        except FormatError:
            pass

    def find_mask(name: str) -> Path | None:
        for rel in (
            join_rel("Masks", collection, name) if collection else None, join_rel("Masks", folder, name) if entry.csail else None,
            join_rel(base, "Masks", name), join_rel(xml_dir, "Masks", name), join_rel("Masks", name), join_rel(xml_dir, name),
        ):
            path = lookup.find(rel, stem_fallback=False) if rel else None
            if path is not None:
                return path
        return None

    objects: list[tuple[int | None, Any, list[int], list[int]]] = []
    for obj in doc.findall("object"):
        if (_text(obj, "deleted") or "0").lower() in ("1", "true", "yes"):
            continue  # deleted in the tool, kept in the file
        parsed = _read_object(obj, file, find_mask, (width, height))
        if parsed is None:
            continue
        oid, ann, size = parsed
        if size is not None and (width is None or height is None):
            width, height = size
        parts = obj.find("parts")
        has = _int_list(parts, "hasparts", file) if parts is not None else []
        part_of = _int_list(parts, "ispartof", file) if parts is not None else []
        objects.append((oid, ann, has, part_of))
        if ann.label is not None and ann.label not in labels:
            labels[ann.label] = Label(name=ann.label)

    annotations = _assign_groups(objects)
    meta: dict[str, Any] = {}
    if folder is not None:
        meta["labelme_folder"] = folder
    if filename is not None:
        meta["labelme_filename"] = filename
    media = Image(name=filename, path=str(found) if found else None, width=width, height=height)
    return Item(id=entry.item_id, subset=entry.subset, media=media, annotations=annotations, metadata=meta)


def _read_object(obj: Any, file: Path, find_mask: Any, size: tuple[int | None, int | None]) -> tuple[int | None, Any, tuple[int, int] | None] | None:
    """(object id, annotation, image size learnt from a mask) of one object; None when it has no shape."""
    where = xml_location(obj)
    oid_text = _text(obj, "id")
    try:
        oid = int(oid_text) if oid_text else None
    except ValueError:
        raise FormatError(f"<id> must be an integer, got {oid_text!r}", file=file, location=xml_location(obj.find("id"))) from None
    label = _text(obj, "name") or None
    attributes = parse_attributes(_text(obj, "attributes") or "")
    if (_text(obj, "occluded") or "").lower() in ("yes", "1", "true"):
        attributes["occluded"] = True
    meta: dict[str, Any] = {}
    for tag in ("verified", "date"):
        value = _text(obj, tag)
        if value:
            meta[f"labelme_{tag}"] = value
    kind = _text(obj, "type")
    if kind:
        meta["labelme_type"] = kind
    common = {"id": oid, "label": label, "attributes": attributes, "metadata": meta}
    poly, segm = obj.find("polygon"), obj.find("segm")
    if poly is not None:
        user = _text(poly, "username")
        if user:
            meta["labelme_username"] = user
        pts: list[float] = []
        for pt in poly.findall("pt"):
            pts += [_number(pt, "x", file), _number(pt, "y", file)]
        if not pts:
            raise FormatError("a polygon without points", file=file, location=xml_location(poly))
        if kind == "bounding_box":
            x, y, w, h = coords.polygon_bbox(pts)
            return oid, BBox(**common, x=x, y=y, w=w, h=h), None
        return oid, Polygon(**common, parts=[pts]), None
    if segm is None:
        return None
    user = _text(segm, "username")
    if user:
        meta["labelme_username"] = user
    name = _text(segm, "mask")
    if not name:
        raise FormatError("a <segm> without a <mask> file name", file=file, location=where)
    path = find_mask(name)
    if path is None:
        raise FormatError(f"mask file {name!r} not found in Masks/", file=file, location=xml_location(segm.find("mask")))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read mask: {exc.strerror}", file=path) from None
    mask = decode_mask_image(data, file=str(path))
    width, height = size
    learnt = None
    if width is None or height is None:
        height, width = mask.shape
        learnt = (width, height)
    if mask.shape != (height, width):
        # a mask cut to its box (the tool writes full-image masks; some exporters crop)
        box = segm.find("box")
        if box is None:
            raise FormatError(f"mask {name!r} is {mask.shape[1]}x{mask.shape[0]}, the image {width}x{height}, and there is no <box>", file=file, location=where)
        if width * height > MAX_MASK_PIXELS:
            raise FormatError(f"image size {width}x{height} is too large for a mask", file=file, location=where)
        mask = paste(mask, round(_number(box, "xmin", file)), round(_number(box, "ymin", file)), height, width)
    return oid, Mask.from_array(mask, **common), learnt


def _assign_groups(objects: list[tuple[int | None, Any, list[int], list[int]]]) -> list[Any]:
    """Objects linked through hasparts/ispartof form one group, numbered 1, 2, ... in the order
    their first object appears (a part hierarchy deeper than one level becomes one group)."""
    index = {oid: k for k, (oid, *_rest) in reversed(list(enumerate(objects))) if oid is not None}
    parent = list(range(len(objects)))

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for k, (_oid, _ann, has, part_of) in enumerate(objects):
        for other in (*has, *part_of):
            if other in index:
                a, b = find(k), find(index[other])
                if a != b:
                    parent[max(a, b)] = min(a, b)
    sizes: dict[int, int] = {}
    for k in range(len(objects)):
        sizes[find(k)] = sizes.get(find(k), 0) + 1
    numbers: dict[int, int] = {}
    out = []
    for k, (_oid, ann, _has, _part_of) in enumerate(objects):
        r = find(k)
        if sizes[r] > 1:
            group = numbers.setdefault(r, len(numbers) + 1)
            ann = ann.model_copy(update={"group": group})
        out.append(ann)
    return out


def _split_unescaped(text: str, sep: str) -> list[str]:
    """Split at ``sep`` characters not escaped by a backslash."""
    parts, cur, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i : i + 2])
            i += 2
            continue
        if c == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.S)


def _escape(text: str) -> str:
    return re.sub(r'([\\,="])', r"\\\1", text)


def parse_attributes(text: str) -> dict[str, Any]:
    """The ``<attributes>`` text: comma-separated ``name=value`` pairs (``\\``, ``,``, ``=`` and
    ``"`` escaped with a backslash); a bare name means true; ``true``/``false`` are booleans,
    numbers are numbers and a quoted value is always text."""
    out: dict[str, Any] = {}
    for raw in _split_unescaped(text, ","):
        part = raw.strip()
        if not part:
            continue
        pieces = _split_unescaped(part, "=")
        name = _unescape(pieces[0].strip())
        if not name:
            continue
        if len(pieces) == 1:
            out[name] = True
            continue
        value = "=".join(pieces[1:]).strip()
        out[name] = _typed_value(value)
    return out


def _typed_value(value: str) -> Any:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"' and (len(value) - 1 - len(value[:-1].rstrip("\\"))) % 2 == 0:
        return _unescape(value[1:-1])
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if re.fullmatch(r"[+-]?\d+", value) and str(int(value)) == value:
        return int(value)
    try:
        number = float(value)
    except ValueError:
        return _unescape(value)
    return number if np.isfinite(number) and repr(number) == value else _unescape(value)


def format_attributes(attributes: dict[str, Any], report: Report) -> str:
    """Inverse of :func:`parse_attributes` (true as a bare name)."""
    out = []
    for name, value in attributes.items():
        key = _escape(str(name))
        if value is True:
            out.append(key)
        elif value is False:
            out.append(f"{key}=false")
        elif isinstance(value, int) or (isinstance(value, float) and np.isfinite(value)):
            out.append(f"{key}={value!r}")
        else:
            if not isinstance(value, str):
                report.loss("non-text attribute values", "written as text")
                value = str(value)
            text = _escape(value)
            # quote what would read back as another type, or lose its surrounding spaces
            if value != value.strip() or not value or _typed_value(text) != value:
                text = f'"{text}"'
            out.append(f"{key}={text}")
    return ", ".join(out)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: Labelme3WriteOptions = options.format_options or Labelme3WriteOptions()
    target.mkdir(parents=True, exist_ok=True)
    for item in dataset:
        subset = item.subset or "default"
        if opts.csail:
            xml_rel, mask_dir, image_dir = f"Annotations/{subset}", f"Masks/{subset}", f"Images/{subset}"
        else:
            xml_rel, mask_dir, image_dir = subset, f"{subset}/Masks", subset
        xml_path = safe_join(target, f"{xml_rel}/{item.id}.xml")
        root = _item_xml(item, dataset, target, mask_dir, report, subset if opts.csail else None)
        xml_path.parent.mkdir(parents=True, exist_ok=True)
        xml_path.write_bytes(etree.tostring(root, pretty_print=True, encoding="utf-8"))
        filename = root.findtext("filename") or ""
        if options.save_media != "none" and not is_inside(target, f"{image_dir}/{filename}"):
            report.missing_media.append(item.id)
        elif options.save_media != "none" and not safe_join(target, f"{image_dir}/{filename}").exists():
            export_media(item, safe_join(target, image_dir), options.save_media, report, name=filename)
    return True


def _fmt(v: float) -> str:
    """A coordinate as the tool writes it: integers without a fraction, other values exactly."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _sub(parent: Any, tag: str, text: str | None = None) -> Any:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el


def _object_ids(anns: list[Any]) -> list[int]:
    """Each annotation's object id: its own when it is a unique non-negative integer, else a fresh one."""
    taken: set[int] = set()
    wanted: list[int | None] = []
    for ann in anns:
        oid = ann.id if isinstance(ann.id, int) and not isinstance(ann.id, bool) and ann.id >= 0 and ann.id not in taken else None
        if oid is not None:
            taken.add(oid)
        wanted.append(oid)
    out, nxt = [], 0
    for oid in wanted:
        if oid is None:
            while nxt in taken:
                nxt += 1
            oid = nxt
            taken.add(oid)
        out.append(oid)
    return out


def _item_xml(item: Item, dataset: Dataset, target: Path, mask_dir: str, report: Report, csail_folder: str | None) -> Any:
    media = item.media
    width, height = getattr(media, "width", None), getattr(media, "height", None)
    anns = []
    for ann in item.annotations:
        if ann.type in ("polygon", "bbox", "mask"):
            anns.append(ann)
        else:  # the core reduced every other kind already
            report.loss(ann.type, "dropped (the format cannot hold it)")
    if width is None or height is None:
        size = next((a.rle.size for a in anns if a.type == "mask"), None)
        if size is not None:
            height, width = size
    stored_name = item.metadata.get("labelme_filename")
    name = getattr(media, "name", None) or getattr(media, "path", None)
    filename = stored_name if isinstance(stored_name, str) and stored_name else (
        Path(str(name).replace("\\", "/")).name if name else f"{Path(item.id).name}.jpg"
    )
    stored_folder = item.metadata.get("labelme_folder")
    folder = csail_folder if csail_folder is not None else (stored_folder if isinstance(stored_folder, str) else "")

    root = etree.Element("annotation")
    _sub(root, "filename", filename)
    _sub(root, "folder", folder)
    source = _sub(root, "source")
    _sub(source, "sourceImage", "")
    _sub(source, "sourceAnnotation", "labelport")
    if width and height:
        size_el = _sub(root, "imagesize")
        _sub(size_el, "nrows", str(height))
        _sub(size_el, "ncols", str(width))

    ids = _object_ids(anns)
    groups: dict[int, list[int]] = {}
    for ann, oid in zip(anns, ids):
        if ann.group is not None:
            groups.setdefault(ann.group, []).append(oid)
    links: dict[int, tuple[list[int], list[int]]] = {}
    for members in groups.values():
        if len(members) < 2:
            report.loss("annotation groups", "dropped (a group of one object has no parts to link)")
            continue
        leader, rest = members[0], members[1:]
        links[leader] = (rest, [])
        for oid in rest:
            links[oid] = ([], [leader])

    for ann, oid in zip(anns, ids):
        obj = _sub(root, "object")
        meta = ann.metadata
        attrs = dict(ann.attributes)
        occluded = attrs.pop("occluded") if isinstance(attrs.get("occluded"), bool) else False
        _sub(obj, "name", ann.label or "")
        _sub(obj, "deleted", "0")
        _sub(obj, "verified", str(meta.get("labelme_verified", "0")))
        _sub(obj, "occluded", "yes" if occluded else "no")
        _sub(obj, "attributes", format_attributes(attrs, report))
        parts = _sub(obj, "parts")
        has, part_of = links.get(oid, ([], []))
        _sub(parts, "hasparts", ",".join(map(str, has)))
        _sub(parts, "ispartof", ",".join(map(str, part_of)))
        _sub(obj, "date", str(meta.get("labelme_date", "")))
        _sub(obj, "id", str(oid))
        user = str(meta.get("labelme_username", ""))
        if ann.type == "bbox":
            _sub(obj, "type", "bounding_box")
            x1, y1, x2, y2 = coords.xywh_to_xyxy(ann.x, ann.y, ann.w, ann.h)
            _polygon(obj, [x1, y1, x2, y1, x2, y2, x1, y2], user)
        elif ann.type == "polygon":
            if meta.get("labelme_type") and meta["labelme_type"] != "bounding_box":  # that would read back as a box
                _sub(obj, "type", str(meta["labelme_type"]))
            _polygon(obj, ann.parts[0] if ann.parts else [], user)
        else:
            if meta.get("labelme_type"):
                _sub(obj, "type", str(meta["labelme_type"]))
            _mask(obj, ann, item, oid, dataset, target, mask_dir, user)
    return root


def _polygon(obj: Any, pts: list[float], user: str) -> None:
    poly = _sub(obj, "polygon")
    _sub(poly, "username", user)
    for k in range(0, len(pts) - 1, 2):
        pt = _sub(poly, "pt")
        _sub(pt, "x", _fmt(pts[k]))
        _sub(pt, "y", _fmt(pts[k + 1]))


def _mask(obj: Any, ann: Mask, item: Item, oid: int, dataset: Dataset, target: Path, mask_dir: str, user: str) -> None:
    """A full-image RGBA PNG in Masks/: the label's colour where set, transparent elsewhere."""
    name = f"{item.id}_mask_{oid}.png"
    path = safe_join(target, f"{mask_dir}/{name}")
    array = ann.to_array()
    label = dataset.labels.get(ann.label) if ann.label else None
    color = label.color if label is not None and label.color is not None else _MASK_COLOR
    rgba = np.zeros((*array.shape, 4), dtype=np.uint8)
    rgba[array] = (*color, 153)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(rgba))
    segm = _sub(obj, "segm")
    _sub(segm, "username", user)
    box = _sub(segm, "box")
    x, y, w, h = rle_bbox(ann.rle)
    for tag, v in (("xmin", x), ("ymin", y), ("xmax", x + w), ("ymax", y + h)):
        _sub(box, tag, _fmt(v))
    _sub(segm, "mask", name)


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Duplicate object ids, parts naming objects that do not exist, objects without a shape,
    boxes whose polygon is not 4 corners."""
    problems: list[Problem] = []
    for entry in _xml_entries(source):
        doc = parse_xml(entry.path)
        f = str(entry.path)
        ids: dict[str, int] = {}
        refs: list[tuple[str, Any]] = []
        for obj in doc.findall("object"):
            where = xml_location(obj)
            oid = _text(obj, "id")
            if oid:
                ids[oid] = ids.get(oid, 0) + 1
                if ids[oid] == 2:
                    problems.append(Problem(message=f"object id {oid} is used twice", file=f, location=where))
            poly, segm = obj.find("polygon"), obj.find("segm")
            if poly is None and segm is None:
                problems.append(Problem(severity="warning", message="object has neither <polygon> nor <segm>: skipped", file=f, location=where))
            elif poly is not None and _text(obj, "type") == "bounding_box" and len(poly.findall("pt")) != 4:
                problems.append(Problem(severity="warning", message=f"a bounding_box has 4 corners, this one {len(poly.findall('pt'))}", file=f, location=where))
            parts = obj.find("parts")
            if parts is not None:
                for tag in ("hasparts", "ispartof"):
                    for ref in (_text(parts, tag) or "").replace(" ", "").split(","):
                        if ref:
                            refs.append((ref, parts.find(tag)))
        for ref, el in refs:
            if ref not in ids:
                problems.append(Problem(severity="warning", message=f"parts name object {ref}, which does not exist", file=f, location=xml_location(el)))
    return problems
