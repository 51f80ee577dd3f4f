"""Cityscapes: fine (and coarse) pixel annotations of street scenes.

Specification: https://www.cityscapes-dataset.com/dataset-overview/ and the reference scripts
(cityscapesScripts: ``helpers/labels.py``, ``helpers/annotation.py``,
``preparation/json2instanceImg.py``). Layout read and written::

    gtFine/<subset>/<city>/<city>_<seq>_<frame>_gtFine_polygons.json     objects drawn in order
    gtFine/<subset>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png      class id per pixel
    gtFine/<subset>/<city>/<city>_<seq>_<frame>_gtFine_instanceIds.png   class*1000+instance, or the class id
    gtFine/<subset>/<city>/<city>_<seq>_<frame>_gtFine_color.png         class colour per pixel
    leftImg8bit/<subset>/<city>/<city>_<seq>_<frame>_leftImg8bit.png     the images
    label_color.txt / label_colors.txt                                   custom classes (``R G B name``)

Without a colour table the original 34-class table (ids 0..33, license plate -1) applies.
A polygon file is read as polygons; otherwise the most informative PNG (instanceIds, labelIds,
labelTrainIds, color) is read as masks: one instance mask per ``class*1000+instance`` value and
one class mask per plain class id (stuff classes and groups such as ``cargroup``). Pixels of
the background class (id 0, ``unlabeled``) are not annotations.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from labelport.errors import FormatError, LabelportError
from labelport.geometry.masks import polygons_to_rle, rle_decode
from labelport.geometry.segmaps import (
    CITYSCAPES_CLASSES,
    ClassEntry,
    Color,
    background_first,
    colorize,
    decolorize,
    fill_colors,
    index_to_rles,
    paint,
    pixel_of,
    read_label_colors,
    read_map,
    write_index_png,
    write_label_colors,
    write_rgb_png,
)
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.io.media import IMAGE_SUFFIXES, export_media, image_size
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
from labelport.schema import Dataset, Image, Item, Label, LabelSet, Mask, Polygon


class CityscapesReadOptions(OptionsBase):
    """Cityscapes reader options."""

    #: read the PNG maps (as masks) even for images that have a ``_polygons.json``
    prefer_maps: bool = False


class CityscapesWriteOptions(OptionsBase):
    """Cityscapes writer options."""

    #: write ``_gtFine_polygons.json`` for images annotated only with polygons
    polygons: bool = True
    #: write the colour-coded ``_gtFine_color.png``
    color: bool = True


INFO = FormatInfo(
    name="cityscapes",
    title="Cityscapes",
    description="Cityscapes gtFine/gtCoarse: polygon JSON, labelIds, instanceIds and color PNGs, leftImg8bit images.",
    extensions=(),
    annotation_types=frozenset({"polygon", "mask"}),
    features=frozenset({"subsets", "label_colors"}),
    media=frozenset({"image"}),
    read_options=CityscapesReadOptions,
    write_options=CityscapesWriteOptions,
    docs_url="https://www.cityscapes-dataset.com/dataset-overview/",
)

_ANN_DIRS = ("gtFine", "gtCoarse")
_KINDS = ("polygons.json", "instanceIds.png", "labelIds.png", "labelTrainIds.png", "color.png")
_ANN_RE = re.compile(
    r"^(?P<id>.+)_(?P<dir>gtFine|gtCoarse)_(?P<kind>polygons\.json|instanceIds\.png|labelIds\.png|labelTrainIds\.png|color\.png)$"
)
_IMAGE_DIRS = (("leftImg8bit",), ("imgsFine", "leftImg8bit"))
_IMAGE_TAG = "_leftImg8bit"
_TABLE_FILES = ("label_colors.txt", "label_color.txt")
_BACKGROUND_NAMES = {"background", "unlabeled", "unlabelled", "void", "_background_"}
_MAX_INSTANCES = 1000
_UINT16 = 65536


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """``gtFine/`` or ``gtCoarse/`` holding files named ``*_gtFine_<kind>``: unmistakable."""
    if not probe.is_dir:
        return None
    for ann_dir in _ANN_DIRS:
        if not (probe.path / ann_dir).is_dir():
            continue
        for rel in probe.files(f"{ann_dir}/**/*_{ann_dir}_*"):
            m = _ANN_RE.match(rel.rsplit("/", 1)[-1])
            if m and m.group("dir") == ann_dir:
                return Detection(
                    format="cityscapes", confidence=0.95, reason=f"{ann_dir}/ with {m.group('kind')} files"
                )
    return None


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: CityscapesReadOptions = options.format_options or CityscapesReadOptions()
    if not source.is_dir() or not any((source / d).is_dir() for d in _ANN_DIRS):
        raise FormatError("not a Cityscapes folder: no gtFine/ or gtCoarse/ inside", file=source)
    table = _Table.load(source)
    annotations, images = _scan(source)
    labels = LabelSet(table.labels)
    keys = sorted(set(annotations) | set(images), key=lambda k: (k[0] or "", k[1]))

    def items() -> Iterator[Item]:
        for key in keys:
            yield _read_item(key, annotations.get(key, {}), images.get(key), table, labels, opts)

    return Dataset(items, labels=labels)


class _Table:
    """Class ids <-> names and colours: the original table, or a ``label_colors.txt``."""

    def __init__(
        self,
        entries: list[tuple[str, int, Color | None]],
        *,
        background: int | None,
        custom: bool,
        instance_classes: set[str] | None,
        labels: list[Label],
    ):
        self.by_id = {i: name for name, i, _ in entries if i >= 0}
        self.ids = {name: i for name, i, _ in entries if i >= 0}
        top = max(self.by_id, default=-1)
        self.colors: list[Color | None] = [None] * (top + 1)
        for _name, i, color in entries:
            if i >= 0:
                self.colors[i] = color
        self.background = background
        self.custom = custom
        self.instance_classes = instance_classes  # None: every class may have instances
        self.labels = labels
        self.known = {name for name, _, _ in entries}

    @classmethod
    def default(cls) -> _Table:
        labels = [
            Label(name=c.name, id=c.id, color=c.color, metadata={"category": c.category, "train_id": c.train_id})
            for c in CITYSCAPES_CLASSES
        ]
        return cls(
            [(c.name, c.id, c.color) for c in CITYSCAPES_CLASSES],
            background=0,
            custom=False,
            instance_classes={c.name for c in CITYSCAPES_CLASSES if c.has_instances},
            labels=labels,
        )

    @classmethod
    def from_entries(cls, entries: list[ClassEntry]) -> _Table:
        ordered = background_first(entries)
        first = ordered[0]
        background = 0 if first.color == (0, 0, 0) or first.name.lower() in _BACKGROUND_NAMES else None
        labels = [Label(name=e.name, id=i, color=e.color) for i, e in enumerate(ordered)]
        return cls(
            [(e.name, i, e.color) for i, e in enumerate(ordered)],
            background=background,
            custom=True,
            instance_classes=None,
            labels=labels,
        )

    @classmethod
    def load(cls, root: Path) -> _Table:
        for name in _TABLE_FILES:
            if (root / name).is_file():
                return cls.from_entries(read_label_colors(root / name))
        return cls.default()

    def add(self, name: str) -> None:
        """Append a class met while writing (custom tables only); it gets an unused colour."""
        new_id = len(self.colors)
        color = fill_colors([*(ClassEntry(n, self.colors[i]) for i, n in self.by_id.items()), ClassEntry(name, None)])[
            -1
        ].color
        self.by_id[new_id] = name
        self.ids[name] = new_id
        self.colors.append(color)
        self.known.add(name)
        self.labels.append(Label(name=name, id=new_id, color=color))

    def train_ids(self) -> dict[int, str]:
        """trainId -> class name, the first class of each trainId (the reference scripts' rule)."""
        out: dict[int, str] = {}
        for c in CITYSCAPES_CLASSES:
            if 0 <= c.train_id < 255:
                out.setdefault(c.train_id, c.name)
        return out


def _scan(
    root: Path,
) -> tuple[dict[tuple[str | None, str], dict[str, Path]], dict[tuple[str | None, str], tuple[Path, str]]]:
    """Annotation files by (subset, item id) and kind; images by (subset, item id)."""
    annotations: dict[tuple[str | None, str], dict[str, Path]] = defaultdict(dict)
    for ann_dir in _ANN_DIRS:
        base = root / ann_dir
        if not base.is_dir():
            continue
        for path in sorted(base.rglob(f"*_{ann_dir}_*")):
            m = _ANN_RE.match(path.name)
            if not m or m.group("dir") != ann_dir or not path.is_file():
                continue
            key = _key(path.relative_to(base).parts, m.group("id"))
            annotations[key].setdefault(m.group("kind"), path)  # gtFine wins over gtCoarse
    images: dict[tuple[str | None, str], tuple[Path, str]] = {}
    for parts in _IMAGE_DIRS:
        base = root.joinpath(*parts)
        if not base.is_dir():
            continue
        for path in sorted(base.rglob(f"*{_IMAGE_TAG}.*")):
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                continue
            stem = path.name[: -len(path.suffix)]
            if not stem.endswith(_IMAGE_TAG):
                continue
            rel = path.relative_to(base).parts
            key = _key(rel, stem[: -len(_IMAGE_TAG)])
            images.setdefault(key, (path, "/".join(rel[1:]) if len(rel) > 1 else rel[0]))
    return dict(annotations), images


def _key(parts: tuple[str, ...], stem_id: str) -> tuple[str | None, str]:
    """(subset, item id): the first folder is the subset; the id keeps the city folder."""
    if len(parts) == 1:
        return None, stem_id
    return parts[0], "/".join((*parts[1:-1], stem_id))


def _read_item(
    key: tuple[str | None, str],
    files: dict[str, Path],
    image: tuple[Path, str] | None,
    table: _Table,
    labels: LabelSet,
    opts: CityscapesReadOptions,
) -> Item:
    subset, item_id = key
    width = height = None
    anns: list[Any] = []
    meta: dict[str, Any] = {}
    polygons = files.get("polygons.json")
    if polygons is not None and not opts.prefer_maps:
        width, height, anns = _read_polygons(polygons, table, labels)
        meta["cityscapes_source"] = "polygons"
    else:
        for kind in _KINDS[1:]:
            if kind in files:
                height, width, anns = _read_map(files[kind], kind, table, labels)
                meta["cityscapes_source"] = kind
                break
    media = None
    if image is not None or width:
        path, name = image if image is not None else (None, None)
        if path is not None and not width:
            width, height = _image_size(path)
        media = Image(name=name, path=str(path) if path else None, width=width or None, height=height or None)
    return Item(id=item_id, subset=subset, media=media, annotations=anns, metadata=meta)


def _image_size(path: Path) -> tuple[int | None, int | None]:
    """The image's size from its header; unknown (not an error) when the image is unreadable:
    a broken image must not keep its annotations from being read (validate reports it)."""
    try:
        return image_size(path)
    except LabelportError:
        return None, None


def _read_polygons(path: Path, table: _Table, labels: LabelSet) -> tuple[int, int, list[Polygon]]:
    doc = load_json(path)
    j = JsonReader(path)
    if not isinstance(doc, dict):
        raise j.error("$", "expected an object with imgHeight, imgWidth and objects")
    height = j.get(doc, "imgHeight", "", int)
    width = j.get(doc, "imgWidth", "", int)
    if height < 0 or width < 0:
        raise j.error("imgHeight", f"image size {width}x{height} is negative")
    out: list[Polygon] = []
    for i, obj in enumerate(j.get(doc, "objects", "", list)):
        where = f"objects[{i}]"
        name = j.get(obj, "label", where, str)
        deleted = obj.get("deleted", 0)
        if deleted not in (0, 1, True, False, None):
            raise j.error(f"{where}.deleted", f"expected 0 or 1, got {deleted!r}")
        points = j.get(obj, "polygon", where, list)
        flat: list[float] = []
        for k, pt in enumerate(points):
            x, y = j.numbers(pt, f"{where}.polygon[{k}]", length=2)
            flat += [float(x), float(y)]
        if deleted:  # deleted objects are not drawn by the reference scripts
            continue
        if not flat:
            raise j.error(f"{where}.polygon", "polygon has no points")
        meta: dict[str, Any] = {}
        if name not in table.known and name.endswith("group") and name[: -len("group")] in table.known:
            name = name[: -len("group")]
            meta["cityscapes_group"] = True  # a crowd of the class: drawn with the plain class id
        extra = {k: obj[k] for k in ("user", "date", "verified") if k in obj}
        if extra:
            meta["cityscapes"] = extra
        labels.add(name)
        out.append(Polygon(label=name, parts=[flat], metadata=meta))
    return width, height, out


def _read_map(path: Path, kind: str, table: _Table, labels: LabelSet) -> tuple[int, int, list[Mask]]:
    pixels = read_map(path)
    if kind == "color.png":
        if pixels.ndim == 2:
            raise FormatError("a _color.png must be an RGB image", file=path)
        pixels = decolorize(pixels, table.colors, file=path)
    elif pixels.ndim != 2:
        raise FormatError("an id map must be a single-channel image", file=path)
    h, w = pixels.shape
    names = table.by_id
    skip = {table.background} if table.background is not None else set()
    if kind == "labelTrainIds.png" and not table.custom:
        names = table.train_ids()
        skip = {255}
    out: list[Mask] = []
    for value, rle in index_to_rles(pixels, skip=skip).items():
        instance = kind == "instanceIds.png" and value >= 1000
        cls = value // 1000 if instance else value
        if cls not in names:
            what = "class id" if not instance else f"class id {cls} of instance value"
            raise FormatError(f"{what} {value} is not in the label table", file=path, location=pixel_of(pixels, value))
        name = names[cls]
        labels.add(name)
        if instance:
            out.append(
                Mask(
                    id=value, label=name, rle=rle, semantics="instance", metadata={"cityscapes_instance": value % 1000}
                )
            )
        else:
            out.append(Mask(id=value, label=name, rle=rle, semantics="class"))
    return h, w, out


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: CityscapesWriteOptions = options.format_options or CityscapesWriteOptions()
    target.mkdir(parents=True, exist_ok=True)
    table_losses: list[tuple[str, str]] = []  # recorded after the loop: the first pass over the items resets the report
    table = _write_table(dataset, table_losses)
    unsized = 0
    for item in dataset:
        subset = item.subset or "default"
        base = target / "gtFine" / subset / item.id
        if options.save_media != "none":
            suffix = Path(getattr(item.media, "path", None) or getattr(item.media, "name", None) or ".png").suffix
            export_media(
                item,
                target / "leftImg8bit" / subset,
                options.save_media,
                report,
                name=f"{item.id}{_IMAGE_TAG}{suffix or '.png'}",
            )
        unsized += not _write_item(item, base, table, opts, report)
    if table.custom:
        write_label_colors(
            target / "label_colors.txt", [ClassEntry(table.by_id[i], table.colors[i]) for i in sorted(table.by_id)]
        )
    if unsized:
        report.warn(f"{unsized} images of unknown size: their PNG maps were not written")
    for what, action in table_losses:
        report.loss(what, action)
    return True


def _write_table(dataset: Dataset, losses: list[tuple[str, str]]) -> _Table:
    """The original table when every label is one of its classes, otherwise a custom table:
    the background class first (black), then the dataset's labels in order."""
    default = _Table.default()
    labels = list(dataset.labels)
    if all(lb.name in default.known for lb in labels):
        return default
    background = next((lb for lb in labels if lb.color == (0, 0, 0)), None)
    background = background or next((lb for lb in labels if lb.name.lower() in _BACKGROUND_NAMES), None)
    if background is not None and background.color not in (None, (0, 0, 0)):
        losses.append(("label colours", "replaced by black for the background class"))
    entries = [ClassEntry(background.name if background else "background", (0, 0, 0))]
    entries += [ClassEntry(lb.name, lb.color) for lb in labels if lb is not background]
    return _Table.from_entries(fill_colors(entries))


def _write_item(item: Item, base: Path, table: _Table, opts: CityscapesWriteOptions, report: Report) -> bool:
    """Write one image's files; False when its size is unknown and PNG maps were needed."""
    kept: list[Any] = []
    for ann in sorted(item.annotations, key=lambda a: a.z_order):  # drawn in order, later on top
        if ann.label is None:
            report.loss(f"{ann.type} without a label", "dropped")
            continue
        if ann.label not in table.known:
            if not table.custom:
                report.loss(f"{ann.type} with a label outside the Cityscapes table", "dropped")
                continue
            table.add(ann.label)
        kept.append(ann)
    width, height = _item_size(item, kept)
    polygons = [a for a in kept if a.type == "polygon"]
    as_json = opts.polygons and len(polygons) == len(kept)
    if as_json:  # an empty polygon file still records the image
        _write_polygons(base.with_name(base.name + "_gtFine_polygons.json"), polygons, width, height)
    elif polygons:
        why = "polygon files are switched off" if not opts.polygons else "the image also has masks"
        report.loss("polygon", f"rasterised to a mask ({why})", len(polygons))
    if not (width and height):
        if not as_json and kept:
            report.loss(f"{kept[0].type} on an image of unknown size", "dropped", len(kept))
        return as_json and not kept
    if as_json and not kept:
        return True
    class_map, instance_map = _paint(kept, height, width, table, report, from_polygons=as_json)
    name = base.name
    write_index_png(base.with_name(name + "_gtFine_labelIds.png"), class_map)
    write_index_png(base.with_name(name + "_gtFine_instanceIds.png"), instance_map, bits=16)
    if opts.color:
        write_rgb_png(base.with_name(name + "_gtFine_color.png"), colorize(class_map, table.colors))
    return True


def _item_size(item: Item, anns: list[Any]) -> tuple[int | None, int | None]:
    width, height = getattr(item.media, "width", None), getattr(item.media, "height", None)
    if not (width and height):
        path = getattr(item.media, "path", None)
        if path and Path(path).is_file():
            try:
                width, height = image_size(path)
            except LabelportError:
                pass
    if not (width and height):
        mask = next((a for a in anns if a.type == "mask"), None)
        if mask is not None:
            height, width = mask.rle.size
    return width, height


def _write_polygons(path: Path, anns: list[Polygon], width: int | None, height: int | None) -> None:
    objects = []
    for ann in anns:
        name = ann.label + ("group" if ann.metadata.get("cityscapes_group") else "")
        obj: dict[str, Any] = {
            "label": name,
            "polygon": [[_num(x), _num(y)] for x, y in zip(ann.parts[0][0::2], ann.parts[0][1::2], strict=False)],
        }
        extra = ann.metadata.get("cityscapes")
        if isinstance(extra, dict):
            obj.update({k: v for k, v in extra.items() if k in ("user", "date", "verified")})
        objects.append(obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dump_json({"imgHeight": height or 0, "imgWidth": width or 0, "objects": objects}, indent=True))


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def _paint(
    anns: list[Any], h: int, w: int, table: _Table, report: Report, from_polygons: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The labelIds and instanceIds maps, painted in annotation order (later on top) like the
    reference json2instanceImg; polygons are rasterised by the core (COCO rule: pixels whose
    centre is inside), where the reference Pillow drawing also fills the outline pixels."""
    next_instance: dict[int, int] = defaultdict(int)
    used: dict[int, set[int]] = defaultdict(set)
    class_shapes: list[tuple[int, np.ndarray]] = []
    instance_shapes: list[tuple[int, np.ndarray]] = []
    class_masks: Counter[int] = Counter()
    for ann in anns:
        cls = table.ids.get(ann.label)  # type: ignore[arg-type]
        if cls is None:  # a class without id (license plate) is not drawn, as in the reference
            if not (from_polygons and ann.type == "polygon"):
                report.loss(f"{ann.type} of a class without id ({ann.label})", "dropped (not drawn in the maps)")
            continue
        if ann.type == "polygon":
            pixels = rle_decode(polygons_to_rle(ann.parts, h, w, ann.holes))
            instance = not ann.metadata.get("cityscapes_group") and (
                table.instance_classes is None or ann.label in table.instance_classes
            )
        else:
            if tuple(ann.rle.size) != (h, w):
                report.loss("mask of another size than its image", "dropped")
                continue
            pixels = rle_decode(ann.rle)
            instance = ann.semantics == "instance"
        if cls == table.background:
            if not from_polygons:
                report.loss(f"{ann.type} of the background class", "dropped (background pixels are not annotations)")
            continue
        value = cls
        if instance:
            k = _instance_number(ann, cls, used, next_instance)
            if k >= _MAX_INSTANCES or cls * 1000 + k >= _UINT16:
                report.loss("instance", "written as its class (no instance id left in a 16-bit map)")
            else:
                value = cls * 1000 + k
        else:
            class_masks[cls] += 1
        class_shapes.append((cls, pixels))
        instance_shapes.append((value, pixels))
    if not from_polygons:
        merged = sum(n - 1 for n in class_masks.values() if n > 1)
        if merged:
            report.loss("class masks of one label in an image", "merged into one", merged)
    class_map, _ = paint(class_shapes, (h, w), table.background or 0)
    instance_map, overlaps = paint(instance_shapes, (h, w), table.background or 0)
    if overlaps and not from_polygons:
        report.loss("pixels shared by overlapping annotations", "kept by the later annotation only", overlaps)
    return class_map, instance_map


def _instance_number(ann: Any, cls: int, used: dict[int, set[int]], nxt: dict[int, int]) -> int:
    wanted = ann.metadata.get("cityscapes_instance")
    if (
        isinstance(wanted, int)
        and not isinstance(wanted, bool)
        and 0 <= wanted < _MAX_INSTANCES
        and wanted not in used[cls]
    ):
        used[cls].add(wanted)
        return wanted
    while nxt[cls] in used[cls]:
        nxt[cls] += 1
    used[cls].add(nxt[cls])
    return nxt[cls]


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Labels outside the table, sizes that disagree between an image's files, and
    instanceIds that disagree with labelIds."""
    problems: list[Problem] = []
    try:
        table = _Table.load(source)
        annotations, images = _scan(source)
    except LabelportError as exc:
        return [Problem(message=exc.message, file=exc.file or str(source), location=exc.location)]
    for key, files in sorted(annotations.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
        sizes: dict[str, tuple[int, int]] = {}
        maps: dict[str, np.ndarray] = {}
        try:
            if "polygons.json" in files:
                doc = load_json(files["polygons.json"])
                if isinstance(doc, dict):
                    sizes["polygons.json"] = (doc.get("imgWidth"), doc.get("imgHeight"))  # type: ignore[assignment]
                    for i, obj in enumerate(doc.get("objects") or []):
                        name = obj.get("label") if isinstance(obj, dict) else None
                        base = name[: -len("group")] if isinstance(name, str) and name.endswith("group") else name
                        if isinstance(name, str) and name not in table.known and base not in table.known:
                            problems.append(
                                Problem(
                                    severity="warning",
                                    message=f"label {name!r} is not in the label table",
                                    file=str(files["polygons.json"]),
                                    location=f"objects[{i}].label",
                                )
                            )
            for kind in _KINDS[1:]:  # every map must decode, whichever one the reader uses
                if kind not in files:
                    continue
                pixels = read_map(files[kind])
                if (pixels.ndim == 3) != (kind == "color.png"):
                    shape = "an RGB image" if kind == "color.png" else "a single-channel image"
                    raise FormatError(f"a _{kind} must be {shape}", file=files[kind])
                maps[kind] = pixels.astype(np.int64, copy=False)
                sizes[kind] = (pixels.shape[1], pixels.shape[0])
        except LabelportError as exc:
            problems.append(Problem(message=exc.message, file=exc.file, location=exc.location))
            continue
        if key in images:
            try:
                sizes["image"] = image_size(images[key][0])
            except LabelportError as exc:
                problems.append(Problem(severity="warning", message=exc.message, file=exc.file))
        distinct = {s for s in sizes.values() if s != (0, 0)}
        if len(distinct) > 1:
            detail = ", ".join(f"{k} {w}x{h}" for k, (w, h) in sizes.items())
            problems.append(
                Problem(message=f"sizes disagree: {detail}", file=str(next(iter(files.values()))), location=key[1])
            )
        elif "instanceIds.png" in maps and "labelIds.png" in maps:
            inst, lab = maps["instanceIds.png"], maps["labelIds.png"]
            classes = np.where(inst >= 1000, inst // 1000, inst)
            bad = np.argwhere(classes != lab)
            if len(bad):
                y, x = (int(v) for v in bad[0])
                problems.append(
                    Problem(
                        message=f"instanceIds says class {int(classes[y, x])}, labelIds says {int(lab[y, x])}",
                        file=str(files["instanceIds.png"]),
                        location=f"pixel x={x}, y={y}",
                    )
                )
    return problems
