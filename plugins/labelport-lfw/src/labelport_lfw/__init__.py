"""Labeled Faces in the Wild: face verification pairs, people and landmarks.

Specification: the LFW README (http://vis-www.cs.umass.edu/lfw/README.txt, sections 3c and 3d)
and the layout datumaro and CVAT exchange::

    [<subset>/]annotations/pairs.txt      header ``<sets> <pairs per set>`` (or one number), then
                                          matched pairs ``name n1 n2`` and mismatched pairs
                                          ``name1 n1 name2 n2``; n is the image number
    [<subset>/]annotations/people.txt     ``name count`` rows after set sizes
    [<subset>/]annotations/landmarks.txt  ``<name>/<image>.jpg x1 y1 x2 y2 ...`` (datumaro, CVAT)
    [<subset>/]images/<name>/<name>_0001.jpg

The annotation files may also sit in the dataset folder itself, beside ``images/`` or the
release's ``lfw/`` folder. An image is an item with the person as its image label; a pair is
kept on the first image's label as the ``positive_pairs``/``negative_pairs`` attribute (the
other image as ``<name>/<name>_<nnnn>``, as datumaro and CVAT write it). Datumaro also lists
images without pairs as one-name rows of pairs.txt; they are read and written too.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from labelport.errors import FormatError
from labelport.io.media import IMAGE_SUFFIXES, MediaIndex, export_media, image_size, keep_item
from labelport.io.text import read_lines
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import Dataset, Image, Item, Label, LabelSet, Points, Tag

ANNOTATION_DIR = "annotations"
IMAGES_DIRS = ("images", "lfw", "lfw-deepfunneled", "lfw_funneled")
PAIRS_FILE = "pairs.txt"
PEOPLE_FILE = "people.txt"
LANDMARKS_FILE = "landmarks.txt"
FILES = (PAIRS_FILE, PEOPLE_FILE, LANDMARKS_FILE)
POSITIVE, NEGATIVE = "positive_pairs", "negative_pairs"
_NUMBERED = re.compile(r"^(.+)_(\d{4})$")


class LfwReadOptions(OptionsBase):
    """LFW reader options."""

    #: read each found image's size from its header
    read_image_sizes: bool = True


INFO = FormatInfo(
    name="lfw",
    title="Labeled Faces in the Wild",
    description="LFW face verification: matched/mismatched pairs, people and landmarks, images by person.",
    extensions=(".txt",),
    annotation_types=frozenset({"label", "points"}),
    features=frozenset({"attributes", "subsets"}),
    media=frozenset({"image"}),
    read_options=LfwReadOptions,
    docs_url="http://vis-www.cs.umass.edu/lfw/README.txt",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.path.name == PAIRS_FILE and _looks_like_pairs(probe.text(None)):
            return Detection(format="lfw", confidence=0.85, reason="LFW pairs.txt")
        if probe.path.name == LANDMARKS_FILE and _looks_like_landmarks(probe.text(None)):
            return Detection(format="lfw", confidence=0.7, reason="LFW landmarks.txt")
        return None
    for rel in (PAIRS_FILE, f"{ANNOTATION_DIR}/{PAIRS_FILE}", *probe.files(f"*/{ANNOTATION_DIR}/{PAIRS_FILE}")):
        if rel in probe.files() and _looks_like_pairs(probe.text(rel)):
            return Detection(format="lfw", confidence=0.9, reason=f"LFW {rel}")
    for rel in probe.files(f"**/{PEOPLE_FILE}"):
        if rel.count("/") <= 2 and _looks_like_people(probe.text(rel)) and probe.has("**/*_0001.jpg"):
            return Detection(format="lfw", confidence=0.8, reason=f"LFW {rel} and <name>_0001.jpg images")
    return None


def _looks_like_pairs(text: str) -> bool:
    rows = [ln.split() for ln in text.splitlines()[:200] if ln.strip()]
    if not rows:
        return False
    if all(t.isdigit() for t in rows[0]) and len(rows[0]) <= 2:
        rows = rows[1:]
    pairs = [r for r in rows if len(r) in (3, 4)]
    return bool(pairs) and all(len(r) in (1, 3, 4) for r in rows) and all(r[1].isdigit() for r in pairs)


def _looks_like_landmarks(text: str) -> bool:
    rows = [ln.split() for ln in text.splitlines()[:100] if ln.strip()]
    return bool(rows) and all(
        len(r) >= 3 and len(r) % 2 == 1 and PurePosixPath(r[0]).suffix.lower() in IMAGE_SUFFIXES for r in rows
    )


def _looks_like_people(text: str) -> bool:
    rows = [ln.split() for ln in text.splitlines()[:200] if ln.strip()]
    named = [r for r in rows if len(r) == 2]
    return bool(named) and all(len(r) in (1, 2) and r[-1].isdigit() for r in rows)


# --------------------------------------------------------------------------- read


@dataclass
class _Part:
    """One set of annotation files: the dataset root or a subset folder."""

    subset: str | None
    annotations: Path
    images: Path | None


@dataclass
class _Record:
    """An item being assembled: its person, landmarks and pairs."""

    id: str
    person: str | None
    points: list[list[float]] = field(default_factory=list)
    pairs: dict[str, list[str]] = field(default_factory=dict)
    pair_lines: dict[str, list[int]] = field(default_factory=dict)
    image: Path | None = None


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: LfwReadOptions = options.format_options or LfwReadOptions()
    parts = _parts(source)
    if not parts:
        raise FormatError(
            f"no {PAIRS_FILE}, {PEOPLE_FILE} or {LANDMARKS_FILE} found (in {ANNOTATION_DIR}/ or the folder)", file=source
        )
    labels = LabelSet()
    records: list[tuple[_Part, dict[str, _Record]]] = []
    headers: dict[str, str] = {}
    for part in parts:
        recs, header = _read_part(part, labels)
        records.append((part, recs))
        if header is not None:
            headers[part.subset or "default"] = header

    def items() -> Iterator[Item]:
        dataset.missing_media.clear()
        for part, recs in records:
            for rec in recs.values():
                item = _item(rec, part, opts)
                if keep_item(dataset, item, options):
                    yield item

    dataset = Dataset(items, labels=labels)
    if headers:
        dataset.info.metadata["lfw_pairs_header"] = headers
    return dataset


def _parts(source: Path) -> list[_Part]:
    if source.is_file():
        return [
            _Part(
                None, source.parent, _images_dir(source.parent.parent if source.parent.name == ANNOTATION_DIR else source.parent)
            )
        ]
    out: list[_Part] = []
    subdirs = [
        d
        for d in sorted(source.iterdir())
        if d.is_dir() and not d.name.startswith(".") and d.name not in (ANNOTATION_DIR, *IMAGES_DIRS)
    ]
    for folder, subset in [(source, None), *[(d, d.name) for d in subdirs]]:
        for ann in (folder / ANNOTATION_DIR, folder):
            if ann.is_dir() and any((ann / f).is_file() for f in FILES):
                out.append(_Part(subset, ann, _images_dir(folder)))
                break
    return out


def _images_dir(folder: Path) -> Path | None:
    for name in IMAGES_DIRS:
        if (folder / name).is_dir():
            return folder / name
    return None



def _nonempty_lines(path: Path) -> list[tuple[int, str]]:
    return [(n, ln) for n, ln in read_lines(path) if ln.strip()]


def _image_id(person: str, token: str) -> str:
    """The id of image ``token`` of ``person``: ``<person>_<nnnn>`` for a number, else the token."""
    return f"{person}_{int(token):04d}" if token.isdigit() else token


def _ref(person: str | None, item_id: str) -> str:
    return f"{person}/{item_id}" if person else item_id


def _split_ref(ref: str) -> tuple[str | None, str]:
    ref = ref.replace("\\", "/").strip()
    ref = ref.rsplit(".", 1)[0] if PurePosixPath(ref).suffix.lower() in IMAGE_SUFFIXES else ref
    if "/" in ref:
        person, _, rest = ref.partition("/")
        return person or None, rest
    return None, ref


def _read_part(part: _Part, labels: LabelSet) -> tuple[dict[str, _Record], str | None]:
    recs: dict[str, _Record] = {}

    def record(person: str | None, item_id: str, path: Path, n: int) -> _Record:
        if not item_id or (n and any(c.isspace() for c in item_id)):
            raise FormatError(f"bad image name {item_id!r}", file=path, location=f"line {n}")
        rec = recs.get(item_id)
        if rec is None:
            rec = recs[item_id] = _Record(id=item_id, person=person)
        elif person is not None and rec.person is None:
            rec.person = person
        if person is not None:
            labels.add(person)
        return rec

    people = part.annotations / PEOPLE_FILE
    if people.is_file():
        for n, line in _nonempty_lines(people):
            tokens = line.split()
            if len(tokens) == 1 and tokens[0].isdigit():
                continue  # the number of sets, or of people in a set
            if len(tokens) != 2 or not tokens[1].isdigit():
                raise FormatError("expected a row 'name count'", file=people, location=f"line {n}")
            label = labels.add(tokens[0])
            label.metadata["lfw_images"] = int(tokens[1])
    header = None
    pairs = part.annotations / PAIRS_FILE
    if pairs.is_file():
        for k, (n, line) in enumerate(_nonempty_lines(pairs)):
            tokens = line.split()
            if k == 0 and len(tokens) <= 2 and all(t.isdigit() for t in tokens):
                header = "\t".join(tokens)  # number of sets and pairs per set
                continue
            if len(tokens) == 1:
                person, item_id = _split_ref(tokens[0])  # datumaro's row for an image without pairs
                record(person, item_id, pairs, n)
            elif len(tokens) == 3:
                person = tokens[0]
                first = record(person, _image_id(person, tokens[1]), pairs, n)
                second = record(person, _image_id(person, tokens[2]), pairs, n)
                first.pairs.setdefault(POSITIVE, []).append(_ref(person, second.id))
                first.pair_lines.setdefault(POSITIVE, []).append(n)
            elif len(tokens) == 4:
                first = record(tokens[0], _image_id(tokens[0], tokens[1]), pairs, n)
                other = None if tokens[2] == "-" else tokens[2]  # datumaro: '-' for an image without a person
                second = record(other, _image_id(other, tokens[3]) if other else tokens[3], pairs, n)
                first.pairs.setdefault(NEGATIVE, []).append(_ref(other, second.id))
                first.pair_lines.setdefault(NEGATIVE, []).append(n)
            else:
                raise FormatError(
                    f"a pair row has 3 (matched) or 4 (mismatched) values, found {len(tokens)}", file=pairs, location=f"line {n}"
                )
    landmarks = part.annotations / LANDMARKS_FILE
    if landmarks.is_file():
        for n, line in _nonempty_lines(landmarks):
            tokens = line.split("\t") if "\t" in line else line.split()
            tokens = [t.strip() for t in tokens if t.strip()]
            values = _numbers(tokens[1:], landmarks, n)
            if not values or len(values) % 2:
                raise FormatError(f"landmarks need x y pairs, found {len(values)} values", file=landmarks, location=f"line {n}")
            person, item_id = _split_ref(tokens[0])
            record(person, item_id, landmarks, n).points.append(values)
    if part.images is not None:
        index = MediaIndex(part.images)
        for path in sorted({p for paths in index.by_name.values() for p in paths}):
            rel = path.relative_to(part.images).as_posix()
            person, item_id = _split_ref(rel)
            if "/" in item_id or index.find_rel(rel, stem_fallback=False) is None:
                continue  # deeper than <name>/<image> (not an LFW image), or a link leaving the dataset
            rec = record(person, item_id, path, 0)  # line 0: a file on disk, not a row
            rec.image = rec.image or path
        for rec in recs.values():
            if rec.image is None:
                rel = f"{rec.person}/{rec.id}" if rec.person else rec.id
                rec.image = index.find_rel(rel, stem_fallback=True)
    return recs, header


def _numbers(tokens: list[str], path: Path, n: int) -> list[float]:
    out = []
    for tok in tokens:
        try:
            v = float(tok)
        except ValueError:
            raise FormatError(f"landmark value {tok!r} is not a number", file=path, location=f"line {n}") from None
        if not math.isfinite(v):
            raise FormatError(f"landmark value {tok!r} is not finite", file=path, location=f"line {n}")
        out.append(v)
    return out


def _item(rec: _Record, part: _Part, opts: LfwReadOptions) -> Item:
    width = height = None
    if rec.image is not None and opts.read_image_sizes:
        try:
            width, height = image_size(rec.image)
        except FormatError:
            pass  # an unreadable image leaves the size unknown; validate reports it
    name = (
        rec.image.relative_to(part.images).as_posix()
        if rec.image is not None and part.images
        else f"{_ref(rec.person, rec.id)}.jpg"
    )
    anns: list[Any] = []
    if rec.person is not None:
        meta = {"lfw_pair_lines": rec.pair_lines} if rec.pair_lines else {}
        anns.append(Tag(label=rec.person, attributes={k: list(v) for k, v in rec.pairs.items()}, metadata=meta))
    anns += [Points(label=rec.person, points=pts) for pts in rec.points]
    return Item(
        id=rec.id,
        subset=part.subset,
        media=Image(name=name, path=str(rec.image) if rec.image else None, width=width, height=height),
        annotations=anns,
    )


# --------------------------------------------------------------------------- write


@dataclass
class _Out:
    """What one subset's files will hold."""

    pairs: list[tuple[float, str]] = field(default_factory=list)
    landmarks: list[str] = field(default_factory=list)
    neutral: list[str] = field(default_factory=list)
    people: Counter[str] = field(default_factory=Counter)
    referenced: set[str] = field(default_factory=set)  # images named by a pair


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    outs: dict[str | None, _Out] = {}
    lost = Counter[str]()
    order = 0
    for item in dataset:
        subset = item.subset if item.subset not in (None, "default") else None
        out = outs.setdefault(subset, _Out())
        tags = [a for a in item.annotations if a.type == "label" and a.label is not None]
        tag = tags[0] if tags else None
        lost["persons"] += len({t.label for t in tags}) - 1 if tags else 0
        person = _no_space(tag.label, lost) if tag is not None else None
        if person is None and "/" in item.id:
            lost["folders"] += 1
        if person is not None:
            out.people[person] += 1
        # an id under its person's folder (from a class-folder dataset) is the image name below it
        image_id = _no_space(item.id, lost)
        image_id = image_id[len(person) + 1 :] if person and image_id.startswith(person + "/") else image_id
        own = _number(person, image_id)
        referenced = False
        if tag is not None:
            lines = tag.metadata.get("lfw_pair_lines") or {}
            for kind in (POSITIVE, NEGATIVE):
                refs = _refs(tag.attributes.get(kind), lost)
                for k, ref in enumerate(refs):
                    other_person, other_id = _split_ref(ref)
                    if kind == POSITIVE:
                        row = f"{person}\t{own}\t{_number(person, other_id)}"
                    else:
                        second = _number(other_person, other_id) if other_person else other_id
                        row = f"{person}\t{own}\t{other_person or '-'}\t{second}"
                    known = lines.get(kind, [])
                    # rows keep the order they were read in (the sets of pairs.txt), new ones follow
                    key = float(known[k]) if k < len(known) and isinstance(known[k], int) else 1e12 + order
                    order += 1
                    out.pairs.append((key, row))
                    out.referenced.add(_ref(other_person, other_id))
                    referenced = True
            extra = set(tag.attributes) - {POSITIVE, NEGATIVE}
            lost["attributes"] += len(extra)
        points = [a for a in item.annotations if a.type == "points"]
        ext = _ext(item)
        for p in points:
            out.landmarks.append(f"{_ref(person, image_id)}{ext}\t" + "\t".join(_num(v) for v in p.points))
            if p.attributes:
                lost["attributes"] += len(p.attributes)
        if not referenced and not points:
            out.neutral.append(_ref(person, image_id))
        if options.save_media != "none":
            base = target / subset if subset else target
            export_media(item, base / IMAGES_DIRS[0], options.save_media, report, name=f"{_ref(person, image_id)}{ext}")
    headers = dataset.info.metadata.get("lfw_pairs_header") or {}
    if not outs:
        outs[None] = _Out()
    for subset, out in outs.items():
        folder = (target / subset if subset else target) / ANNOTATION_DIR
        folder.mkdir(parents=True, exist_ok=True)
        rows = [row for _, row in sorted(out.pairs, key=lambda kr: kr[0])]
        header = headers.get(subset or "default") if isinstance(headers, dict) else None
        if not _header_fits(header, rows):
            positive = sum(1 for r in rows if r.count("\t") == 2)
            header = f"1\t{max(positive, len(rows) - positive)}"
        with open(folder / PAIRS_FILE, "w", encoding="utf-8") as fh:
            fh.write(f"{header}\n")
            # an image named as the second of a pair needs no row of its own
            fh.writelines(f"{r}\n" for r in rows + [n for n in out.neutral if n not in out.referenced])
        if out.landmarks:
            (folder / LANDMARKS_FILE).write_text("".join(f"{r}\n" for r in out.landmarks), encoding="utf-8")
        names = [lb.name for lb in dataset.labels if lb.name in out.people or subset is None or len(outs) == 1]
        names += [n for n in out.people if n not in names]
        with open(folder / PEOPLE_FILE, "w", encoding="utf-8") as fh:
            fh.write(f"{len(names)}\n")
            for name in names:
                count = out.people.get(name) or _stored_count(dataset.labels.get(name))
                fh.write(f"{name}\t{count}\n")
    if lost["persons"]:
        report.loss("image labels beyond the first", "dropped (an LFW image shows one person)", lost["persons"])
    if lost["attributes"]:
        report.loss("attributes other than positive_pairs/negative_pairs", "dropped", lost["attributes"])
    if lost["refs"]:
        report.loss("pair references that are not image names", "dropped", lost["refs"])
    if lost["spaces"]:
        report.loss("white space in person names or image ids", "replaced by _ (rows are split at white space)", lost["spaces"])
    if lost["folders"]:
        report.loss("sub-folders in ids of images without a person", "read back as <person>/<image>", lost["folders"])
    return True


