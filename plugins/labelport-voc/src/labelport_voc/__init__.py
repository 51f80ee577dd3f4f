"""Pascal VOC: an XML file per image, ImageSets lists, labelmap.txt and segmentation PNGs.

Specification: the PASCAL VOC 2012 development kit documentation (``devkit_doc.pdf``) and
CVAT's "PASCAL VOC 1.1" / "Segmentation mask 1.0" formats (``labelmap.txt``, lines of
``name:r,g,b:parts:actions``).

Layouts read: a dataset root holding ``Annotations/``, ``ImageSets/{Main,Segmentation,Layout,
Action}/``, ``JPEGImages/``, ``SegmentationClass/``, ``SegmentationObject/`` and ``labelmap.txt``
(also found one or two folders down, e.g. ``VOCdevkit/VOC2012``); a loose folder of XML files
(sub-folders are subsets, as Roboflow writes them); a single XML file.

Canonical mapping:

- an ``<object>`` is a :class:`BBox`; VOC's 1-based inclusive pixels are converted with
  :func:`labelport.geometry.coords.voc_to_xywh`. ``truncated``/``difficult``/``occluded`` become
  boolean attributes when set, ``pose`` when specified, ``<actions>`` boolean attributes and
  ``<attributes>`` (CVAT's extension) typed attributes;
- a ``<part>`` (person layout) is a :class:`BBox` in the group of its object; its label carries
  ``metadata["voc_part_of"]``;
- ``<class>_<subset>.txt`` classification lists are :class:`Tag` annotations (flag 0, VOC's
  "difficult", is the attribute ``difficult``);
- SegmentationObject instances are instance :class:`Mask` annotations labelled from
  SegmentationClass; class pixels outside every instance are class masks; 255 (void) is kept
  in the item's metadata so a VOC round trip rewrites it.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.geometry.masks import rgb_to_index, rle_bbox, rle_decode, rle_encode, voc_colormap
from labelport.io.media import IMAGE_SUFFIXES, export_media, find_media, image_size, safe_join
from labelport.io.xml import parse_xml, xml_location
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import RLE, AttributeDef, BBox, Dataset, Image, Item, Label, Mask, Tag


class VocReadOptions(OptionsBase):
    """Pascal VOC reader options."""

    #: read SegmentationClass / SegmentationObject PNGs into masks (off: boxes and lists only)
    read_segmentation: bool = True


class VocWriteOptions(OptionsBase):
    """Pascal VOC writer options."""

    #: which masks are painted into SegmentationClass/SegmentationObject PNGs. ``auto``: class
    #: masks and masks read from VOC PNGs; other instance masks (e.g. COCO polygons, which the
    #: core rasterises for VOC) are written as ``<object>`` boxes and reported. ``always``: every
    #: mask. ``never``: none (instance masks without an object become one).
    segmentation: Literal["auto", "always", "never"] = "auto"
    #: also write an ``<object>`` with the box of every painted instance mask that has none
    mask_boxes: bool = True
    #: segmentation PNGs as palette images (VOC's own), RGB colour images, or grayscale indices
    mask_colors: Literal["palette", "rgb", "index"] = "palette"


INFO = FormatInfo(
    name="voc",
    title="Pascal VOC",
    description="PASCAL VOC detection XML, ImageSets lists, labelmap.txt, class and instance segmentation PNGs.",
    extensions=(".xml",),
    annotation_types=frozenset({"bbox", "mask", "label"}),
    features=frozenset({"attributes", "groups", "subsets", "label_colors", "label_attributes"}),
    media=frozenset({"image"}),
    read_options=VocReadOptions,
    write_options=VocWriteOptions,
    docs_url="http://host.robots.ox.ac.uk/pascal/VOC/voc2012/htmldoc/index.html",
)

#: the 21 classes of VOC 2007-2012 in class-index order (index 0 is the background)
VOC_CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)
VOID = 255
_MARKERS = ("Annotations", "ImageSets", "SegmentationClass", "SegmentationObject")
_TASKS = ("Main", "Segmentation", "Layout", "Action")
_FLAGS = ("truncated", "difficult", "occluded")
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect

_VOC_SIGNS = (b"<bndbox", b"<segmented")
# LabelMe 3.0 XML shares the <annotation> root; these never occur in VOC files
_LABELME_SIGNS = (b"<imagesize", b"<polygon", b"<pt>", b"<sourceImage", b"<deleted")


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix == ".xml" and _xml_kind(probe, None) == "voc":
            return Detection(format="voc", confidence=0.9, reason="XML <annotation> with VOC <bndbox>/<segmented>")
        return None
    best: Detection | None = None
    for root, ev in _layout_evidence(probe).items():
        xmls = [_xml_kind(probe, rel) for rel in ev["xml"][:8]]
        if "other" in xmls:
            continue  # e.g. LabelMe 3.0's Annotations/ folder
        voc_xml = "voc" in xmls
        if voc_xml or ev["main"]:
            conf, why = 0.95, "Annotations/ with VOC XML or ImageSets/Main lists"
        elif ev["lists"] and (ev["seg"] or ev["labelmap"]):
            conf, why = 0.92, "ImageSets lists with segmentation PNGs or labelmap.txt"
        elif ev["seg"] and ev["labelmap"]:
            conf, why = 0.9, "SegmentationClass/SegmentationObject PNGs with labelmap.txt"
        elif ev["seg"] or ev["lists"]:
            conf, why = 0.75, "SegmentationClass/SegmentationObject PNGs or ImageSets lists"
        else:
            continue
        if best is None or conf > best.confidence:
            best = Detection(format="voc", confidence=conf, reason=f"{why} in {root or '.'}")
    if best is not None:
        return best
    loose = [f for f in probe.files("*.xml") + probe.files("*/*.xml")][:10]
    kinds = [_xml_kind(probe, rel) for rel in loose]
    if "voc" in kinds and "other" not in kinds:
        return Detection(format="voc", confidence=0.9, reason="a folder of VOC XML files")
    return None


def _xml_kind(probe: Probe, rel: str | None) -> str | None:
    """"voc", "other" (some other XML) or None (an <annotation> that proves nothing)."""
    if probe.xml_root(rel) != "annotation":
        return "other"
    head = probe.head(rel, 16384)
    if any(s in head for s in _LABELME_SIGNS):
        return "other"
    if any(s in head for s in _VOC_SIGNS) or (b"<size>" in head and b"<width>" in head):
        return "voc"
    return None


def _layout_evidence(probe: Probe) -> dict[str, dict[str, Any]]:
    """Per candidate root (relative path): its annotation XMLs and which VOC parts it has."""
    out: dict[str, dict[str, Any]] = {}
    files = probe.files()
    listed = set(files)
    for rel in files:
        parts = rel.split("/")
        for i, part in enumerate(parts[:-1]):
            if part not in _MARKERS:
                continue
            root = "/".join(parts[:i])
            ev = out.get(root)
            if ev is None:
                labelmap = f"{root}/labelmap.txt" if root else "labelmap.txt"
                ev = out[root] = {"xml": [], "main": False, "lists": False, "seg": False, "labelmap": labelmap in listed}
            rest = parts[i + 1 :]
            if part == "Annotations" and rel.lower().endswith(".xml"):
                ev["xml"].append(rel)
            elif part == "ImageSets" and len(rest) == 2 and rest[0] in _TASKS and rest[1].endswith(".txt"):
                ev["lists"] = True
                ev["main"] |= rest[0] == "Main"
            elif part.startswith("Segmentation") and rel.lower().endswith(".png"):
                ev["seg"] = True
            break
    return out


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: VocReadOptions = options.format_options or VocReadOptions()
    declared: dict[str, Label] = {}
    items: list[Item] = []
    if source.is_file():
        root = source.parent
        roots = [p for p in (options.images, root / "JPEGImages", root) if p is not None]
        labels = _Labels()
        items.append(_read_item(_ItemSource(source.stem, None, xml=source), roots, labels, opts))
        labels.merge_into(declared)
    else:
        for root in _find_roots(source):
            labels = _Labels()  # each root has its own labelmap, so its own class indices
            _read_root(root, options, opts, labels, items)
            labels.merge_into(declared)
    return Dataset(items, labels=list(declared.values()))


class _ItemSource:
    """Where one item's data is: its XML, segmentation PNGs and class-list flags."""

    def __init__(self, item_id: str, subset: str | None, xml: Path | None = None):
        self.id = item_id
        self.subset = subset
        self.xml = xml
        self.seg_class: Path | None = None
        self.seg_object: Path | None = None
        self.tags: dict[str, int] = {}


