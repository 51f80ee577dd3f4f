"""MOTS: Multi-Object Tracking and Segmentation (KITTI MOTS, MOTSChallenge).

Specification: https://www.vision.rwth-aachen.de/page/mots and the ``mots_tools`` reference
reader. Every object id is ``class_id * 1000 + instance_id``; 0 is background and 10000 an
ignore region; the id is stable over time, so the instance is the track. Two equivalent
encodings are read:

- PNG: one single-channel 16-bit image of object ids per frame. Layout of CVAT's and
  Datumaro's "MOTS PNG": ``[<subset>/]instances/<frame>.png`` (+ ``instances/labels.txt``,
  one name a line, class k on line k) and ``[<subset>/]images/<frame>.jpg``; KITTI MOTS keeps
  ``instances/<sequence>/<frame>.png``.
- txt: ``time_frame id class_id img_height img_width rle`` per line, space-separated, the mask
  as COCO compressed RLE. KITTI MOTS ``instances_txt/<sequence>.txt`` counts frames from 0,
  MOTSChallenge ``<sequence>/gt/gt.txt`` (beside ``img1/`` and ``seqinfo.ini``) from 1.

Without ``labels.txt`` the classes are MOTS's own: 1 car, 2 pedestrian. The writer writes the
PNG encoding, ``class_id = label position + 1`` with ``labels.txt`` as CVAT and Datumaro do;
an ignore region read from id 10000 is written back as 10000.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from labelport.errors import FormatError
from labelport.geometry.masks import index_to_masks, masks_to_index, rle_check, rle_decode
from labelport.geometry.segmaps import read_map
from labelport.io.media import export_media, find_media, safe_join
from labelport.plugin import Detection, FormatInfo, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import RLE, Dataset, Image, Item, Label, LabelSet, Mask, VideoFrame

from labelport_mot._common import (
    MAX_FRAMES,
    MAX_MASK_PIXELS,
    frame_id,
    frame_images,
    integer,
    read_labels_file,
    read_seqinfo,
    read_text,
)

MAX_INSTANCES = 1000
IGNORE_ID = 10000
IGNORE_LABEL = "ignored"
MOTS_CLASSES = ("car", "pedestrian")

INFO = FormatInfo(
    name="mots",
    title="MOTS (KITTI MOTS, MOTSChallenge)",
    description="Multi-object tracking and segmentation: per-frame instance masks with ids class*1000+instance, "
    "as 16-bit PNGs or txt lines with COCO RLE.",
    extensions=(".txt", ".png"),
    annotation_types=frozenset({"mask"}),
    features=frozenset({"tracks", "subsets"}),
    media=frozenset({"image", "video_frame"}),
    docs_url="https://www.vision.rwth-aachen.de/page/mots",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix == ".txt" and _looks_like_rows(probe.text(None, 4096)):
            return Detection(format="mots", confidence=0.85, reason="MOTS txt rows (frame id class h w rle)")
        return None
    pngs = probe.files("instances/**/*.png") or probe.files("*/instances/**/*.png")
    if pngs and _is_16bit_gray(probe.head(pngs[0], 32)):
        labelled = probe.has("instances/labels.txt", "*/instances/labels.txt")
        return Detection(format="mots", confidence=0.9 if labelled else 0.85, reason="16-bit instance-id PNGs")
    for rel in [*probe.files("instances_txt/*.txt"), *probe.files("**/gt/gt.txt")][:3]:
        if _looks_like_rows(probe.text(rel, 4096)):
            return Detection(format="mots", confidence=0.9, reason=f"MOTS txt rows in {rel}")
    return None


def _looks_like_rows(text: str) -> bool:
    lines = [ln for ln in text.splitlines()[:5] if ln.strip()]
    if len(text) >= 4096 and len(lines) > 1:
        lines = lines[:-1]
    if not lines:
        return False
    for line in lines:
        fields = line.split()
        if len(fields) != 6 or not all(f.isdecimal() for f in fields[:5]):
            return False
        if not all(48 <= ord(c) < 48 + 64 for c in fields[5]):  # COCO's compressed RLE alphabet
            return False
    return True


def _is_16bit_gray(head: bytes) -> bool:
    # PNG signature, then IHDR: bit depth at byte 24, colour type at byte 25 (0 = greyscale)
    return head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 26 and head[24] == 16 and head[25] == 0


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    if source.is_dir():
        png_roots = _png_roots(source)
        if png_roots:
            return _read_png(png_roots, options)
    sequences = _txt_sequences(source)
    if not sequences:
        raise FormatError("no MOTS data (instances/*.png, instances_txt/*.txt or gt/gt.txt) found", file=source)
    return _read_txt(sequences, options)


def _png_roots(source: Path) -> list[tuple[Path, str | None]]:
    """Folders holding ``instances/``, with their subset (None for the root itself)."""
    if (source / "instances").is_dir():
        return [(source, None)]
    return [(d, d.name) for d in sorted(source.iterdir()) if d.is_dir() and (d / "instances").is_dir()]


def _class_names(labels_file: Path, labels: LabelSet) -> list[str]:
    names = read_labels_file(labels_file) if labels_file.is_file() else list(MOTS_CLASSES)
    for k, name in enumerate(names, 1):
        if name not in labels:
            labels.add(Label(name=name, id=k))
    return names


def _label(obj_id: int, cls: int, names: list[str], labels: LabelSet) -> str:
    """The label of an object id: class k is names[k - 1]; 10000 (class 10 past a short
    label list) is the ignore region."""
    if obj_id == IGNORE_ID or (cls == IGNORE_ID // MAX_INSTANCES and len(names) < cls):
        name, meta = IGNORE_LABEL, {"mots_ignore": True}
    elif 1 <= cls <= len(names):
        return names[cls - 1]
    else:  # a class past the list: a placeholder label (validation reports it)
        name, meta = f"class_{cls}", {"mots_undeclared": True}
    if name not in labels:
        labels.add(Label(name=name, id=cls, metadata=meta))
    return name


def _read_png(roots: list[tuple[Path, str | None]], options: ReadOptions) -> Dataset:
    labels = LabelSet()
    plan = []
    for root, subset in roots:
        names = _class_names(root / "instances" / "labels.txt", labels)
        plan.append((root, subset, names))

    missing: list[str] = []

    def items() -> Any:
        missing.clear()
        for root, subset, names in plan:
            inst = root / "instances"
            image_roots = [Path(options.images)] if options.images is not None else []
            image_roots.append(root / "images")
            for rel in Probe(inst).files("**/*.png"):
                item_id = rel[: -len(".png")]
                item = _png_item(inst / rel, item_id, subset, names, labels, image_roots)
                if item.media.path is None:  # type: ignore[union-attr]
                    missing.append(item_id)
                    if not options.keep_missing_media:
                        continue
                yield item

    dataset = Dataset(items, labels=labels)
    dataset.missing_media = missing
    return dataset


def _png_item(
    png: Path, item_id: str, subset: str | None, names: list[str], labels: LabelSet, image_roots: list[Path]
) -> Item:
    ids = read_map(png)
    if ids.ndim != 2 or ids.dtype.kind not in "ui":
        raise FormatError(f"an instance PNG has one integer channel, got {ids.dtype} {ids.shape}", file=png)
    anns = []
    for obj_id, pixels in index_to_masks(ids).items():
        if obj_id < 0:
            continue  # not an object id (signed images only)
        cls, inst = divmod(obj_id, MAX_INSTANCES)
        label = _label(obj_id, cls, names, labels)
        anns.append(Mask.from_array(pixels, label=label, track_id=inst, metadata={"mots_id": obj_id}))
    found = find_media(image_roots, f"{item_id}.jpg")
    name = next((found.relative_to(r).as_posix() for r in image_roots if found and r in found.parents), None)
    media = Image(name=name, path=str(found) if found else None, width=int(ids.shape[1]), height=int(ids.shape[0]))
    return Item(id=item_id, subset=subset, media=media, annotations=anns)


def _txt_sequences(source: Path) -> list[tuple[Path, str, int, Path]]:
    """``(txt file, sequence name, first frame number, sequence folder)`` for each sequence."""
    if source.is_file():
        in_gt = source.parent.name == "gt"
        seq_root = source.parent.parent if in_gt else source.parent
        base = 1 if in_gt and _is_challenge_seq(seq_root) else 0
        return [(source, seq_root.name if in_gt else source.stem, base, seq_root)]
    out = []
    for p in sorted((source / "instances_txt").glob("*.txt")) if (source / "instances_txt").is_dir() else []:
        out.append((p, p.stem, 0, source))
    probe = Probe(source)
    for rel in probe.files("**/gt/gt.txt"):
        path = source / rel
        if _looks_like_rows(probe.text(rel, 4096)) or not probe.text(rel, 16).strip():
            seq_root = path.parent.parent
            out.append((path, seq_root.name, 1 if _is_challenge_seq(seq_root) else 0, seq_root))
    if not out:
        for rel in probe.files("*.txt"):
            if _looks_like_rows(probe.text(rel, 4096)):
                out.append((source / rel, Path(rel).stem, 0, source))
    return out


def _is_challenge_seq(seq_root: Path) -> bool:
    """MOTSChallenge sequences (seqinfo.ini, img1/) number frames from 1 like MOTChallenge."""
    return (seq_root / "seqinfo.ini").is_file() or (seq_root / "img1").is_dir()


def _read_txt(sequences: list[tuple[Path, str, int, Path]], options: ReadOptions) -> Dataset:
    labels = LabelSet()
    items: list[Item] = []
    missing: list[str] = []
    multi = len(sequences) > 1
    for path, seq, base, seq_root in sequences:
        names = _class_names(path.parent / "labels.txt", labels)
        masks: dict[int, list[Mask]] = defaultdict(list)
        sizes: dict[int, tuple[int, int]] = {}
        for n, line in enumerate(read_text(path).splitlines(), 1):
            if not line.strip():
                continue
            frame, mask, size = _parse_line(line, path, n, names, labels)
            masks[frame].append(mask)
            sizes.setdefault(frame, size)
        seqinfo = read_seqinfo(seq_root / "seqinfo.ini") if base == 1 and (seq_root / "seqinfo.ini").is_file() else {}
        images = frame_images(seq_root / "img1") if base == 1 else {}
        video = str(seqinfo.get("name") or seq)
        prefix = f"{seq}/" if multi else ""
        for frame in sorted(set(masks) | set(images)):
            image = images.get(frame)
            if base == 1 and image is None:  # MOTSChallenge frames are images in img1/
                missing.append(frame_id(prefix, frame))
                if not options.keep_missing_media:
                    continue
            h, w = sizes.get(frame, (seqinfo.get("imheight"), seqinfo.get("imwidth")))
            media = VideoFrame(
                video=video,
                frame=frame - base,
                name=image.name if image else None,
                path=str(image) if image else None,
                width=w,
                height=h,
            )
            items.append(
                Item(
                    id=frame_id(prefix, frame),
                    media=media,
                    annotations=masks.get(frame, []),
                    metadata={"mots_frame": frame, "mots_seq": seq},
                )
            )
    dataset = Dataset(items, labels=labels)
    dataset.missing_media = missing
    return dataset


def _parse_line(line: str, path: Path, n: int, names: list[str], labels: LabelSet) -> tuple[int, Mask, tuple[int, int]]:
    fields = line.split()
    if len(fields) != 6:
        raise FormatError(
            f"expected 6 space-separated values (frame id class height width rle), got {len(fields)}",
            file=path,
            location=f"line {n}",
        )
    frame, obj_id, cls, h, w = (
        integer(v, path, n, what)
        for v, what in zip(fields[:5], ("frame", "id", "class", "height", "width"), strict=True)
    )
    if frame < 0 or obj_id <= 0 or h <= 0 or w <= 0:
        raise FormatError("frame must be >= 0, id, height and width > 0", file=path, location=f"line {n}")
    if h * w > MAX_MASK_PIXELS or frame > MAX_FRAMES:
        raise FormatError(
            f"a {w}x{h} mask or frame {frame} is past what labelport reads", file=path, location=f"line {n}"
        )
    try:
        rle = rle_check(RLE(size=(h, w), counts=fields[5]))
    except FormatError as exc:
        raise FormatError(f"invalid RLE ({exc.message})", file=path, location=f"line {n}") from None
    label = _label(obj_id, cls, names, labels)
    mask = Mask(rle=rle, label=label, track_id=obj_id % MAX_INSTANCES, metadata={"mots_id": obj_id})
    return frame, mask, (h, w)


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    from PIL import Image as PILImage

    index = {lb.name: k for k, lb in enumerate(dataset.labels, 1)}
    subsets: set[str] = set()
    for item in dataset:
        subset = _subset_dir(item.subset, report)
        folder = target / subset
        subsets.add(subset)
        masks = [a for a in item.annotations if a.type == "mask"]
        h, w = getattr(item.media, "height", None), getattr(item.media, "width", None)
        if not (h and w) and masks:
            h, w = masks[0].rle.size
        if not (h and w):
            report.loss("items without masks or image size", "dropped (a MOTS frame is an instance PNG)")
            continue
        if int(h) * int(w) > MAX_MASK_PIXELS:
            report.loss("frames larger than an instance PNG may be", "dropped")
            continue
        ids = _paint(masks, int(h), int(w), index, dataset, report)
        png = safe_join(folder / "instances", f"{item.id}.png")
        png.parent.mkdir(parents=True, exist_ok=True)
        PILImage.fromarray(ids).save(png)
        _save_media(item, folder / "images", options, report)
    if not subsets:
        subsets.add("default")
    names = "".join(lb.name + "\n" for lb in dataset.labels)
    for subset in subsets:
        (target / subset / "instances").mkdir(parents=True, exist_ok=True)
        (target / subset / "instances" / "labels.txt").write_text(names, encoding="utf-8")
    return True


def _subset_dir(subset: str | None, report: Report) -> str:
    name = subset or "default"
    safe = name.replace("/", "_").replace("\\", "_").strip(".") or "default"
    if safe != name:
        report.loss("subset names that are not folder names", f"renamed ({name!r} -> {safe!r})")
    return safe


def _paint(masks: list[Mask], h: int, w: int, index: dict[str, int], dataset: Dataset, report: Report) -> np.ndarray:
    """One frame's object-id image: class * 1000 + instance, later masks over earlier ones."""
    used: dict[int, set[int]] = defaultdict(set)
    planned = []
    for m in masks:
        if m.metadata.get("mots_id") == IGNORE_ID:
            planned.append((m, IGNORE_ID))
            continue
        if m.label is None:
            report.loss("masks without a label", "dropped (a MOTS id carries the class)")
            continue
        if m.label not in index:  # a label met only in the items (or declared while streaming)
            dataset.labels.add(m.label)
            index.update({name: k for k, name in enumerate(dataset.labels.names(), 1)})
        cls = index[m.label]
        if cls * MAX_INSTANCES + MAX_INSTANCES - 1 > np.iinfo(np.uint16).max:
            report.loss("masks of labels past class 65", "dropped (ids are 16-bit)")
            continue
        inst = m.track_id
        if inst is not None and not 0 <= inst < MAX_INSTANCES:
            report.loss("track ids outside 0..999", "replaced by a free instance number")
            inst = None
        if inst is not None and inst in used[cls]:
            report.loss("masks sharing a track id in one frame", "merged into one object")
        if inst is not None:
            used[cls].add(inst)
        planned.append((m, cls, inst) if inst is None else (m, cls * MAX_INSTANCES + inst))
    pairs: list[tuple[int, np.ndarray]] = []
    covered = np.zeros((h, w), dtype=bool)
    for entry in planned:
        if len(entry) == 3:  # an instance number still to choose
            m, cls, _ = entry
            inst = max(used[cls], default=0) + 1
            if inst >= MAX_INSTANCES:
                report.loss("masks past 999 instances of a class in a frame", "dropped")
                continue
            used[cls].add(inst)
            entry = (m, cls * MAX_INSTANCES + inst)
        m, obj_id = entry
        if tuple(m.rle.size) != (h, w):
            report.loss("masks of another size than their frame", "dropped")
            continue
        pixels = rle_decode(m.rle)
        if np.any(covered & pixels):
            report.loss("overlapping mask pixels", "painted over (a MOTS pixel holds one object id)")
        covered |= pixels
        pairs.append((obj_id, pixels))
    return masks_to_index(pairs, (h, w), dtype=np.uint16)


