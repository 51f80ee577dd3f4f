"""CamVid: the Cambridge-driving Labeled Video Database, semantic segmentation.

Specification: the CamVid release (``label_colors.txt``, colour-coded ``*_L.png`` labels) at
http://mi.eng.cam.ac.uk/research/projects/VideoRec/CamVid/ and the SegNet layout that
Datumaro and CVAT read and write. Layouts read::

    label_colors.txt            "R G B name" a line, tabs or runs of spaces (optional)
    <subset>.txt                "<image> <mask>" a line; paths may start with "/" or hold
                                the author's folders, and are quoted when they contain spaces
    <subset>/<name>.png         images
    <subset>annot/<name>.png    masks: class index per pixel (grey or palette), or colour-coded RGB

a folder of ``<subset>`` and ``<subset>annot`` folders without the lists, and the original
release: colour-coded ``<name>_L.png`` labels with the images ``<name>.png`` in another folder.

The writer writes the SegNet layout (lists, ``<subset>annot/`` palette masks whose indices and
colours both follow ``label_colors.txt``), or with ``release_layout`` the release layout.

Class indices follow the colour table with its black class moved first (the background,
index 0, whose pixels are not annotations); without a table the 32 CamVid classes apply in
that order (Void, Animal, Archway, ...). One class mask is read per class present.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from labelport.errors import FormatError, LabelportError
from labelport.geometry.masks import rle_decode
from labelport.geometry.segmaps import (
    ClassEntry,
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
from labelport.io.media import IMAGE_SUFFIXES, export_media, image_size, safe_join
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
from labelport.schema import Dataset, Image, Item, Label, LabelSet, Mask


class CamvidWriteOptions(OptionsBase):
    """CamVid writer options."""

    #: write colour-coded RGB masks instead of class-index (palette) masks
    color_masks: bool = False
    #: write the original release layout: colour-coded ``LabeledApproved_full/<name>_L.png``
    #: labels (and images in ``701_StillsRaw_full/``) instead of SegNet lists and folders
    release_layout: bool = False


INFO = FormatInfo(
    name="camvid",
    title="CamVid",
    description=(
        "CamVid semantic segmentation: <subset>.txt image/mask pairs, index or colour-coded masks, label_colors.txt."
    ),
    extensions=(),
    annotation_types=frozenset({"mask"}),
    features=frozenset({"subsets", "label_colors"}),
    media=frozenset({"image"}),
    write_options=CamvidWriteOptions,
    docs_url="http://mi.eng.cam.ac.uk/research/projects/VideoRec/CamVid/",
)

TABLE_FILE = "label_colors.txt"
#: The 32 CamVid classes of the release's label_colors.txt, Void (black) first.
CAMVID_CLASSES: tuple[ClassEntry, ...] = tuple(
    ClassEntry(name, color)  # type: ignore[arg-type]
    for name, color in (
        ("Void", (0, 0, 0)),
        ("Animal", (64, 128, 64)),
        ("Archway", (192, 0, 128)),
        ("Bicyclist", (0, 128, 192)),
        ("Bridge", (0, 128, 64)),
        ("Building", (128, 0, 0)),
        ("Car", (64, 0, 128)),
        ("CartLuggagePram", (64, 0, 192)),
        ("Child", (192, 128, 64)),
        ("Column_Pole", (192, 192, 128)),
        ("Fence", (64, 64, 128)),
        ("LaneMkgsDriv", (128, 0, 192)),
        ("LaneMkgsNonDriv", (192, 0, 64)),
        ("Misc_Text", (128, 128, 64)),
        ("MotorcycleScooter", (192, 0, 192)),
        ("OtherMoving", (128, 64, 64)),
        ("ParkingBlock", (64, 192, 128)),
        ("Pedestrian", (64, 64, 0)),
        ("Road", (128, 64, 128)),
        ("RoadShoulder", (128, 128, 192)),
        ("Sidewalk", (0, 0, 192)),
        ("SignSymbol", (192, 128, 128)),
        ("Sky", (128, 128, 128)),
        ("SUVPickupTruck", (64, 128, 192)),
        ("TrafficCone", (0, 0, 64)),
        ("TrafficLight", (0, 64, 64)),
        ("Train", (192, 64, 128)),
        ("Tree", (128, 128, 0)),
        ("Truck_Bus", (192, 128, 192)),
        ("Tunnel", (64, 0, 64)),
        ("VegetationMisc", (192, 192, 0)),
        ("Wall", (64, 192, 0)),
    )
)
_BACKGROUND_NAMES = {"background", "void", "unlabeled", "unlabelled", "_background_"}
_ANNOT = "annot"
_LABEL_TAG = "_L"
_RELEASE_LABELS, _RELEASE_IMAGES = "LabeledApproved_full", "701_StillsRaw_full"


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """A list whose lines pair an image with an existing mask file; ``<subset>annot/`` mask
    folders; or colour-coded ``*_L.png`` labels beside ``label_colors.txt``."""
    if not probe.is_dir:
        return None
    for rel in probe.files("*.txt"):
        if rel == TABLE_FILE:
            continue
        for line in probe.text(rel, 4096).splitlines()[:3]:
            if not line.strip():
                continue
            try:
                image, mask = _parse_line(line, Path(rel), 0)
                found = (
                    mask is not None
                    and _is_image_name(image)
                    and _is_image_name(mask)
                    and _resolve(probe.path, mask)[0]
                )
            except LabelportError:
                break
            if found:
                return Detection(format="camvid", confidence=0.9, reason=f"{rel} pairs images with masks")
            break
    has_table = (probe.path / TABLE_FILE).is_file()
    annot = [f for f in probe.files("*/*.png") if f.split("/", 1)[0].endswith(_ANNOT) and f.split("/", 1)[0] != _ANNOT]
    if annot and (probe.path / annot[0].split("/", 1)[0][: -len(_ANNOT)]).is_dir():
        return Detection(format="camvid", confidence=0.8 if has_table else 0.7, reason="<subset>annot/ mask folders")
    if probe.files("**/*_L.png"):
        if has_table:
            return Detection(format="camvid", confidence=0.85, reason="*_L.png labels with label_colors.txt")
        return Detection(format="camvid", confidence=0.4, reason="*_L.png colour-coded labels")
    return None


# --------------------------------------------------------------------------- read


class _Record:
    """One item to read: where its image and mask are."""

    def __init__(
        self,
        subset: str | None,
        item_id: str,
        image: Path | None,
        image_name: str | None,
        mask: Path | None,
        colored: bool = False,
    ):
        self.subset, self.id, self.image, self.image_name, self.mask, self.colored = (
            subset,
            item_id,
            image,
            image_name,
            mask,
            colored,
        )


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    if not source.is_dir():
        raise FormatError("a CamVid dataset is a folder", file=source)
    entries = _load_table(source)
    records = _from_lists(source, options) or _from_annot_folders(source) or _from_label_files(source)
    if not records:
        raise FormatError("no CamVid lists, <subset>annot/ folders or *_L.png labels found", file=source)
    background = _background_index(entries)
    labels = LabelSet(Label(name=e.name, id=i, color=e.color) for i, e in enumerate(entries))

    def items() -> Iterator[Item]:
        for rec in records:
            yield _read_item(rec, entries, background)

    return Dataset(items, labels=labels)


def _load_table(root: Path) -> list[ClassEntry]:
    path = root / TABLE_FILE
    return background_first(read_label_colors(path)) if path.is_file() else list(CAMVID_CLASSES)


def _background_index(entries: list[ClassEntry]) -> int | None:
    first = entries[0]
    return 0 if first.color == (0, 0, 0) or first.name.lower() in _BACKGROUND_NAMES else None


def _parse_line(line: str, file: Path, lineno: int) -> tuple[str, str | None]:
    """``image [mask]``; a path holding spaces is quoted."""
    line = line.strip()
    where = f"line {lineno}"
    if "\x00" in line:
        raise FormatError("NUL byte in the line", file=file, location=where)
    if '"' in line:
        parts = line.split('"')
        if len(parts) == 5 and not parts[0].strip() and not parts[2].strip() and not parts[4].strip():
            return parts[1], parts[3]
        if len(parts) == 3 and not parts[0].strip() and not parts[2].strip():
            return parts[1], None
        raise FormatError('unbalanced quotes; expected \'"<image>" "<mask>"\'', file=file, location=where)
    tokens = line.split()
    if len(tokens) > 2:
        raise FormatError(
            f"expected '<image> <mask>', got {len(tokens)} fields (quote paths with spaces)", file=file, location=where
        )
    return tokens[0], tokens[1] if len(tokens) == 2 else None


def _is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def _resolve(
    root: Path, name: str, *, file: Path | None = None, location: str | None = None
) -> tuple[Path | None, str]:
    """The file a list names, relative to the dataset folder: a leading "/" and leading
    folders of the author's machine (``/SegNet/CamVid/train/x.png``) are dropped until the
    rest exists. Returns the path (None when missing) and the relative name."""
    rel = name.replace("\\", "/")
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if not parts:
        raise FormatError("empty path", file=file, location=location)
    try:
        safe_join(root, "/".join(parts), file=file, location=location)  # refuses ".." before anything is probed
        for k in range(len(parts)):
            cand = "/".join(parts[k:])
            path = safe_join(root, cand, file=file, location=location)
            if path.is_file():
                return path, cand
    except OSError as exc:  # a name too long for the file system (safe_join lets it through)
        raise FormatError(f"unusable path {name[:80]!r}: {exc.strerror}", file=file, location=location) from None
    return None, "/".join(parts)


def _id_from(rel: str) -> tuple[str, str]:
    """(item id, image name): the path below the image folder, without its suffix."""
    parts = rel.split("/")
    below = "/".join(parts[1:]) if len(parts) > 1 else parts[0]
    stem = below[: -len(Path(below).suffix)] if Path(below).suffix else below
    return stem, below


def _from_lists(root: Path, options: ReadOptions) -> list[_Record]:
    records: list[_Record] = []
    for path in sorted(root.glob("*.txt")):
        if path.name == TABLE_FILE or not path.is_file():
            continue
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FormatError(f"not UTF-8 text ({exc.reason})", file=path) from None
        subset = path.stem
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"line {lineno}"
            image_name, mask_name = _parse_line(line, path, lineno)
            image, image_rel = _resolve(root, image_name, file=path, location=where)
            mask = None
            if mask_name is not None:
                mask, _ = _resolve(root, mask_name, file=path, location=where)
                if mask is None:
                    raise FormatError(f"mask file {mask_name!r} not found", file=path, location=where)
            if image is None and not options.keep_missing_media:
                continue
            item_id, below = _id_from(image_rel)
            records.append(_Record(subset, item_id, image, below, mask))
    return records


def _from_annot_folders(root: Path) -> list[_Record]:
    records: list[_Record] = []
    for annot in sorted(p for p in root.iterdir() if p.is_dir() and p.name.endswith(_ANNOT) and p.name != _ANNOT):
        subset = annot.name[: -len(_ANNOT)]
        images_dir = root / subset
        images = {}
        if images_dir.is_dir():
            images = {
                p.relative_to(images_dir).with_suffix("").as_posix(): p
                for p in sorted(images_dir.rglob("*"))
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            }
        for mask in sorted(annot.rglob("*.png")):
            item_id = mask.relative_to(annot).with_suffix("").as_posix()
            image = images.pop(item_id, None)
            records.append(
                _Record(subset, item_id, image, image.relative_to(images_dir).as_posix() if image else None, mask)
            )
        for item_id, image in images.items():
            records.append(_Record(subset, item_id, image, image.relative_to(images_dir).as_posix(), None))
    return records


def _from_label_files(root: Path) -> list[_Record]:
    """The release layout: ``<name>_L.png`` colour labels, images ``<name>.<ext>`` elsewhere."""
    labels: dict[str, Path] = {}
    images: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        stem = path.name[: -len(path.suffix)]
        if stem.endswith(_LABEL_TAG) and path.suffix.lower() == ".png":
            labels.setdefault(stem[: -len(_LABEL_TAG)], path)
        else:
            images.setdefault(stem, path)
    return [
        _Record(None, name, images.get(name), images[name].name if name in images else None, mask, colored=True)
        for name, mask in sorted(labels.items())
    ]


def _read_item(rec: _Record, entries: list[ClassEntry], background: int | None) -> Item:
    anns: list[Mask] = []
    width = height = None
    if rec.mask is not None:
        pixels = read_map(rec.mask)
        if pixels.ndim == 3:
            index = decolorize(pixels, [e.color for e in entries], file=rec.mask)
        elif rec.colored:
            raise FormatError("a *_L.png label must be a colour-coded RGB image", file=rec.mask)
        else:
            index = pixels
        height, width = index.shape
        skip = {background} if background is not None else set()
        for value, rle in index_to_rles(index, skip=skip).items():
            if not 0 <= value < len(entries):
                raise FormatError(
                    f"class index {value} is not in the label table of {len(entries)} classes",
                    file=rec.mask,
                    location=pixel_of(index, value),
                )
            anns.append(Mask(label=entries[value].name, rle=rle, semantics="class"))
    if rec.image is not None and width is None:
        width, height = _image_size(rec.image)
    media = Image(name=rec.image_name, path=str(rec.image) if rec.image else None, width=width, height=height)
    return Item(id=rec.id, subset=rec.subset, media=media, annotations=anns)


def _image_size(path: Path) -> tuple[int | None, int | None]:
    """The image's size from its header; unknown (not an error) when the image is unreadable:
    a broken image must not keep its annotations from being read (validate reports it)."""
    try:
        return image_size(path)
    except LabelportError:
        return None, None


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: CamvidWriteOptions = options.format_options or CamvidWriteOptions()
    target.mkdir(parents=True, exist_ok=True)
    table_losses: list[tuple[str, str]] = []  # recorded after the loop: the first pass over the items resets the report
    entries = _write_table(dataset, table_losses, distinct_colors=opts.color_masks or opts.release_layout)
    index_of = {e.name: i for i, e in enumerate(entries)}
    lists: dict[str, list[str]] = defaultdict(list)
    for item in dataset:
        masks = _item_masks(item, entries, index_of, report)
        if opts.release_layout:
            _write_release_item(item, masks, target, entries, index_of, options, report)
            continue
        subset = item.subset or "default"
        image_rel = f"{subset}/{item.id}{_image_suffix(item)}"
        if options.save_media != "none":
            export_media(item, target, options.save_media, report, name=image_rel)
        line = [image_rel]
        if masks:
            mask_rel = f"{subset}{_ANNOT}/{item.id}.png"
            _write_mask(target / mask_rel, masks, entries, index_of, opts, report)
            line.append(mask_rel)
        lists[subset].append(" ".join(_quote("/" + p) if any(" " in q for q in line) else "/" + p for p in line))
    for subset, lines in lists.items():  # none in the release layout
        (target / f"{subset}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_label_colors(target / TABLE_FILE, entries)
    for what, action in table_losses:
        report.loss(what, action)
    return True


def _item_masks(item: Item, entries: list[ClassEntry], index_of: dict[str, int], report: Report) -> list[Mask]:
    """The item's labelled masks; a label met while streaming joins the table."""
    masks = []
    for ann in item.annotations:
        if ann.type != "mask":
            continue
        if ann.label is None:
            report.loss("mask without a label", "dropped")
            continue
        if ann.label not in index_of:
            index_of[ann.label] = len(entries)
            entries.append(fill_colors([*entries, ClassEntry(ann.label, None)])[-1])
        masks.append(ann)
    return masks


