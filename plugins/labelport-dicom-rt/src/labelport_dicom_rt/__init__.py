"""DICOM RT Structure Sets (RTSTRUCT) read onto, and written from, the image series they reference.

Specification: DICOM PS3.3 A.19 (RT Structure Set IOD) with its Structure Set (C.8.8.5), ROI
Contour (C.8.8.6) and RT ROI Observations (C.8.8.8) modules, and the Image Plane module
(C.7.6.2) for placing contours; files are parsed and written with pydicom.

Layouts read: one structure set file (the image series is looked for beside it), or a folder
holding structure sets and image series (searched recursively). The series a structure set
belongs to is the one holding the SOP instances its contours reference, else its referenced
series, else the one series of its study; the ``series`` option names another folder. Each
structure set is an item with volume media on the series grid; each ROI is a volume mask named
after its ROI Name, with ROI Number as annotation id and ROI Display Color as label colour.

Contour types: POINT (the nearest voxel), OPEN_PLANAR (the voxels along the line),
CLOSED_PLANAR and CLOSEDPLANAR_XOR (filled by the even-odd rule: nested contours are holes);
OPEN_NONPLANAR is refused. When no series is found the grid comes from the one labelport
stored in the file (private block ``LABELPORT GRID``), else from the contours themselves.

Writing traces every slice of every mask into closed contours (holes kept as inner contours,
combined by XOR) in patient coordinates, references the series images when the series is
known (``series`` option or the one the item was read with) and takes the patient and study
from it; otherwise it references no images and keeps the grid in the private block.
"""

from __future__ import annotations

import datetime
import functools
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from labelport.errors import FormatError, LabelportError
from labelport.geometry.masks import mask_to_polygons, polygons_to_rle, rle_decode
from labelport.io.media import place_media, safe_join
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
from labelport.schema import Dataset, Item, Label, LabelSet, Volume, VolumeMask

from labelport_dicom_rt._geometry import (
    DICOM_ERRORS,
    Grid,
    check_size,
    dicom_files,
    grid_from_affine,
    grid_from_metadata,
    read_header,
    read_slice,
    series_grids,
)


class DicomRtReadOptions(OptionsBase):
    """DICOM-RT reader options."""

    #: folder holding the referenced image series (default: searched beside the structure set)
    series: Path | None = None
    #: voxel size (mm) of the grid built from the contours when no image series is found
    spacing: float = 1.0
    #: refuse grids with more voxels than this (each ROI becomes a full-size mask)
    max_voxels: int = 2**31


class DicomRtWriteOptions(OptionsBase):
    """DICOM-RT writer options."""

    #: folder holding the image series to reference (default: the series each item was read with)
    series: Path | None = None
    #: Structure Set Label (at most 16 characters; default: kept from the source, else "labelport")
    structure_set_label: str | None = None
    #: simplify traced contours by this many voxels (Douglas-Peucker); 0 (the default) only drops
    #: the vertices inside straight runs, which leaves every filled voxel unchanged
    contour_tolerance: float = 0.0
    #: UID root for the generated UIDs (default: pydicom's)
    uid_prefix: str | None = None


INFO = FormatInfo(
    name="dicom_rt",
    title="DICOM RT Structure Set",
    description="RTSTRUCT contours rasterised on their image series; written back as planar contours.",
    extensions=(".dcm",),
    annotation_types=frozenset({"volume_mask"}),
    features=frozenset({"annotation_ids", "label_colors"}),
    media=frozenset({"volume"}),
    read_options=DicomRtReadOptions,
    write_options=DicomRtWriteOptions,
    docs_url="https://dicom.nema.org/medical/dicom/current/output/chtml/part03/sect_A.19.html",
)

RTSTRUCT_UID = "1.2.840.10008.5.1.4.1.1.481.3"
#: the SOP class conventionally named in RT Referenced Study Sequence items
_STUDY_REF_UID = "1.2.840.10008.3.1.2.3.1"
_CLOSED = ("CLOSED_PLANAR", "CLOSEDPLANAR_XOR")
_TYPES = ("POINT", "OPEN_PLANAR", "OPEN_NONPLANAR", *_CLOSED)
_CONTOUR_DATA = 0x30060050
_SUFFIXES = ("", ".dcm", ".dicom", ".ima")
#: private block keeping the voxel grid, so that a structure set read without its series lands on the same grid
_PRIVATE_GROUP, _PRIVATE_CREATOR = 0x0071, "LABELPORT GRID"
#: a grid built from contours alone stays below this many voxels
_DERIVED_LIMIT = 2**27
_PATIENT_STUDY = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "StudyDescription",
)
#: type 1 attributes of the RT Structure Set IOD (PS3.3 A.19.3) and type 2 ones (present, may be empty)
_REQUIRED_SEQUENCES = ("StructureSetROISequence", "ROIContourSequence", "RTROIObservationsSequence")
_TYPE1 = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "Modality", "StructureSetLabel")
_TYPE2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "SeriesNumber",
    "Manufacturer",
    "StructureSetDate",
    "StructureSetTime",
)
#: what is kept in metadata: (keyword, key) of the structure set, each ROI and its observation
_FILE_META = (
    ("SOPInstanceUID", "sop_instance_uid"),
    ("SeriesInstanceUID", "series_uid"),
    ("StructureSetLabel", "structure_set_label"),
    ("StructureSetName", "structure_set_name"),
    ("StructureSetDescription", "structure_set_description"),
    ("SeriesDescription", "series_description"),
)
_ROI_META = (
    ("ROIGenerationAlgorithm", "generation_algorithm"),
    ("ROIDescription", "description"),
    ("ReferencedFrameOfReferenceUID", "frame_of_reference_uid"),
)
_OBSERVATION_META = (("RTROIInterpretedType", "interpreted_type"), ("ROIObservationLabel", "observation_label"))
_PARSE_ERRORS = DICOM_ERRORS