class _Labels:
    """Declared labels in class-index order, growing as files name new ones."""

    def __init__(self) -> None:
        self.by_name: dict[str, Label] = {}
        self.classes: list[str] = []  # class index -> name, for segmentation PNGs
        self.from_file = False  # labelmap.txt / class_names.txt gave the class order

    def add(self, name: str, *, part_of: str | None = None) -> Label:
        label = self.by_name.get(name)
        if label is None:
            meta = {"voc_part_of": part_of} if part_of else {}
            label = self.by_name[name] = Label(name=name, metadata=meta)
        return label

    def add_class(self, name: str, color: tuple[int, int, int] | None) -> Label:
        label = self.add(name)
        label.id = len(self.classes)
        label.color = color
        label.metadata.pop("voc_part_of", None)
        self.classes.append(name)
        return label

    def add_action(self, name: str, action: str) -> None:
        label = self.add(name)
        if all(a.name != action for a in label.attributes):
            label.attributes.append(AttributeDef(name=action, type="bool", values=[False, True], default=False))

    def use_defaults(self) -> None:
        """VOC's 21 classes and palette, for segmentation PNGs that come without a labelmap."""
        if self.classes:
            return
        cmap = voc_colormap(len(VOC_CLASSES))
        for i, name in enumerate(VOC_CLASSES):
            self.add_class(name, tuple(int(c) for c in cmap[i]))  # type: ignore[arg-type]

    def class_colors(self) -> dict[tuple[int, int, int], int]:
        """Colour -> class index for colour-coded PNGs (VOC palette where a label has none)."""
        cmap = voc_colormap(256)
        table: dict[tuple[int, int, int], int] = {tuple(int(c) for c in cmap[VOID]): VOID}  # type: ignore[misc]
        for i, name in enumerate(self.classes[:VOID]):
            color = self.by_name[name].color or tuple(int(c) for c in cmap[i])
            table[color] = i  # type: ignore[index]
        return table

    def merge_into(self, declared: dict[str, Label]) -> None:
        """Add these labels to ``declared`` (the first root to declare a name wins)."""
        for name, label in self.by_name.items():
            declared.setdefault(name, label)


def _find_roots(source: Path) -> list[Path]:
    """Folders holding the VOC layout (the source, or up to three levels below it)."""
    found: list[Path] = []

    def walk(folder: Path, depth: int) -> None:
        if any((folder / m).is_dir() for m in _MARKERS):
            found.append(folder)
            return
        if depth >= 3:
            return
        try:
            subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and not p.is_symlink())
        except OSError:
            return
        for sub in subs:
            if sub.name != "JPEGImages":
                walk(sub, depth + 1)

    walk(source, 0)
    return found or [source]


def _read_root(root: Path, options: ReadOptions, opts: VocReadOptions, labels: _Labels, items: list[Item]) -> None:
    structured = any((root / m).is_dir() for m in _MARKERS)
    _read_label_files(root, labels)
    media_roots = [p for p in (options.images, root / "JPEGImages", root) if p is not None and p.is_dir()]
    if not structured:
        # pointed at an Annotations/ folder itself: its images are beside it in JPEGImages/
        beside = root.parent / "JPEGImages" if root.name == "Annotations" else None
        for src in _loose_sources(root):
            roots = [p for p in (options.images, src.xml.parent if src.xml else None, root, beside) if p is not None]
            items.append(_read_item(src, roots, labels, opts))
        return
    sources = _structured_sources(root, opts)
    if opts.read_segmentation and any(s.seg_class or s.seg_object for s in sources) and not labels.from_file:
        labels.use_defaults()
    for src in sources:
        items.append(_read_item(src, media_roots, labels, opts))


def _read_label_files(root: Path, labels: _Labels) -> None:
    """labelmap.txt (CVAT, datumaro), else class_names.txt (labelme2voc), fixes the class order."""
    labelmap = root / "labelmap.txt"
    if labelmap.is_file():
        parents: list[tuple[str, list[str], list[str]]] = []
        for lineno, line in _text_lines(labelmap):
            fields = line.split(":")
            if len(fields) > 4:
                raise FormatError(f"{len(fields)} ':'-separated fields; expected name:color:parts:actions", file=labelmap, location=f"line {lineno}")
            fields += [""] * (4 - len(fields))
            name = fields[0]
            if not name:
                raise FormatError("empty label name", file=labelmap, location=f"line {lineno}")
            if name in labels.classes:
                raise FormatError(f"label {name!r} is declared twice", file=labelmap, location=f"line {lineno}")
            labels.add_class(name, _parse_color(fields[1], labelmap, lineno))
            parents.append((name, _csv(fields[2]), _csv(fields[3])))
        for name, parts, actions in parents:
            for part in parts:
                if part not in labels.classes:
                    labels.add(part, part_of=name)
            for action in actions:
                labels.add_action(name, action)
        labels.from_file = True
        return
    names = root / "class_names.txt"
    if names.is_file():
        for lineno, line in _text_lines(names):
            if line in labels.classes:
                raise FormatError(f"class {line!r} is listed twice", file=names, location=f"line {lineno}")
            labels.add_class(line, None)
        labels.from_file = True


def _parse_color(text: str, file: Path, lineno: int) -> tuple[int, int, int] | None:
    if not text.strip():
        return None
    parts = text.split(",")
    try:
        rgb = tuple(int(p) for p in parts)
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or any(not 0 <= c <= 255 for c in rgb):
        raise FormatError(f"colour {text!r} is not r,g,b with values 0-255", file=file, location=f"line {lineno}")
    return rgb  # type: ignore[return-value]