def _save_media(item: Item, folder: Path, options: WriteOptions, report: Report) -> None:
    """The frame's image as ``images/<item id><suffix>``, the name the reader looks for."""
    src = getattr(item.media, "path", None) or getattr(item.media, "name", None)
    ext = Path(src).suffix.lower() if src else ""
    export_media(item, folder, options.save_media, report, name=f"{item.id}{ext or '.jpg'}")


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """txt: ids whose class part disagrees with the class column, overlapping masks in a
    frame, frames of different sizes; PNG and txt: classes past ``labels.txt``."""
    problems: list[Problem] = []
    if source.is_dir() and _png_roots(source):
        for root, _subset in _png_roots(source):
            labels_file = root / "instances" / "labels.txt"
            if not labels_file.is_file():
                continue
            n = len(read_labels_file(labels_file))
            for rel in Probe(root / "instances").files("**/*.png"):
                problems += _png_problems(root / "instances" / rel, n)
        return problems
    for path, _seq, _base, _root in _txt_sequences(source):
        seen: dict[int, np.ndarray] = {}
        sizes: dict[int, tuple[str, str]] = {}
        for n, line in enumerate(read_text(path).splitlines(), 1):
            fields = line.split()
            if len(fields) != 6 or not all(f.isdecimal() for f in fields[:5]):
                continue
            frame, obj_id, cls = int(fields[0]), int(fields[1]), int(fields[2])
            where = f"line {n}"
            if obj_id != IGNORE_ID and obj_id // MAX_INSTANCES != cls:
                problems.append(Problem(message=f"id {obj_id} is not of class {cls}", file=str(path), location=where))
            size = (fields[3], fields[4])
            if int(size[0]) * int(size[1]) > MAX_MASK_PIXELS:
                continue  # the reader reports it
            if sizes.setdefault(frame, size) != size:
                problems.append(
                    Problem(message=f"frame {frame} has masks of two sizes", file=str(path), location=where)
                )
                continue
            try:
                pixels = rle_decode(RLE(size=(int(size[0]), int(size[1])), counts=fields[5]))  # checks the runs
            except (FormatError, ValueError):
                continue
            if frame in seen and np.any(seen[frame] & pixels):
                problems.append(
                    Problem(
                        message=f"the mask of id {obj_id} overlaps another in frame {frame}",
                        file=str(path),
                        location=where,
                    )
                )
            seen[frame] = seen.get(frame, np.zeros_like(pixels)) | pixels
    return problems


def _png_problems(png: Path, n_labels: int) -> list[Problem]:
    try:
        ids = read_map(png)
    except FormatError:
        return []  # the reader reports unreadable files
    out = []
    for value in np.unique(ids):
        cls = int(value) // MAX_INSTANCES
        if value and int(value) != IGNORE_ID and cls > n_labels:
            out.append(
                Problem(message=f"object id {int(value)} has class {cls}, past the {n_labels} labels", file=str(png))
            )
    return out