def _write_release_item(
    item: Item,
    masks: list[Mask],
    target: Path,
    entries: list[ClassEntry],
    index_of: dict[str, int],
    options: WriteOptions,
    report: Report,
) -> None:
    """The release layout: ``LabeledApproved_full/<name>_L.png``, images in ``701_StillsRaw_full/``."""
    name = item.id.rsplit("/", 1)[-1]
    if name != item.id:
        report.loss("item id folders", "dropped (the release layout names images only)")
    if item.subset not in (None, "default"):
        report.loss("subset names", "dropped (the release layout has no subsets)")
    label = target / _RELEASE_LABELS / f"{name}{_LABEL_TAG}.png"
    if masks:
        _write_mask(label, masks, entries, index_of, CamvidWriteOptions(color_masks=True), report)
    else:  # an all-background label keeps the image listed
        width, height = getattr(item.media, "width", None), getattr(item.media, "height", None)
        if width and height:
            write_rgb_png(label, np.zeros((height, width, 3), dtype=np.uint8))
        else:
            report.loss("image without masks or size", "dropped (the release layout lists labelled images only)")
    export_media(item, target / _RELEASE_IMAGES, options.save_media, report, name=f"{name}{_image_suffix(item)}")


def _write_table(dataset: Dataset, losses: list[tuple[str, str]], *, distinct_colors: bool = False) -> list[ClassEntry]:
    """The dataset's labels in order with the background class (black) first; with
    ``distinct_colors`` (colour-coded masks) no two classes share a colour."""
    labels = list(dataset.labels)
    background = next((lb for lb in labels if lb.color == (0, 0, 0)), None)
    background = background or next((lb for lb in labels if lb.name.lower() in _BACKGROUND_NAMES), None)
    if background is not None and background.color not in (None, (0, 0, 0)):
        losses.append(("label colours", "replaced by black for the background class"))
    entries = [ClassEntry(background.name if background else "Void", (0, 0, 0))]
    entries += [ClassEntry(lb.name, lb.color) for lb in labels if lb is not background]
    if distinct_colors:
        seen: set[tuple[int, int, int]] = set()
        for i, e in enumerate(entries):
            if e.color in seen:
                losses.append(
                    ("label colours shared by several classes", "replaced so colour-coded masks stay decodable")
                )
                entries[i] = ClassEntry(e.name, None)
            elif e.color is not None:
                seen.add(e.color)
    return fill_colors(entries)