def _quiet(func: Any) -> Any:
    """Silence pydicom's warnings about odd values (it converts values lazily, on access): the
    checks here decide what is an error, and say where."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return func(*args, **kwargs)

    return wrapper


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    """The RT Structure Set SOP Class UID as the SOP Class of a DICOM header (with or without the preamble)."""
    if not probe.is_dir:
        if _is_rtstruct(probe.head(None, 4096)):
            return Detection(format="dicom_rt", confidence=0.95, reason="RT Structure Set SOP class")
        return None
    candidates = [f for f in probe.files() if Path(f).suffix.lower() in _SUFFIXES]
    for rel in candidates[:5000]:
        if _is_rtstruct(probe.head(rel, 4096)):
            return Detection(format="dicom_rt", confidence=0.95, reason=f"RT Structure Set {rel}")
    return None


def _is_rtstruct(head: bytes) -> bool:
    """Whether the Media Storage SOP Class UID or the SOP Class UID is RT Structure Set Storage
    (an RT Plan or Dose names that class too, inside a reference: only these two elements count)."""
    if head[128:132] != b"DICM" and head[:2] not in (b"\x02\x00", b"\x08\x00"):
        return False  # neither the preamble nor a file starting with group 0002 or 0008
    for tag in (b"\x02\x00\x02\x00", b"\x08\x00\x16\x00"):
        at = head.find(tag)
        if at < 0:
            continue
        rest = head[at + 4 :]
        if rest[:2] == b"UI":  # explicit VR: 2-byte length
            length, value = int.from_bytes(rest[2:4], "little"), rest[4:]
        else:  # implicit VR: 4-byte length
            length, value = int.from_bytes(rest[:4], "little"), rest[4:]
        if value[:length].rstrip(b"\x00 ") == RTSTRUCT_UID.encode():
            return True
    return False


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    opts: DicomRtReadOptions = options.format_options or DicomRtReadOptions()
    root, paths, others = _scan(source, opts)
    labels = LabelSet()
    for path in paths:  # ROI names up front, so that the labels are known before any item
        for roi in _parse(path, _read_structure_set(path)).rois:
            if roi.name not in labels:
                labels.add(Label(name=roi.name, id=roi.number, color=roi.color))
    grids: list[Grid] | None = None

    def items() -> Iterator[Item]:
        nonlocal grids
        if grids is None:  # image headers are read once, on the first pass
            grids = _series(others)
        for path in paths:
            yield _item(_parse(path, _read_structure_set(path)), root, grids, opts, labels)

    return Dataset(items, labels=labels)


def _scan(source: Path, opts: DicomRtReadOptions) -> tuple[Path, list[Path], list[Path]]:
    """The dataset root, its structure sets and the other DICOM files (where series are looked for)."""
    if source.is_file():
        _read_structure_set(source)
        root, found = source.parent, [source]
        others = [p for p in dicom_files(source.parent, recursive=False) if p != source]
    else:
        root, found, others = source, [], []
        for path in dicom_files(source, recursive=True):
            (found if _is_rtstruct(_head(path)) else others).append(path)
        if not found:
            raise FormatError("no DICOM RT Structure Set found", file=source)
    if opts.series is not None:
        series = Path(opts.series)
        if not series.exists():
            raise FormatError("the series folder does not exist", file=series)
        others += dicom_files(series, recursive=True) if series.is_dir() else [series]
    return root, found, others


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(4096)
    except OSError:
        return b""


@_quiet
def _read_structure_set(path: Path) -> Any:
    ds = read_header(path)
    if ds is None or not _is_rtstruct_ds(ds):
        raise FormatError("not a readable DICOM RT Structure Set", file=path)
    return ds


def _is_rtstruct_ds(ds: Any) -> bool:
    try:
        return str(ds.get("SOPClassUID") or "") == RTSTRUCT_UID or str(ds.get("Modality") or "") == "RTSTRUCT"
    except _PARSE_ERRORS:
        return False


@_quiet
def _series(paths: list[Path], problems: list[Problem] | None = None) -> list[Grid]:
    """The image series among ``paths``; images that cannot be placed are reported to ``problems``."""
    slices = []
    for path in paths:
        ds = read_header(path)
        if ds is None or _is_rtstruct_ds(ds):
            continue
        s = read_slice(path, ds)
        if isinstance(s, str):
            if problems is not None:
                problems.append(Problem(severity="warning", file=str(path), message=f"image ignored: {s}"))
        elif s is not None:
            slices.append(s)
    return series_grids(slices)


@dataclass
class _Contour:
    index: int
    type: str
    points: np.ndarray  # (n, 3) patient coordinates, mm
    image_uid: str | None
    declared_points: int | None


@dataclass
class _Roi:
    number: int
    name: str
    where: str  # location of its Structure Set ROI Sequence item
    contour_where: str | None = None
    color: tuple[int, int, int] | None = None
    contours: list[_Contour] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class _StructureSet:
    path: Path
    rois: list[_Roi]
    referenced_sops: set[str]
    referenced_series: set[str]
    study_uid: str | None
    frame_of_reference_uid: str | None
    stored_grid: Grid | None
    meta: dict[str, Any]


@_quiet
def _parse(path: Path, ds: Any) -> _StructureSet:
    """Everything of a structure set except the voxels, with file and location on every error."""
    for keyword in _REQUIRED_SEQUENCES[:2]:
        if keyword not in ds:
            raise FormatError(
                f"{keyword} is missing: the file is truncated or not a complete RT Structure Set",
                file=path,
                location=keyword,
            )
    rois = _parse_rois(ds, path)
    referenced_sops: set[str] = set()
    for i, item in enumerate(_seq(ds, "ROIContourSequence", "", path)):
        _parse_roi_contours(item, f"ROIContourSequence[{i}]", path, rois, referenced_sops)
    referenced_series: set[str] = set()
    frame = None
    for i, fr in enumerate(_seq(ds, "ReferencedFrameOfReferenceSequence", "", path)):
        where = f"ReferencedFrameOfReferenceSequence[{i}]"
        frame = frame or _str(fr, "FrameOfReferenceUID", where, path) or None
        for j, study in enumerate(_seq(fr, "RTReferencedStudySequence", where, path)):
            sw = f"{where}.RTReferencedStudySequence[{j}]"
            for k, series in enumerate(_seq(study, "RTReferencedSeriesSequence", sw, path)):
                rw = f"{sw}.RTReferencedSeriesSequence[{k}]"
                if uid := _str(series, "SeriesInstanceUID", rw, path):
                    referenced_series.add(uid)
                for ref in _seq(series, "ContourImageSequence", rw, path):
                    if sop := _str(ref, "ReferencedSOPInstanceUID", f"{rw}.ContourImageSequence", path):
                        referenced_sops.add(sop)
    meta = _keep(ds, "", path, _FILE_META)
    meta["patient_study"] = patient = {k: v for k in _PATIENT_STUDY if (v := _str(ds, k, "", path))}
    return _StructureSet(
        path=path,
        rois=list(rois.values()),
        referenced_sops=referenced_sops,
        referenced_series=referenced_series,
        study_uid=patient.get("StudyInstanceUID"),
        frame_of_reference_uid=frame,
        stored_grid=_stored_grid(ds, referenced_series),
        meta=meta,
    )


def _parse_rois(ds: Any, path: Path) -> dict[int, _Roi]:
    """The Structure Set ROI Sequence by ROI Number, with each ROI's observation."""
    rois: dict[int, _Roi] = {}
    for i, item in enumerate(_seq(ds, "StructureSetROISequence", "", path)):
        where = f"StructureSetROISequence[{i}]"
        number = _int(item, "ROINumber", where, path)
        if number in rois:
            raise FormatError(f"ROI Number {number} is used twice", file=path, location=f"{where}.ROINumber")
        name = _str(item, "ROIName", where, path) or f"ROI {number}"
        meta = {"roi_number": number, **_keep(item, where, path, _ROI_META)}
        rois[number] = _Roi(number=number, name=name, where=where, meta=meta)
    for i, item in enumerate(_seq(ds, "RTROIObservationsSequence", "", path)):
        where = f"RTROIObservationsSequence[{i}]"
        roi = rois.get(_int(item, "ReferencedROINumber", where, path))
        if roi is not None:
            roi.meta.update(_keep(item, where, path, _OBSERVATION_META))
    return rois


