"""ImageNet image classification: class folders and class index lists.

Specification: the ImageNet download layout (https://image-net.org/download.php:
``train/<wnid>/<wnid>_<n>.JPEG``) and the class index lists used to train on it
(Caffe's ``data/ilsvrc12``: ``train.txt``/``val.txt`` with ``<image path> <class index>``
rows and ``synsets.txt``, one class per row, row number = 0-based class index;
``synset_words.txt`` adds a description after the WordNet id). Two layouts:

- class folders: ``[<subset>/]<class>[/<sub-class>...]/<image>``; images directly in the
  root (or in ``no_label/``) have no class. Nested folders are classes whose parent is the
  folder above.
- class index lists: ``<subset>.txt`` beside ``synsets.txt``, images in ``images/``. A row may
  list several class indices, or none; a name holding spaces is quoted (``"my image".jpg 3``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from labelport.errors import FormatError, OptionsError, UnsafeInputError
from labelport.io.media import IMAGE_SUFFIXES, MediaIndex, export_media, keep_item, media_roots, safe_join
from labelport.io.media import item_id as make_item_id
from labelport.io.text import read_lines
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import Dataset, Image, Item, Label, LabelSet, Tag

LABELS_FILE = "synsets.txt"
#: the same class list with a description after each WordNet id (Caffe's synset_words.txt)
WORDS_FILE = "synset_words.txt"
IMAGES_DIR = "images"
NO_LABEL = "no_label"  # the folder datumaro/CVAT give images without a class
SUBSET_DIRS = ("train", "val", "valid", "validation", "test", "trainval")
_WNID = re.compile(r"^n\d{8}$")
_INT = re.compile(r"^-?\d+$")
_PROBE_LINES = 50
#: without synsets.txt classes are named by index; a larger index is taken for a damaged row
MAX_GENERATED_CLASSES = 100_000


class ImagenetWriteOptions(OptionsBase):
    """ImageNet writer options."""

    #: ``folders``: images copied into class folders (needs ``save_media``); ``txt``: class
    #: index lists and synsets.txt; ``auto``: folders when media is saved, else lists
    variant: Literal["auto", "folders", "txt"] = "auto"


INFO = FormatInfo(
    name="imagenet",
    title="ImageNet class folders / class index lists",
    description="Image classification: one folder per class, or <subset>.txt class index lists with synsets.txt.",
    extensions=(".txt",),
    annotation_types=frozenset({"label"}),
    features=frozenset({"subsets", "label_hierarchy"}),
    media=frozenset({"image"}),
    write_options=ImagenetWriteOptions,
    docs_url="https://image-net.org/download.php",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".txt" or probe.path.name in (LABELS_FILE, WORDS_FILE) or not _looks_like_list(probe, None):
            return None
        has_labels = (probe.path.parent / LABELS_FILE).is_file()
        return Detection(format="imagenet", confidence=0.6 if has_labels else 0.4, reason="image class index list")
    lists = [f for f in _top_lists(probe) if _looks_like_list(probe, f)]
    if lists:
        has_labels = LABELS_FILE in probe.files("*")
        # a list of "<image> <int>" rows is generic: synsets.txt beside it makes it ImageNet's
        return Detection(
            format="imagenet", confidence=0.75 if has_labels else 0.5, reason=f"class index lists {', '.join(lists[:3])}"
        )
    if _class_folders(probe):
        # any folder of image folders looks like this: stay low so specific formats win
        return Detection(format="imagenet", confidence=0.3, reason="images in class folders")
    return None


def _top_lists(probe: Probe) -> list[str]:
    return [f for f in probe.files("*.txt") if f not in (LABELS_FILE, WORDS_FILE)]


def _looks_like_list(probe: Probe, rel: str | None, *, indexed_row: bool = True) -> bool:
    """The first rows are ``<image name> [<class index>...]`` (and one has an index, unless
    ``indexed_row`` is False: a written list of images without classes reads back)."""
    head = probe.head(rel, 65536)
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(head) == 65536 and lines:
        lines = lines[:-1]  # the last row may be cut
    indexed = 0
    for n, line in enumerate(lines[: _PROBE_LINES * 4]):
        if not line.strip():
            continue
        try:
            name, ids = _parse_row(line, "", n + 1)
        except FormatError:
            return False
        if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
            return False
        indexed += bool(ids)
    return indexed > 0 or not indexed_row


def _class_folders(probe: Probe) -> bool:
    """Every file is an image and at least one image is in a sub-folder."""
    files = probe.files()
    if not files:
        return False
    nested = False
    for f in files:
        if not f.lower().endswith(IMAGE_SUFFIXES):
            return False
        nested |= "/" in f
    return nested


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    if source.is_file():
        return _read_lists(source.parent, [source], options)
    if not source.is_dir():
        raise FormatError("not a file or folder", file=source)
    lists = _list_files(source)
    if lists:
        return _read_lists(source, lists, options)
    return _read_folders(source, options)


def _list_files(source: Path) -> list[Path]:
    """The class index lists of a folder: top-level .txt files named like a subset, or whose
    first rows parse as a list; none unless one row has a class index or synsets.txt is there."""
    probe = Probe(source)
    lists = [
        source / f
        for f in _top_lists(probe)
        if Path(f).stem.lower() in (*SUBSET_DIRS, "default") or _looks_like_list(probe, f, indexed_row=False)
    ]
    if (source / LABELS_FILE).is_file() or any(_looks_like_list(probe, p.name) for p in lists):
        return lists
    return []


# ---- class index lists


@dataclass
class _Classes:
    """The class list: names by index (a name may repeat), with their descriptions."""

    names: list[str] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)
    file: Path | None = None
    generated: bool = False


def _read_lists(root: Path, files: list[Path], options: ReadOptions) -> Dataset:
    classes = _read_classes(root)
    if classes.file is None:
        # no class list: name classes by their index, as many as the rows use
        top = -1
        for path in files:
            for line_no, _, ids, _ in _rows(path):
                if ids and max(ids) >= MAX_GENERATED_CLASSES:
                    raise FormatError(
                        f"class index {max(ids)} without {LABELS_FILE}: more than {MAX_GENERATED_CLASSES} classes",
                        file=path,
                        location=f"line {line_no}",
                    )
                top = max(top, *ids) if ids else top
        classes.names = [f"class-{i}" for i in range(top + 1)]
        classes.generated = True
    labels = _labels_from_names(classes.names, classes.descriptions, with_ids=True)
    roots = {path: media_roots(root / IMAGES_DIR, root / path.stem, root) for path in files}
    indexes: dict[Path, MediaIndex] = {}

    def items() -> Iterator[Item]:
        dataset.missing_media.clear()
        for path in files:
            subset = path.stem
            seen: dict[str, str] = {}
            for line_no, name, ids, _quoted in _rows(path):
                if classes.file is not None:
                    for i in ids:
                        if i >= len(classes.names):
                            raise FormatError(
                                f"class index {i} but {classes.file.name} lists {len(classes.names)} classes",
                                file=path,
                                location=f"line {line_no}",
                            )
                found = _find(roots[path], indexes, name)
                item = Item(
                    id=make_item_id(name, seen),
                    subset=subset,
                    media=Image(name=name, path=str(found) if found else None),
                    annotations=[Tag(label=classes.names[i]) for i in ids],
                    metadata={"imagenet_line": line_no},
                )
                if keep_item(dataset, item, options):
                    yield item

    dataset = Dataset(items, labels=labels)
    if classes.generated:
        dataset.notes.append(f"no {LABELS_FILE}: classes are named class-<index>")
    return dataset


def _read_classes(root: Path) -> _Classes:
    classes = _Classes()
    words = root / WORDS_FILE
    if words.is_file():
        for _, line in read_lines(words):
            wnid, _, text = line.strip().partition(" ")
            if wnid:
                classes.descriptions[wnid] = text.strip()
    path = root / LABELS_FILE
    if path.is_file():
        classes.file = path
        classes.names = [_class_name(line, classes.descriptions) for _, line in read_lines(path) if line.strip()]
    elif words.is_file():
        classes.file = words
        classes.names = [line.strip().split()[0] for _, line in read_lines(words) if line.strip()]
    return classes


def _class_name(line: str, descriptions: dict[str, str]) -> str:
    """A synsets.txt row: the class name; a WordNet id followed by words is split there."""
    text = line.strip()
    head, _, rest = text.partition(" ")
    if _WNID.match(head) and rest.strip():
        descriptions.setdefault(head, rest.strip())
        return head
    return text


def _labels_from_names(names: list[str], descriptions: dict[str, str], *, with_ids: bool) -> LabelSet:
    labels = LabelSet()
    for i, name in enumerate(names):
        if name in labels:
            continue  # a repeated name keeps its first index
        meta = {"description": descriptions[name]} if name in descriptions else {}
        labels.add(Label(name=name, id=i if with_ids else None, parent=_parent(name), metadata=meta))
    for name in names:
        parent = _parent(name)
        while parent is not None and parent not in labels:
            labels.add(Label(name=parent, parent=_parent(parent)))
            parent = _parent(parent)
    return labels


def _parent(name: str) -> str | None:
    return name.rsplit("/", 1)[0] if "/" in name.strip("/") else None



def _rows(path: Path) -> Iterator[tuple[int, str, list[int], bool]]:
    for n, line in read_lines(path):
        if not line.strip():
            continue
        name, ids = _parse_row(line, path, n)
        yield n, name, ids, line.lstrip().startswith('"')


def _parse_row(line: str, file: Path | str, n: int) -> tuple[str, list[int]]:
    """``<name> [<index>...]``; a quoted name may hold spaces and be followed by its extension."""
    text = line.strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            raise FormatError("unclosed quote in the image name", file=file, location=f"line {n}")
        tail = re.match(r"\S*", text[end + 1 :]).group()  # type: ignore[union-attr]
        name = text[1:end] + tail
        tokens = text[end + 1 + len(tail) :].split()
    else:
        name, *tokens = text.split()
    if not name:
        raise FormatError("empty image name", file=file, location=f"line {n}")
    ids = []
    for tok in tokens:
        if not _INT.match(tok):
            raise FormatError(f"class index {tok!r} is not an integer", file=file, location=f"line {n}")
        value = int(tok)
        if value < 0:
            raise FormatError(f"negative class index {value}", file=file, location=f"line {n}")
        ids.append(value)
    return name, ids


def _find(roots: list[Path], indexes: dict[Path, MediaIndex], name: str) -> Path | None:
    for root in roots:
        index = indexes.get(root)
        if index is None:
            index = indexes[root] = MediaIndex(root)
        found = index.find_rel(name, stem_fallback=False)
        if found is not None:
            return found
    return None


# ---- class folders


def _read_folders(source: Path, options: ReadOptions) -> Dataset:
    parts = _parts(source)
    files: list[tuple[str | None, Path, str]] = []  # subset, part folder, relative path
    skipped: list[str] = []
    for subset, folder in parts:
        for rel in _images_below(folder, skipped):
            files.append((subset, folder, rel))
    if not files:
        raise FormatError("no images in class folders found", file=source)
    names = sorted({_folder_label(rel) for _, _, rel in files} - {None})  # type: ignore[arg-type]
    labels = _labels_from_names(names, {}, with_ids=False)

    def items() -> Iterator[Item]:
        seen: dict[str | None, dict[str, str]] = {}
        for subset, folder, rel in files:
            label = _folder_label(rel)
            stem_rel = rel[len(NO_LABEL) + 1 :] if rel.startswith(NO_LABEL + "/") else rel
            yield Item(
                id=make_item_id(stem_rel, seen.setdefault(subset, {})),
                subset=subset,
                media=Image(name=rel, path=str(folder / rel)),
                annotations=[Tag(label=label)] if label else [],
            )

    dataset = Dataset(items, labels=labels)
    if skipped:
        dataset.notes.append(f"{len(skipped)} files that are not images were skipped (e.g. {skipped[0]})")
    return dataset


def _parts(source: Path) -> list[tuple[str | None, Path]]:
    """``(subset, folder)``: the subset folders when every top-level entry is one, else the root."""
    try:
        entries = [e for e in sorted(source.iterdir()) if not e.name.startswith(".")]
    except OSError as exc:
        raise FormatError(f"cannot list: {exc.strerror}", file=source) from None
    dirs = [e for e in entries if e.is_dir()]
    names = {d.name.lower() for d in dirs}
    known = names & set(SUBSET_DIRS)
    if dirs and known and not any(e.is_file() for e in entries) and names <= {*SUBSET_DIRS, "default"}:
        return [(d.name, d) for d in dirs]
    return [(None, source)]


def _images_below(folder: Path, skipped: list[str]) -> Iterator[str]:
    for dirpath, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            rel = Path(dirpath, name).relative_to(folder).as_posix()
            if not name.lower().endswith(IMAGE_SUFFIXES):
                skipped.append(rel)
                continue
            try:
                safe_join(folder, rel)
            except UnsafeInputError:
                skipped.append(rel)  # a link leading out of the dataset is never followed
                continue
            yield rel


def _folder_label(rel: str) -> str | None:
    folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
    return None if folder in ("", NO_LABEL) else folder


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: ImagenetWriteOptions = options.format_options or ImagenetWriteOptions()
    variant = opts.variant
    if variant == "auto":
        variant = "folders" if options.save_media != "none" else "txt"
    if variant == "folders" and options.save_media == "none":
        raise OptionsError("the ImageNet class-folder layout holds only images: pass save_media (copy, hardlink or symlink)")
    if variant == "folders":
        _write_folders(dataset, target, options, report)
    else:
        _write_lists(dataset, target, options, report)
    _report_parents(dataset, report)  # after the items: a new pass over them restarts the report
    return True


def _report_parents(dataset: Dataset, report: Report) -> None:
    lost = sum(1 for lb in dataset.labels if lb.parent is not None and lb.parent != _parent(lb.name))
    if lost:
        report.loss("label parents", "dropped (ImageNet keeps a parent only as the leading folder of a class name)", lost)


def _image_name(item: Item) -> str:
    """The item id with its image extension (the media's own, else .jpg)."""
    media = item.media
    src = getattr(media, "name", None) or getattr(media, "path", None) or ""
    ext = PurePosixPath(str(src).replace("\\", "/")).suffix
    if ext.lower() not in IMAGE_SUFFIXES:
        ext = ".jpg"
    if PurePosixPath(item.id).suffix.lower() in IMAGE_SUFFIXES and item.id.lower().endswith(ext.lower()):
        return item.id
    return item.id + ext


def _tags(item: Item) -> list[str]:
    out: list[str] = []
    for ann in item.annotations:
        if ann.type == "label" and ann.label is not None and ann.label not in out:
            out.append(ann.label)
    return out


class _Indexer:
    """Class indices: the labels' own ids when they number 0..n-1, else dataset order; labels
    met only in items are appended."""

    def __init__(self, labels: LabelSet):
        ordered = list(labels)
        ids = [lb.id for lb in ordered]
        if ordered and all(isinstance(i, int) for i in ids) and sorted(ids) == list(range(len(ids))):  # type: ignore[type-var]
            ordered.sort(key=lambda lb: lb.id)  # type: ignore[arg-type,return-value]
        self.labels = ordered
        self.index = {lb.name: i for i, lb in enumerate(ordered)}

    def __call__(self, name: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.labels)
            self.labels.append(Label(name=name))
        return self.index[name]


def _write_lists(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> None:
    target.mkdir(parents=True, exist_ok=True)
    indexer = _Indexer(dataset.labels)
    files: dict[str, IO[str]] = {}
    quotes = 0
    try:
        for item in dataset:
            subset = item.subset or "default"
            fh = files.get(subset)
            if fh is None:
                fh = files[subset] = open(target / f"{_safe_file_name(subset)}.txt", "w", encoding="utf-8")
            name = _image_name(item)
            if '"' in name:
                quotes += 1
                name = name.replace('"', "_")
            ids = [indexer(label) for label in _tags(item)]
            fh.write(" ".join([_quote(name), *map(str, ids)]) + "\n")
            if options.save_media != "none":
                export_media(item, target / IMAGES_DIR, options.save_media, report, name=name)
    finally:
        for fh in files.values():
            fh.close()
    if quotes:
        report.loss("double quotes in image names", "replaced by _", quotes)
    with open(target / LABELS_FILE, "w", encoding="utf-8") as fh:
        fh.writelines(f"{lb.name}\n" for lb in indexer.labels)
    described = [lb for lb in indexer.labels if lb.metadata.get("description")]
    if described:
        with open(target / WORDS_FILE, "w", encoding="utf-8") as fh:
            fh.writelines(f"{lb.name} {lb.metadata.get('description', '')}".rstrip() + "\n" for lb in indexer.labels)


def _quote(name: str) -> str:
    """Names with white space are quoted without their extension, as datumaro reads them."""
    if not any(c.isspace() for c in name):
        return name
    stem, ext = os.path.splitext(name)
    if any(c.isspace() for c in ext):
        stem, ext = name, ""
    return f'"{stem}"{ext}'


def _safe_file_name(subset: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]", "_", subset) or "default"


def _write_folders(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> None:
    target.mkdir(parents=True, exist_ok=True)
    named_subsets = False
    root_entries: set[str] = set()
    copies = 0
    for item in dataset:
        subset = item.subset if item.subset not in (None, "default") else None
        base = target / _safe_file_name(subset) if subset else target
        named_subsets |= subset is not None
        name = _image_name(item)
        labels = _tags(item) or [None]
        copies += len(labels) - 1
        for label in labels:
            folder = label if label is not None else NO_LABEL
            rel = name[len(folder) + 1 :] if name.startswith(folder + "/") else name
            if subset is None:
                root_entries.add(f"{folder}/{rel}".split("/", 1)[0])
            export_media(item, base / folder, options.save_media, report, name=rel)
    if copies:
        report.loss("additional image classes", "image copied into each class folder (read back as separate items)", copies)
    if named_subsets and root_entries:
        # items without a subset beside subset folders: keep them apart as the "default" subset
        default = target / "default"
        default.mkdir(exist_ok=True)
        for entry in sorted(root_entries):
            if (target / entry).exists():
                shutil.move(str(target / entry), str(default / entry))


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Repeated class names, images listed twice, listed images not found, files that are not images."""
    problems: list[Problem] = []
    if source.is_file():
        root, files = source.parent, [source]
    else:
        root, files = source, _list_files(source)
    if not files:
        skipped: list[str] = []
        for _, folder in _parts(source):
            for _ in _images_below(folder, skipped):
                pass
        problems += [Problem(severity="warning", message="not an image: ignored", file=str(source / rel)) for rel in skipped[:50]]
        return problems
    labels_file = root / LABELS_FILE
    if labels_file.is_file():
        first: dict[str, int] = {}
        for n, line in read_lines(labels_file):
            name = line.strip()
            if not name:
                problems.append(
                    Problem(
                        severity="warning",
                        message="empty class row: later indices still count it",
                        file=str(labels_file),
                        location=f"line {n}",
                    )
                )
            elif name in first:
                problems.append(
                    Problem(
                        message=f"class {name!r} repeats line {first[name]}: its indices cannot be told apart",
                        file=str(labels_file),
                        location=f"line {n}",
                    )
                )
            first.setdefault(name, n)
    indexes: dict[Path, MediaIndex] = {}
    for path in files:
        roots = media_roots(root / IMAGES_DIR, root / path.stem, root)
        seen: dict[str, int] = {}
        for n, name, _ids, _quoted in _rows(path):
            if name in seen:
                problems.append(
                    Problem(
                        severity="warning",
                        message=f"image {name!r} is listed again (first at line {seen[name]})",
                        file=str(path),
                        location=f"line {n}",
                    )
                )
            seen.setdefault(name, n)
            if roots and _find(roots, indexes, name) is None:
                problems.append(
                    Problem(severity="warning", message=f"image {name!r} not found", file=str(path), location=f"line {n}")
                )
    return problems
