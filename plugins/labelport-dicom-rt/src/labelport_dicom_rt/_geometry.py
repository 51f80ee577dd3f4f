"""Image grids in DICOM patient space (LPS+ millimetres) and the image series they come from.

A :class:`Grid` maps voxel indices ``(i, j, k)`` = (column, row, slice) to patient coordinates
the way the Image Plane Module defines it (PS3.3 C.7.6.2.1.1)::

    P = ImagePositionPatient[k] + i * ColumnSpacing * RowDirection + j * RowSpacing * ColumnDirection

where ``ImageOrientationPatient = RowDirection + ColumnDirection`` and ``PixelSpacing =
[RowSpacing, ColumnSpacing]`` (the distance between rows first). Slices are ordered by their
position along the plane normal, never by Instance Number.
"""

from __future__ import annotations

import math
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from labelport.errors import FormatError
from pydicom.errors import BytesLengthException, InvalidDicomError

#: LPS (DICOM) <-> RAS (NIfTI, labelport volumes): x and y change sign
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

#: what pydicom raises on malformed data, while parsing and while converting a value on first access
DICOM_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    LookupError,
    AttributeError,
    ArithmeticError,
    EOFError,
    OSError,
    NotImplementedError,
    MemoryError,
    struct.error,
    BytesLengthException,
    InvalidDicomError,
)

#: what a slice header must hold to place it
_PLANE_TAGS = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows", "Columns")