def _parse_roi_contours(item: Any, where: str, path: Path, rois: dict[int, _Roi], referenced_sops: set[str]) -> None:
    """One ROI Contour Sequence item: display colour and contours."""
    number = _int(item, "ReferencedROINumber", where, path)
    roi = rois.get(number)
    if roi is None:
        raise FormatError(
            f"contours of ROI {number}, which the Structure Set ROI Sequence does not declare",
            file=path,
            location=f"{where}.ReferencedROINumber",
        )
    roi.contour_where = where
    color = _get(item, "ROIDisplayColor", where, path)
    if color not in (None, ""):
        try:
            values = color if hasattr(color, "__len__") and not isinstance(color, (str, bytes)) else [color]
            rgb = [int(c) for c in values]
        except _PARSE_ERRORS:
            rgb = []
        if len(rgb) != 3 or any(not 0 <= c <= 255 for c in rgb):
            raise FormatError(
                f"ROI Display Color {color!r} is not three values 0..255",
                file=path,
                location=f"{where}.ROIDisplayColor",
            )
        roi.color = (rgb[0], rgb[1], rgb[2])
        roi.meta["display_color"] = list(roi.color)
    for c, contour in enumerate(_seq(item, "ContourSequence", where, path)):
        cw = f"{where}.ContourSequence[{c}]"
        ctype = _str(contour, "ContourGeometricType", cw, path, required=True).upper()
        if ctype not in _TYPES:
            raise FormatError(
                f"unknown Contour Geometric Type {ctype!r}", file=path, location=f"{cw}.ContourGeometricType"
            )
        points = _contour_points(contour, cw, path)
        try:
            declared = int(_get(contour, "NumberOfContourPoints", cw, path))
        except (*_PARSE_ERRORS, FormatError):
            declared = None  # the points are in Contour Data; validate reports a bad count
        image_uid = None
        for ref in _seq(contour, "ContourImageSequence", cw, path):
            if image_uid := _str(ref, "ReferencedSOPInstanceUID", f"{cw}.ContourImageSequence", path) or None:
                referenced_sops.add(image_uid)
        roi.contours.append(_Contour(index=c, type=ctype, points=points, image_uid=image_uid, declared_points=declared))