def _csv(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _text_lines(path: Path) -> Iterable[tuple[int, str]]:
    """Non-empty, non-comment lines of a text file, stripped, with 1-based numbers."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if _CONTROL.search(line):
            raise FormatError("control character in line", file=path, location=f"line {lineno}")
        yield lineno, line


def _loose_sources(root: Path) -> list[_ItemSource]:
    """A folder of XML files; XMLs in a sub-folder belong to the subset named after it."""
    out = []
    for xml in sorted(root.glob("*.xml")):
        out.append(_ItemSource(xml.stem, None, xml=xml))
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for xml in sorted(sub.rglob("*.xml")):
            out.append(_ItemSource(xml.relative_to(sub).with_suffix("").as_posix(), sub.name, xml=xml))
    return out


def _structured_sources(root: Path, opts: VocReadOptions) -> list[_ItemSource]:
    """Items of a VOC root: listed ids per subset, then unlisted annotation files."""
    xmls = _files_by_id(root / "Annotations", ".xml")
    seg_class = _files_by_id(root / "SegmentationClass", ".png") if opts.read_segmentation else {}
    seg_object = _files_by_id(root / "SegmentationObject", ".png") if opts.read_segmentation else {}
    subsets, class_lists = _read_image_sets(root / "ImageSets")
    sources: dict[tuple[str | None, str], _ItemSource] = {}

    def source(subset: str | None, item_id: str) -> _ItemSource:
        key = (subset, item_id)
        if key not in sources:
            src = _ItemSource(item_id, subset, xml=xmls.get(item_id))
            src.seg_class = seg_class.get(item_id)
            src.seg_object = seg_object.get(item_id)
            sources[key] = src
        return sources[key]

    listed: set[str] = set()
    for subset, ids in subsets.items():
        for item_id in ids:
            source(subset, item_id)
            listed.add(item_id)
    for (label, subset), rows in class_lists.items():
        for item_id, flag in rows:
            if flag != -1:
                source(subset, item_id).tags[label] = flag
            else:
                source(subset, item_id)
            listed.add(item_id)
    unlisted = sorted({*xmls, *seg_class, *seg_object} - listed)
    for item_id in unlisted:
        source(None, item_id)
    if not subsets and not class_lists and (root / "JPEGImages").is_dir():
        # no lists at all: every image is an item, annotated or not
        images = root / "JPEGImages"
        for path in sorted(images.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                item_id = path.relative_to(images).with_suffix("").as_posix()
                if item_id not in xmls and item_id not in seg_class and item_id not in seg_object:
                    source(None, item_id)
    return list(sources.values())


def _files_by_id(folder: Path, suffix: str) -> dict[str, Path]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix()[: -len(suffix)]: p
        for p in sorted(folder.rglob("*" + suffix))
        if p.is_file()
    }


def _read_image_sets(folder: Path) -> tuple[dict[str, list[str]], dict[tuple[str, str], list[tuple[str, int]]]]:
    """Subset lists (ids in file order, merged across tasks) and per-class lists."""
    subsets: dict[str, dict[str, None]] = {}
    class_lists: dict[tuple[str, str], list[tuple[str, int]]] = {}
    pending: list[Path] = []  # Main files named <x>_<y>: class lists unless their rows say otherwise
    for task in _TASKS:
        task_dir = folder / task
        if not task_dir.is_dir():
            continue
        for path in sorted(task_dir.glob("*.txt")):
            if "_" in path.stem and task in ("Main", "Action"):
                if task == "Main":
                    pending.append(path)
                continue  # Action/<action>_<subset>.txt repeat what the XML's <actions> hold
            ids = subsets.setdefault(path.stem, {})
            for _lineno, line in _text_lines(path):
                ids.setdefault(_list_id(line, task), None)
    # Main/<x>_<y>.txt: one column is a subset list named with an underscore, two are a class list
    rows_of = {path: list(_text_lines(path)) for path in pending}
    for path, rows in rows_of.items():
        if rows and len(rows[0][1].split()) == 1:
            ids = subsets.setdefault(path.stem, {})
            for _lineno, line in rows:
                ids.setdefault(line, None)
    for path, rows in rows_of.items():
        if path.stem in subsets:
            continue
        # <label>_<subset>: a known subset name may itself hold underscores (train_aug)
        known = next((s for s in sorted(subsets, key=len, reverse=True) if path.stem.endswith("_" + s) and len(path.stem) > len(s) + 1), None)
        label, subset = (path.stem[: -len(known) - 1], known) if known else path.stem.rsplit("_", 1)
        flags = []
        for lineno, line in rows:
            fields = line.rsplit(maxsplit=1)
            if len(fields) != 2 or fields[1] not in ("-1", "0", "1"):
                raise FormatError("expected '<image id> <-1|0|1>'", file=path, location=f"line {lineno}")
            flags.append((fields[0], int(fields[1])))
        class_lists[(label, subset)] = flags
    # VOC ships trainval.txt = train.txt + val.txt: reading all three would duplicate every item
    if {"train", "val", "trainval"} <= set(subsets) and set(subsets["trainval"]) == set(subsets["train"]) | set(subsets["val"]):
        del subsets["trainval"]
        class_lists = {k: v for k, v in class_lists.items() if k[1] != "trainval"}
    return {k: list(v) for k, v in subsets.items()}, class_lists


def _list_id(line: str, task: str) -> str:
    """The image id of a list line; Layout/Action lines append an object index, and quote ids with spaces."""
    if task in ("Layout", "Action"):
        if line.startswith('"') and line.count('"') >= 2:
            return line[1 : line.index('"', 1)]
        return line.split()[0]
    return line


def _read_item(src: _ItemSource, media_roots: list[Path], labels: _Labels, opts: VocReadOptions) -> Item:
    annotations: list[Any] = []
    metadata: dict[str, Any] = {}
    name: str | None = None
    width = height = channels = None
    n_objects = 0
    object_labels: list[str] = []
    if src.xml is not None:
        root = parse_xml(src.xml)
        if root.tag != "annotation":
            raise FormatError(f"root element is <{root.tag}>, expected <annotation>", file=src.xml, location=xml_location(root))
        name = _child_text(root, "filename") or None
        width, height, channels = _read_size(root, src.xml)
        for key in ("folder",):
            value = _child_text(root, key)
            if value is not None:
                metadata[f"voc_{key}"] = value
        for key in ("source", "owner"):
            el = root.find(key)
            if el is not None:
                metadata[f"voc_{key}"] = {c.tag: (c.text or "").strip() for c in el if isinstance(c.tag, str)}
        for obj in root.iterfind("object"):
            n_objects += 1
            anns = _read_object(obj, n_objects, src.xml, labels)
            object_labels.append(anns[0].label)
            annotations.extend(anns)
    path = None
    if name:
        path = find_media(media_roots, name, stem_fallback=True)
    if path is None:
        path = find_media(media_roots, src.id, stem_fallback=True)
    if name is None and path is not None:
        name = _relative_name(path, media_roots)
    if src.seg_class is not None or src.seg_object is not None:
        masks, void, shape = _read_masks(src, labels, object_labels)
        annotations.extend(masks)
        metadata.update(void)
        if width is None:
            height, width = shape
        elif (height, width) != shape:
            bad = src.seg_class or src.seg_object
            raise FormatError(f"mask is {shape[1]}x{shape[0]} but the image is {width}x{height}", file=bad)
    if width is None and path is not None:
        try:
            width, height = image_size(path)
        except FormatError:
            pass  # an unreadable image leaves the size unknown; the annotation file is still read
    for label, flag in src.tags.items():
        labels.add(label)
        annotations.append(Tag(label=label, attributes={"difficult": True} if flag == 0 else {}))
    media = None
    if name or path or width:
        media = Image(name=name, path=str(path) if path else None, width=width, height=height, channels=channels)
    return Item(id=src.id, subset=src.subset, media=media, annotations=annotations, metadata=metadata)


def _relative_name(path: Path, roots: list[Path]) -> str:
    for root in roots:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.name


def _child_text(el: Any, tag: str) -> str | None:
    child = el.find(tag)
    if child is None:
        return None
    return (child.text or "").strip()


def _read_size(root: Any, file: Path) -> tuple[int | None, int | None, int | None]:
    size = root.find("size")
    if size is None:
        return None, None, None
    values = [_read_int(size, tag, file) for tag in ("width", "height", "depth")]
    width, height, depth = (v or None for v in values)  # 0 is what tools write for "unknown"
    if (width is None) != (height is None):
        width = height = None
    return width, height, depth


def _read_int(parent: Any, tag: str, file: Path) -> int | None:
    child = parent.find(tag)
    text = (child.text or "").strip() if child is not None else ""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value != int(value) or value < 0 or value > 2**31:
        raise FormatError(f"<{tag}> {text!r} is not a non-negative integer", file=file, location=xml_location(child))
    return int(value)


def _read_number(parent: Any, tag: str, file: Path) -> tuple[str, float]:
    child = parent.find(tag)
    if child is None:
        raise FormatError(f"missing <{tag}>", file=file, location=xml_location(parent))
    text = (child.text or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"<{tag}> {text!r} is not a number", file=file, location=xml_location(child)) from None
    if not math.isfinite(value):
        raise FormatError(f"<{tag}> {text!r} is not a finite number", file=file, location=xml_location(child))
    return text, value


def _read_box(parent: Any, file: Path) -> tuple[list[str], tuple[float, float, float, float]]:
    box = parent.find("bndbox")
    if box is None:
        raise FormatError("missing <bndbox>", file=file, location=xml_location(parent))
    texts, values = zip(*(_read_number(box, tag, file) for tag in ("xmin", "ymin", "xmax", "ymax")))
    return list(texts), coords.voc_to_xywh(*values)


def _read_object(obj: Any, index: int, file: Path, labels: _Labels) -> list[Any]:
    """The object's box, then its parts (in the object's group)."""
    name = _child_text(obj, "name")
    if not name:
        raise FormatError("object without <name>", file=file, location=xml_location(obj))
    labels.add(name)
    texts, (x, y, w, h) = _read_box(obj, file)
    attrs: dict[str, Any] = {}
    for flag in _FLAGS:
        value = _read_flag(obj, flag, file)
        if value:  # VOC's default is 0: only set flags become attributes
            attrs[flag] = True
    pose = _child_text(obj, "pose")
    if pose and pose != "Unspecified":
        attrs["pose"] = pose
    actions = obj.find("actions")
    if actions is not None:
        for act in actions:
            if not isinstance(act.tag, str):
                continue
            value = _read_flag(actions, act.tag, file)
            attrs[act.tag] = bool(value)
            labels.add_action(name, act.tag)
    custom = obj.find("attributes")
    if custom is not None:
        for attr in custom.iterfind("attribute"):
            key = _child_text(attr, "name")
            if not key:
                raise FormatError("attribute without <name>", file=file, location=xml_location(attr))
            attrs[key] = _parse_value(_child_text(attr, "value") or "")
    meta: dict[str, Any] = {"voc_bndbox": texts}
    point = obj.find("point")
    if point is not None:
        meta["voc_point"] = [_read_number(point, "x", file)[0], _read_number(point, "y", file)[0]]
    parts = obj.findall("part")
    group = index if parts else None
    out: list[Any] = [BBox(label=name, x=x, y=y, w=w, h=h, attributes=attrs, group=group, metadata=meta)]
    for part in parts:
        part_name = _child_text(part, "name")
        if not part_name:
            raise FormatError("part without <name>", file=file, location=xml_location(part))
        labels.add(part_name, part_of=name)
        ptexts, (px, py, pw, ph) = _read_box(part, file)
        out.append(BBox(label=part_name, x=px, y=py, w=pw, h=ph, group=group, metadata={"voc_bndbox": ptexts}))
    return out


def _read_flag(parent: Any, tag: str, file: Path) -> bool | None:
    child = parent.find(tag)
    if child is None:
        return None
    text = (child.text or "").strip().lower()
    if text in ("", "unspecified"):
        return None
    if text in ("1", "true", "yes"):
        return True
    if text in ("0", "false", "no", "-1"):
        return False
    raise FormatError(f"<{tag}> {text!r} is not 0 or 1", file=file, location=xml_location(child))


def _parse_value(text: str) -> Any:
    """Attribute values are text in XML: give back booleans and numbers their type."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if re.fullmatch(r"[+-]?\d{1,15}", text):
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d{1,3})?", text):
        value = float(text)
        if math.isfinite(value):
            return value
    return text