@dataclass
class Grid:
    """A voxel grid in patient space: ``shape`` is (columns, rows, slices); ``u``/``v`` are the
    patient-space steps of one column / one row; ``origins[k]`` is the centre of voxel (0, 0, k)."""

    shape: tuple[int, int, int]
    u: np.ndarray
    v: np.ndarray
    origins: np.ndarray
    #: how the grid was found: "series", "stored", "contours" or "volume"
    source: str
    sop_uids: list[str] | None = None
    sop_class_uid: str | None = None
    series_uid: str | None = None
    study_uid: str | None = None
    frame_of_reference_uid: str | None = None
    folder: Path | None = None
    files: list[Path] = field(default_factory=list)
    header: Any = None
    thickness: float | None = None
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        normal = np.cross(self.u, self.v)
        norm = float(np.linalg.norm(normal))
        if not math.isfinite(norm) or norm < 1e-9:
            raise FormatError("the image plane is degenerate (row and column directions are parallel)")
        self.normal = normal / norm
        self.positions = self.origins @ self.normal
        self._inplane = np.linalg.pinv(np.column_stack((self.u, self.v)))

    @property
    def slice_step(self) -> np.ndarray:
        """Patient-space step of one slice (mean over the series)."""
        n = self.shape[2]
        if n > 1:
            return (self.origins[-1] - self.origins[0]) / (n - 1)
        return self.normal * (self.thickness or float(np.linalg.norm(self.u)))

    @property
    def spacing(self) -> tuple[float, float, float]:
        return (float(np.linalg.norm(self.u)), float(np.linalg.norm(self.v)), float(np.linalg.norm(self.slice_step)))

    def lps_affine(self) -> np.ndarray:
        m = np.eye(4)
        m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = self.u, self.v, self.slice_step, self.origins[0]
        return m

    def ras_affine(self) -> np.ndarray:
        return LPS_TO_RAS @ self.lps_affine()

    def to_patient(self, k: int, ij: np.ndarray) -> np.ndarray:
        """Patient coordinates (n, 3) of in-plane indices ``ij`` (n, 2) = (column, row) on slice ``k``."""
        return self.origins[k] + ij[:, :1] * self.u + ij[:, 1:2] * self.v

    def nearest_slice(self, position: float) -> tuple[int, float]:
        """The slice nearest a position along the normal, and the distance to it (mm)."""
        ks, dist = self.nearest_slices(np.array([position]))
        return int(ks[0]), float(dist[0])

    def nearest_slices(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`nearest_slice` for many positions at once."""
        order = np.argsort(self.positions)
        ordered = self.positions[order]
        right = np.clip(np.searchsorted(ordered, positions), 0, len(ordered) - 1)
        left = np.clip(right - 1, 0, len(ordered) - 1)
        pick = np.where(np.abs(positions - ordered[left]) <= np.abs(ordered[right] - positions), left, right)
        ks = order[pick]
        return ks, np.abs(self.positions[ks] - positions)

    def slice_tolerance(self) -> float:
        """How far off a slice plane a contour may lie and still belong to it (mm)."""
        if self.shape[2] > 1:
            return float(np.min(np.abs(np.diff(self.positions)))) / 2 + 1e-3
        return max(self.thickness or 0.0, float(np.linalg.norm(self.u)), float(np.linalg.norm(self.v))) / 2 + 1e-3

    def to_index(self, k: int | np.ndarray, points: np.ndarray) -> np.ndarray:
        """In-plane indices (n, 2) = (column, row) of patient points projected on slice ``k``
        (one slice, or one per point)."""
        return np.einsum("nk,jk->nj", points - self.origins[k], self._inplane)

    def same_as(self, other: Grid, atol: float = 1e-3) -> bool:
        return (
            self.shape == other.shape
            and np.allclose(self.u, other.u, atol=atol)
            and np.allclose(self.v, other.v, atol=atol)
            and np.allclose(self.origins, other.origins, atol=atol)
        )

    def volume_metadata(self) -> dict[str, Any]:
        """What a labelport volume keeps to rebuild this grid without its series."""
        out: dict[str, Any] = {
            "grid": self.source,
            "column_step": self.u.tolist(),
            "row_step": self.v.tolist(),
            "slice_origins": self.origins.tolist(),
        }
        for key in ("series_uid", "study_uid", "frame_of_reference_uid", "sop_class_uid", "thickness"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.sop_uids:
            out["sop_uids"] = list(self.sop_uids)
        return out


def check_size(shape: tuple[int, ...], limit: int, file: Any = None, location: str | None = None) -> None:
    if any(n <= 0 for n in shape):
        raise FormatError(f"grid {shape} has no voxels", file=file, location=location)
    if math.prod(shape) > limit:
        raise FormatError(
            f"a {'x'.join(map(str, shape))} grid exceeds max_voxels={limit}", file=file, location=location
        )


def grid_from_metadata(meta: dict[str, Any], shape: tuple[int, ...]) -> Grid | None:
    """The grid a labelport volume read from DICOM carries in ``metadata["dicom"]``."""
    try:
        u = np.asarray(meta["column_step"], dtype=np.float64)
        v = np.asarray(meta["row_step"], dtype=np.float64)
        origins = np.asarray(meta["slice_origins"], dtype=np.float64).reshape(-1, 3)
    except (KeyError, TypeError, ValueError):
        return None
    if len(shape) < 3 or origins.shape[0] != shape[2] or u.shape != (3,) or v.shape != (3,):
        return None
    if not (np.isfinite(u).all() and np.isfinite(v).all() and np.isfinite(origins).all()):
        return None
    sop = meta.get("sop_uids")
    return Grid(
        shape=(int(shape[0]), int(shape[1]), int(shape[2])),
        u=u,
        v=v,
        origins=origins,
        source="stored",
        sop_uids=list(sop) if isinstance(sop, list) and len(sop) == shape[2] else None,
        sop_class_uid=meta.get("sop_class_uid"),
        series_uid=meta.get("series_uid"),
        study_uid=meta.get("study_uid"),
        frame_of_reference_uid=meta.get("frame_of_reference_uid"),
        thickness=meta.get("thickness"),
    )


def grid_from_affine(ras_affine: np.ndarray, shape: tuple[int, ...]) -> Grid:
    """The grid of a volume known by its RAS+ voxel-to-world affine (NIfTI and friends)."""
    m = LPS_TO_RAS @ np.asarray(ras_affine, dtype=np.float64)
    if not np.isfinite(m).all():
        raise FormatError("the volume's affine is not finite")
    nz = int(shape[2]) if len(shape) > 2 else 1
    origins = m[:3, 3] + np.arange(nz)[:, None] * m[:3, 2]
    return Grid(
        shape=(int(shape[0]), int(shape[1]), nz),
        u=m[:3, 0].copy(),
        v=m[:3, 1].copy(),
        origins=origins,
        source="volume",
        thickness=float(np.linalg.norm(m[:3, 2])) or None,
    )


# --------------------------------------------------------------------------- image series


@dataclass
class Slice:
    path: Path
    sop_uid: str
    sop_class_uid: str
    series_uid: str
    study_uid: str | None
    frame_of_reference_uid: str | None
    position: np.ndarray
    orientation: np.ndarray
    spacing: tuple[float, float]
    rows: int
    columns: int
    thickness: float | None
    header: Any


def read_slice(path: Path, ds: Any) -> Slice | str | None:
    """The placement of one single-frame image; None for objects that are no such image, and
    the reason when an image's plane attributes cannot place it."""
    try:
        if any(ds.get(t) is None for t in _PLANE_TAGS) or int(ds.get("NumberOfFrames") or 1) != 1:
            return None
        position = np.asarray([float(x) for x in ds.ImagePositionPatient], dtype=np.float64)
        orientation = np.asarray([float(x) for x in ds.ImageOrientationPatient], dtype=np.float64)
        spacing = tuple(float(x) for x in ds.PixelSpacing)
        rows, columns = int(ds.Rows), int(ds.Columns)
        sop_uid, series_uid = str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID)
        sop_class = str(ds.get("SOPClassUID") or "")
        thickness = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness")
        thickness = float(thickness) if thickness not in (None, "") else None
        study = ds.get("StudyInstanceUID")
        frame = ds.get("FrameOfReferenceUID")
    except DICOM_ERRORS as exc:
        return f"image plane attributes cannot be read ({exc})"
    if position.shape != (3,) or orientation.shape != (6,) or len(spacing) != 2:
        return "Image Position, Image Orientation or Pixel Spacing has the wrong number of values"
    if not (np.isfinite(position).all() and np.isfinite(orientation).all() and all(map(math.isfinite, spacing))):
        return "image plane attributes are not finite"
    row_dir, col_dir = orientation[:3], orientation[3:]
    if min(spacing) <= 0 or rows <= 0 or columns <= 0:
        return "Pixel Spacing, Rows and Columns must be positive"
    norms = float(np.linalg.norm(row_dir)), float(np.linalg.norm(col_dir))
    if min(norms) < 0.5 or abs(float(np.dot(row_dir, col_dir))) > 1e-3 * norms[0] * norms[1] + 1e-4:
        return "Image Orientation (Patient) is not two orthogonal unit vectors"
    return Slice(
        path=path,
        sop_uid=sop_uid,
        sop_class_uid=sop_class,
        series_uid=series_uid,
        study_uid=str(study) if study else None,
        frame_of_reference_uid=str(frame) if frame else None,
        position=position,
        orientation=orientation,
        spacing=(spacing[0], spacing[1]),
        rows=rows,
        columns=columns,
        thickness=thickness if thickness and math.isfinite(thickness) and thickness > 0 else None,
        header=ds,
    )