def _keep(ds: Any, where: str, path: Path, names: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The non-empty values of ``(keyword, metadata key)`` pairs."""
    return {key: value for keyword, key in names if (value := _str(ds, keyword, where, path))}


def _get(ds: Any, keyword: str, where: str, path: Path) -> Any:
    try:
        return ds.get(keyword)
    except _PARSE_ERRORS as exc:
        raise FormatError(f"cannot read {keyword}: {exc}", file=path, location=_join(where, keyword)) from None


def _join(where: str, keyword: str) -> str:
    return f"{where}.{keyword}" if where else keyword


def _str(ds: Any, keyword: str, where: str, path: Path, *, required: bool = False) -> str:
    value = _get(ds, keyword, where, path)
    if value is None or value == "":
        if required:
            raise FormatError(f"{keyword} is missing", file=path, location=_join(where, keyword))
        return ""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("latin-1").strip("\x00 ")
    return str(value).strip()


def _int(ds: Any, keyword: str, where: str, path: Path) -> int:
    value = _get(ds, keyword, where, path)
    if value is None or value == "":
        raise FormatError(f"{keyword} is missing", file=path, location=_join(where, keyword))
    try:
        number = int(value)
    except _PARSE_ERRORS:
        raise FormatError(f"{keyword} {value!r} is not an integer", file=path, location=_join(where, keyword)) from None
    return number


def _seq(ds: Any, keyword: str, where: str, path: Path) -> list[Any]:
    value = _get(ds, keyword, where, path)
    if value is None or value == "":
        return []
    try:
        items = list(value)
    except TypeError:
        raise FormatError(f"{keyword} is not a sequence", file=path, location=_join(where, keyword)) from None
    for item in items:
        if not hasattr(item, "get"):
            raise FormatError(f"{keyword} is not a sequence", file=path, location=_join(where, keyword))
    return items


def _contour_points(contour: Any, where: str, path: Path) -> np.ndarray:
    location = f"{where}.ContourData"
    try:
        elem = contour.get_item(_CONTOUR_DATA)
        raw = elem.value if elem is not None else None
        if isinstance(raw, (bytes, bytearray)):
            # parse the backslash-separated text directly: large structure sets hold millions of values
            text = bytes(raw).strip(b" \x00")
            values = np.array(text.split(b"\\"), dtype=np.bytes_).astype(np.float64) if text else np.empty(0)
        elif raw is None:
            values = np.empty(0)
        else:
            value = contour.ContourData  # already converted by pydicom (a value was assigned in memory)
            values = np.asarray(value if hasattr(value, "__len__") else [value], dtype=np.float64).ravel()
    except _PARSE_ERRORS as exc:
        raise FormatError(f"Contour Data is not a list of numbers ({exc})", file=path, location=location) from None
    if values.size == 0 or values.size % 3:
        raise FormatError(f"Contour Data holds {values.size} values, not x/y/z triplets", file=path, location=location)
    if not np.isfinite(values).all():
        raise FormatError("Contour Data holds a value that is not finite", file=path, location=location)
    return values.reshape(-1, 3)


def _stored_grid(ds: Any, series: set[str]) -> Grid | None:
    """The grid labelport keeps in its private block, if present and sound."""
    try:
        block = ds.private_block(_PRIVATE_GROUP, _PRIVATE_CREATOR)
        shape = [int(v) for v in _private(block, 0x01, "<u4")]
        steps = _private(block, 0x02, "<f8")
        origins = _private(block, 0x03, "<f8")
        thickness = float(_private(block, 0x04, "<f8")[0]) if 0x04 in block else None
    except _PARSE_ERRORS:
        return None
    if len(shape) != 3 or steps.shape != (6,) or origins.size != 3 * max(shape[2], 0) or not np.isfinite(steps).all():
        return None
    if not np.isfinite(origins).all() or any(n <= 0 for n in shape):
        return None
    try:
        grid = Grid(
            shape=(shape[0], shape[1], shape[2]),
            u=steps[:3],
            v=steps[3:],
            origins=origins.reshape(-1, 3),
            source="stored",
            thickness=thickness,
        )
    except FormatError:
        return None
    ordered = _referenced_image_order(ds)
    if len(ordered) == shape[2]:
        grid.sop_uids = ordered
    if len(series) == 1:
        grid.series_uid = next(iter(series))
    return grid


def _private(block: Any, offset: int, dtype: str) -> np.ndarray:
    """A private element's numbers: decoded by pydicom (explicit VR) or from the raw bytes (implicit
    VR, where a reader without our dictionary sees UN)."""
    value = block[offset].value
    if isinstance(value, (bytes, bytearray)):
        return np.frombuffer(bytes(value), dtype=dtype).astype(np.float64)
    return np.asarray(value if hasattr(value, "__len__") else [value], dtype=np.float64).ravel()


def _referenced_image_order(ds: Any) -> list[str]:
    """Referenced SOP instances of the first referenced series, in the order listed."""
    try:
        series = ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
        return [str(r.ReferencedSOPInstanceUID) for r in series.ContourImageSequence]
    except _PARSE_ERRORS:
        return []


@_quiet
def _item(ss: _StructureSet, root: Path, grids: list[Grid], opts: DicomRtReadOptions, labels: LabelSet) -> Item:
    path = ss.path
    rel = path.relative_to(root).as_posix() if root in path.parents else path.name
    item_id = rel[: -len(path.suffix)] if path.suffix.lower() in (".dcm", ".dicom") else rel
    notes: list[str] = []
    grid = _match(ss, grids, notes)
    if grid is None and ss.stored_grid is not None:
        grid = ss.stored_grid
    if grid is None:
        grid = _grid_from_contours(ss, opts)
        if grid is not None:
            notes.append("the referenced image series was not found: ROIs are placed on a grid spanning the contours")
    if grid is not None:
        check_size(grid.shape, opts.max_voxels, path, "image series")
    annotations = []
    for roi in ss.rois:
        if grid is None:
            notes.append(f"ROI {roi.number} {roi.name!r} has no contours and there is no image grid: skipped")
            continue
        mask = _rasterize(roi, grid, path, notes)
        meta = dict(roi.meta)
        types = {c.type for c in roi.contours}
        if types:
            meta["geometric_type"] = types.pop() if len(types) == 1 else "MIXED"
        ann = VolumeMask(id=roi.number, label=roi.name, data=mask, metadata={"dicom_rt": meta})
        if meta.get("geometric_type") == "OPEN_PLANAR":
            # an open line cannot be traced back from its voxels: keep it, for a write of the unchanged mask
            ann.metadata["dicom_rt"]["open_contours"] = [c.points.ravel().tolist() for c in roi.contours]
            ann.metadata["dicom_rt"]["mask_sha1"] = ann.geometry()["sha1"]
        labels.add(Label(name=roi.name, id=roi.number, color=roi.color))
        annotations.append(ann)
    media = None
    if grid is not None:
        folder = grid.folder if grid.source == "series" else None
        inside = folder is not None and (folder == root or root in folder.parents)
        media = Volume(
            name=folder.relative_to(root).as_posix() if inside else None,  # type: ignore[union-attr]
            path=str(folder) if folder is not None else None,
            shape=grid.shape,
            spacing=grid.spacing,
            affine=grid.ras_affine().tolist(),
            metadata={"dicom": grid.volume_metadata()},
        )
        notes.extend(grid.warnings)
    meta = {**ss.meta, "file": rel, "grid": grid.source if grid else None}
    if notes:
        meta["warnings"] = notes
    return Item(id=item_id, media=media, annotations=annotations, metadata={"dicom_rt": meta})


def _match(ss: _StructureSet, grids: list[Grid], notes: list[str]) -> Grid | None:
    """The series a structure set belongs to: the one holding most of its referenced images, else
    its referenced series, else (when it references nothing) the series of its study and frame."""
    best, best_score = None, 0.0
    for g in grids:
        shared = len(ss.referenced_sops & set(g.sop_uids or ()))
        if shared:
            score = 3 + shared / len(ss.referenced_sops)
        elif g.series_uid in ss.referenced_series:
            score = 2.0
        elif not ss.referenced_sops and not ss.referenced_series and ss.study_uid and g.study_uid == ss.study_uid:
            frames = {ss.frame_of_reference_uid, g.frame_of_reference_uid} - {None}
            score = 1.0 if len(frames) <= 1 else 0.0
        else:
            score = 0.0
        if score > best_score:
            best, best_score = g, score
    if best is not None and best.sop_uids and ss.referenced_sops - set(best.sop_uids):
        notes.append(f"{len(ss.referenced_sops - set(best.sop_uids))} referenced images are not in the series found")
    return best


def _grid_from_contours(ss: _StructureSet, opts: DicomRtReadOptions) -> Grid | None:
    """A grid spanning every contour, for a structure set read without its series: in-plane voxels
    of ``spacing`` mm offset by half a voxel (contours drawn on round numbers then never cross a
    voxel centre), slices at the contours' planes."""
    contours = [c for roi in ss.rois for c in roi.contours]
    if not contours:
        return None
    if not math.isfinite(opts.spacing) or opts.spacing <= 0:
        raise FormatError(f"spacing {opts.spacing} must be a positive number of millimetres", file=ss.path)
    normal = np.array([0.0, 0.0, 1.0])
    for c in contours:
        if c.type in _CLOSED and len(c.points) >= 3:
            centred = c.points - c.points.mean(axis=0)
            _, sv, vt = np.linalg.svd(centred, full_matrices=False)
            if sv[1] > 1e-6:
                normal = vt[-1] / np.linalg.norm(vt[-1])
                break
    axis = int(np.argmax(np.abs(normal)))
    if abs(normal[axis]) > 0.9999:
        normal = np.eye(3)[axis]
    if normal[axis] < 0:
        normal = -normal
    ref = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u_dir = ref - (ref @ normal) * normal
    u_dir /= np.linalg.norm(u_dir)
    v_dir = np.cross(normal, u_dir)
    planes = [float(np.mean(c.points @ normal)) for c in contours if c.type != "POINT"]
    point_planes = [float(p @ normal) for c in contours if c.type == "POINT" for p in c.points]
    unique = np.unique(np.round(planes, 3)) if planes else np.empty(0)
    gaps = np.diff(unique)
    step = float(gaps[gaps > 1e-3].min()) if (gaps > 1e-3).any() else opts.spacing
    every = np.array(planes + point_planes)
    lo, hi = float(every.min()), float(every.max())
    pts = np.concatenate([c.points for c in contours])
    a, b = pts @ u_dir, pts @ v_dir
    sp = opts.spacing
    a0, b0 = math.floor(a.min() / sp) * sp - sp / 2, math.floor(b.min() / sp) * sp - sp / 2
    nx = int(math.ceil((a.max() - a0) / sp)) + 1
    ny = int(math.ceil((b.max() - b0) / sp)) + 1
    nz = int(round((hi - lo) / step)) + 1
    if nx * ny * nz > _DERIVED_LIMIT:
        raise FormatError(
            f"the contours span a {nx}x{ny}x{nz} grid at {sp} mm: too large without the image series "
            "(pass series=... or a larger spacing)",
            file=ss.path,
        )
    origins = a0 * u_dir + b0 * v_dir + (lo + np.arange(nz)[:, None] * step) * normal
    return Grid(
        shape=(nx, ny, nz),
        u=u_dir * sp,
        v=v_dir * sp,
        origins=origins,
        source="contours",
        thickness=step,
        frame_of_reference_uid=ss.frame_of_reference_uid,
        study_uid=ss.study_uid,
    )


