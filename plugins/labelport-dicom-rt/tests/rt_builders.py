"""Synthetic CT series and RT Structure Sets written with pydicom, for the samples and the tests.

Geometry follows the Image Plane module (PS3.3 C.7.6.2.1.1) written out independently of the
plugin: voxel (column i, row j) of slice k lies at
``IPP[k] + i * PixelSpacing[1] * row_direction + j * PixelSpacing[0] * column_direction``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

RTSTRUCT = "1.2.840.10008.5.1.4.1.1.481.3"


def uid(seed: str) -> str:
    """A deterministic UID (samples regenerate byte-identical apart from gzip-free timestamps)."""
    return generate_uid(entropy_srcs=[seed])


@dataclass
class Series:
    folder: Path
    columns: int
    rows: int
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing), as in the header
    row_dir: np.ndarray
    col_dir: np.ndarray
    positions: list[np.ndarray]  # IPP of slice k, ordered along the normal
    sop_uids: list[str]
    series_uid: str
    study_uid: str
    frame_uid: str
    files: list[Path] = field(default_factory=list)

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row_dir, self.col_dir)

    def patient(self, i: float, j: float, k: int) -> np.ndarray:
        """Patient (LPS) position of voxel centre (column i, row j) on slice k."""
        return self.positions[k] + i * self.pixel_spacing[1] * self.row_dir + j * self.pixel_spacing[0] * self.col_dir

    def ring(self, k: int, corners: list[tuple[float, float]]) -> np.ndarray:
        """A closed contour through (column, row) index positions on slice k, in patient coordinates."""
        return np.array([self.patient(i, j, k) for i, j in corners])


def make_series(
    folder: Path,
    name: str,
    *,
    columns: int,
    rows: int,
    slices: int,
    pixel_spacing: tuple[float, float],
    row_dir: tuple[float, float, float] = (1.0, 0.0, 0.0),
    col_dir: tuple[float, float, float] = (0.0, 1.0, 0.0),
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
    slice_gap: float = 2.5,
    reverse_instance_numbers: bool = False,
    pixels: bool = True,
    patient: str = "Synthetic^Phantom",
) -> Series:
    """A single-frame CT series; files named by instance number, which may run against position."""
    folder.mkdir(parents=True, exist_ok=True)
    r, c = np.asarray(row_dir, dtype=float), np.asarray(col_dir, dtype=float)
    r, c = r / np.linalg.norm(r), c / np.linalg.norm(c)
    normal = np.cross(r, c)
    study, series, frame = uid(name + "study"), uid(name + "series"), uid(name + "frame")
    positions = [np.asarray(origin, dtype=float) + k * slice_gap * normal for k in range(slices)]
    info = Series(
        folder,
        columns,
        rows,
        pixel_spacing,
        r,
        c,
        positions,
        [uid(f"{name}sop{k}") for k in range(slices)],
        series,
        study,
        frame,
    )
    for k in range(slices):
        number = slices - k if reverse_instance_numbers else k + 1
        ds = _base(CTImageStorage, info.sop_uids[k], study, patient)
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series
        ds.SeriesNumber = 2
        ds.InstanceNumber = number
        ds.FrameOfReferenceUID = frame
        ds.PositionReferenceIndicator = ""
        ds.ImagePositionPatient = [_ds(v) for v in positions[k]]
        ds.ImageOrientationPatient = [_ds(v) for v in (*r, *c)]
        ds.PixelSpacing = [_ds(v) for v in pixel_spacing]
        ds.SliceThickness = _ds(slice_gap)
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        if pixels:
            ramp = (np.arange(rows * columns, dtype=np.int16).reshape(rows, columns) + 100 * k).astype("<i2")
            ds.PixelData = ramp.tobytes()
        path = folder / f"CT{number:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        info.files.append(path)
    return info


def make_structure_set(
    path: Path,
    series: Series | None,
    rois: list[dict[str, Any]],
    *,
    name: str,
    file_meta: bool = True,
    reference_images: bool = True,
    study_uid: str | None = None,
    frame_uid: str | None = None,
) -> Path:
    """An RT Structure Set. Each ROI: ``{"number", "name", "color"?, "interpreted"?, "contours":
    [(geometric type, (n, 3) patient points, slice index or None)]}``."""
    study = series.study_uid if series else (study_uid or uid(name + "study"))
    frame = series.frame_uid if series else (frame_uid or uid(name + "frame"))
    ds = _base(RTSTRUCT, uid(name + "rtstruct"), study, "Synthetic^Phantom")
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = uid(name + "rtseries")
    ds.SeriesNumber = 9
    ds.OperatorsName = ""
    ds.StructureSetLabel = name[:16]
    ds.StructureSetDate, ds.StructureSetTime = "20240102", "030405"
    ref_frame = Dataset()
    ref_frame.FrameOfReferenceUID = frame
    if series is not None and reference_images:
        study_ref = Dataset()
        study_ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
        study_ref.ReferencedSOPInstanceUID = study
        series_ref = Dataset()
        series_ref.SeriesInstanceUID = series.series_uid
        series_ref.ContourImageSequence = [_image_ref(s) for s in series.sop_uids]
        study_ref.RTReferencedSeriesSequence = [series_ref]
        ref_frame.RTReferencedStudySequence = [study_ref]
    ds.ReferencedFrameOfReferenceSequence = [ref_frame]
    ds.StructureSetROISequence, ds.ROIContourSequence, ds.RTROIObservationsSequence = [], [], []
    for n, roi in enumerate(rois, start=1):
        entry = Dataset()
        entry.ROINumber = roi["number"]
        entry.ReferencedFrameOfReferenceUID = frame
        entry.ROIName = roi["name"]
        entry.ROIGenerationAlgorithm = "MANUAL"
        ds.StructureSetROISequence.append(entry)
        contour_item = Dataset()
        if roi.get("color"):
            contour_item.ROIDisplayColor = list(roi["color"])
        contour_item.ReferencedROINumber = roi["number"]
        contours = []
        for c, (gtype, points, k) in enumerate(roi["contours"], start=1):
            item = Dataset()
            if series is not None and reference_images and k is not None:
                item.ContourImageSequence = [_image_ref(series.sop_uids[k])]
            item.ContourGeometricType = gtype
            item.NumberOfContourPoints = len(points)
            item.ContourNumber = c
            item.ContourData = [_ds(v) for v in np.asarray(points, dtype=float).ravel()]
            contours.append(item)
        if contours:
            contour_item.ContourSequence = contours
        ds.ROIContourSequence.append(contour_item)
        obs = Dataset()
        obs.ObservationNumber = n
        obs.ReferencedROINumber = roi["number"]
        obs.RTROIInterpretedType = roi.get("interpreted", "ORGAN")
        obs.ROIInterpreter = ""
        ds.RTROIObservationsSequence.append(obs)
    if file_meta:
        ds.save_as(path, enforce_file_format=True)
    else:
        # like pydicom's bundled rtstruct.dcm: no preamble, no file meta, implicit VR little endian
        del ds.file_meta
        ds.save_as(path, implicit_vr=True, little_endian=True)
    return path


def _base(sop_class: str, sop_uid: str, study: str, patient: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop_uid
    ds.StudyInstanceUID = study
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient, "SYN-001", "", "O"
    ds.StudyDate, ds.StudyTime = "20240102", "030405"
    ds.ReferringPhysicianName, ds.StudyID, ds.AccessionNumber = "", "1", ""
    ds.Manufacturer = "synthetic"
    return ds


def _image_ref(sop_uid: str) -> Dataset:
    ref = Dataset()
    ref.ReferencedSOPClassUID = CTImageStorage
    ref.ReferencedSOPInstanceUID = sop_uid
    return ref


def _ds(value: float) -> str:
    """A DS string (at most 16 characters)."""
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"
