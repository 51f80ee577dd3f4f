"""NAME: one line on what the format is, and a link to its owner's specification."""

from __future__ import annotations

from pathlib import Path

from labelport.plugin import Detection, FormatInfo, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import Dataset

INFO = FormatInfo(
    name="NAME",
    title="NAME",
    extensions=(),
    annotation_types=frozenset({"bbox"}),  # every kind the format can hold
    features=frozenset(),  # see labelport.plugin.FEATURES
)


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """Content first (keys, root element, header, layout), extension second; None if not yours."""
    return None


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    """Build items with canonical coordinates; raise FormatError(message, file=, location=)."""
    raise NotImplementedError("read NAME")


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    """Write below target only; call report.loss(what, action) for what the format cannot keep."""
    raise NotImplementedError("write NAME")


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Problems only this format can find, each with file and location."""
    return []