def _read_masks(src: _ItemSource, labels: _Labels, object_labels: list[str]) -> tuple[list[Mask], dict[str, Any], tuple[int, int]]:
    """Instance masks (labelled from the class PNG, else from the object of the same index),
    class masks for class pixels outside every instance, and the void regions."""
    cls = inst = None
    if src.seg_class is not None:
        cls = _load_index_png(src.seg_class, labels.class_colors())
    if src.seg_object is not None:
        cmap = voc_colormap(256)
        inst = _load_index_png(src.seg_object, {tuple(int(c) for c in cmap[i]): i for i in range(256)})  # type: ignore[misc]
    if cls is not None and inst is not None and cls.shape != inst.shape:
        raise FormatError(f"SegmentationObject is {inst.shape[1]}x{inst.shape[0]}, SegmentationClass {cls.shape[1]}x{cls.shape[0]}", file=src.seg_object)
    shape: tuple[int, int] = (cls if cls is not None else inst).shape  # type: ignore[union-attr,assignment]
    masks: list[Mask] = []
    void: dict[str, Any] = {}

    def class_name(index: int, file: Path) -> str:
        if index >= len(labels.classes):
            raise FormatError(f"class index {index} has no label ({len(labels.classes)} classes declared)", file=file)
        return labels.classes[index]

    covered = None
    if inst is not None:
        values = [int(v) for v in np.unique(inst) if v not in (0, VOID)]
        for v in values:
            m = inst == v
            label = None
            if cls is not None:
                under = cls[m]
                under = under[(under != 0) & (under != VOID)]
                if under.size:
                    label = class_name(int(np.bincount(under).argmax()), src.seg_class)  # type: ignore[arg-type]
            elif v <= len(object_labels):
                label = object_labels[v - 1]  # VOC: instance i is the i-th <object>
            if label is not None:
                labels.add(label)
            masks.append(Mask.from_array(m, label=label, semantics="instance", metadata={"voc_instance": v}))
        covered = (inst != 0) & (inst != VOID)
        if (inst == VOID).any():
            void["voc_void_object"] = rle_encode(inst == VOID).model_dump()
    if cls is not None:
        rest = np.where(covered, 0, cls) if covered is not None else cls
        for c in (int(v) for v in np.unique(rest) if v not in (0, VOID)):
            masks.append(Mask.from_array(rest == c, label=class_name(c, src.seg_class), semantics="class", metadata={"voc_class": c}))  # type: ignore[arg-type]
        if (cls == VOID).any():
            void["voc_void_class"] = rle_encode(cls == VOID).model_dump()
    return masks, void, shape


