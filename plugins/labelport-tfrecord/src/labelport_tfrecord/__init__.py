"""TFRecord files of the TensorFlow Object Detection API, read and written without TensorFlow.

Specification: tensorflow/models, research/object_detection (``dataset_tools/create_*_tf_record.py``
write the records, ``data_decoders/tf_example_decoder.py`` reads them, ``protos/
string_int_label_map.proto`` is the label map) and TensorFlow's TFRecord framing. Each record is a
``tf.train.Example`` for one image:

- ``image/encoded`` (the image file's bytes), ``image/format``, ``image/filename``,
  ``image/source_id``, ``image/key/sha256``, ``image/height``, ``image/width``;
- per object: ``image/object/bbox/{xmin,xmax,ymin,ymax}`` (normalised),
  ``image/object/class/label`` (1-based ids of ``label_map.pbtxt``; 0 = no class) and
  ``image/object/class/text``, ``image/object/mask`` (one PNG per object, or a float list of
  n x height x width values), ``image/object/keypoint/{x,y}`` (normalised), ``/visibility``,
  ``/num`` and ``/text``, and the flags ``difficult``, ``truncated``, ``is_crowd``, ``group_of``,
  ``view``;
- image-level classes: ``image/class/label`` and ``image/class/text``.

Layout: ``<subset>.tfrecord`` (also ``.record``, ``.tfrecords``, sharded ``-00000-of-00010``,
gzip-compressed) beside ``label_map.pbtxt``. Canonical form: one item per record with the image
bytes in ``Image.data``; per object a box, plus its mask and keypoints in one ``group``.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from google.protobuf.message import DecodeError
from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.geometry.masks import decode_mask_image, encode_png, rle_bbox
from labelport.io.media import IMAGE_SUFFIXES, MediaLookup, export_media
from labelport.io.text import read_lines
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
from labelport.schema import BBox, Dataset, Image, Item, Keypoints, Label, LabelSet, Mask, Skeleton, Tag

from labelport_tfrecord._proto import frame, looks_like_records, messages, read_records


class TfrecordWriteOptions(OptionsBase):
    """TFRecord writer options."""

    #: put each image's bytes into its record (``image/encoded``), as training pipelines expect
    embed_images: bool = True


INFO = FormatInfo(
    name="tfrecord",
    title="TFRecord (TensorFlow Object Detection API)",
    description="tf.train.Example records with embedded images, normalised boxes, PNG instance masks, "
    "keypoints and image classes, plus label_map.pbtxt; read and written without TensorFlow.",
    extensions=(".tfrecord", ".record", ".tfrecords"),
    annotation_types=frozenset({"bbox", "mask", "keypoints", "label"}),
    # attributes: the object flags difficult, truncated, is_crowd, group_of and view;
    # groups: a box with its mask and keypoints is one object
    features=frozenset({"attributes", "groups", "subsets", "skeletons"}),
    write_options=TfrecordWriteOptions,
    docs_url="https://github.com/tensorflow/models/blob/master/research/object_detection/g3doc/using_your_own_dataset.md",
)

LABEL_MAP = "label_map.pbtxt"
_RECORD_NAME = re.compile(
    r"^(?P<stem>.+?)(?:\.(?:tfrecords?|records?))?(?:-\d{5}-of-\d{5})?(?:\.(?:tfrecords?|records?))?(?:\.gz)?$", re.I
)
_RECORD_SUFFIX = re.compile(
    r"\.(?:tfrecords?|records?)(?:-\d{5}-of-\d{5})?(?:\.gz)?$|-\d{5}-of-\d{5}(?:\.(?:tfrecords?|records?))?(?:\.gz)?$", re.I
)
_FLAGS = ("difficult", "truncated", "is_crowd", "group_of")
_MAX_FILES = 10_000


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """A record header whose length passes its masked CRC32C: unmistakable."""
    if not probe.is_dir:
        if looks_like_records(probe.head(None, 4096)):
            return Detection(format="tfrecord", confidence=0.95, reason="TFRecord framing (length CRC checks out)")
        return None
    for rel in probe.files()[:_MAX_FILES]:
        name = rel.rsplit("/", 1)[-1]
        if _RECORD_SUFFIX.search(name) and looks_like_records(probe.head(rel, 4096)):
            return Detection(format="tfrecord", confidence=0.95, reason=f"TFRecord file {rel}")
    return None


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    return _read(source, options, None)


@dataclass
class _Context:
    """What reading every record shares: labels by name and id, where images may be, findings."""

    root: Path
    labels: LabelSet
    by_id: dict[int, str]
    media: MediaLookup
    problems: list[Problem] | None
    notes: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def warn(self, message: str, file: Path, location: str) -> None:
        if self.problems is not None:
            self.problems.append(Problem(severity="warning", message=message, file=str(file), location=location))

    def label(self, text: str, label_id: int | None, file: Path, where: str) -> str | None:
        """The class of an object: its text, else its id in the label map; id 0 and no text: none."""
        mapped = self.by_id.get(label_id) if label_id is not None else None
        if text:
            if mapped is not None and mapped != text:
                self.warn(f"class text {text!r} but label map id {label_id} is {mapped!r}", file, where)
            if text not in self.labels:
                free = bool(label_id) and label_id not in self.by_id
                self.labels.add(Label(name=text, id=label_id if free else None))
                if free:
                    self.by_id[label_id] = text  # later objects may give the id alone
            return text
        if mapped is not None:
            return mapped
        if label_id:  # an id the label map does not name
            name = str(label_id)
            self.warn(f"class id {label_id} is not in the label map", file, where)
            if name not in self.labels:
                self.labels.add(Label(name=name, id=label_id))
                self.by_id[label_id] = name
            return name
        return None


def _read(source: Path, options: ReadOptions, problems: list[Problem] | None) -> Dataset:
    files = _record_files(source)
    if not files:
        raise FormatError("no TFRecord files found", file=source)
    root = source if source.is_dir() else source.parent
    labels = LabelSet()
    by_id: dict[int, str] = {}
    for path in _label_maps(root, [f for f, _ in files]):
        _read_label_map(path, labels, by_id, problems)
    roots = [Path(options.images)] if options.images else []
    roots += [root / "images", root]
    ctx = _Context(root=root, labels=labels, by_id=by_id, media=MediaLookup([p for p in roots if p.is_dir()]), problems=problems)

    def items() -> Iterator[Item]:
        ctx.notes.clear()
        ctx.missing.clear()
        for path, subset in files:
            for index, data in read_records(path):
                yield _item(data, path, index, subset, ctx)

    ds = Dataset(items, labels=labels)
    ctx.notes = ds.notes
    ctx.missing = ds.missing_media
    return ds


def _record_files(source: Path) -> list[tuple[Path, str | None]]:
    """Record files with their subset (the file name without extension and shard suffix)."""
    if source.is_file():
        return [(source, _subset_of(source.name))]
    found = []
    for path in sorted(source.rglob("*")):
        if len(found) >= _MAX_FILES:
            break
        if path.is_file() and not path.name.startswith(".") and _RECORD_SUFFIX.search(path.name):
            found.append((path, _subset_of(path.name)))
    return found


def _subset_of(name: str) -> str | None:
    m = _RECORD_NAME.match(name)
    return m.group("stem") if m else None


def _label_maps(root: Path, files: list[Path]) -> list[Path]:
    """``label_map.pbtxt`` (or another ``.pbtxt``) beside each record file, else in the folders above."""
    out: list[Path] = []
    for f in files:
        folder = f.parent
        while True:
            cands = [folder / LABEL_MAP] + sorted(p for p in folder.glob("*.pbtxt") if p.name != LABEL_MAP)
            hit = next((c for c in cands if c.is_file()), None)
            if hit is not None:
                if hit not in out:
                    out.append(hit)
                break
            if folder == root or root not in folder.parents:
                break
            folder = folder.parent
    return out


def _read_label_map(path: Path, labels: LabelSet, by_id: dict[int, str], problems: list[Problem] | None) -> None:
    from google.protobuf import text_format

    text = "\n".join(line for _, line in read_lines(path))
    label_map = messages()["StringIntLabelMap"]()
    try:
        text_format.Parse(text, label_map, allow_unknown_field=True)
    except text_format.ParseError as exc:
        line = exc.GetLine() if hasattr(exc, "GetLine") else None
        raise FormatError(f"malformed label map: {exc}", file=path, location=f"line {line}" if line else None) from None
    for k, entry in enumerate(label_map.item):
        name = entry.name or entry.display_name
        if not name:
            raise FormatError("label map item without a name", file=path, location=f"item {k}")
        if entry.id in by_id and by_id[entry.id] != name:
            if problems is not None:
                problems.append(Problem(severity="warning", message=f"id {entry.id} names both {by_id[entry.id]!r} and {name!r}",
                                        file=str(path), location=f"item {k}"))
            continue
        skeleton = None
        if entry.keypoints:
            points = sorted(entry.keypoints, key=lambda kp: kp.id)
            if [kp.id for kp in points] != list(range(len(points))):
                raise FormatError("keypoint ids must run 0, 1, 2, ...", file=path, location=f"item {k}")
            skeleton = Skeleton(points=[kp.label or str(kp.id) for kp in points])
        meta = {"display_name": entry.display_name} if entry.display_name and entry.display_name != name else {}
        if name not in labels:
            labels.add(Label(name=name, id=entry.id or None, skeleton=skeleton, metadata=meta))
        by_id.setdefault(entry.id, name)


class _Features:
    """Typed access to one Example's features; a wrong type or length raises FormatError."""

    def __init__(self, data: bytes, file: Path, where: str):
        example = messages()["Example"]()
        try:
            example.ParseFromString(data)
        except (DecodeError, ValueError, RuntimeError) as exc:
            raise FormatError(f"record is no tf.train.Example: {exc}", file=file, location=where) from None
        self.map = example.features.feature
        self.file = file
        self.where = where

    def _list(self, key: str, kind: str) -> list[Any]:
        if key not in self.map:
            return []
        feature = self.map[key]
        which = feature.WhichOneof("kind")
        if which is None:
            return []
        if which != kind:
            raise FormatError(f"{key} is a {which}, expected a {kind}", file=self.file, location=self.where)
        return list(getattr(feature, kind).value)

    def bytes(self, key: str) -> list[bytes]:
        return self._list(key, "bytes_list")

    def floats(self, key: str) -> list[float]:
        return self._list(key, "float_list")

    def ints(self, key: str) -> list[int]:
        return self._list(key, "int64_list")

    def text(self, key: str, values: list[bytes] | None = None) -> list[str]:
        try:
            return [v.decode("utf-8") for v in (self.bytes(key) if values is None else values)]
        except UnicodeDecodeError:
            raise FormatError(f"{key} is not UTF-8 text", file=self.file, location=self.where) from None

    def one_text(self, key: str) -> str:
        values = self.text(key)
        return values[0] if values else ""

    def one_int(self, key: str) -> int | None:
        values = self.ints(key)
        return values[0] if values else None

    def error(self, message: str, where: str | None = None) -> FormatError:
        return FormatError(message, file=self.file, location=where or self.where)