def _quote(path: str) -> str:
    return f'"{path}"'


def _image_suffix(item: Item) -> str:
    for name in (getattr(item.media, "name", None), getattr(item.media, "path", None)):
        if name and Path(name).suffix.lower() in IMAGE_SUFFIXES:
            return Path(name).suffix
    return ".png"


def _write_mask(
    path: Path,
    masks: list[Mask],
    entries: list[ClassEntry],
    index_of: dict[str, int],
    opts: CamvidWriteOptions,
    report: Report,
) -> None:
    size = tuple(masks[0].rle.size)
    shapes = []
    per_label: Counter[str] = Counter()
    for m in sorted(masks, key=lambda a: a.z_order):
        if tuple(m.rle.size) != size:
            report.loss("mask of another size than the image's other masks", "dropped")
            continue
        if index_of[m.label] == 0:  # type: ignore[index]
            report.loss("mask of the background class", "dropped (background pixels are not annotations)")
            continue
        per_label[m.label] += 1  # type: ignore[index]
        shapes.append((index_of[m.label], rle_decode(m.rle)))  # type: ignore[index]
    merged = sum(n - 1 for n in per_label.values() if n > 1)
    if merged:
        report.loss("masks of one label in an image", "merged into one class mask", merged)
    index, overlaps = paint(shapes, size)  # type: ignore[arg-type]
    if overlaps:
        report.loss("pixels shared by overlapping masks", "kept by the later mask only", overlaps)
    colors = [e.color for e in entries]
    if opts.color_masks:
        write_rgb_png(path, colorize(index, colors))
    else:
        write_index_png(path, index, colors if len(entries) <= 256 else None)


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Images missing or of another size than their mask, and items listed twice."""
    problems: list[Problem] = []
    try:
        records = _from_lists(source, options) or _from_annot_folders(source) or _from_label_files(source)
    except LabelportError as exc:
        return [Problem(message=exc.message, file=exc.file or str(source), location=exc.location)]
    seen: set[tuple[str | None, str]] = set()
    for rec in records:
        where = f"item {rec.id}"
        if (rec.subset, rec.id) in seen:
            problems.append(
                Problem(message=f"item {rec.id!r} is listed twice in {rec.subset}", file=str(source), location=where)
            )
        seen.add((rec.subset, rec.id))
        if rec.image is None:
            problems.append(
                Problem(severity="warning", message="image file not found", file=str(source), location=where)
            )
            continue
        if rec.mask is None:
            continue
        try:
            size, mask_size = image_size(rec.image), image_size(rec.mask)
        except LabelportError as exc:
            problems.append(Problem(message=exc.message, file=exc.file, location=exc.location))
            continue
        if size != mask_size:
            problems.append(
                Problem(
                    message=f"mask is {mask_size[0]}x{mask_size[1]}, its image {size[0]}x{size[1]}",
                    file=str(rec.mask),
                    location=where,
                )
            )
    return problems