def _load_index_png(path: Path, colors: dict[tuple[int, int, int], int]) -> np.ndarray:
    """Index map of a segmentation PNG: palette and grayscale images hold indices, colour
    images are mapped through ``colors``."""
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as im:
            if im.mode == "P":
                arr = np.asarray(im)  # the palette index, never the RGB it displays as
            elif im.mode in ("L", "I", "I;16", "I;16B", "1"):
                arr = np.asarray(im).astype(np.int64)
            elif im.mode in ("LA", "PA"):
                arr = np.asarray(im)[..., 0]
            else:
                rgb = np.asarray(im.convert("RGB"))
                arr = rgb_to_index(rgb, colors, unknown=-1)
                if (arr < 0).any():
                    y, x = (int(v[0]) for v in np.nonzero(arr < 0))
                    raise FormatError(f"colour {tuple(int(c) for c in rgb[y, x])} at pixel ({x}, {y}) is in no label's colour", file=path)
    except FormatError:
        raise
    except Exception as exc:  # Pillow raises many types for damaged files (OSError, SyntaxError, zlib.error...)
        raise FormatError(f"cannot read PNG: {exc}", file=path) from None
    if arr.ndim != 2:
        raise FormatError(f"expected a single-channel mask, got shape {arr.shape}", file=path)
    return arr


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: VocWriteOptions = options.format_options or VocWriteOptions()
    writer = _Writer(dataset, target, options, opts, report)
    for item in dataset:
        writer.add(item)
    writer.finish()
    return True