def _item(data: bytes, path: Path, index: int, subset: str | None, ctx: _Context) -> Item:
    where = f"record {index}"
    f = _Features(data, path, where)
    filename = f.one_text("image/filename")
    source_id = f.one_text("image/source_id")
    encoded = (f.bytes("image/encoded") or [b""])[0]
    width, height = f.one_int("image/width"), f.one_int("image/height")
    if (width is not None and not 0 < width <= 1 << 20) or (height is not None and not 0 < height <= 1 << 20):
        raise f.error(f"image size {width}x{height} is out of range")
    if (not width or not height) and encoded:
        width, height = _encoded_size(encoded, f)
    name = filename.replace("\\", "/")
    stem = name.rsplit(".", 1)[0] if PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES else name
    item_id = stem or source_id or f"record_{index}"
    found = None
    if not encoded:
        found = ctx.media.find(name) if name and _safe_name(name) else None
        if found is None:
            ctx.missing.append(item_id)
    meta: dict[str, Any] = {}
    if source_id and source_id != item_id:
        meta["source_id"] = source_id
    fmt = f.one_text("image/format")
    if fmt:
        meta["image_format"] = fmt
    media = Image(name=filename or None, path=str(found) if found else None, data=encoded or None, width=width, height=height)
    anns = _objects(f, width, height, ctx)
    anns += _image_classes(f, ctx)
    return Item(id=item_id, subset=subset, media=media, annotations=anns, metadata=meta)