def series_grids(slices: Iterable[Slice]) -> list[Grid]:
    """Group slices into series grids (one per series, orientation and matrix size)."""
    groups: dict[tuple, list[Slice]] = {}
    for s in slices:
        key = (s.series_uid, tuple(np.round(s.orientation, 4)), s.rows, s.columns, tuple(np.round(s.spacing, 5)))
        groups.setdefault(key, []).append(s)
    grids = []
    for members in groups.values():
        try:
            grids.append(_grid_of(members))
        except FormatError:  # a degenerate orientation: no grid to place contours on
            continue
    return grids


def _grid_of(members: list[Slice]) -> Grid:
    first = members[0]
    row_dir = first.orientation[:3] / np.linalg.norm(first.orientation[:3])
    col_dir = first.orientation[3:] / np.linalg.norm(first.orientation[3:])
    normal = np.cross(row_dir, col_dir)
    ordered = sorted(members, key=lambda s: float(s.position @ normal))
    kept: list[Slice] = []
    notes: list[str] = []
    for s in ordered:
        if kept and abs(float((s.position - kept[-1].position) @ normal)) < 1e-4:
            notes.append(f"{s.path.name}: a second image at the position of {kept[-1].path.name}; ignored")
            continue
        kept.append(s)
    # PixelSpacing is [row spacing, column spacing]: a column step moves along the row direction
    # by the column spacing, a row step along the column direction by the row spacing
    u = row_dir * first.spacing[1]
    v = col_dir * first.spacing[0]
    origins = np.stack([s.position for s in kept])
    if len(kept) > 2:
        gaps = np.diff(origins @ normal)
        if np.ptp(gaps) > max(1e-3, 0.01 * float(np.mean(gaps))):
            notes.append("slices are not evenly spaced; contours are placed on each slice's own position")
    grid = Grid(
        shape=(first.columns, first.rows, len(kept)),
        u=u,
        v=v,
        origins=origins,
        source="series",
        sop_uids=[s.sop_uid for s in kept],
        sop_class_uid=first.sop_class_uid,
        series_uid=first.series_uid,
        study_uid=first.study_uid,
        frame_of_reference_uid=first.frame_of_reference_uid,
        files=[s.path for s in kept],
        header=first.header,
        thickness=first.thickness,
    )
    grid.folder = _common_folder(grid.files)
    grid.warnings.extend(notes)
    return grid


def _common_folder(files: list[Path]) -> Path | None:
    if not files:
        return None
    parents = {f.parent for f in files}
    if len(parents) == 1:
        return parents.pop()
    common = Path(*[p for p in files[0].parent.parts])
    while any(common not in f.parents for f in files):
        common = common.parent
    return common


def dicom_files(folder: Path, *, recursive: bool) -> list[Path]:
    """Files under ``folder`` that look like DICOM: a ``DICM`` preamble or a DICOM suffix."""
    out = []
    walker = folder.rglob("*") if recursive else folder.glob("*")
    for path in sorted(walker):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() in (".dcm", ".dicom", ".ima") or has_preamble(path):
            out.append(path)
    return out


def has_preamble(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def read_header(path: Path, *, stop_before_pixels: bool = True) -> Any:
    """The parsed DICOM header, or None when the file is no readable DICOM."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels, force=True)
    except DICOM_ERRORS:
        return None
