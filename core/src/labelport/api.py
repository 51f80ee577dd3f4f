"""The public Python API: what host applications call."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from labelport.conversion import fit_items
from labelport.errors import FormatError, LabelportError, OptionsError
from labelport.io.archive import ExtractedArchive, is_archive, write_zip
from labelport.io.atomic import atomic_output
from labelport.plugin import Detection, FormatInfo, Probe, Problem, ReadOptions, Report, WriteOptions
from labelport.registry import Registry, default_registry
from labelport.schema import Dataset
from labelport.validation import check_dataset


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
        fmt_opts = plugin(**{k: v for k, v in options.items() if k in plugin_fields}) if plugin else None
        return core(**{k: v for k, v in options.items() if k in core_fields}, format_options=fmt_opts)
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
    dataset = reg.hook("labelport_read", fmt)(source=root, options=opts)
    if dataset is None:
        raise LabelportError(f"the {fmt} plugin returned no dataset", file=path)
    dataset.format = fmt
    dataset._resources.extend(keep)
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
    **options: Any,
) -> Report:
    """Write ``dataset`` as ``format`` to ``path`` (a folder, a file for single-file formats,
    or a ``.zip``, encrypted with ``password``) atomically; returns the conversion report.

    ``strict=True`` refuses a lossy conversion (nothing is written).
    """
    reg = _reg(registry)
    info = reg.info(format)
    if not info.can_write:
        raise OptionsError(f"format {format!r} cannot be written")
    opts = _build(WriteOptions, info.write_options, options, "write")
    path = Path(path)
    if password and path.suffix.lower() != ".zip":
        raise OptionsError("password protection needs a .zip target")
    report = Report(format, path, strict=strict)
    fitted = dataset.with_items(lambda: fit_items(dataset, info, report))
    write = reg.hook("labelport_write", format)
    with atomic_output(path, overwrite=overwrite) as staging:
        if path.suffix.lower() == ".zip":
            work = staging.parent / "content"
            work.mkdir()
            write(dataset=fitted, target=work, options=opts, report=report)
            write_zip(work, staging, password=password, top=opts.name)
        else:
            write(dataset=fitted, target=staging, options=opts, report=report)
    return report


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
        write_opts = {k: v for k, v in options.items() if k not in read_names or k == "password"}
        if "password" in write_opts and not str(dst).lower().endswith(".zip"):
            write_opts.pop("password")
        dataset = load(root, source_format, registry=reg, **read_opts)
        return save(dataset, dst, to, registry=reg, **write_opts)
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
    }