def _encoded_size(encoded: bytes, f: _Features) -> tuple[int, int]:
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    try:
        with PILImage.open(io.BytesIO(encoded)) as im:
            return im.size
    except (OSError, UnidentifiedImageError, PILImage.DecompressionBombError, ValueError) as exc:
        raise f.error(f"image/encoded is no readable image: {exc}") from None


def _objects(f: _Features, width: int | None, height: int | None, ctx: _Context) -> list[Any]:
    boxes = [f.floats(f"image/object/bbox/{k}") for k in ("xmin", "xmax", "ymin", "ymax")]
    n = len(boxes[0])
    if any(len(b) != n for b in boxes):
        raise f.error("image/object/bbox/xmin, xmax, ymin and ymax differ in length")
    if n == 0:
        return []
    if not width or not height:
        ctx.notes.append(f"{f.where} of {f.file.name}: {n} objects skipped (no image size to place them)")
        return []
    ids = f.ints("image/object/class/label")
    texts = f.text("image/object/class/text")
    for key, values in (("class/label", ids), ("class/text", texts)):
        if values and len(values) != n:
            raise f.error(f"image/object/{key} has {len(values)} values for {n} boxes")
    masks = _masks(f, n, width, height)
    keypoints = _keypoints(f, n, width, height)
    flags = {k: f.ints(f"image/object/{k}") for k in _FLAGS}
    views = f.text("image/object/view")
    out: list[Any] = []
    for k in range(n):
        where = f"{f.where}, object {k}"
        xmin, xmax, ymin, ymax = (_f32(b[k]) for b in boxes)
        if xmax < xmin or ymax < ymin:
            raise f.error(f"box max ({xmax:g}, {ymax:g}) below its min ({xmin:g}, {ymin:g})", where)
        if min(xmin, ymin) < 0 or max(xmax, ymax) > 1:
            ctx.warn("normalised box outside 0..1", f.file, where)
        label = ctx.label(texts[k] if texts else "", ids[k] if ids else None, f.file, where)
        attrs: dict[str, Any] = {}
        for key, values in flags.items():
            if len(values) == n and values[k]:
                attrs[key] = True  # 0 (the default) is left out, as an absent flag
        if len(views) == n and views[k]:
            attrs["view"] = views[k]
        x1, y1, x2, y2 = coords.denormalize([xmin, ymin, xmax, ymax], width, height)
        x, y, w, h = coords.xyxy_to_xywh(x1, y1, x2, y2)
        parts: list[Any] = [BBox(label=label, x=x, y=y, w=w, h=h, attributes=attrs)]
        if masks is not None and masks[k] is not None:
            parts.append(masks[k].model_copy(update={"label": label}))
        if keypoints is not None and keypoints[k] is not None:
            parts.append(keypoints[k].model_copy(update={"label": label}))
        if len(parts) > 1:
            parts = [p.model_copy(update={"group": k + 1}) for p in parts]
        out += parts
    return out


