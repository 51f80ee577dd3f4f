"""The hooks a format plugin implements. This module is their reference documentation.

A plugin is a module (or object) registered under the entry-point group
``labelport.formats``; the entry point's name is the format id. The core calls
hooks with keyword arguments only, so later arguments never break old plugins:
an implementation may accept just the arguments it needs.

``read``, ``write`` and ``validate`` are routed to the single plugin of the
chosen format, so an implementation never checks which format was asked for.
"""

from __future__ import annotations

from pathlib import Path

import pluggy

from labelport.plugin import Detection, FormatInfo, Probe, Problem, ReadOptions, Report, WriteOptions
from labelport.schema import Dataset

hookspec = pluggy.HookspecMarker("labelport")


@hookspec
def labelport_format_info() -> FormatInfo:
    """Describe the format this plugin provides: id, title, extensions and capabilities.

    Called once per plugin when the registry loads. ``FormatInfo.name`` must equal the
    entry-point name. Results of all plugins are collected.
    """


@hookspec
def labelport_detect(probe: Probe) -> Detection | None:
    """Say how confident this plugin is that ``probe.path`` holds its format.

    Every plugin is asked; return None when the input is not yours. Look at content
    first (top-level JSON keys, XML root, magic bytes, layout) and the extension
    second. Use the :class:`~labelport.plugin.Probe`'s cached readers rather than
    opening files yourself. The core ranks all answers; a tie at the top raises
    :class:`~labelport.errors.AmbiguousFormatError` naming the candidates.
    """


@hookspec(firstresult=True)
def labelport_read(source: Path, options: ReadOptions) -> Dataset | None:
    """Read ``source`` (a file or a folder; archives are already extracted) into a Dataset.

    Routed to this format's plugin only. Items may be produced lazily (pass a
    callable to :class:`~labelport.schema.Dataset`). Raise
    :class:`~labelport.errors.FormatError` with the file and location for bad input,
    never a bare ``KeyError``/``ValueError``. Plugin-specific options arrive validated
    in ``options.format_options``.
    """


@hookspec(firstresult=True)
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool | None:
    """Write ``dataset`` to ``target`` and return True.

    Routed to this format's plugin only. ``target`` is a fresh folder (or, for a
    ``single_file`` format asked to write a file, a fresh file path) that the core
    moves into place when the hook returns, so a failure leaves nothing behind.
    The dataset's annotations have already been reduced to the kinds in
    ``FormatInfo.annotation_types``; call ``report.loss(...)`` for anything else the
    format cannot keep. Consume ``dataset`` as an iterator: it may be streamed.
    """


@hookspec(firstresult=True)
def labelport_fallbacks(options: WriteOptions) -> dict[str, tuple[str, ...]] | None:
    """Optional: the conversions this format prefers for kinds it cannot hold, given the write
    options, best first (e.g. ``{"polygon": ("bbox",)}``), replacing ``FormatInfo.fallbacks``.

    Routed to this format's plugin only; return None to keep the declared ones. Use it when
    the right conversion depends on an option (VOC paints polygons into masks only when
    asked to write segmentation).
    """


@hookspec(firstresult=True)
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem] | None:
    """Return format-specific problems in ``source``, each with file, location and severity.

    Optional: the core always reports read errors and checks the read dataset
    (non-finite numbers, negative sizes, boxes outside the image, degenerate
    polygons, undeclared labels); this hook adds what only the format knows
    (a class id out of range, a wrong column count).
    """
