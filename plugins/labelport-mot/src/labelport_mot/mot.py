"""MOTChallenge tracking ground truth (MOT15, MOT16, MOT17, MOT20).

Specification: https://motchallenge.net/instructions/ and the MOT16 paper (arXiv:1603.00831);
CVAT's and Datumaro's "MOT 1.1" add ``gt/labels.txt``. A sequence folder holds
``gt/gt.txt`` (or ``det/det.txt``), optionally ``gt/labels.txt``, ``seqinfo.ini`` and the
frames ``img1/000001.jpg ...``; a folder of sequences (``train/MOT17-02/...``) is read whole.

Rows are comma-separated: ``frame, id, bb_left, bb_top, bb_width, bb_height`` then

- 9 columns (MOT16/17/20 ground truth): ``flag, class, visibility`` -- flag 0 means
  "ignore this box"; class indexes ``labels.txt`` (1-based) or the MOTChallenge table;
- 10 columns (MOT15, and detections): ``conf, x, y, z`` with world coordinates (-1 if unused);
- 7 columns: ``conf``.

Frames, target ids and boxes are 1-based in MOTChallenge. The canonical model is 0-based
everywhere, so frame ``f`` becomes video frame ``f - 1``, id ``k`` becomes track ``k - 1``
(-1 and 0 mean "no track") and the box moves by one pixel (``box_origin=0`` reads files
whose tools wrote 0-based boxes). In a ``det.txt`` the 7th column is the detector's score;
elsewhere it is the flag, kept as the ``ignored`` attribute beside ``visibility`` and
``occluded`` (visibility at or below ``occlusion_threshold``), as CVAT and Datumaro do.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from labelport.errors import FormatError
from labelport.io.media import IMAGE_SUFFIXES, export_media, is_inside
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
from labelport.schema import BBox, Dataset, Info, Item, Label, LabelSet, VideoFrame

from labelport_mot._common import (
    MAX_FRAMES,
    FrameNumbers,
    SequenceKeys,
    frame_id,
    frame_images,
    image_dims,
    integer,
    number,
    read_labels_file,
    read_seqinfo,
    read_text,
    wanted_frame,
    write_seqinfo,
)

#: the MOTChallenge class table (MOT16 paper, table 2), used when there is no labels.txt
MOT_CLASSES = (
    "pedestrian",
    "person on vehicle",
    "car",
    "bicycle",
    "motorbike",
    "non motorized vehicle",
    "static person",
    "distractor",
    "occluder",
    "occluder on the ground",
    "occluder full",
    "reflection",
)
_KEPT_ATTRIBUTES = {"visibility", "occluded", "ignored"}


class MotReadOptions(OptionsBase):
    """MOT reader options."""

    #: 1 for MOTChallenge's 1-based boxes; 0 for files whose tool wrote 0-based pixel boxes
    box_origin: Literal[0, 1] = 1
    #: a box whose visibility is at or below this is marked ``occluded``
    occlusion_threshold: float = 0.0


class MotWriteOptions(OptionsBase):
    """MOT writer options."""

    #: 1 writes MOTChallenge's 1-based boxes; 0 writes 0-based boxes (as CVAT and Datumaro do)
    box_origin: Literal[0, 1] = 1


INFO = FormatInfo(
    name="mot",
    title="MOTChallenge (MOT15/16/17/20)",
    description="Multiple Object Tracking benchmark sequences: gt/gt.txt boxes with track ids, flags, classes "
    "and visibility; gt/labels.txt; seqinfo.ini; img1/ frames.",
    extensions=(".txt",),
    annotation_types=frozenset({"bbox"}),
    # only the visibility, occluded and ignored attributes have columns; the writer reports the rest
    features=frozenset({"tracks", "attributes"}),
    media=frozenset({"video_frame", "image"}),
    read_options=MotReadOptions,
    write_options=MotWriteOptions,
    docs_url="https://motchallenge.net/instructions/",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".txt" or not _looks_like_rows(probe.text(None, 4096)):
            return None
        named = probe.path.name in ("gt.txt", "det.txt")
        return Detection(format="mot", confidence=0.8 if named else 0.7, reason="comma-separated MOT rows")
    for pattern, confidence in (("**/gt/gt.txt", 0.9), ("**/det/det.txt", 0.85), ("gt.txt", 0.75)):
        for rel in probe.files(pattern)[:3]:
            text = probe.text(rel, 4096)
            if _looks_like_rows(text):
                return Detection(format="mot", confidence=confidence, reason=f"MOT rows in {rel}")
            if not text.strip() and probe.has(rel.rsplit("gt/", 1)[0] + "seqinfo.ini"):
                return Detection(format="mot", confidence=confidence - 0.1, reason=f"empty {rel} beside seqinfo.ini")
    return None


def _looks_like_rows(text: str) -> bool:
    """The first lines are 6 to 10 comma-separated numbers with a whole frame number."""
    lines = [ln for ln in text.splitlines()[:5] if ln.strip()]
    if len(text) >= 4096 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    if not lines:
        return False
    for line in lines:
        fields = [f.strip() for f in line.split(",")]
        if not 6 <= len(fields) <= 10:
            return False
        try:
            values = [float(f) for f in fields]
        except ValueError:
            return False
        if not all(math.isfinite(v) for v in values) or values[0] != int(values[0]) or values[0] < 0:
            return False
    return True


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: MotReadOptions = options.format_options or MotReadOptions()
    sequences = _find_sequences(source)
    if not sequences:
        raise FormatError("no MOT sequence (gt/gt.txt or det/det.txt) found", file=source)
    labels = LabelSet()
    items: list[Item] = []
    seq_meta: dict[str, Any] = {}
    for seq_root, ann_file, rel in sequences:
        prefix = f"{rel}/" if rel else ""
        items += _read_sequence(seq_root, ann_file, rel, prefix, labels, opts, options, seq_meta)
    missing = [i.media.name or i.id for i in items if i.media is not None and i.media.path is None]
    if not options.keep_missing_media:
        items = [i for i in items if i.media is None or i.media.path is not None]
    dataset = Dataset(items, labels=labels, info=Info(metadata={"mot_sequences": seq_meta}))
    dataset.missing_media = missing
    if opts.box_origin == 1 and any(i.annotations for i in items):
        dataset.notes.append(
            "boxes read as MOTChallenge's 1-based pixels (moved by -1); files from tools that write "
            "0-based boxes (CVAT, Datumaro) read exactly with box_origin=0"
        )
    return dataset


def _find_sequences(source: Path) -> list[tuple[Path, Path, str]]:
    """``(sequence folder, annotation file, sequence path relative to source)`` triples."""
    if source.is_file():
        root = source.parent.parent if source.parent.name in ("gt", "det") else source.parent
        return [(root, source, "")]
    probe = Probe(source)
    found: dict[str, tuple[Path, Path, str]] = {}
    for pattern in ("**/gt/gt.txt", "**/det/det.txt"):
        for rel in probe.files(pattern):
            seq_rel = rel.rsplit("/", 2)[0] if rel.count("/") >= 2 else ""
            if seq_rel not in found:
                found[seq_rel] = (source / seq_rel if seq_rel else source, source / rel, seq_rel)
    if not found and (source / "gt.txt").is_file():
        found[""] = (source, source / "gt.txt", "")
    return [found[k] for k in sorted(found)]


def _read_sequence(
    seq_root: Path,
    ann_file: Path,
    rel: str,
    prefix: str,
    labels: LabelSet,
    opts: MotReadOptions,
    options: ReadOptions,
    seq_meta: dict[str, Any],
) -> list[Item]:
    seqinfo = read_seqinfo(seq_root / "seqinfo.ini") if (seq_root / "seqinfo.ini").is_file() else {}
    names = _class_names(ann_file, labels)
    im_dir = seqinfo.get("imdir") or "img1"
    roots = [Path(options.images)] if options.images is not None else []
    roots.append(seq_root / im_dir if is_inside(seq_root, im_dir) else seq_root / "img1")
    images: dict[int, Path] = {}
    for r in roots:
        for f, p in frame_images(r).items():
            images.setdefault(f, p)
    video = str(seqinfo.get("name") or seq_root.name)
    seq_meta[rel] = {k: v for k, v in seqinfo.items()}
    is_det = ann_file.name == "det.txt" or ann_file.parent.name == "det"
    boxes: dict[int, list[BBox]] = defaultdict(list)
    for row in _rows(ann_file):
        frame, ann = _parse_row(row, ann_file, names, labels, is_det, opts)
        boxes[frame].append(ann)
    frames = set(boxes) | set(images) | set(range(1, int(seqinfo.get("seqlength") or 0) + 1))
    ext = seqinfo.get("imext") or ".jpg"
    width, height = seqinfo.get("imwidth"), seqinfo.get("imheight")
    items = []
    for frame in sorted(frames):
        image = images.get(frame)
        w, h = (width, height) if width and height else image_dims(image)
        media = VideoFrame(
            video=video,
            frame=frame - 1,
            name=image.name if image else f"{frame:06d}{ext}",
            path=str(image) if image else None,
            width=w,
            height=h,
        )
        items.append(
            Item(
                id=frame_id(prefix, frame),
                media=media,
                annotations=boxes.get(frame, []),
                metadata={"mot_frame": frame, "mot_seq": rel},
            )
        )
    return items


def _class_names(ann_file: Path, labels: LabelSet) -> list[str]:
    """Label names by class id - 1: ``labels.txt`` beside the annotations, else the MOTChallenge table."""
    labels_file = ann_file.parent / "labels.txt"
    names = read_labels_file(labels_file) if labels_file.is_file() else list(MOT_CLASSES)
    for k, name in enumerate(names, 1):
        if name not in labels:
            labels.add(Label(name=name, id=k))
    return names


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    out = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if line.strip():
            out.append((n, [f.strip() for f in line.split(",")]))
    return out


def _parse_row(
    row: tuple[int, list[str]],
    file: Path,
    names: list[str],
    labels: LabelSet,
    is_det: bool,
    opts: MotReadOptions,
) -> tuple[int, BBox]:
    n, fields = row
    if not 6 <= len(fields) <= 10:
        raise FormatError(
            f"expected 6 to 10 comma-separated values, got {len(fields)}", file=file, location=f"line {n}"
        )
    frame = integer(fields[0], file, n, "frame")
    if not 1 <= frame <= MAX_FRAMES:
        raise FormatError(
            f"frame {frame}: MOT frames run from 1 (to {MAX_FRAMES} here)", file=file, location=f"line {n}"
        )
    track = integer(fields[1], file, n, "id")
    x, y, w, h = (
        number(v, file, n, what)
        for v, what in zip(fields[2:6], ("bb_left", "bb_top", "bb_width", "bb_height"), strict=True)
    )
    origin = opts.box_origin
    fields_out: dict[str, Any] = {"x": x - origin, "y": y - origin, "w": w, "h": h}
    attrs: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    if track > 0:
        fields_out["track_id"] = track - 1
    if len(fields) >= 7:
        conf = number(fields[6], file, n, "conf")
        if is_det:
            fields_out["score"] = conf
        else:
            attrs["ignored"] = conf == 0
    if len(fields) == 10:  # MOT15 and detections: world coordinates, no class
        world = [number(v, file, n, "world coordinate") for v in fields[7:10]]
        if any(v != -1 for v in world):
            meta["mot_world"] = world
    elif len(fields) >= 8:
        cls = integer(fields[7], file, n, "class")
        if cls > 0:
            fields_out["label"] = _class_label(cls, names, labels)
        if len(fields) == 9:
            vis = number(fields[8], file, n, "visibility")
            attrs["visibility"] = vis
            attrs["occluded"] = vis <= opts.occlusion_threshold
    return frame, BBox(**fields_out, attributes=attrs, metadata=meta)


def _class_label(cls: int, names: list[str], labels: LabelSet) -> str:
    if cls <= len(names):
        return names[cls - 1]
    # a class past the table: keep the box under a placeholder label; validation reports it
    name = f"class_{cls}"
    if name not in labels:
        labels.add(Label(name=name, id=cls, metadata={"mot_undeclared": True}))
    return name


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: MotWriteOptions = options.format_options or MotWriteOptions()
    keys = SequenceKeys(target)
    sequences: dict[str, _SeqOut] = {}
    index = {lb.name: k for k, lb in enumerate(dataset.labels, 1)}
    seq_meta = dataset.info.metadata.get("mot_sequences") or {}
    for item in dataset:
        key = keys.key(item)
        seq = sequences.get(key)
        if seq is None:
            seq = sequences[key] = _SeqOut(target / key if key else target, seq_meta.get(key) or {})
        frame, exact = seq.frames.take(wanted_frame(item, 1))
        prefix = f"{key}/" if key else ""
        if not exact or item.id != frame_id(prefix, frame):
            report.loss("item names", "replaced by frame numbers (MOT items are frames)")
        seq.add_media(item, frame, options, report)
        for ann in item.annotations:
            row = _row(ann, frame, index, dataset, opts, report)
            if row is not None:
                seq.rows.append(row)
    if not sequences:
        sequences[""] = _SeqOut(target, {})
    names = [lb.name for lb in dataset.labels]
    for key, seq in sequences.items():
        seq.finish(names, dataset, key)
    return True


class _SeqOut:
    """One sequence being written: rows, frames, sizes and media seen."""

    def __init__(self, folder: Path, meta: dict[str, Any]):
        self.folder = folder
        self.meta = meta
        self.rows: list[str] = []
        self.frames = FrameNumbers()
        self.sizes: set[tuple[int | None, int | None]] = set()
        self.ext: str | None = None
        self.video: str | None = None

    def add_media(self, item: Item, frame: int, options: WriteOptions, report: Report) -> None:
        media = item.media
        self.sizes.add((getattr(media, "width", None), getattr(media, "height", None)))
        if self.video is None and getattr(media, "video", None):
            self.video = media.video  # type: ignore[union-attr]
        name = getattr(media, "name", None) or getattr(media, "path", None)
        suffix = Path(name).suffix.lower() if name else ""
        if self.ext is None and suffix in IMAGE_SUFFIXES:
            self.ext = suffix
        src = getattr(media, "path", None)
        ext = Path(src).suffix.lower() if src else suffix
        export_media(item, self.folder / "img1", options.save_media, report, name=f"{frame:06d}{ext or '.jpg'}")

    def finish(self, names: list[str], dataset: Dataset, key: str) -> None:
        gt = self.folder / "gt"
        gt.mkdir(parents=True, exist_ok=True)
        (gt / "gt.txt").write_text("".join(line + "\n" for line in self.rows), encoding="utf-8")
        (gt / "labels.txt").write_text("".join(name + "\n" for name in names), encoding="utf-8")
        fields: dict[str, Any] = {
            "name": self.meta.get("name")
            or self.video
            or dataset.info.name
            or (key.rsplit("/", 1)[-1] if key else "sequence"),
            "imdir": "img1",
            "framerate": self.meta.get("framerate"),
            "seqlength": self.frames.last,
            "imext": self.ext or self.meta.get("imext") or ".jpg",
        }
        if len(self.sizes) == 1:
            ((w, h),) = self.sizes
            if w and h:  # seqinfo.ini has one frame size per sequence
                fields["imwidth"], fields["imheight"] = w, h
        write_seqinfo(self.folder / "seqinfo.ini", fields)


def _row(
    ann: Any, frame: int, index: dict[str, int], dataset: Dataset, opts: MotWriteOptions, report: Report
) -> str | None:
    if ann.keyframe is not None:
        report.loss("keyframe flags", "dropped")
    track = -1
    if ann.track_id is not None:
        if ann.track_id >= 0:
            track = ann.track_id + 1
        else:
            report.loss("negative track ids", "dropped")
    cls = -1
    if ann.label is not None:
        if ann.label not in index:  # a label met only in the items (or declared while streaming)
            dataset.labels.add(ann.label)
            index.update({name: k for k, name in enumerate(dataset.labels.names(), 1)})
        cls = index[ann.label]
    attrs = ann.attributes
    flag = 0 if attrs.get("ignored") is True else 1
    vis = attrs.get("visibility")
    if not isinstance(vis, (int, float)) or isinstance(vis, bool):
        vis = 0.0 if attrs.get("occluded") is True else 1.0
    extra = set(attrs) - _KEPT_ATTRIBUTES
    if extra:
        report.loss("annotation attributes", "dropped (MOT keeps visibility, occluded and ignored only)", len(extra))
    if ann.metadata.get("mot_world"):
        report.loss("world coordinates", "dropped (written as 9-column MOT16 ground truth)")
    o = opts.box_origin
    values = (frame, track, ann.x + o, ann.y + o, ann.w, ann.h, flag, cls, vis)
    return ",".join(_fmt(v) for v in values)


def _fmt(v: float) -> str:
    if isinstance(v, int) or float(v).is_integer():
        return str(int(v))
    return f"{v:.15g}"


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Rows that repeat an id within a frame, classes past the label table, visibility
    outside 0..1, frames past ``seqLength`` and files mixing column counts."""
    problems: list[Problem] = []
    for seq_root, ann_file, _rel in _find_sequences(source):
        names = (
            read_labels_file(ann_file.parent / "labels.txt")
            if (ann_file.parent / "labels.txt").is_file()
            else MOT_CLASSES
        )
        seqinfo = read_seqinfo(seq_root / "seqinfo.ini") if (seq_root / "seqinfo.ini").is_file() else {}
        length = seqinfo.get("seqlength")
        seen: set[tuple[str, str]] = set()
        widths: set[int] = set()

        def problem(message: str, n: int, severity: str = "error", file: str = str(ann_file)) -> None:
            problems.append(Problem(severity=severity, message=message, file=file, location=f"line {n}"))  # type: ignore[arg-type]

        for n, fields in _rows(ann_file):
            widths.add(len(fields))
            if len(fields) < 6:
                continue
            frame, track = fields[0], fields[1]
            if track not in ("-1", "0") and (frame, track) in seen:
                problem(f"id {track} appears twice in frame {frame}", n)
            seen.add((frame, track))
            try:
                if length and int(float(frame)) > length:
                    problem(f"frame {frame} is past seqLength {length}", n, "warning")
                if len(fields) in (8, 9) and int(float(fields[7])) > len(names):
                    problem(f"class {fields[7]} is past the {len(names)} labels", n)
                if len(fields) == 9 and not 0 <= float(fields[8]) <= 1:
                    problem(f"visibility {fields[8]} is outside 0..1", n, "warning")
            except ValueError:
                continue  # the reader reports malformed numbers
        if len(widths) > 1:
            problems.append(
                Problem(
                    severity="warning",
                    message=f"rows have different column counts {sorted(widths)}",
                    file=str(ann_file),
                )
            )
    return problems