def _masks(f: _Features, n: int, width: int, height: int) -> list[Mask | None] | None:
    key = "image/object/mask"
    if key not in f.map or f.map[key].WhichOneof("kind") is None:
        return None
    kind = f.map[key].WhichOneof("kind")
    out: list[Mask | None] = []
    if kind == "bytes_list":
        pngs = f.bytes(key)
        if len(pngs) != n:
            raise f.error(f"{key} has {len(pngs)} masks for {n} boxes")
        for k, png in enumerate(pngs):
            where = f"{f.where}, object {k}"
            if not png:
                out.append(None)
                continue
            arr = decode_mask_image(png, file=str(f.file), location=where)
            if arr.shape != (height, width):
                raise f.error(f"mask is {arr.shape[1]}x{arr.shape[0]}, the image {width}x{height}", where)
            out.append(Mask.from_array(arr) if arr.any() else None)
        return out
    values = f.floats(key)  # NUMERICAL_MASKS: n x height x width values
    if len(values) != n * height * width:
        raise f.error(f"{key} has {len(values)} values, expected {n} x {height} x {width}")
    stack = np.asarray(values, dtype=np.float32).reshape(n, height, width) > 0
    return [Mask.from_array(m) if m.any() else None for m in stack]


def _keypoints(f: _Features, n: int, width: int, height: int) -> list[Keypoints | None] | None:
    xs, ys = f.floats("image/object/keypoint/x"), f.floats("image/object/keypoint/y")
    if not xs and not ys:
        return None
    if len(xs) != len(ys):
        raise f.error("image/object/keypoint/x and y differ in length")
    counts = f.ints("image/object/keypoint/num")
    if counts:
        if len(counts) != n or any(c < 0 for c in counts) or sum(counts) != len(xs):
            raise f.error(f"image/object/keypoint/num {counts[:8]} does not split {len(xs)} keypoints over {n} boxes")
    elif len(xs) % n:
        raise f.error(f"{len(xs)} keypoints do not split evenly over {n} boxes")
    else:
        counts = [len(xs) // n] * n
    vis = f.ints("image/object/keypoint/visibility")
    if vis and len(vis) != len(xs):
        raise f.error("image/object/keypoint/visibility differs in length from the keypoints")
    names = f.text("image/object/keypoint/text")
    out: list[Keypoints | None] = []
    start = 0
    for count in counts:
        end = start + count
        if count == 0:
            out.append(None)
            continue
        points: list[float] = []
        flags: list[int] = []
        for i in range(start, end):
            x, y = _f32(xs[i]), _f32(ys[i])
            v = vis[i] if vis else (0 if math.isnan(x) or math.isnan(y) else 2)
            if v not in (0, 1, 2):
                raise f.error(f"keypoint visibility {v} is not 0, 1 or 2", f"{f.where}, keypoint {i}")
            if v == 0 or math.isnan(x) or math.isnan(y):
                x = y = 0.0  # not labelled: no position
                v = 0
            points += coords.denormalize([x, y], width, height)
            flags.append(v)
        point_names = names[start:end] if len(names) == len(xs) else None
        out.append(Keypoints(points=points, visibility=flags, names=point_names or None))
        start = end
    return out


def _image_classes(f: _Features, ctx: _Context) -> list[Tag]:
    ids = f.ints("image/class/label")
    texts = f.text("image/class/text")
    if ids and texts and len(ids) != len(texts):
        raise f.error(f"image/class/label has {len(ids)} values, image/class/text {len(texts)}")
    out = []
    for k in range(max(len(ids), len(texts))):
        label = ctx.label(texts[k] if texts else "", ids[k] if ids else None, f.file, f"{f.where}, class {k}")
        if label is not None:
            out.append(Tag(label=label))
    return out


def _f32(value: float) -> float:
    """A float32 as the shortest decimal that maps to it (0.2, not 0.20000000298023224)."""
    return float(str(np.float32(value)))


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return not name.startswith("/") and ".." not in parts and "\x00" not in name


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    """``<subset>.tfrecord`` per subset (images embedded) and ``label_map.pbtxt``."""
    opts: TfrecordWriteOptions = options.format_options or TfrecordWriteOptions()
    ids = _LabelIds(dataset.labels)
    target.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    try:
        for item in dataset:
            subset = item.subset or "default"
            if not re.fullmatch(r"[^/\\\x00]+", subset) or subset in (".", ".."):
                raise FormatError(f"subset {subset!r} cannot be a file name")
            if subset not in files:
                files[subset] = open(target / f"{subset}.tfrecord", "wb")  # noqa: SIM115 - closed below
            example = _example(item, ids, opts, options, report, target)
            files[subset].write(frame(example.SerializeToString()))
    finally:
        for fh in files.values():
            fh.close()
    edges = sum(1 for lb in dataset.labels if lb.skeleton is not None and lb.skeleton.edges)
    if edges:
        report.loss("skeleton edges", "dropped (label_map.pbtxt names keypoints only)", edges)
    (target / LABEL_MAP).write_text(_label_map_text(dataset.labels, ids), encoding="utf-8")
    return True


class _LabelIds:
    """Label map ids: a label's own positive id when free, else the next free one from 1."""

    def __init__(self, labels: LabelSet):
        self.labels = labels
        self.ids: dict[str, int] = {}
        for lb in labels:
            if isinstance(lb.id, int) and lb.id > 0 and lb.id not in self.ids.values():
                self.ids[lb.name] = lb.id
        for lb in labels:
            self.get(lb.name)

    def get(self, name: str | None) -> int:
        if name is None:
            return 0
        if name not in self.ids:
            used = set(self.ids.values())
            self.ids[name] = next(i for i in range(1, len(used) + 2) if i not in used)
        return self.ids[name]


def _label_map_text(labels: LabelSet, ids: _LabelIds) -> str:
    from google.protobuf.text_encoding import CEscape

    blocks = []
    names = {lb.name: lb for lb in labels}
    for name, label_id in sorted(ids.ids.items(), key=lambda kv: kv[1]):
        lines = [f"  id: {label_id}", f'  name: "{CEscape(name, as_utf8=True)}"']
        label = names.get(name)
        display = label.metadata.get("display_name") if label is not None else None
        if isinstance(display, str) and display:
            lines.append(f'  display_name: "{CEscape(display, as_utf8=True)}"')
        if label is not None and label.skeleton is not None:
            for k, point in enumerate(label.skeleton.points):
                lines.append(f'  keypoints {{ id: {k} label: "{CEscape(point, as_utf8=True)}" }}')
        blocks.append("item {\n" + "\n".join(lines) + "\n}\n")
    return "\n".join(blocks)


@dataclass
class _Object:
    label: str | None
    box: BBox | None = None
    mask: Mask | None = None
    keypoints: Keypoints | None = None


def _example(item: Item, ids: _LabelIds, opts: TfrecordWriteOptions, options: WriteOptions, report: Report, target: Path) -> Any:
    M = messages()
    example = M["Example"]()
    feature = example.features.feature
    media = item.media
    data = _image_bytes(item, opts)
    if opts.embed_images and not data:
        report.missing_media.append(item.id)
    if options.save_media != "none":
        export_media(item, target / "images", options.save_media, report, name=_filename(item))
    width, height = getattr(media, "width", None), getattr(media, "height", None)
    if (not width or not height) and data:
        try:
            from PIL import Image as PILImage

            with PILImage.open(io.BytesIO(data)) as im:
                width, height = im.size
        except Exception:  # noqa: BLE001 - an unreadable image just has no size
            width = height = None
    mask = next((a for a in item.annotations if a.type == "mask"), None)
    if (not width or not height) and mask is not None:
        height, width = mask.rle.size

    def put(key: str, kind: str, values: list[Any]) -> None:
        getattr(feature[key], kind).value.extend(values)

    filename = _filename(item)
    put("image/filename", "bytes_list", [filename.encode("utf-8")])
    put("image/source_id", "bytes_list", [str(item.metadata.get("source_id") or item.id).encode("utf-8")])
    put("image/encoded", "bytes_list", [data])
    put("image/format", "bytes_list", [_image_format(data, filename, item).encode("utf-8")])
    put("image/key/sha256", "bytes_list", [hashlib.sha256(data).hexdigest().encode() if data else b""])
    if width and height:
        put("image/height", "int64_list", [int(height)])
        put("image/width", "int64_list", [int(width)])

    objects = _group_objects(item, report)
    if objects and not (width and height):
        report.loss("objects of images of unknown size", "dropped (TFRecord boxes are normalised)", len(objects))
        objects = []
    if objects:
        assert width and height
        _put_objects(put, objects, width, height, ids, report)
    tags = [a for a in item.annotations if a.type == "label"]
    if tags:
        put("image/class/label", "int64_list", [ids.get(t.label) for t in tags])
        put("image/class/text", "bytes_list", [(t.label or "").encode("utf-8") for t in tags])
    return example


def _group_objects(item: Item, report: Report) -> list[_Object]:
    """Objects in the order their first annotation appears: a group's box, mask and keypoints
    together; a lone mask or keypoints get the box around them."""
    objects: list[_Object] = []
    by_group: dict[int, _Object] = {}
    for ann in item.annotations:
        if ann.type == "label":
            continue
        obj = by_group.get(ann.group) if ann.group is not None else None
        if obj is None or getattr(obj, _slot(ann.type)) is not None:
            if obj is not None:
                report.loss("annotation groups", f"a second {ann.type} in a group written as its own object")
            obj = _Object(label=ann.label)
            objects.append(obj)
            if ann.group is not None and ann.group not in by_group:
                by_group[ann.group] = obj
        elif ann.label != obj.label:
            report.loss("labels differing inside a group", "the object's first label kept")
        setattr(obj, _slot(ann.type), ann)
    return objects


def _slot(kind: str) -> str:
    return {"bbox": "box", "mask": "mask", "keypoints": "keypoints"}[kind]


def _put_objects(put: Any, objects: list[_Object], width: int, height: int, ids: _LabelIds, report: Report) -> None:
    boxes: list[list[float]] = []
    for obj in objects:
        if obj.box is not None:
            b = obj.box
            boxes.append(coords.normalize(coords.xywh_to_xyxy(b.x, b.y, b.w, b.h), width, height))
        elif obj.mask is not None:
            x, y, w, h = rle_bbox(obj.mask.rle)
            boxes.append(coords.normalize([x, y, x + w, y + h], width, height))
        else:
            kp = obj.keypoints
            assert kp is not None
            visible = [c for k, v in enumerate(kp.visibility) if v for c in kp.points[2 * k : 2 * k + 2]]
            x, y, w, h = coords.polygon_bbox(visible) if visible else (0.0, 0.0, 0.0, 0.0)
            boxes.append(coords.normalize([x, y, x + w, y + h], width, height))
    put("image/object/bbox/xmin", "float_list", [b[0] for b in boxes])
    put("image/object/bbox/xmax", "float_list", [b[2] for b in boxes])
    put("image/object/bbox/ymin", "float_list", [b[1] for b in boxes])
    put("image/object/bbox/ymax", "float_list", [b[3] for b in boxes])
    put("image/object/class/label", "int64_list", [ids.get(o.label) for o in objects])
    put("image/object/class/text", "bytes_list", [(o.label or "").encode("utf-8") for o in objects])
    attrs = [o.box.attributes if o.box is not None else {} for o in objects]
    for flag in _FLAGS:
        if any(a.get(flag) for a in attrs):
            put(f"image/object/{flag}", "int64_list", [1 if a.get(flag) else 0 for a in attrs])
    if any(a.get("view") for a in attrs):
        put("image/object/view", "bytes_list", [str(a.get("view") or "").encode("utf-8") for a in attrs])
    other = {k for a in attrs for k in a} - {*_FLAGS, "view"}
    if other:
        report.loss("box attributes TFRecord has no feature for", "dropped", sum(1 for a in attrs if set(a) & other))
    for o in objects:
        extra = [a for a in (o.mask, o.keypoints) if a is not None and a.attributes]
        if extra:
            report.loss("mask and keypoint attributes", "dropped", len(extra))
    if any(o.mask is not None for o in objects):
        pngs = []
        blank: bytes | None = None
        for o in objects:
            if o.mask is not None and tuple(o.mask.rle.size) == (height, width):
                pngs.append(encode_png(o.mask.to_array()))
                continue
            if o.mask is not None:
                report.loss("mask of another size than its image", "dropped")
            if blank is None:
                blank = encode_png(np.zeros((height, width), dtype=bool))
            pngs.append(blank)  # every object needs a mask once one has: an empty one
        put("image/object/mask", "bytes_list", pngs)
    if any(o.keypoints is not None for o in objects):
        xs: list[float] = []
        ys: list[float] = []
        vis: list[int] = []
        names: list[bytes] = []
        counts: list[int] = []
        for o in objects:
            kp = o.keypoints
            if kp is None:
                counts.append(0)
                continue
            counts.append(len(kp.visibility))
            label = ids.labels.get(o.label) if o.label is not None else None
            skeleton = label.skeleton.points if label is not None and label.skeleton is not None else None
            point_names = kp.names or skeleton or [str(k) for k in range(len(kp.visibility))]
            for k, v in enumerate(kp.visibility):
                x, y = coords.normalize(kp.points[2 * k : 2 * k + 2], width, height) if v else (0.0, 0.0)
                xs.append(x)
                ys.append(y)
                vis.append(v)
                names.append(str(point_names[k] if k < len(point_names) else k).encode("utf-8"))
        put("image/object/keypoint/x", "float_list", xs)
        put("image/object/keypoint/y", "float_list", ys)
        put("image/object/keypoint/num", "int64_list", counts)
        put("image/object/keypoint/visibility", "int64_list", vis)
        put("image/object/keypoint/text", "bytes_list", names)


def _image_bytes(item: Item, opts: TfrecordWriteOptions) -> bytes:
    if not opts.embed_images:
        return b""
    media = item.media
    data = getattr(media, "data", None)
    if data:
        return data
    path = getattr(media, "path", None)
    if path and Path(path).is_file():
        return Path(path).read_bytes()
    return b""


def _filename(item: Item) -> str:
    media = item.media
    name = getattr(media, "name", None) or (Path(media.path).name if getattr(media, "path", None) else None)  # type: ignore[union-attr]
    suffix = PurePosixPath(name).suffix if name else ""
    return item.id + (suffix if suffix.lower() in IMAGE_SUFFIXES else ".jpg")


def _image_format(data: bytes, filename: str, item: Item) -> str:
    if data.startswith(b"\xff\xd8"):
        return "jpeg"
    if data.startswith(b"\x89PNG"):
        return "png"
    if data:
        suffix = PurePosixPath(filename).suffix.lower().lstrip(".")
        return {"jpg": "jpeg"}.get(suffix, suffix)
    return str(item.metadata.get("image_format", ""))


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Class texts that disagree with the label map, ids it does not name, boxes outside the image."""
    problems: list[Problem] = []
    for _ in _read(source, options, problems):
        pass
    return problems