def _rasterize(roi: _Roi, grid: Grid, path: Path, notes: list[str]) -> np.ndarray:
    """The ROI's voxels: points and lines set the voxels they touch; closed contours of one slice
    are combined by XOR (even-odd), so nested contours are holes."""
    nx, ny, nz = grid.shape
    mask = np.zeros(grid.shape, dtype=bool, order="F")  # slices contiguous, as they are filled
    rings: dict[int, list[np.ndarray]] = {}
    tol = grid.slice_tolerance()
    off_grid = 0
    for c in roi.contours:
        where = f"{roi.contour_where}.ContourSequence[{c.index}]"
        if c.type == "OPEN_NONPLANAR":
            raise FormatError(
                f"ROI {roi.number} {roi.name!r} has OPEN_NONPLANAR contours, which lie in no image plane; "
                "they cannot be placed on the voxel grid (refused)",
                file=path,
                location=f"{where}.ContourGeometricType",
            )
        if c.type == "POINT":
            for p in c.points:
                k, dist = grid.nearest_slice(float(p @ grid.normal))
                i, j = np.round(grid.to_index(k, p[None])[0]).astype(np.int64)
                if dist > tol or not (0 <= i < nx and 0 <= j < ny):
                    off_grid += 1
                    continue
                mask[i, j, k] = True
            continue
        k, dist = grid.nearest_slice(float(np.mean(c.points @ grid.normal)))
        if dist > tol:
            off_grid += 1
            continue
        ij = grid.to_index(k, c.points)
        if c.type in _CLOSED and len(ij) >= 3:
            rings.setdefault(k, []).append(ij)
        else:
            _draw_line(mask[:, :, k], ij, closed=c.type in _CLOSED)
    for k, slice_rings in rings.items():
        # fill only the part of the slice the contours cover: rows x columns, as the rasteriser works
        every = np.concatenate(slice_rings)
        c0, c1 = _span(every[:, 0], nx)
        r0, r1 = _span(every[:, 1], ny)
        if c0 >= c1 or r0 >= r1:
            continue
        plane = np.zeros((r1 - r0, c1 - c0), dtype=bool)
        for ij in slice_rings:
            _xor_fill(plane, ij - [c0, r0])
        mask[c0:c1, r0:r1, k] |= plane.T
    if off_grid:
        notes.append(f"ROI {roi.number} {roi.name!r}: {off_grid} contours lie off the image grid and were skipped")
    return mask


def _span(values: np.ndarray, size: int) -> tuple[int, int]:
    """The index range [lo, hi) of voxels whose centres may lie within ``values``, clipped to the grid."""
    return max(int(math.floor(values.min())), 0), min(int(math.ceil(values.max())) + 1, size)


def _xor_fill(plane: np.ndarray, ij: np.ndarray) -> None:
    """XOR the voxels whose centres lie inside the ring (column, row indices) into ``plane``."""
    h, w = plane.shape
    c0, c1 = _span(ij[:, 0], w)
    r0, r1 = _span(ij[:, 1], h)
    if c0 >= c1 or r0 >= r1:
        return
    # canonical pixel coordinates put a voxel's centre at index + 0.5
    flat = (ij - [c0 - 0.5, r0 - 0.5]).ravel().tolist()
    plane[r0:r1, c0:c1] ^= rle_decode(polygons_to_rle([flat], r1 - r0, c1 - c0))