def _no_space(name: str, lost: Counter[str]) -> str:
    """Rows are split at white space: names holding it are written with _ instead."""
    if any(c.isspace() for c in name):
        lost["spaces"] += 1
        return re.sub(r"\s", "_", name)
    return name


def _refs(value: Any, lost: Counter[str]) -> list[str]:
    """Pair references from a list of names (datumaro) or one text of names (CVAT text attributes)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[,\s]+", value.strip()) if value.strip() else []
    if not isinstance(value, (list, tuple)):
        lost["refs"] += 1
        return []
    out = []
    for v in value:
        if isinstance(v, str) and v.strip() and not any(c.isspace() for c in v.strip()):
            out.append(v.strip())
        else:
            lost["refs"] += 1
    return out


def _number(person: str | None, item_id: str) -> str:
    """The image number of ``<person>_<nnnn>``, else the id itself."""
    m = _NUMBERED.match(item_id)
    if person is not None and m and m.group(1) == person:
        return str(int(m.group(2)))
    return item_id


def _header_fits(header: Any, rows: list[str]) -> bool:
    if not isinstance(header, str) or not header.strip():
        return False
    tokens = header.split()
    if not all(t.isdigit() for t in tokens):
        return False
    if len(tokens) == 2:
        return int(tokens[0]) * int(tokens[1]) * 2 == len(rows)
    return int(tokens[0]) * 2 == len(rows)  # pairsDevTrain.txt: the number of pairs of each kind


def _stored_count(label: Label | None) -> int:
    value = label.metadata.get("lfw_images") if label is not None else None
    return value if isinstance(value, int) and value >= 0 else 0


def _ext(item: Item) -> str:
    media = item.media
    src = getattr(media, "name", None) or getattr(media, "path", None) or ""
    ext = PurePosixPath(str(src).replace("\\", "/")).suffix
    return ext if ext.lower() in IMAGE_SUFFIXES else ".jpg"


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Pairs naming images that are not there, a header that does not count the pairs,
    people.txt counts that differ from the images found."""
    problems: list[Problem] = []
    for part in _parts(source):
        labels = LabelSet()
        recs, header = _read_part(part, labels)
        pairs = part.annotations / PAIRS_FILE
        if pairs.is_file():
            rows = [ln for _, ln in _nonempty_lines(pairs) if len(ln.split()) in (3, 4)]
            if header is not None and not _header_fits(header, rows):
                problems.append(
                    Problem(
                        severity="warning",
                        message=f"header {header!r} does not count the {len(rows)} pairs",
                        file=str(pairs),
                        location="line 1",
                    )
                )
            if part.images is not None:
                for rec in recs.values():
                    if rec.image is None:
                        problems.append(
                            Problem(severity="warning", message=f"image {_ref(rec.person, rec.id)} not found", file=str(pairs))
                        )
        people = part.annotations / PEOPLE_FILE
        if people.is_file() and part.images is not None:
            found = Counter(rec.person for rec in recs.values() if rec.image is not None)
            for label in labels:
                stated = label.metadata.get("lfw_images")
                if isinstance(stated, int) and stated != found.get(label.name, 0):
                    problems.append(
                        Problem(
                            severity="warning",
                            message=f"{label.name}: {stated} images stated, {found.get(label.name, 0)} found",
                            file=str(people),
                        )
                    )
    return problems
