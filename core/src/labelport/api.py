"""The public Python API: what host applications call."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError, field_validator

from labelport.conversion import fit_items
from labelport.errors import FormatError, LabelportError, OptionsError
from labelport.io.archive import ExtractedArchive, is_archive, write_zip
from labelport.io.atomic import atomic_output
from labelport.io.media import MediaIndex, export_media, frame_number
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions
from labelport.registry import Registry, default_registry
from labelport.schema import Dataset
from labelport.validation import check_dataset


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a reader or writer runs: they allocate millions
    of small objects that hold no reference cycles, and the collector re-scanning the growing
    heap cost a third of a conversion's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _reg(registry: Registry | None) -> Registry:
    return registry if registry is not None else default_registry()


def formats(*, registry: Registry | None = None) -> list[FormatInfo]:
    """The installed formats, sorted by id."""
    return _reg(registry).formats()


def _open(path: str | Path, password: str | None) -> tuple[Path, list[Any]]:
    path = Path(path)
    if not path.exists():
        raise FormatError("no such file or folder", file=path)
    if is_archive(path):
        extracted = ExtractedArchive(path, password=password)
        return extracted.dataset_root(), [extracted]
    return path, []


def detect(path: str | Path, *, password: str | None = None, registry: Registry | None = None) -> list[Detection]:
    """Every installed format's confidence that ``path`` is in it, best first."""
    root, keep = _open(path, password)
    try:
        return _reg(registry).detect(Probe(root))
    finally:
        for r in keep:
            r.cleanup()


def _build(core: type[BaseModel], plugin: type[BaseModel] | None, options: dict[str, Any], what: str) -> Any:
    core_fields = set(core.model_fields) - {"format_options"}
    plugin_fields = set(plugin.model_fields) if plugin else set()
    unknown = set(options) - core_fields - plugin_fields
    if unknown:
        accepted = ", ".join(sorted(core_fields | plugin_fields))
        raise OptionsError(f"unknown {what} option(s) {', '.join(sorted(unknown))}; accepted: {accepted}")
    try:
        core_opts = {k: v for k, v in options.items() if k in core_fields}
        if "format_options" in core.model_fields:
            core_opts["format_options"] = plugin(**{k: v for k, v in options.items() if k in plugin_fields}) if plugin else None
        return core(**core_opts)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise OptionsError(f"invalid {what} option {loc}: {err['msg']}") from None


def load(path: str | Path, format: str | None = None, *, registry: Registry | None = None, **options: Any) -> Dataset:
    """Read a dataset (file, folder or archive). Without ``format`` it is detected.

    Options: ``images`` (folder of media), ``password`` (encrypted zip), and the
    format's own read options (see ``FormatInfo.read_options``).
    """
    reg = _reg(registry)
    root, keep = _open(path, options.get("password"))
    fmt = format or reg.choose(Probe(root))
    info = reg.info(fmt)
    if not info.can_read:
        raise OptionsError(f"format {fmt!r} cannot be read")
    opts = _build(ReadOptions, info.read_options, options, "read")
    with _no_cycle_collection():
        dataset = reg.hook("labelport_read", fmt)(source=root, options=opts)
    if dataset is None:
        raise LabelportError(f"the {fmt} plugin returned no dataset", file=path)
    dataset.format = fmt
    dataset._resources.extend(keep)
    if opts.images is not None:
        dataset = _match_media(dataset, opts)
    return dataset


def _match_media(dataset: Dataset, opts: ReadOptions) -> Dataset:
    """Point items at images in ``opts.images`` by file name (with or without extension,
    sub-folders allowed) or frame number; list the items whose image is missing."""
    if not Path(opts.images).is_dir():
        raise OptionsError(f"images folder {opts.images} does not exist")
    index = MediaIndex(opts.images)
    missing: list[str] = dataset.missing_media

    def items():
        missing.clear()
        for item in dataset:
            media = item.media
            current = getattr(media, "path", None)
            if current and Path(current).is_file():
                yield item
                continue
            name = getattr(media, "name", None)
            frame = getattr(media, "frame", None)
            if frame is None:
                frame = frame_number(name or item.id, strict=True)
            found = index.find(name, frame=frame) or index.find(item.id)
            if found is None:
                missing.append(name or item.id)
                if opts.keep_missing_media:
                    yield item
                continue
            if media is None:
                from labelport.schema import Image

                media = Image(name=found.name)
            yield item.model_copy(update={"media": media.model_copy(update={"path": str(found)})})

    out = dataset.with_items(items)
    out.missing_media = missing
    return out