class _Writer:
    """Streams items to Annotations/ and the PNG folders; lists and labelmap.txt come last."""

    def __init__(self, dataset: Dataset, target: Path, options: WriteOptions, opts: VocWriteOptions, report: Report):
        self.dataset = dataset
        self.target = target
        self.options = options
        self.opts = opts
        self.report = report
        self.part_of = {lb.name: lb.metadata["voc_part_of"] for lb in dataset.labels if lb.metadata.get("voc_part_of")}
        self.classes: dict[str, int] = {}
        bg = next((lb.name for lb in dataset.labels if lb.name == "background" or lb.color == (0, 0, 0)), "background")
        self._class_index(bg)
        for lb in dataset.labels:
            if lb.name not in self.part_of:
                self._class_index(lb.name)
        self.subsets: dict[str, dict[str, None]] = {}
        self.tags: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
        self.layout: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.actions: dict[str, list[tuple[str, int, dict[str, bool]]]] = defaultdict(list)
        self.segmentation: dict[str, list[str]] = defaultdict(list)
        self.masks_written = False
        self.cmap = voc_colormap(256)
        self._names: dict[str, str] = {}
        self._actions: dict[str, list[str]] = {}
        target.mkdir(parents=True, exist_ok=True)

    def _class_index(self, name: str) -> int:
        if name not in self.classes:
            self.classes[name] = len(self.classes)
        return self.classes[name]

    # ------------------------------------------------------------- per item

    def add(self, item: Item) -> None:
        subset = item.subset or "default"
        if not _file_safe(subset):
            self.report.loss("subset names that are no file name", "path separators replaced by '_'")
            subset = re.sub(r"[/\\\x00-\x1f]", "_", subset).strip(".") or "default"
        xml_path = _out_path(self.target / "Annotations", item.id + ".xml")
        self.subsets.setdefault(subset, {})[item.id] = None
        boxes = [a for a in item.annotations if a.type == "bbox"]
        masks = [a for a in item.annotations if a.type == "mask"]
        tags = [a for a in item.annotations if a.type == "label"]
        objects = self._objects(boxes)
        instances, class_masks = self._split_masks(masks, objects)
        width, height = self._size(item, masks)
        xml_path.parent.mkdir(parents=True, exist_ok=True)
        xml_path.write_text(self._xml(item, objects, width, height, bool(instances or class_masks)), encoding="utf-8")
        void = self.opts.segmentation != "never" and (item.metadata.get("voc_void_class") or item.metadata.get("voc_void_object"))
        if instances or class_masks or void:
            if self._write_masks(item, instances, class_masks, width, height):
                self.segmentation[subset].append(item.id)
        for k, (obj, parts) in enumerate(objects, 1):
            if parts:
                self.layout[subset].append((item.id, k))
            acts = self._object_actions(obj)
            if acts:
                self.actions[subset].append((item.id, k, acts))
        self._add_tags(item, subset, tags)
        export_media(item, self.target / "JPEGImages", self.options.save_media, self.report)

    def _objects(self, boxes: list[BBox]) -> list[tuple[BBox, list[BBox]]]:
        """Main boxes in order, each with its person-layout parts (part labels in its group)."""
        heads: dict[int, list[BBox]] = {}
        objects: list[tuple[BBox, list[BBox]]] = []
        for box in boxes:
            if box.group is not None and box.label in self.part_of and box.group in heads:
                heads[box.group].append(box)
                continue
            parts: list[BBox] = []
            objects.append((box, parts))
            if box.group is not None and box.group not in heads:
                heads[box.group] = parts
        for box, parts in objects:
            if box.group is not None and not parts:
                self.report.loss("annotation groups", "dropped (VOC groups only an object with its layout parts)")
            for part in parts:
                if part.attributes:
                    self.report.loss("attributes of layout parts", "dropped")
        # a part label with no object before it in its group is written as an object of its own
        return objects

    def _split_masks(self, masks: list[Mask], objects: list[tuple[BBox, list[BBox]]]) -> tuple[list[tuple[Mask, int]], list[Mask]]:
        """Instance masks to paint with their SegmentationObject index, and class masks to paint.
        Instance i is the i-th object (VOC's convention): masks read from VOC keep their index;
        other painted masks get a new object with their box (``mask_boxes``) or the next free
        index; masks not painted (``segmentation``) become objects unless they have one."""
        instances: list[tuple[Mask, int]] = []
        class_masks: list[Mask] = []
        used: set[int] = set()
        pending: list[Mask] = []
        n_objects = len(objects)
        mode = self.opts.segmentation
        for m in masks:
            v = m.metadata.get("voc_instance")
            from_voc = isinstance(v, int) or "voc_class" in m.metadata
            paint = mode == "always" or (mode == "auto" and (m.semantics == "class" or from_voc))
            if not paint:
                self._mask_as_box(m, objects, has_object=isinstance(v, int) and 0 < v <= n_objects)
            elif m.semantics == "class":
                class_masks.append(m)
            elif isinstance(v, int) and 0 < v < VOID and v not in used:
                used.add(v)
                instances.append((m, v))
            else:
                pending.append(m)
        for m in pending:
            if self.opts.mask_boxes and m.label is not None and "voc_instance" not in m.metadata:
                objects.append((self._box_of(m), []))
                v = len(objects)
                if v in used:
                    v = next((i for i in range(1, VOID) if i not in used), VOID)
            else:
                v = next((i for i in range(len(objects) + 1, VOID) if i not in used), VOID)
            if v >= VOID:
                self.report.loss("mask", "dropped (more than 254 instances in one image)")
                continue
            used.add(v)
            instances.append((m, v))
        for m in (*class_masks, *(m for m, _ in instances)):
            if m.attributes and not (self.opts.mask_boxes and "voc_instance" not in m.metadata and m.semantics == "instance"):
                self.report.loss("mask attributes", "dropped (segmentation PNGs hold no attributes)")
        return instances, class_masks

    def _mask_as_box(self, m: Mask, objects: list[tuple[BBox, list[BBox]]], has_object: bool) -> None:
        hint = "pass segmentation='always' to paint it" if self.opts.segmentation == "auto" else "segmentation='never'"
        if m.semantics == "class":
            self.report.loss("class mask", f"dropped ({hint})")
        elif has_object:
            self.report.loss("mask", f"dropped, its object's box kept ({hint})")
        elif m.label is None:
            self.report.loss("mask without label", f"dropped ({hint})")
        else:
            objects.append((self._box_of(m), []))
            self.report.loss("mask", f"written as its box ({hint})")

    @staticmethod
    def _box_of(m: Mask) -> BBox:
        x, y, w, h = rle_bbox(m.rle)
        return BBox(label=m.label, x=x, y=y, w=w, h=h, attributes=dict(m.attributes))

    def _size(self, item: Item, masks: list[Mask]) -> tuple[int | None, int | None]:
        media = item.media
        width, height = getattr(media, "width", None), getattr(media, "height", None)
        if width and height:
            return width, height
        path = getattr(media, "path", None)
        if path and Path(path).is_file():
            try:
                return image_size(path)
            except FormatError:
                pass
        if masks:
            h, w = masks[0].rle.size
            return w, h
        return None, None

    def _xml(self, item: Item, objects: list[tuple[BBox, list[BBox]]], width: int | None, height: int | None, segmented: bool) -> str:
        meta = item.metadata
        media = item.media
        filename = getattr(media, "name", None) or (Path(media.path).name if getattr(media, "path", None) else f"{item.id}.jpg")  # type: ignore[union-attr]
        out = ["<annotation>", f"\t<folder>{self._esc(meta.get('voc_folder', ''))}</folder>", f"\t<filename>{self._esc(filename)}</filename>"]
        source = meta.get("voc_source") or {"database": "Unknown", "annotation": "Unknown", "image": "Unknown"}
        for key, fields in (("source", source), ("owner", meta.get("voc_owner"))):
            if isinstance(fields, dict):
                out.append(f"\t<{key}>")
                out += [f"\t\t<{k}>{self._esc(v)}</{k}>" for k, v in fields.items() if isinstance(k, str) and _XML_NAME.match(k)]
                out.append(f"\t</{key}>")
        if width and height:
            depth = getattr(media, "channels", None) or 3
            out += ["\t<size>", f"\t\t<width>{width}</width>", f"\t\t<height>{height}</height>", f"\t\t<depth>{depth}</depth>", "\t</size>"]
        out.append(f"\t<segmented>{int(segmented)}</segmented>")
        for obj, parts in objects:
            out += self._object_xml(obj, parts)
        out.append("</annotation>\n")
        return "\n".join(out)

    def _object_xml(self, obj: BBox, parts: list[BBox]) -> list[str]:
        if obj.label is None:
            self.report.loss("box without label", "written with an empty <name>")
        name = self._name_xml(obj.label or "")
        attrs = obj.attributes
        acts = self._object_actions(obj) if attrs else {}
        if not attrs and not parts and "voc_point" not in obj.metadata:
            # the common case (boxes from other formats): one string, nothing to look up
            box = self._box_xml(obj, "\t\t")
            return [
                f"\t<object>\n\t\t<name>{name}</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n"
                f"\t\t<difficult>0</difficult>\n\t\t<occluded>0</occluded>\n{box}\n\t</object>"
            ]
        attrs = dict(attrs)
        out = ["\t<object>", f"\t\t<name>{name}</name>"]
        pose = attrs.pop("pose", None)
        if pose is not None and not isinstance(pose, str):
            attrs["pose"], pose = pose, None  # not a VOC pose: kept in <attributes>
        out.append(f"\t\t<pose>{self._esc(pose or 'Unspecified')}</pose>")
        for flag in _FLAGS:
            bit = _as_flag(attrs.get(flag))
            if bit is not None:
                attrs.pop(flag, None)
            out.append(f"\t\t<{flag}>{bit or 0}</{flag}>")
        out.append(self._box_xml(obj, "\t\t"))
        for part in parts:
            out += ["\t\t<part>", f"\t\t\t<name>{self._name_xml(part.label or '')}</name>", self._box_xml(part, "\t\t\t"), "\t\t</part>"]
        if acts:
            out.append("\t\t<actions>")
            out += [f"\t\t\t<{a}>{int(v)}</{a}>" for a, v in acts.items()]
            out.append("\t\t</actions>")
            for a in acts:
                attrs.pop(a, None)
        point = obj.metadata.get("voc_point")
        if isinstance(point, list) and len(point) == 2:
            out += ["\t\t<point>", f"\t\t\t<x>{self._esc(point[0])}</x>", f"\t\t\t<y>{self._esc(point[1])}</y>", "\t\t</point>"]
        if attrs:
            out.append("\t\t<attributes>")
            for key, value in attrs.items():
                out += ["\t\t\t<attribute>", f"\t\t\t\t<name>{self._esc(key)}</name>", f"\t\t\t\t<value>{self._esc(self._value_text(value))}</value>", "\t\t\t</attribute>"]
            out.append("\t\t</attributes>")
        out.append("\t</object>")
        return out

    def _name_xml(self, name: str) -> str:
        """Escaped label names, cached: every object repeats one of a few."""
        text = self._names.get(name)
        if text is None:
            text = self._names[name] = self._esc(name)
        return text

    def _box_xml(self, box: BBox, indent: str) -> str:
        texts = _stored_box(box) if "voc_bndbox" in box.metadata else None
        if texts is None:
            texts = [_num(v) for v in coords.xywh_to_voc(box.x, box.y, box.w, box.h)]
        xmin, ymin, xmax, ymax = texts
        return (
            f"{indent}<bndbox>\n{indent}\t<xmin>{xmin}</xmin>\n{indent}\t<ymin>{ymin}</ymin>\n"
            f"{indent}\t<xmax>{xmax}</xmax>\n{indent}\t<ymax>{ymax}</ymax>\n{indent}</bndbox>"
        )

    def _object_actions(self, obj: BBox) -> dict[str, bool]:
        """The object's attributes that are actions declared for its label (VOC action task)."""
        actions = self._actions.get(obj.label or "")
        if actions is None:
            label = self.dataset.labels.get(obj.label) if obj.label else None
            defs = label.attributes if label is not None else []
            # VOC has its own elements for the flags and the pose
            actions = [a.name for a in defs if a.type == "bool" and a.name not in _FLAGS and a.name != "pose" and _XML_NAME.match(a.name)]
            self._actions[obj.label or ""] = actions
        out = {}
        for name in actions:
            if name in obj.attributes:
                bit = _as_flag(obj.attributes[name])
                if bit is not None:
                    out[name] = bool(bit)
        return out

    def _value_text(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, (int, str)):
            return str(value)
        self.report.loss("non-scalar attribute values", "written as text")
        return str(value)

    def _esc(self, value: Any) -> str:
        text = str(value)
        if _CONTROL.search(text):
            self.report.loss("control characters in names and attributes", "replaced by U+FFFD (XML cannot hold them)")
            text = _CONTROL.sub("\ufffd", text)
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def _write_masks(self, item: Item, instances: list[tuple[Mask, int]], class_masks: list[Mask], width: int | None, height: int | None) -> bool:
        if not width or not height:
            self.report.loss("mask", "dropped (image size unknown)", len(instances) + len(class_masks))
            return False
        shape = (height, width)
        cls = np.zeros(shape, dtype=np.uint8)
        inst = np.zeros(shape, dtype=np.uint8)
        for key, arr in (("voc_void_class", cls), ("voc_void_object", inst)):
            void = _void_mask(item.metadata.get(key), shape)
            if void is not None:
                arr[void] = VOID
        for m in class_masks:
            if self._fits(m, shape) and m.label is not None:
                index = self._mask_class(m.label)
                if index == 0:
                    self.report.loss("class mask of the background", "dropped (class 0 is the background)")
                elif index is not None:
                    _paint(cls, m.rle, index)
            elif m.label is None:
                self.report.loss("class mask without label", "dropped")
        for m, v in instances:
            if not self._fits(m, shape):
                continue
            index = self._mask_class(m.label) if m.label is not None else None
            _paint(inst, m.rle, v, cls, index or None)
        self._save_png(_out_path(self.target / "SegmentationClass", item.id + ".png"), cls, self._class_palette())
        if instances or item.metadata.get("voc_void_object"):
            self._save_png(_out_path(self.target / "SegmentationObject", item.id + ".png"), inst, self.cmap)
        self.masks_written = True
        return True

    def _fits(self, m: Mask, shape: tuple[int, int]) -> bool:
        if tuple(m.rle.size) != shape:
            self.report.loss("mask", f"dropped (its size differs from the image's {shape[1]}x{shape[0]})")
            return False
        return True

    def _mask_class(self, label: str) -> int | None:
        index = self._class_index(label)
        if index >= VOID:
            self.report.loss("mask", "dropped (more than 254 classes)")
            return None
        return index

    def _class_palette(self) -> np.ndarray:
        palette = self.cmap.copy()
        for name, i in self.classes.items():
            label = self.dataset.labels.get(name)
            if i < VOID and label is not None and label.color is not None:
                palette[i] = label.color
        return palette

    def _save_png(self, path: Path, index: np.ndarray, palette: np.ndarray) -> None:
        from PIL import Image as PILImage

        path.parent.mkdir(parents=True, exist_ok=True)
        if self.opts.mask_colors == "rgb":
            im = PILImage.fromarray(palette[index])
        else:
            im = PILImage.fromarray(index)
            if self.opts.mask_colors == "palette":
                im.putpalette(palette.astype(np.uint8).ravel().tolist())
        # label maps are long runs: the fastest zlib level is nearly as small and several times faster
        im.save(path, compress_level=1)

    def _add_tags(self, item: Item, subset: str, tags: list[Tag]) -> None:
        if not tags:
            return
        flags = self.tags[subset].setdefault(item.id, {})
        for tag in tags:
            if tag.label is None:
                self.report.loss("image label without a label name", "dropped")
                continue
            if tag.label in flags:
                self.report.loss("repeated image label", "kept once (a class list holds one flag per image)")
            extra = {k for k in tag.attributes if k != "difficult"}
            if extra:
                self.report.loss("image label attributes", "dropped (class lists hold a flag only)")
            self._class_index(tag.label)
            flags[tag.label] = 0 if _as_flag(tag.attributes.get("difficult")) else 1

    # ------------------------------------------------------------- lists

    def finish(self) -> None:
        sets = self.target / "ImageSets"
        for subset, ids in self.subsets.items():
            _write_lines(sets / "Main" / f"{subset}.txt", ids)
        for subset, rows in self.tags.items():
            used = {label for flags in rows.values() for label in flags}
            for label in self.classes:
                if label in self.part_of or (label == "background" and label not in used):
                    continue
                if not _file_safe(label):
                    if label in used:
                        self.report.loss("image labels of a label whose name cannot be a file name", "dropped")
                    continue
                lines = [f"{i} {rows.get(i, {}).get(label, -1):2d}" for i in self.subsets[subset]]
                _write_lines(sets / "Main" / f"{label}_{subset}.txt", lines)
        for subset, ids in self.segmentation.items():
            _write_lines(sets / "Segmentation" / f"{subset}.txt", ids)
        for subset, rows in self.layout.items():
            _write_lines(sets / "Layout" / f"{subset}.txt", [f"{_quote(i)} {k:2d}" for i, k in rows])
        for subset, acts in self.actions.items():
            _write_lines(sets / "Action" / f"{subset}.txt", dict.fromkeys(i for i, _, _ in acts))
            names = dict.fromkeys(a for _, _, present in acts for a in present)
            for action in names:
                if _file_safe(action):
                    lines = [f"{_quote(i)} {k:2d} {1 if present.get(action) else -1:2d}" for i, k, present in acts]
                    _write_lines(sets / "Action" / f"{action}_{subset}.txt", lines)
        self._write_labelmap()

    def _write_labelmap(self) -> None:
        parts: dict[str, list[str]] = defaultdict(list)
        for part, parent in self.part_of.items():
            self._class_index(parent)
            parts[parent].append(part)
        lines = ["# label:color_rgb:parts:actions"]
        for name, i in self.classes.items():
            if ":" in name or "\n" in name or "\r" in name:
                self.report.loss("label names containing ':' or line breaks", "left out of labelmap.txt")
                continue
            label = self.dataset.labels.get(name)
            color = label.color if label is not None and label.color is not None else None
            if color is None and self.masks_written and i < VOID:
                color = tuple(int(c) for c in self.cmap[i])
            defs = [a for a in label.attributes if a.name not in _FLAGS and a.name != "pose"] if label is not None else []
            actions = [a.name for a in defs if a.type == "bool" and _XML_NAME.match(a.name)]
            if len(actions) != len(defs):
                self.report.loss("attribute declarations", "dropped (labelmap.txt declares boolean actions only)")
            rgb = ",".join(str(c) for c in color) if color else ""
            lines.append(f"{name}:{rgb}:{','.join(parts.get(name, []))}:{','.join(actions)}")
        _write_lines(self.target / "labelmap.txt", lines)