def _draw_line(plane: np.ndarray, ij: np.ndarray, *, closed: bool) -> None:
    """Set the voxels (plane indexed column, row) a polyline passes through."""
    pts = np.vstack([ij, ij[:1]]) if closed and len(ij) > 2 else ij
    samples = [pts[:1]]
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        # two samples per voxel step; a segment far longer than any grid mostly lies off it
        n = min(int(math.ceil(float(np.abs(b - a).max()) * 2)) + 1, 100_000)
        samples.append(a + np.linspace(0.0, 1.0, n)[:, None] * (b - a))
    idx = np.round(np.concatenate(samples)).astype(np.int64)
    w, h = plane.shape
    ok = (idx[:, 0] >= 0) & (idx[:, 0] < w) & (idx[:, 1] >= 0) & (idx[:, 1] < h)
    plane[idx[ok, 0], idx[ok, 1]] = True


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: DicomRtWriteOptions = options.format_options or DicomRtWriteOptions()
    target.mkdir(parents=True, exist_ok=True)
    series_cache: dict[Path, list[Grid]] = {}
    used: set[str] = set()
    placed: set[Path] = set()
    for item in dataset:
        grid = _target_grid(item, opts, series_cache, report)
        rois = _rois(item, grid, dataset.labels, opts, report)
        ds = _structure_set_dataset(item, grid, rois, opts, report)
        rel = item.id + ".dcm"
        n = 1
        while rel.lower() in used:
            rel = f"{item.id}_{n}.dcm"
            n += 1
        if n > 1:
            report.warn(f"item {item.id!r} written as {rel} (another item has the same id)")
        used.add(rel.lower())
        path = safe_join(target, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            ds.save_as(path, enforce_file_format=True)
        except (ValueError, TypeError, OverflowError) as exc:
            raise LabelportError(f"cannot write the structure set of item {item.id!r}: {exc}", file=path) from None
        if options.save_media != "none":
            _save_series(item, grid, target, options, report, placed)
    return True


def _target_grid(item: Item, opts: DicomRtWriteOptions, cache: dict[Path, list[Grid]], report: Report) -> Grid | None:
    """The grid the structure set is written on: the series named by option, the series the item
    was read with, the grid it keeps, or its volume's affine."""
    vol = item.media if isinstance(item.media, Volume) else None
    meta = (vol.metadata.get("dicom") if vol else None) or {}
    wanted = meta.get("series_uid")
    if opts.series is not None:
        grids = _load_series(Path(opts.series), cache)
        if not grids:
            raise FormatError("no image series found", file=opts.series)
        chosen = [g for g in grids if wanted and g.series_uid == wanted] or (grids if len(grids) == 1 else [])
        if not chosen and vol is not None:
            own = _volume_grid(vol)
            chosen = [g for g in grids if own is not None and g.shape == own.shape and _overlaps(g, own)]
        if len(chosen) != 1:
            names = ", ".join(sorted({str(g.series_uid) for g in grids}))
            raise FormatError(
                f"{len(grids)} image series found ({names}); cannot tell which one item {item.id!r} is on",
                file=opts.series,
            )
        return chosen[0]
    if vol is not None and vol.path and wanted and Path(vol.path).is_dir():
        for g in _load_series(Path(vol.path), cache):
            if g.series_uid == wanted:
                return g
    if vol is not None:
        grid = _volume_grid(vol)
        if grid is not None:
            if grid.source == "volume":
                report.note(
                    f"item {item.id!r}: no image series given; the structure set references no images "
                    "(pass series=... to attach it to one)"
                )
            return grid
    masks = [a for a in item.annotations if a.type == "volume_mask"]
    if masks:
        report.warn(f"item {item.id!r} has volume masks but no volume: written on a 1 mm grid at the origin")
        return grid_from_affine(np.eye(4), masks[0].data.shape)
    return None


def _volume_grid(vol: Volume) -> Grid | None:
    shape = (tuple(vol.shape) + (1, 1, 1))[:3]
    meta = vol.metadata.get("dicom") or {}
    grid = grid_from_metadata(meta, shape) if meta else None
    if grid is not None:
        return grid
    if vol.affine is not None:
        return grid_from_affine(np.asarray(vol.affine, dtype=np.float64), shape)
    spacing = (tuple(vol.spacing or ()) + (1.0, 1.0, 1.0))[:3]
    return grid_from_affine(np.diag([-spacing[0], -spacing[1], spacing[2], 1.0]), shape)


def _overlaps(a: Grid, b: Grid) -> bool:
    """Same voxel steps and (within a millimetre) the same first voxel."""
    same_steps = np.allclose(a.u, b.u, atol=1e-3) and np.allclose(a.v, b.v, atol=1e-3)
    return bool(same_steps and np.allclose(a.origins[0], b.origins[0], atol=1.0))


@_quiet
def _load_series(folder: Path, cache: dict[Path, list[Grid]]) -> list[Grid]:
    if folder not in cache:
        files = dicom_files(folder, recursive=True) if folder.is_dir() else [folder]
        cache[folder] = _series(files)
    return cache[folder]


@dataclass
class _OutRoi:
    number: int
    name: str
    color: tuple[int, int, int] | None
    meta: dict[str, Any]
    contours: list[tuple[str, int | None, np.ndarray]]  # (geometric type, slice or None, flat patient coordinates)


def _rois(item: Item, grid: Grid | None, labels: LabelSet, opts: DicomRtWriteOptions, report: Report) -> list[_OutRoi]:
    """Each volume mask as an ROI with its contours, numbered by its id where that is a unique positive integer."""
    masks = [a for a in item.annotations if a.type == "volume_mask"]
    if grid is None:
        return []
    vol = item.media if isinstance(item.media, Volume) else None
    source = (_volume_grid(vol) if vol is not None else None) or grid
    numbers = _roi_numbers(masks, labels, report)
    out = []
    for ann, number in zip(masks, numbers, strict=True):
        meta = dict(ann.metadata.get("dicom_rt") or {})
        data = ann.data
        if data.shape != source.shape:
            report.loss("volume mask", f"dropped (shape {data.shape} differs from its volume {source.shape})")
            continue
        if not source.same_as(grid):
            data = _resample(data, source, grid, report)
        name = ann.label or ""
        if "\\" in name:
            report.loss("ROI name with a backslash", "backslash replaced by '/'")
            name = name.replace("\\", "/")
        if len(name) > 64:
            report.loss("ROI name longer than 64 characters", "truncated")
            name = name[:64]
        label = labels.get(ann.label) if ann.label else None
        color = meta.get("display_color")
        color = tuple(color) if isinstance(color, list) and len(color) == 3 else (label.color if label else None)
        contours = list(_contours_of(ann, data, meta, grid, opts, report))
        out.append(_OutRoi(number=number, name=name, color=color, meta=meta, contours=contours))
    return out


def _roi_numbers(masks: list[Any], labels: LabelSet, report: Report) -> list[int]:
    """ROI Numbers: each annotation's id, else its label's id (a class id from a label volume),
    when that is a positive integer not used before; else the next free number."""

    def positive(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    wanted: list[int | None] = [None] * len(masks)
    kept: set[int] = set()
    for i, a in enumerate(masks):  # annotation ids first: they are the ROI Numbers read
        n = positive(a.id)
        if n is not None and n not in kept:
            wanted[i] = n
            kept.add(n)
    for i, a in enumerate(masks):
        label = labels.get(a.label) if a.label else None
        n = positive(label.id) if label is not None and a.id is None else None
        if n is not None and n not in kept:
            wanted[i] = n
            kept.add(n)
    numbers, nxt = [], 1
    for ann, n in zip(masks, wanted, strict=True):
        if n is None:
            while nxt in kept:
                nxt += 1
            n = nxt
            kept.add(n)
            if ann.id is not None:
                report.loss("annotation id", "renumbered (ROI Numbers are unique positive integers)")
        numbers.append(n)
    return numbers


def _resample(data: np.ndarray, src: Grid, dst: Grid, report: Report) -> np.ndarray:
    """The mask on ``dst``'s voxels, each taking the value of the nearest ``src`` voxel (exact when
    the grids differ only in axis order and direction, as NIfTI and DICOM voxel orders do)."""
    nx, ny, nz = dst.shape
    out = np.zeros(dst.shape, dtype=bool, order="F")
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    ij = np.column_stack((ii.ravel(), jj.ravel())).astype(np.float64)
    exact = True
    for k in range(nz):
        pts = dst.to_patient(k, ij)
        ks, dist = src.nearest_slices(pts @ src.normal)
        uv = src.to_index(ks, pts)
        near = np.round(uv)
        exact = exact and float(np.abs(uv - near).max(initial=0)) < 1e-3 and float(dist.max(initial=0)) < 1e-3
        i, j = near[:, 0].astype(np.int64), near[:, 1].astype(np.int64)
        ok = (i >= 0) & (i < src.shape[0]) & (j >= 0) & (j < src.shape[1]) & (dist <= src.slice_tolerance())
        plane = np.zeros(nx * ny, dtype=bool)
        plane[ok] = data[i[ok], j[ok], ks[ok]]
        out[:, :, k] = plane.reshape(nx, ny)
    if not exact:
        report.loss("volume mask", "resampled onto the image series grid (nearest voxel)")
    elif data.sum() != out.sum():
        report.loss("volume mask voxels outside the image series", "dropped")
    return out


def _contours_of(
    ann: Any, data: np.ndarray, meta: dict[str, Any], grid: Grid, opts: DicomRtWriteOptions, report: Report
) -> Iterator[tuple[str, int | None, np.ndarray]]:
    gtype = meta.get("geometric_type")
    if gtype == "POINT":
        for i, j, k in np.argwhere(data):
            yield "POINT", int(k), grid.to_patient(int(k), np.array([[i, j]], dtype=np.float64)).ravel()
        return
    if gtype == "OPEN_PLANAR":
        stored = meta.get("open_contours")
        if stored and meta.get("mask_sha1") == ann.geometry()["sha1"]:
            for flat in stored:
                pts = np.asarray(flat, dtype=np.float64).reshape(-1, 3)
                k, _ = grid.nearest_slice(float(np.mean(pts @ grid.normal)))
                yield "OPEN_PLANAR", k, pts.ravel()
            return
        report.loss("open contour", "written as closed contours around its voxels (the mask changed)")
    # inner contours are holes either way; keep the source's explicit XOR type when it had it
    closed = "CLOSEDPLANAR_XOR" if gtype == "CLOSEDPLANAR_XOR" else "CLOSED_PLANAR"
    for k in np.flatnonzero(data.any(axis=(0, 1))):
        plane = data[:, :, k].T  # rows x columns
        rows, cols = np.flatnonzero(plane.any(axis=1)), np.flatnonzero(plane.any(axis=0))
        r0, c0 = int(rows[0]), int(cols[0])
        crop = plane[r0 : int(rows[-1]) + 1, c0 : int(cols[-1]) + 1]
        outer, holes = mask_to_polygons(crop, opts.contour_tolerance)
        for ring in outer + holes:
            # canonical coordinates put a voxel's centre at index + 0.5; DICOM grids at the index
            ij = np.asarray(ring, dtype=np.float64).reshape(-1, 2) + [c0 - 0.5, r0 - 0.5]
            yield closed, int(k), grid.to_patient(int(k), ij).ravel()


def _structure_set_dataset(
    item: Item, grid: Grid | None, rois: list[_OutRoi], opts: DicomRtWriteOptions, report: Report
) -> Any:
    """The RT Structure Set IOD: Patient, General Study, RT Series, General Equipment, Frame of
    Reference, Structure Set, ROI Contour, RT ROI Observations and SOP Common modules."""
    from pydicom.dataset import Dataset as DicomDataset
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ImplicitVRLittleEndian, generate_uid

    def uid() -> str:
        return generate_uid(prefix=opts.uid_prefix) if opts.uid_prefix else generate_uid()

    meta = item.metadata.get("dicom_rt") or {}
    now = datetime.datetime.now()
    ds = DicomDataset()
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: ROI names come from any format
    ds.InstanceCreationDate, ds.InstanceCreationTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ds.SOPClassUID = RTSTRUCT_UID
    ds.SOPInstanceUID = uid()

    # Patient and General Study: from the series when known, else from the source structure set
    known: dict[str, str] = {}
    if grid is not None and grid.header is not None:
        for keyword in _PATIENT_STUDY:
            try:
                value = grid.header.get(keyword)
            except _PARSE_ERRORS:
                value = None  # an unreadable value is left empty
            if value not in (None, ""):
                known[keyword] = str(value)
    else:
        known.update({k: str(v) for k, v in (meta.get("patient_study") or {}).items() if k in _PATIENT_STUDY})
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex"):
        setattr(ds, keyword, known.get(keyword, ""))
    ds.StudyInstanceUID = known.get("StudyInstanceUID") or (grid.study_uid if grid and grid.study_uid else uid())
    for keyword in ("StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber"):
        setattr(ds, keyword, known.get(keyword, ""))
    if known.get("StudyDescription"):
        ds.StudyDescription = known["StudyDescription"]

    # RT Series, General Equipment
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = uid()
    ds.SeriesNumber = ""
    ds.SeriesDescription = str(meta.get("series_description") or "labelport structure set")[:64]
    ds.OperatorsName = ""
    ds.Manufacturer = "labelport"

    # Frame of Reference
    frame = (grid.frame_of_reference_uid if grid else None) or uid()
    ds.FrameOfReferenceUID = frame
    ds.PositionReferenceIndicator = ""

    # Structure Set
    label = opts.structure_set_label or meta.get("structure_set_label") or "labelport"
    ds.StructureSetLabel = str(label)[:16]
    if meta.get("structure_set_name"):
        ds.StructureSetName = str(meta["structure_set_name"])[:64]
    ds.StructureSetDate, ds.StructureSetTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    ref_frame = DicomDataset()
    ref_frame.FrameOfReferenceUID = frame
    sop_uids = grid.sop_uids if grid is not None and grid.sop_uids and grid.sop_class_uid else None
    if sop_uids and grid is not None:
        study = DicomDataset()
        study.ReferencedSOPClassUID = _STUDY_REF_UID
        study.ReferencedSOPInstanceUID = ds.StudyInstanceUID
        series = DicomDataset()
        series.SeriesInstanceUID = grid.series_uid or uid()
        series.ContourImageSequence = [_image_ref(grid.sop_class_uid, s) for s in sop_uids]
        study.RTReferencedSeriesSequence = [series]
        ref_frame.RTReferencedStudySequence = [study]
    ds.ReferencedFrameOfReferenceSequence = [ref_frame]

    ds.StructureSetROISequence = []
    ds.ROIContourSequence = []
    ds.RTROIObservationsSequence = []
    for n, roi in enumerate(rois, start=1):
        entry = DicomDataset()
        entry.ROINumber = roi.number
        entry.ReferencedFrameOfReferenceUID = frame
        entry.ROIName = roi.name
        if roi.meta.get("description"):
            entry.ROIDescription = str(roi.meta["description"])[:1024]
        entry.ROIGenerationAlgorithm = _cs(roi.meta.get("generation_algorithm"))
        ds.StructureSetROISequence.append(entry)

        contour_item = DicomDataset()
        if roi.color is not None:
            contour_item.ROIDisplayColor = [int(c) for c in roi.color]
        contour_item.ReferencedROINumber = roi.number
        sequence = []
        for number, (gtype, k, flat) in enumerate(roi.contours, start=1):
            c = DicomDataset()
            if sop_uids and k is not None and grid is not None:
                c.ContourImageSequence = [_image_ref(grid.sop_class_uid, sop_uids[k])]
            c.ContourGeometricType = gtype
            c.NumberOfContourPoints = len(flat) // 3
            c.ContourNumber = number
            _set_contour_data(c, flat)
            sequence.append(c)
        if sequence:
            contour_item.ContourSequence = sequence
        ds.ROIContourSequence.append(contour_item)

        obs = DicomDataset()
        obs.ObservationNumber = n
        obs.ReferencedROINumber = roi.number
        if roi.meta.get("observation_label"):
            obs.ROIObservationLabel = str(roi.meta["observation_label"])[:16]
        obs.RTROIInterpretedType = _cs(roi.meta.get("interpreted_type"))
        obs.ROIInterpreter = ""
        ds.RTROIObservationsSequence.append(obs)
    if not rois:
        report.warn(f"item {item.id!r} has no volume masks: its structure set holds no ROI")

    if grid is not None:
        block = ds.private_block(_PRIVATE_GROUP, _PRIVATE_CREATOR, create=True)
        block.add_new(0x01, "UL", [int(n) for n in grid.shape])
        block.add_new(0x02, "FD", [float(x) for x in (*grid.u, *grid.v)])
        block.add_new(0x03, "FD", [float(x) for x in grid.origins.ravel()])
        if grid.thickness:
            block.add_new(0x04, "FD", float(grid.thickness))

    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = RTSTRUCT_UID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    # implicit VR: its 4-byte lengths hold contours of any size (explicit VR limits DS to 64 KiB)
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return ds


def _image_ref(sop_class: str | None, sop_uid: str) -> Any:
    from pydicom.dataset import Dataset as DicomDataset

    ref = DicomDataset()
    ref.ReferencedSOPClassUID = sop_class or ""
    ref.ReferencedSOPInstanceUID = sop_uid
    return ref


def _cs(value: Any) -> str:
    """A Code String value: upper case letters, digits, space and underscore, at most 16 characters."""
    text = str(value or "").upper()
    return text if len(text) <= 16 and all(ch.isalnum() or ch in " _" for ch in text) else ""


def _set_contour_data(contour: Any, flat: np.ndarray) -> None:
    """Contour Data as DS text written straight into the element: '%.8g' keeps every value within
    DS's 16 characters (to 10 nm at patient scale) and skips building one Python object per value."""
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    text = "\\".join(np.char.mod("%.8g", np.asarray(flat, dtype=np.float64))).encode("ascii")
    if len(text) % 2:
        text += b" "
    contour[_CONTOUR_DATA] = RawDataElement(Tag(_CONTOUR_DATA), "DS", len(text), text, 0, True, True, True, False)
    # an item marked as read with the encoding it is written in keeps its raw values as they are
    contour.set_original_encoding(True, True, contour._character_set)


def _save_series(
    item: Item, grid: Grid | None, target: Path, options: WriteOptions, report: Report, placed: set[Path]
) -> None:
    if grid is None or not grid.files:
        report.missing_media.append(item.id)
        return
    folder = Path("series") / (grid.series_uid or item.id)
    for src in grid.files:
        dst = safe_join(target, (folder / src.name).as_posix())
        if dst in placed:
            continue
        place_media(src, dst, options.save_media)
        placed.add(dst)


# --------------------------------------------------------------------------- validate


@hookimpl
@_quiet
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Unreadable or truncated images, Number of Contour Points that disagree with Contour Data,
    structure sets whose series is missing, contours off the image grid."""
    opts: DicomRtReadOptions = options.format_options or DicomRtReadOptions()
    root, paths, others = _scan(source, opts)
    problems: list[Problem] = []
    for path in others:
        problems.extend(_check_image(path))
    grids = _series(others, problems)
    labels = LabelSet()
    for path in paths:
        ds = _read_structure_set(path)
        for keyword in (*_TYPE1, *_REQUIRED_SEQUENCES):
            if keyword not in ds or (keyword in _TYPE1 and ds.get(keyword) in (None, "")):
                problems.append(
                    Problem(file=str(path), location=keyword, message=f"required attribute {keyword} is missing")
                )
        for keyword in _TYPE2:
            if keyword not in ds:
                problems.append(
                    Problem(
                        severity="warning",
                        file=str(path),
                        location=keyword,
                        message=f"type 2 attribute {keyword} is absent (it may be empty, not absent)",
                    )
                )
        ss = _parse(path, ds)
        for roi in ss.rois:
            for c in roi.contours:
                if c.declared_points is not None and c.declared_points != len(c.points):
                    problems.append(
                        Problem(
                            file=str(path),
                            location=f"{roi.contour_where}.ContourSequence[{c.index}].NumberOfContourPoints",
                            message=f"Number of Contour Points is {c.declared_points} "
                            f"but Contour Data holds {len(c.points)} points",
                        )
                    )
        item = _item(ss, root, grids, opts, labels)
        meta = item.metadata["dicom_rt"]
        for note in meta.get("warnings", []):
            problems.append(Problem(severity="warning", file=str(path), message=note))
        if meta.get("grid") == "stored":
            problems.append(
                Problem(
                    severity="warning",
                    file=str(path),
                    message="the referenced image series was not found; the grid stored by labelport is used",
                )
            )
    return problems


def _check_image(path: Path) -> list[Problem]:
    ds = read_header(path, stop_before_pixels=False)
    if ds is None:
        return [Problem(file=str(path), message="not a readable DICOM file")]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = ds.get("PixelData")
            if pixels is None:
                return []
            syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
            if syntax is not None and syntax.is_compressed:
                return []
            expected = (
                int(ds.Rows)
                * int(ds.Columns)
                * int(ds.get("SamplesPerPixel") or 1)
                * int(ds.get("NumberOfFrames") or 1)
                * ((int(ds.BitsAllocated) + 7) // 8)
            )
    except _PARSE_ERRORS:
        return [Problem(file=str(path), location="PixelData", message="the image attributes cannot be read")]
    if len(pixels) < expected:
        return [
            Problem(
                file=str(path),
                location="PixelData",
                message=f"pixel data holds {len(pixels)} bytes, the image needs {expected}",
            )
        ]
    return []
