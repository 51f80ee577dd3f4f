"""DICOM-RT specific behaviour: contour placement (non-square pixels, oblique planes), contour
types, series matching, the written structure set, NIfTI conversion, errors and validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import labelport_dicom_rt
import numpy as np
import pydicom
import pytest
from labelport.errors import FormatError
from labelport.plugin import Probe
from labelport.schema import Dataset, Item, Label, Volume, VolumeMask
from pydicom.data import get_testdata_file
from pydicom.uid import UID
from rt_builders import Series, make_series, make_structure_set

DATA = Path(__file__).parent / "data"
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _item(path: Path, **options) -> Item:
    (item,) = list(labelport.load(path, format="dicom_rt", **options))
    return item


def _masks(item: Item) -> dict[str, np.ndarray]:
    return {a.label: a.data for a in item.annotations}


def _box(shape: tuple[int, int, int], k: int, cols: tuple[int, int], rows: tuple[int, int]) -> np.ndarray:
    """Voxels with column in [cols], row in [rows] (inclusive) on slice k."""
    m = np.zeros(shape, dtype=bool)
    m[cols[0] : cols[1] + 1, rows[0] : rows[1] + 1, k] = True
    return m


def _series_from_files(folder: Path) -> list[pydicom.Dataset]:
    """The CT headers of a folder ordered by position along the normal (independent of the plugin)."""
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(folder.glob("CT*.dcm"))]
    iop = np.asarray(headers[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    return sorted(headers, key=lambda h: float(np.asarray(h.ImagePositionPatient, dtype=float) @ normal))


def _patient(h: pydicom.Dataset, i: float, j: float) -> np.ndarray:
    """PS3.3 C.7.6.2.1.1: column i moves along the row direction by PixelSpacing[1], row j along
    the column direction by PixelSpacing[0]."""
    ipp = np.asarray(h.ImagePositionPatient, dtype=float)
    iop = np.asarray(h.ImageOrientationPatient, dtype=float)
    row_sp, col_sp = (float(v) for v in h.PixelSpacing)
    return ipp + i * col_sp * iop[:3] + j * row_sp * iop[3:]


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


# --------------------------------------------------------------------------- placing contours


def test_non_square_pixels_and_slice_order_place_every_voxel() -> None:
    item = _item(DATA / "axial_nonsquare")
    shape = item.media.shape
    assert shape == (16, 12, 4)  # columns, rows, slices
    tumour = _box(shape, 1, (2, 9), (2, 8)) ^ _box(shape, 1, (5, 6), (4, 5)) | _box(shape, 2, (3, 7), (3, 6))
    masks = _masks(item)
    assert np.array_equal(masks["tumour"], tumour)
    assert [tuple(v) for v in np.argwhere(masks["marker"])] == [(12, 3, 3)]
    assert not masks["planned"].any()  # an ROI without contours is kept, empty
    # spacing along (columns, rows, slices): PixelSpacing is [row spacing 0.8, column spacing 0.5]
    assert item.media.spacing == pytest.approx((0.5, 0.8, 2.5))


def test_volume_affine_maps_voxels_to_the_image_plane_positions() -> None:
    for sample in ("axial_nonsquare", "oblique_xor"):
        item = _item(DATA / sample)
        headers = _series_from_files(DATA / sample)
        lps = LPS_TO_RAS @ np.asarray(item.media.affine)  # the same flip both ways
        for k, h in enumerate(headers):
            for i, j in ((0, 0), (3, 1), (item.media.shape[0] - 1, item.media.shape[1] - 1)):
                assert np.allclose((lps @ [i, j, k, 1.0])[:3], _patient(h, i, j), atol=1e-4), (sample, i, j, k)
        assert item.media.metadata["dicom"]["sop_uids"] == [str(h.SOPInstanceUID) for h in headers]
    # the axial sample numbers its instances against their position: order is by position
    numbers = [int(h.InstanceNumber) for h in _series_from_files(DATA / "axial_nonsquare")]
    assert numbers == sorted(numbers, reverse=True)


def test_oblique_xor_ring_and_open_line() -> None:
    item = _item(DATA / "oblique_xor")
    shape = item.media.shape
    masks = _masks(item)
    assert np.array_equal(masks["ring"], _box(shape, 1, (1, 8), (1, 6)) ^ _box(shape, 1, (3, 5), (3, 4)))
    wire = _box(shape, 0, (1, 7), (1, 1)) | _box(shape, 0, (7, 7), (1, 5))
    assert np.array_equal(masks["wire"], wire)
    assert {a.label: a.metadata["dicom_rt"]["geometric_type"] for a in item.annotations} == {
        "ring": "CLOSEDPLANAR_XOR",
        "wire": "OPEN_PLANAR",
    }


def test_ids_colours_and_observations_are_kept() -> None:
    ds = labelport.load(DATA / "axial_nonsquare")
    assert ds.labels["tumour"].color == (255, 0, 0) and ds.labels["marker"].color == (0, 0, 255)
    item = next(iter(ds))
    assert {a.label: a.id for a in item.annotations} == {"tumour": 3, "marker": 7, "planned": 9}
    assert item.annotations[0].metadata["dicom_rt"]["interpreted_type"] == "GTV"


def test_pydicom_rtstruct_without_file_meta_or_series_reads_on_a_contour_grid() -> None:
    item = _item(Path(get_testdata_file("rtstruct.dcm")))
    assert item.metadata["dicom_rt"]["grid"] == "contours"
    masks = _masks(item)
    # 'patient' is a 400 x 300 mm rectangle on three planes 10 mm apart, 1 mm voxels
    assert masks["patient"].sum(axis=(0, 1)).tolist()[:3] == [400 * 300] * 3
    lps = LPS_TO_RAS @ np.asarray(item.media.affine)
    for name in ("Isocenter 1", "Isocenter 2"):
        (ijk,) = np.argwhere(masks[name])
        assert np.abs((lps @ [*ijk, 1.0])[:3] - [0.0, 0.0, 0.0]).max() <= 0.5  # the nearest voxel


def test_structure_set_alone_with_hole_on_contour_grid() -> None:
    item = _item(DATA / "rtstruct_only.dcm")
    per_slice = _masks(item)["body"].sum(axis=(0, 1)).tolist()
    assert per_slice == [40 * 20, 40 * 20 - 10 * 6, 40 * 20]
    problems = labelport.validate(DATA / "rtstruct_only.dcm", format="dicom_rt")
    assert [p.severity for p in problems] == ["warning"] and "series was not found" in problems[0].message


def test_contours_on_pydicoms_ct_small_image(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    folder.mkdir()
    shutil.copy(get_testdata_file("CT_small.dcm"), folder / "CT0001.dcm")
    h = pydicom.dcmread(folder / "CT0001.dcm", stop_before_pixels=True)
    iop = np.asarray(h.ImageOrientationPatient, dtype=float)
    series = Series(
        folder,
        int(h.Columns),
        int(h.Rows),
        tuple(float(v) for v in h.PixelSpacing),
        iop[:3],
        iop[3:],
        [np.asarray(h.ImagePositionPatient, dtype=float)],
        [str(h.SOPInstanceUID)],
        str(h.SeriesInstanceUID),
        str(h.StudyInstanceUID),
        str(h.FrameOfReferenceUID),
    )
    ring = series.ring(0, [(10.5, 20.5), (30.5, 20.5), (30.5, 25.5), (10.5, 25.5)])
    make_structure_set(
        folder / "RS.dcm",
        series,
        [{"number": 1, "name": "box", "contours": [("CLOSED_PLANAR", ring, 0)]}],
        name="small",
    )
    item = _item(folder)
    assert item.metadata["dicom_rt"]["grid"] == "series" and item.media.shape == (128, 128, 1)
    assert np.array_equal(_masks(item)["box"], _box((128, 128, 1), 0, (11, 30), (21, 25)))


# --------------------------------------------------------------------------- matching the series


def test_the_series_holding_the_referenced_images_is_chosen(tmp_path: Path) -> None:
    a = make_series(tmp_path / "a", "first", columns=8, rows=6, slices=2, pixel_spacing=(1.0, 1.0), origin=(0, 0, 0))
    b = make_series(tmp_path / "b", "second", columns=8, rows=6, slices=3, pixel_spacing=(1.0, 1.0), origin=(0, 0, 50))
    ring = b.ring(2, [(0.5, 0.5), (2.5, 0.5), (2.5, 2.5), (0.5, 2.5)])
    make_structure_set(
        tmp_path / "RS.dcm", b, [{"number": 1, "name": "x", "contours": [("CLOSED_PLANAR", ring, 2)]}], name="pick"
    )
    item = _item(tmp_path)
    assert item.media.metadata["dicom"]["series_uid"] == b.series_uid != a.series_uid
    assert np.array_equal(_masks(item)["x"], _box((8, 6, 3), 2, (1, 2), (1, 2)))


def test_series_option_for_a_structure_set_kept_elsewhere(tmp_path: Path) -> None:
    s = make_series(tmp_path / "ct", "elsewhere", columns=8, rows=6, slices=2, pixel_spacing=(0.7, 1.3))
    ring = s.ring(1, [(0.5, 0.5), (3.5, 0.5), (3.5, 2.5), (0.5, 2.5)])
    rs = make_structure_set(
        tmp_path / "RS.dcm", s, [{"number": 1, "name": "x", "contours": [("CLOSED_PLANAR", ring, 1)]}], name="else"
    )
    alone = _item(rs)
    assert alone.metadata["dicom_rt"]["grid"] == "contours"
    placed = _item(rs, series=tmp_path / "ct")
    assert placed.metadata["dicom_rt"]["grid"] == "series"
    assert np.array_equal(_masks(placed)["x"], _box((8, 6, 2), 1, (1, 3), (1, 2)))


# --------------------------------------------------------------------------- writing


def _phantom(shape: tuple[int, int, int]) -> dict[str, np.ndarray]:
    """An organ with a hole and two islands (one touching another only diagonally), and a lesion."""
    i, j, k = np.indices(shape)
    ci, cj = (shape[0] - 1) / 2, (shape[1] - 1) / 2
    r = np.hypot((i - ci) / (shape[0] / 3), (j - cj) / (shape[1] / 3))
    organ = (r < 1.0) & (r > 0.45) & (k >= 1) & (k <= shape[2] - 2)
    organ[1:3, 1:3, 2] = True
    organ[3, 3, 2] = True  # touches the island above only at a corner
    lesion = (np.abs(i - ci) < 2) & (np.abs(j - cj) < 2) & (k == 2)
    return {"organ": organ, "lesion": lesion}


def _volume(series: Series) -> Volume:
    """A volume on the series grid, its affine written from the Image Plane rules (RAS+)."""
    lps = np.eye(4)
    lps[:3, 0] = series.row_dir * series.pixel_spacing[1]
    lps[:3, 1] = series.col_dir * series.pixel_spacing[0]
    lps[:3, 2] = series.positions[1] - series.positions[0]
    lps[:3, 3] = series.positions[0]
    return Volume(shape=(series.columns, series.rows, len(series.positions)), affine=(LPS_TO_RAS @ lps).tolist())


@pytest.fixture()
def oblique_series(tmp_path: Path) -> Series:
    row = np.array([0.9, 0.3, -0.3])
    row /= np.linalg.norm(row)
    col = np.array([-0.2, 0.9, 0.4])
    col -= (col @ row) * row  # orthogonal to the row direction, as the standard requires
    col /= np.linalg.norm(col)
    return make_series(
        tmp_path / "ct",
        "writer",
        columns=24,
        rows=20,
        slices=6,
        pixel_spacing=(0.9, 0.6),
        row_dir=tuple(row),
        col_dir=tuple(col),
        origin=(-12.0, 30.0, -40.0),
        slice_gap=2.0,
    )


def test_written_structure_set_is_complete_and_references_its_series(tmp_path: Path, oblique_series: Series) -> None:
    s = oblique_series
    masks = _phantom((s.columns, s.rows, len(s.positions)))
    ds = Dataset(
        [
            Item(
                id="case",
                media=_volume(s),
                annotations=[
                    VolumeMask(id=4, label="organ", data=masks["organ"]),
                    VolumeMask(label="lesion", data=masks["lesion"]),
                ],
            )
        ],
        labels=[Label(name="organ", color=(1, 2, 3)), Label(name="lesion")],
    )
    report = labelport.save(ds, tmp_path / "out", "dicom_rt", series=s.folder)
    assert report.lossless, report
    path = tmp_path / "out" / "case.dcm"
    assert path.read_bytes()[128:132] == b"DICM"
    rt = pydicom.dcmread(path)
    for keyword in (
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
        "Modality",
        "SeriesInstanceUID",
        "SeriesNumber",
        "Manufacturer",
        "FrameOfReferenceUID",
        "StructureSetLabel",
        "StructureSetDate",
        "StructureSetTime",
        "StructureSetROISequence",
        "ROIContourSequence",
        "RTROIObservationsSequence",
        "SOPClassUID",
        "SOPInstanceUID",
    ):
        assert keyword in rt, keyword
    assert rt.Modality == "RTSTRUCT" and rt.SOPClassUID == "1.2.840.10008.5.1.4.1.1.481.3"
    assert rt.file_meta.MediaStorageSOPInstanceUID == rt.SOPInstanceUID
    for uid in (rt.SOPInstanceUID, rt.SeriesInstanceUID):
        assert UID(uid).is_valid and uid not in (s.series_uid, s.study_uid)
    assert rt.StudyInstanceUID == s.study_uid and rt.FrameOfReferenceUID == s.frame_uid
    assert str(rt.PatientName) == "Synthetic^Phantom"
    refs = rt.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    assert refs.SeriesInstanceUID == s.series_uid
    assert [r.ReferencedSOPInstanceUID for r in refs.ContourImageSequence] == s.sop_uids
    assert {r.ROIName: r.ROINumber for r in rt.StructureSetROISequence} == {"organ": 4, "lesion": 1}
    assert list(rt.ROIContourSequence[0].ROIDisplayColor) == [1, 2, 3]
    normal = s.normal
    for roi in rt.ROIContourSequence:
        for c in roi.ContourSequence:
            k = s.sop_uids.index(c.ContourImageSequence[0].ReferencedSOPInstanceUID)
            pts = np.asarray(c.ContourData, dtype=float).reshape(-1, 3)
            assert len(pts) == c.NumberOfContourPoints and c.ContourGeometricType == "CLOSED_PLANAR"
            assert np.abs((pts - s.positions[k]) @ normal).max() < 1e-3  # on its image's plane
    back = _masks(_item(tmp_path / "out", series=s.folder))
    for name, mask in masks.items():
        assert _dice(back[name], mask) >= 0.98, name
        assert np.array_equal(back[name], mask), name  # tracing then filling by voxel centres is exact
    labelport.save(ds, tmp_path / "again", "dicom_rt", series=s.folder)
    assert pydicom.dcmread(tmp_path / "again" / "case.dcm").SOPInstanceUID != rt.SOPInstanceUID


def test_without_its_series_the_output_keeps_the_grid_and_image_references(tmp_path: Path) -> None:
    before = labelport.load(DATA / "oblique_xor").materialize()
    labelport.save(before, tmp_path / "out", "dicom_rt")
    item = _item(tmp_path / "out")  # the series is not there
    source = next(iter(before))
    assert item.metadata["dicom_rt"]["grid"] == "stored"
    assert item.media.shape == source.media.shape and np.allclose(item.media.affine, source.media.affine)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(item.annotations, source.annotations, strict=False))
    rt = pydicom.dcmread(tmp_path / "out" / "RS_oblique.dcm")
    refs = rt.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    assert [r.ReferencedSOPInstanceUID for r in refs.ContourImageSequence] == source.media.metadata["dicom"]["sop_uids"]


def test_points_and_open_lines_are_written_as_such(tmp_path: Path) -> None:
    labelport.save(labelport.load(DATA / "axial_nonsquare"), tmp_path / "a", "dicom_rt")
    rt = pydicom.dcmread(tmp_path / "a" / "RS_axial.dcm")
    marker = next(c for c in rt.ROIContourSequence if c.ReferencedROINumber == 7).ContourSequence
    h = _series_from_files(DATA / "axial_nonsquare")[3]
    assert [c.ContourGeometricType for c in marker] == ["POINT"]
    assert np.allclose(np.asarray(marker[0].ContourData, dtype=float), _patient(h, 12, 3), atol=1e-4)
    planned = next(c for c in rt.ROIContourSequence if c.ReferencedROINumber == 9)
    assert "ContourSequence" not in planned

    ds = labelport.load(DATA / "oblique_xor").materialize()
    labelport.save(ds, tmp_path / "b", "dicom_rt")
    source = pydicom.dcmread(DATA / "oblique_xor" / "RS_oblique.dcm")
    written = pydicom.dcmread(tmp_path / "b" / "RS_oblique.dcm")
    wire_in = next(c for c in source.ROIContourSequence if c.ReferencedROINumber == 2).ContourSequence[0]
    wire_out = next(c for c in written.ROIContourSequence if c.ReferencedROINumber == 2).ContourSequence[0]
    assert wire_out.ContourGeometricType == "OPEN_PLANAR"
    assert np.allclose(np.asarray(wire_out.ContourData, float), np.asarray(wire_in.ContourData, float), atol=1e-4)
    ring_out = next(c for c in written.ROIContourSequence if c.ReferencedROINumber == 1).ContourSequence
    assert {c.ContourGeometricType for c in ring_out} == {"CLOSEDPLANAR_XOR"}

    item = next(iter(ds))
    wire = next(a for a in item.annotations if a.label == "wire")
    changed = wire.data.copy()
    changed[0, 0, 0] = True
    edited = ds.with_items([item.model_copy(update={"annotations": [wire.model_copy(update={"data": changed})]})])
    report = labelport.save(edited, tmp_path / "c", "dicom_rt")
    assert report.losses[("open contour", "written as closed contours around its voxels (the mask changed)")] == 1
    assert np.array_equal(_masks(_item(tmp_path / "c"))["wire"], changed)


def test_a_volume_on_another_voxel_order_is_reindexed_exactly(tmp_path: Path, oblique_series: Series) -> None:
    s = oblique_series
    masks = _phantom((s.columns, s.rows, len(s.positions)))
    vol = _volume(s)
    # the same grid stored with rows and columns swapped and the slice order reversed (NIfTI-style)
    affine = np.asarray(vol.affine)[:, [1, 0, 2, 3]].copy()
    nz = len(s.positions)
    affine[:, 3] = affine @ [0, 0, nz - 1, 1]
    affine[:, 2] *= -1
    data = np.transpose(masks["organ"], (1, 0, 2))[:, :, ::-1]
    other = Volume(shape=data.shape, affine=affine.tolist())
    ds = Dataset(
        [Item(id="case", media=other, annotations=[VolumeMask(label="organ", data=data)])], labels=[Label(name="organ")]
    )
    report = labelport.save(ds, tmp_path / "out", "dicom_rt", series=s.folder)
    assert report.lossless, report
    assert np.array_equal(_masks(_item(tmp_path / "out", series=s.folder))["organ"], masks["organ"])

    coarse = Volume(
        shape=(s.columns // 2, s.rows // 2, nz),
        affine=(np.asarray(vol.affine) @ np.diag([2.0, 2.0, 1.0, 1.0])).tolist(),
    )
    blob = np.zeros(coarse.shape, dtype=bool)
    blob[3:7, 3:7, 2] = True
    ds = Dataset(
        [Item(id="case", media=coarse, annotations=[VolumeMask(label="organ", data=blob)])],
        labels=[Label(name="organ")],
    )
    report = labelport.save(ds, tmp_path / "coarse", "dicom_rt", series=s.folder)
    assert ("volume mask", "resampled onto the image series grid (nearest voxel)") in report.losses
    assert _masks(_item(tmp_path / "coarse", series=s.folder))["organ"].sum() == 4 * blob.sum()


def test_cross_nifti_to_dicom_rt_and_back_given_the_series(tmp_path: Path, oblique_series: Series) -> None:
    nib = pytest.importorskip("nibabel")
    pytest.importorskip("labelport_nifti")
    s = oblique_series
    masks = _phantom((s.columns, s.rows, len(s.positions)))
    ras = np.asarray(_volume(s).affine)
    index = np.zeros(masks["organ"].shape, dtype=np.uint8)
    index[masks["organ"]] = 1
    index[masks["lesion"]] = 2
    canonical = nib.as_closest_canonical(nib.Nifti1Image(index, ras))  # reoriented the way NIfTI tools store it
    (tmp_path / "nii").mkdir()
    nib.save(canonical, str(tmp_path / "nii" / "case.nii.gz"))
    (tmp_path / "nii" / "labels.json").write_text('[{"id": 1, "name": "organ"}, {"id": 2, "name": "lesion"}]')

    report = labelport.convert(tmp_path / "nii", tmp_path / "rt", to="dicom_rt", series=s.folder)
    assert report.lossless, report
    back = _masks(_item(tmp_path / "rt", series=s.folder))
    assert np.array_equal(back["organ"], masks["organ"] & ~masks["lesion"]) and np.array_equal(
        back["lesion"], masks["lesion"]
    )

    labelport.convert(tmp_path / "rt", tmp_path / "nii2", to="nifti", series=s.folder)
    out = nib.load(str(tmp_path / "nii2" / "case.nii.gz"))
    assert np.allclose(out.affine, ras, atol=1e-4)
    assert np.array_equal(np.asanyarray(out.dataobj), index)


# --------------------------------------------------------------------------- errors and validation


def _one_contour_rtstruct(path: Path, gtype: str = "CLOSED_PLANAR", points: np.ndarray | None = None) -> Path:
    pts = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [5.0, 5.0, 0.0]]) if points is None else points
    return make_structure_set(path, None, [{"number": 1, "name": "x", "contours": [(gtype, pts, None)]}], name="bad")


def test_open_nonplanar_contours_are_refused_clearly(tmp_path: Path) -> None:
    path = _one_contour_rtstruct(tmp_path / "rs.dcm", "OPEN_NONPLANAR", np.array([[0.0, 0, 0], [1, 1, 1], [2, 0, 3]]))
    with pytest.raises(FormatError) as err:
        list(labelport.load(path, format="dicom_rt"))
    assert "OPEN_NONPLANAR" in err.value.message
    assert err.value.location == "ROIContourSequence[0].ContourSequence[0].ContourGeometricType"


def test_malformed_structure_sets_name_the_element(tmp_path: Path) -> None:
    path = _one_contour_rtstruct(tmp_path / "a.dcm")
    ds = pydicom.dcmread(path)
    ds.ROIContourSequence[0].ContourSequence[0].ContourData = [1.0, 2.0, 3.0, 4.0]
    ds.save_as(path)
    with pytest.raises(FormatError) as err:
        labelport.load(path, format="dicom_rt")
    assert err.value.location == "ROIContourSequence[0].ContourSequence[0].ContourData"

    ds.ROIContourSequence[0].ReferencedROINumber = 5
    ds.save_as(path)
    with pytest.raises(FormatError) as err:
        labelport.load(path, format="dicom_rt")
    assert err.value.location == "ROIContourSequence[0].ReferencedROINumber" and "5" in err.value.message

    ds.StructureSetROISequence.append(ds.StructureSetROISequence[0])
    ds.save_as(path)
    with pytest.raises(FormatError, match="used twice"):
        labelport.load(path, format="dicom_rt")

    del ds.ROIContourSequence
    ds.save_as(path)
    with pytest.raises(FormatError) as err:
        labelport.load(path, format="dicom_rt")
    assert err.value.location == "ROIContourSequence"


def test_validate_flags_point_counts_and_truncated_images(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    shutil.copytree(DATA / "axial_nonsquare", folder)
    ds = pydicom.dcmread(folder / "RS_axial.dcm")
    ds.ROIContourSequence[0].ContourSequence[1].NumberOfContourPoints = 9
    ds.save_as(folder / "RS_axial.dcm")
    ct = folder / "CT0002.dcm"
    ct.write_bytes(ct.read_bytes()[:-40])
    errors = [p for p in labelport.validate(folder, format="dicom_rt") if p.severity == "error"]
    assert {(Path(p.file).name, p.location) for p in errors} == {
        ("RS_axial.dcm", "ROIContourSequence[0].ContourSequence[1].NumberOfContourPoints"),
        ("CT0002.dcm", "PixelData"),
    }


def test_detection_wants_an_rt_structure_set(tmp_path: Path) -> None:
    only_ct = tmp_path / "ct"
    make_series(only_ct, "detect", columns=4, rows=4, slices=1, pixel_spacing=(1.0, 1.0))
    assert labelport_dicom_rt.labelport_detect(probe=Probe(only_ct)) is None
    assert labelport_dicom_rt.labelport_detect(probe=Probe(only_ct / "CT0001.dcm")) is None
    note = tmp_path / "about.txt"
    note.write_text("RT Structure Set Storage is 1.2.840.10008.5.1.4.1.1.481.3")
    assert labelport_dicom_rt.labelport_detect(probe=Probe(note)) is None
    plan = Path(get_testdata_file("rtplan.dcm"))  # names the RTSTRUCT class in a reference only
    assert b"1.2.840.10008.5.1.4.1.1.481.3" in plan.read_bytes()[:4096]
    assert labelport_dicom_rt.labelport_detect(probe=Probe(plan)) is None
    bare = DATA / "rtstruct_only.dcm"
    assert bare.read_bytes()[128:132] != b"DICM"
    assert labelport_dicom_rt.labelport_detect(probe=Probe(bare)).confidence >= 0.9


def test_images_whose_plane_cannot_be_placed_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    shutil.copytree(DATA / "axial_nonsquare", folder)
    ct = pydicom.dcmread(folder / "CT0001.dcm")
    ct.ImageOrientationPatient = [1, 0, 0, 0.5, 0.5, 0]  # not orthogonal
    ct.save_as(folder / "CT0001.dcm")
    problems = labelport.validate(folder, format="dicom_rt")
    assert any(p.file.endswith("CT0001.dcm") and "orthogonal" in p.message for p in problems)
    item = _item(folder)
    assert item.media.shape[2] == 3  # the other three slices


def test_label_ids_become_roi_numbers_when_masks_have_none(tmp_path: Path) -> None:
    shape = (6, 5, 3)
    a, b = _box(shape, 1, (1, 2), (1, 2)), _box(shape, 2, (3, 4), (2, 3))
    ds = Dataset(
        [
            Item(
                id="v",
                media=Volume(shape=shape, affine=np.eye(4).tolist()),
                annotations=[
                    VolumeMask(label="kidney", data=a),
                    VolumeMask(label="marker", data=b),
                    VolumeMask(id=5, label="x", data=a),
                ],
            )
        ],
        labels=[Label(name="kidney", id=5), Label(name="marker", id=7), Label(name="x")],
    )
    report = labelport.save(ds, tmp_path / "out", "dicom_rt")
    rt = pydicom.dcmread(tmp_path / "out" / "v.dcm")
    # the annotation id 5 wins; the kidney class id 5 is taken, so the kidney gets the next free number
    assert {r.ROIName: int(r.ROINumber) for r in rt.StructureSetROISequence} == {"kidney": 1, "marker": 7, "x": 5}
    assert report.lossless