def _out_path(folder: Path, name: str) -> Path:
    """``folder / name`` for an item id; ids that could leave ``folder`` go through ``safe_join``."""
    if "/" in name or "\\" in name or name.startswith(".") or ":" in name:
        return safe_join(folder, name)
    return folder / name


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _quote(item_id: str) -> str:
    return f'"{item_id}"' if any(c.isspace() for c in item_id) else item_id


def _file_safe(name: str) -> bool:
    return bool(name) and not any(c in name for c in '/\\\0') and name not in (".", "..") and not _CONTROL.search(name)


def _as_flag(value: Any) -> int | None:
    """1/0 for a value meaning true/false, None for anything else."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "0", "false", "no"):
        return int(value.strip().lower() in ("1", "true", "yes"))
    return None


def _num(value: float) -> str:
    """Integers without a decimal point (VOC's own files), other values in shortest form;
    rounded at 1e-12 so float noise from the +1 shift (``45.699999999999996``) is not written."""
    value = round(float(value), 12)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _stored_box(box: BBox) -> list[str] | None:
    """The numbers as the source file wrote them, when the box has not moved since."""
    texts = box.metadata.get("voc_bndbox")
    if not isinstance(texts, list) or len(texts) != 4:
        return None
    try:
        values = [float(t) for t in texts]
    except (TypeError, ValueError):
        return None
    x, y, w, h = coords.voc_to_xywh(*values)
    if max(abs(x - box.x), abs(y - box.y), abs(w - box.w), abs(h - box.h)) > 1e-9:
        return None
    return [str(t) for t in texts]


def _paint(index: np.ndarray, rle: RLE, value: int, other: np.ndarray | None = None, other_value: int | None = None) -> None:
    """Set ``value`` where the mask is (and ``other_value`` in ``other``), touching only its box."""
    x, y, w, h = (int(round(v)) for v in rle_bbox(rle))
    if w <= 0 or h <= 0:
        return
    pixels = rle_decode(rle)[y : y + h, x : x + w]
    window = index[y : y + h, x : x + w]
    window[pixels] = value
    if other is not None and other_value is not None:
        other[y : y + h, x : x + w][pixels] = other_value


def _void_mask(value: Any, shape: tuple[int, int]) -> np.ndarray | None:
    if not isinstance(value, dict):
        return None
    try:
        rle = RLE.model_validate(value)
        if tuple(rle.size) != shape:
            return None
        return rle_decode(rle)
    except (ValueError, FormatError):
        return None


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_fallbacks(options: WriteOptions) -> dict[str, tuple[str, ...]] | None:
    """A polygon becomes its exact box, unless segmentation is to be painted: then the core
    rasterises it to a mask, which the writer paints and boxes."""
    opts: VocWriteOptions = options.format_options or VocWriteOptions()
    return None if opts.segmentation == "always" else {"polygon": ("bbox",)}


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Boxes with xmax < xmin, boxes that look 0-based or leave the declared size, object
    names missing from labelmap.txt, and listed ids with no annotation or image."""
    problems: list[Problem] = []
    if source.is_file():
        problems += _validate_xml(source, None)
        return problems
    for root in _find_roots(source):
        declared = None
        labelmap = root / "labelmap.txt"
        if labelmap.is_file():
            declared = {line.split(":", 1)[0] for _, line in _text_lines(labelmap)}
            for _, line in _text_lines(labelmap):
                declared.update(_csv((line.split(":") + ["", "", ""])[2]))
        structured = any((root / m).is_dir() for m in _MARKERS)
        xmls = sorted((root / "Annotations").rglob("*.xml")) if structured else [s.xml for s in _loose_sources(root) if s.xml]
        for xml in xmls:
            problems += _validate_xml(xml, declared)
        if structured:
            problems += _validate_lists(root)
    return problems


def _validate_xml(xml: Path, declared: set[str] | None) -> list[Problem]:
    problems: list[Problem] = []
    root = parse_xml(xml)
    size = root.find("size")
    width = _read_int(size, "width", xml) if size is not None else None
    height = _read_int(size, "height", xml) if size is not None else None
    for obj in root.iterfind("object"):
        boxes = [(obj, obj.find("bndbox"))] + [(p, p.find("bndbox")) for p in obj.iterfind("part")]
        name = _child_text(obj, "name")
        if declared is not None and name and name not in declared:
            problems.append(Problem(message=f"label {name!r} is not in labelmap.txt", file=str(xml), location=xml_location(obj)))
        for owner, box in boxes:
            if box is None:
                continue
            where = xml_location(box)
            xmin, ymin, xmax, ymax = (_read_number(box, t, xml)[1] for t in ("xmin", "ymin", "xmax", "ymax"))
            if xmax < xmin or ymax < ymin:
                problems.append(Problem(message=f"box has xmax < xmin or ymax < ymin ({xmin:g},{ymin:g},{xmax:g},{ymax:g})", file=str(xml), location=where))
            elif xmin < 1 or ymin < 1:
                problems.append(Problem(severity="warning", message=f"box starts at ({xmin:g}, {ymin:g}): VOC pixels are 1-based, the file may be 0-based", file=str(xml), location=where))
            if width and height and (xmax > width or ymax > height):
                problems.append(Problem(severity="warning", message=f"box ends at ({xmax:g}, {ymax:g}), outside the {width}x{height} image", file=str(xml), location=where))
    return problems


def _validate_lists(root: Path) -> list[Problem]:
    problems: list[Problem] = []
    known = {*_files_by_id(root / "Annotations", ".xml"), *_files_by_id(root / "SegmentationClass", ".png"), *_files_by_id(root / "SegmentationObject", ".png")}
    images = root / "JPEGImages"
    for task in _TASKS:
        folder = root / "ImageSets" / task
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.txt")):
            if "_" in path.stem and task in ("Main", "Action"):
                continue
            for lineno, line in _text_lines(path):
                item_id = _list_id(line, task)
                if item_id in known:
                    continue
                if images.is_dir() and find_media([images], item_id) is not None:
                    continue
                problems.append(Problem(severity="warning", message=f"{item_id!r} has no annotation file, mask or image", file=str(path), location=f"line {lineno}"))
    return problems