class ExportOptions(OptionsBase):
    """What the core does before and around a writer: filters, shuffle, split, media, layout."""

    shuffle: bool = False
    seed: int = 0
    split: str | float | dict[str, float] | None = None
    stratify: bool = False
    filters: list[str] = []
    export: Literal["annotations", "media", "both"] | None = None
    layout: Literal["default", "datasets"] = "default"

    @field_validator("filters", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


def prepare(dataset: Dataset, export: ExportOptions) -> Dataset:
    """Apply filters, split and shuffle (in that order) as an export asks."""
    from labelport import ops

    if export.filters:
        dataset = ops.filter_dataset(dataset, export.filters)
    if export.split is not None:
        dataset = ops.split(dataset, export.split, seed=export.seed, stratify=export.stratify)
    if export.shuffle:
        dataset = ops.shuffle(dataset, seed=export.seed)
    return dataset


def save(
    dataset: Dataset,
    path: str | Path,
    format: str,
    *,
    overwrite: bool = False,
    strict: bool = False,
    password: str | None = None,
    registry: Registry | None = None,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> Report:
    """Write ``dataset`` as ``format`` to ``path`` (a folder, a file for single-file formats,
    or a ``.zip``, AES-256 encrypted with ``password``) atomically; returns the conversion report.

    ``strict=True`` refuses a lossy conversion (nothing is written). Export options:
    ``filters`` (list of expressions, see :class:`labelport.ops.Filter`), ``split``
    (``"train=0.7,val=0.2,test=0.1"`` or a test ratio), ``stratify``, ``shuffle``, ``seed``,
    ``export`` (annotations, media or both), ``save_media`` (none, copy, hardlink, symlink),
    ``layout`` ("datasets": ``datasets/<name>/`` media beside ``annotations/<name>/``),
    ``name``, ``normalized``, and the format's own write options. ``progress`` is called
    with the number of items written so far.
    """
    reg = _reg(registry)
    info = reg.info(format)
    if not info.can_write:
        raise OptionsError(f"format {format!r} cannot be written")
    export_fields = set(ExportOptions.model_fields)
    export = _build(ExportOptions, None, {k: v for k, v in options.items() if k in export_fields}, "export")
    opts = _build(WriteOptions, info.write_options, {k: v for k, v in options.items() if k not in export_fields}, "write")
    if export.export in ("media", "both") and opts.save_media == "none":
        opts = opts.model_copy(update={"save_media": "copy"})
    if export.export == "annotations":
        opts = opts.model_copy(update={"save_media": "none"})
    path = Path(path)
    if password and path.suffix.lower() != ".zip":
        raise OptionsError("password protection needs a .zip target")
    dataset = prepare(dataset, export)
    preferred = reg.hook("labelport_fallbacks", format)(options=opts)
    if preferred is not None:
        info = info.model_copy(update={"fallbacks": preferred})
    report = Report(format, path, strict=strict)

    def fitted_items():
        for n, item in enumerate(fit_items(dataset, info, report), 1):
            yield item
            if progress is not None:
                progress(n)

    fitted = dataset.with_items(fitted_items)
    write = reg.hook("labelport_write", format)
    name = opts.name or path.stem

    def write_into(folder: Path) -> None:
        if export.export == "media":
            _write_media_only(dataset, folder, opts.save_media, report)
        elif export.layout == "datasets":
            ann_dir = folder / "annotations" / name
            ann_dir.parent.mkdir(parents=True)
            write(dataset=fitted, target=ann_dir, options=opts.model_copy(update={"save_media": "none"}), report=report)
            if opts.save_media != "none":
                _write_media_only(dataset, folder / "datasets" / name, opts.save_media, report, count=False)
        else:
            write(dataset=fitted, target=folder, options=opts, report=report)

    with atomic_output(path, overwrite=overwrite) as staging, _no_cycle_collection():
        if path.suffix.lower() == ".zip":
            work = staging.parent / "content"
            work.mkdir()
            write_into(work / "x")
            write_zip(work / "x", staging, password=password, top=opts.name)
        else:
            write_into(staging)
    return report


def _write_media_only(dataset: Dataset, folder: Path, mode: str, report: Report, count: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for item in dataset:
        sub = folder / (item.subset or "default")
        export_media(item, sub, mode, report)
        if count:
            report.items += 1


def convert(
    src: str | Path,
    dst: str | Path,
    to: str,
    from_: str | None = None,
    *,
    registry: Registry | None = None,
    **options: Any,
) -> Report:
    """Read ``src`` (detected unless ``from_``) and write it as ``to`` at ``dst``; returns the report.

    Options are routed to the reader or the writer by name.
    """
    reg = _reg(registry)
    root, keep = _open(src, options.get("password"))
    try:
        source_format = from_ or reg.choose(Probe(root))
        read_info = reg.info(source_format)
        read_names = set(ReadOptions.model_fields) | set(read_info.read_options.model_fields if read_info.read_options else ())
        read_opts = {k: v for k, v in options.items() if k in read_names}
        write_opts = {k: v for k, v in options.items() if k not in read_names or k in ("password", "workers")}
        if "password" in write_opts and not str(dst).lower().endswith(".zip"):
            write_opts.pop("password")
        dataset = load(root, source_format, registry=reg, **read_opts)
        report = save(dataset, dst, to, registry=reg, **write_opts)
        for name in dataset.missing_media:
            if name not in report.missing_media:
                report.missing_media.append(name)
        report.notes[:0] = [f"read: {n}" for n in dataset.notes]
        return report
    finally:
        for r in keep:
            r.cleanup()


def validate(path: str | Path, format: str | None = None, *, registry: Registry | None = None, **options: Any) -> list[Problem]:
    """Problems found in ``path``: read errors, the format's own checks and the generic checks."""
    reg = _reg(registry)
    problems: list[Problem] = []
    try:
        dataset = load(path, format, registry=reg, **options)
        info = reg.info(dataset.format or "")
        opts = _build(ReadOptions, info.read_options, options, "read")
        root = dataset._resources[0].dataset_root() if dataset._resources else Path(path)
        problems += reg.hook("labelport_validate", dataset.format)(source=root, options=opts) or []
        problems += check_dataset(dataset, file=str(path))
    except LabelportError as exc:
        problems.append(Problem(message=exc.message, file=exc.file or str(path), location=exc.location))
    return problems


def stats(dataset: Dataset) -> dict[str, Any]:
    """Items, subsets, and annotation counts per label and per kind."""
    items = 0
    subsets: Counter[str] = Counter()
    by_label: Counter[str] = Counter()
    by_type: Counter[str] = Counter()
    for item in dataset:
        items += 1
        subsets[item.subset or "default"] += 1
        for ann in item.annotations:
            by_type[ann.type] += 1
            by_label[ann.label or "(none)"] += 1
    return {
        "format": dataset.format,
        "items": items,
        "subsets": dict(subsets),
        "labels": len(dataset.labels),
        "annotations": sum(by_type.values()),
        "by_type": dict(sorted(by_type.items())),
        "by_label": dict(by_label.most_common()),
        "notes": list(dataset.notes),
    }


def merge(datasets: list[Dataset], *, update: bool = False) -> Dataset:
    """Several datasets as one (see :func:`labelport.ops.merge`)."""
    from labelport import ops

    return ops.merge(datasets, update=update)


def remap(dataset: Dataset, mapping: dict[str, str | None], *, default: str = "keep") -> Dataset:
    """Rename, merge or delete labels (see :func:`labelport.ops.remap`)."""
    from labelport import ops

    return ops.remap(dataset, mapping, default=default)


def filter(dataset: Dataset, *filters: str) -> Dataset:  # noqa: A001 - the operation's name
    """Items and annotations matching every filter expression (see :class:`labelport.ops.Filter`)."""
    from labelport import ops

    return ops.filter_dataset(dataset, filters)


def split(dataset: Dataset, ratios: str | float | dict[str, float], *, seed: int = 0, stratify: bool = False) -> Dataset:
    """Reassign subsets by ratios (see :func:`labelport.ops.split`)."""
    from labelport import ops

    return ops.split(dataset, ratios, seed=seed, stratify=stratify)
