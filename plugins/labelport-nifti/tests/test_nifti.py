"""NIfTI-specific behaviour: orientation, data types, encodings, labels, errors and losses."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import labelport
import labelport_nifti
import nibabel as nib
import numpy as np
import pytest
from labelport.errors import FormatError
from labelport.plugin import Probe
from labelport.schema import Dataset, Image, Item, Label, Volume, VolumeMask

DATA = Path(__file__).parent / "data"
MARKER_RAS = np.array([6.0, -2.0, 0.0])  # where the fixture puts the "marker" voxel in both abdomen cases


def _items(path: Path, **options) -> dict[str, Item]:
    return {item.id: item for item in labelport.load(path, format="nifti", **options)}


def _masks(item: Item) -> dict[str, np.ndarray]:
    return {a.label: a.data for a in item.annotations}


def _save(path: Path, data: np.ndarray, affine: np.ndarray | None = None, **kw) -> Path:
    img = nib.Nifti1Image(data, np.eye(4) if affine is None else affine, **kw)
    nib.save(img, str(path))
    return path


# --------------------------------------------------------------------------- orientation and types


def test_ras_and_las_volumes_place_the_marker_at_the_same_world_point() -> None:
    items = _items(DATA / "abdomen")
    assert set(items) == {"case_001", "case_002"}
    for item in items.values():
        (ijk,) = np.argwhere(_masks(item)["marker"])
        world = np.asarray(item.media.affine) @ [*ijk, 1.0]
        assert np.allclose(world[:3], MARKER_RAS), (item.id, ijk, world)
    # the LAS case stores x flipped: its affine's first column points to -x
    assert np.asarray(items["case_002"].media.affine)[0, 0] < 0 < np.asarray(items["case_001"].media.affine)[0, 0]
    assert items["case_001"].media.spacing == (2.0, 1.5, 3.0)


def test_big_endian_int16_is_read_as_stored_and_written_back_big_endian(tmp_path: Path) -> None:
    item = _items(DATA / "abdomen")["case_002"]
    raw = np.asanyarray(nib.load(str(DATA / "abdomen" / "case_002.nii")).dataobj.get_unscaled())
    assert raw.dtype == np.dtype(">i2")
    assert item.metadata["nifti"]["dtype"] == "int16" and item.metadata["nifti"]["byteorder"] == ">"
    masks = _masks(item)
    for class_id, name in ((5, "kidney"), (2, "spleen"), (7, "marker")):
        assert np.array_equal(masks[name], raw == class_id)
    labelport.save(labelport.load(DATA / "abdomen"), tmp_path / "out", "nifti")
    written = nib.load(str(tmp_path / "out" / "case_002.nii"))  # kept uncompressed, like its source
    assert written.header.endianness == ">" and written.get_data_dtype() == np.dtype(">i2")
    assert np.array_equal(np.asanyarray(written.dataobj), raw)


@pytest.mark.parametrize(
    ("sample", "rel"),
    [("abdomen", "case_001.nii.gz"), ("abdomen", "case_002.nii"), ("nifti2_float.nii.gz", "nifti2_float.nii.gz")],
)
def test_qform_sform_codes_matrices_version_and_type_survive_a_round_trip(
    tmp_path: Path, sample: str, rel: str
) -> None:
    src = nib.load(str(DATA / sample / rel if (DATA / sample).is_dir() else DATA / sample))
    labelport.save(labelport.load(DATA / sample, format="nifti"), tmp_path / "out", "nifti")
    out = nib.load(str(tmp_path / "out" / rel))
    assert type(out) is type(src)
    assert out.get_data_dtype() == src.get_data_dtype()
    for name in ("qform_code", "sform_code", "intent_code", "descrip"):
        assert out.header[name] == src.header[name], name
    assert np.allclose(out.get_qform(), src.get_qform(), atol=1e-5)
    assert np.allclose(out.get_sform(), src.get_sform(), atol=1e-5)
    assert np.allclose(out.affine, src.affine, atol=1e-5)
    assert np.array_equal(np.asanyarray(out.dataobj), np.asanyarray(src.dataobj))


def test_float_class_index_volume_is_read_by_value() -> None:
    item = _items(DATA / "nifti2_float.nii.gz")["nifti2_float"]
    raw = np.asanyarray(nib.load(str(DATA / "nifti2_float.nii.gz")).dataobj)
    assert {a.label: int(a.data.sum()) for a in item.annotations} == {
        "3": int((raw == 3).sum()),
        "9": int((raw == 9).sum()),
    }
    assert item.metadata["nifti"]["version"] == 2


def test_the_sform_wins_when_its_code_is_set_else_the_qform() -> None:
    items = _items(DATA / "abdomen")
    for rel, item in (("abdomen/case_001.nii.gz", items["case_001"]), ("abdomen/case_002.nii", items["case_002"])):
        img = nib.load(str(DATA / rel))
        assert img.header["sform_code"] > 0 and not np.allclose(img.get_qform(), img.get_sform())
        assert np.allclose(item.media.affine, img.get_sform())
    img = nib.load(str(DATA / "nifti2_float.nii.gz"))
    assert img.header["sform_code"] == 0 and img.header["qform_code"] > 0
    item = _items(DATA / "nifti2_float.nii.gz")["nifti2_float"]
    assert np.allclose(item.media.affine, img.get_qform()) and not np.allclose(item.media.affine, img.get_sform())


# --------------------------------------------------------------------------- encodings


def test_onehot_classes_may_overlap_and_index_output_reports_the_overlap(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "onehot_overlap.nii.gz").materialize()
    (item,) = list(ds)
    masks = _masks(item)
    raw = np.asanyarray(nib.load(str(DATA / "onehot_overlap.nii.gz")).dataobj)
    assert set(masks) == {"1", "2"}  # channel 3 is empty, channel 0 is the background
    assert np.array_equal(masks["1"], raw[..., 1] == 1) and np.array_equal(masks["2"], raw[..., 2] == 1)
    overlap = int((masks["1"] & masks["2"]).sum())
    assert overlap > 0

    report = labelport.save(ds, tmp_path / "index", "nifti", encoding="index")
    assert (
        report.losses[
            ("overlapping voxels", "kept the class painted last (a class-index volume holds one class per voxel)")
        ]
        == overlap
    )
    back = _masks(next(iter(labelport.load(tmp_path / "index"))))
    assert np.array_equal(back["2"], masks["2"])  # painted last
    assert np.array_equal(back["1"], masks["1"] & ~masks["2"])

    report = labelport.save(ds, tmp_path / "onehot", "nifti")  # the item's own encoding
    assert report.lossless
    assert nib.load(str(tmp_path / "onehot" / "onehot_overlap.nii.gz")).shape == (*masks["1"].shape, 4)
    again = _masks(next(iter(labelport.load(tmp_path / "onehot"))))
    assert all(np.array_equal(again[k], masks[k]) for k in masks)


def test_index_volume_written_onehot_has_a_channel_per_class_id(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "abdomen").materialize()
    labelport.save(ds, tmp_path / "out", "nifti", encoding="onehot")
    img = nib.load(str(tmp_path / "out" / "case_001.nii.gz"))
    data = np.asanyarray(img.dataobj)
    ids = {e["name"]: e["id"] for e in json.loads((tmp_path / "out" / "labels.json").read_text())}
    assert data.shape[3] == max(ids.values()) + 1
    source = _masks(_items(DATA / "abdomen")["case_001"])
    for name, mask in source.items():
        assert np.array_equal(data[..., ids[name]] == 1, mask)
    assert np.array_equal(data[..., 0] == 1, ~np.any(list(source.values()), axis=0))
    back = _masks(_items(tmp_path / "out")["case_001"])
    assert all(np.array_equal(back[k], source[k]) for k in source)


def test_five_dimensional_vector_volume_is_read_as_onehot(tmp_path: Path) -> None:
    onehot = np.zeros((4, 3, 2, 1, 3), dtype=np.uint8)
    onehot[1, 1, 1, 0, 2] = 1
    onehot[0, 0, 0, 0, 1] = 1
    item = next(iter(labelport.load(_save(tmp_path / "v.nii", onehot), format="nifti")))
    assert item.metadata["nifti"]["encoding"] == "onehot"
    assert {a.label: tuple(np.argwhere(a.data)[0]) for a in item.annotations} == {"1": (0, 0, 0), "2": (1, 1, 1)}


def test_two_dimensional_volume_is_one_slice(tmp_path: Path) -> None:
    data = np.zeros((5, 4), dtype=np.uint8)
    data[2, 3] = 1
    item = next(iter(labelport.load(_save(tmp_path / "flat.nii.gz", data), format="nifti")))
    assert item.media.shape == (5, 4, 1)
    assert tuple(np.argwhere(item.annotations[0].data)[0]) == (2, 3, 0)


# --------------------------------------------------------------------------- labels


def test_labels_json_names_colours_and_background_are_kept(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "abdomen")
    assert ds.labels["liver"].id == 1 and ds.labels["liver"].color == (220, 80, 60)
    assert ds.labels["kidney"].color is None
    labelport.save(ds, tmp_path / "out", "nifti")
    written = json.loads((tmp_path / "out" / "labels.json").read_text())
    source = json.loads((DATA / "abdomen" / "labels.json").read_text())
    assert sorted(written, key=lambda e: e["id"]) == sorted(source, key=lambda e: e["id"])


def test_labels_object_form_and_undeclared_values(tmp_path: Path) -> None:
    data = np.zeros((4, 4, 2), dtype=np.uint8)
    data[0, 0, 0], data[1, 1, 1] = 1, 4
    _save(tmp_path / "a.nii.gz", data)
    (tmp_path / "labels.json").write_text(json.dumps({"0": "background", "1": "lesion"}))
    ds = labelport.load(tmp_path, format="nifti")
    item = next(iter(ds))
    assert sorted(a.label for a in item.annotations) == ["4", "lesion"]
    assert ds.labels["4"].id == 4
    problems = labelport.validate(tmp_path, format="nifti")
    assert any(p.severity == "warning" and "class id 4" in p.message and p.file.endswith("a.nii.gz") for p in problems)


def test_ids_of_labels_from_another_format_are_kept_or_assigned(tmp_path: Path) -> None:
    mask = np.zeros((3, 3, 3), dtype=bool)
    mask[1, 1, 1] = True
    other = np.roll(mask, 1, axis=0)
    ds = Dataset(
        [
            Item(
                id="x",
                media=Volume(shape=(3, 3, 3)),
                annotations=[VolumeMask(label="a", data=mask), VolumeMask(label="b", data=other)],
            )
        ],
        labels=[Label(name="a", id=12), Label(name="b")],
    )
    labelport.save(ds, tmp_path / "out", "nifti")
    ids = {e["name"]: e["id"] for e in json.loads((tmp_path / "out" / "labels.json").read_text())}
    assert ids == {"a": 12, "b": 1}
    data = np.asanyarray(nib.load(str(tmp_path / "out" / "x.nii.gz")).dataobj)
    assert data[1, 1, 1] == 12 and data[2, 1, 1] == 1


# --------------------------------------------------------------------------- errors


def test_intensity_image_is_refused_with_a_location(tmp_path: Path) -> None:
    path = _save(tmp_path / "t1.nii", np.linspace(0, 1, 24, dtype=np.float32).reshape(2, 3, 4))
    with pytest.raises(FormatError) as err:
        list(labelport.load(path, format="nifti"))
    assert err.value.location == "data" and "whole numbers" in err.value.message


def test_too_many_values_and_negative_values_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="max_labels"):
        list(labelport.load(DATA / "abdomen", format="nifti", max_labels=2))
    path = _save(tmp_path / "neg.nii", np.full((2, 2, 2), -3, dtype=np.int16))
    with pytest.raises(FormatError, match="negative"):
        list(labelport.load(path, format="nifti"))


def test_four_dimensional_non_binary_volume_is_refused(tmp_path: Path) -> None:
    path = _save(tmp_path / "bold.nii", np.arange(48, dtype=np.int16).reshape(2, 2, 3, 4))
    with pytest.raises(FormatError, match="not a one-hot"):
        list(labelport.load(path, format="nifti"))


@pytest.mark.parametrize(
    ("labels", "location"),
    [
        ([{"id": 1, "name": "a"}, {"id": 1, "name": "b"}], "[1]"),
        ([{"id": 1, "name": "a", "color": [1, 2]}], "[0].color"),
        ([{"id": "one", "name": "a"}], "[0].id"),
        ({"x": "a"}, "x"),
    ],
)
def test_bad_labels_json_gives_its_json_path(tmp_path: Path, labels: object, location: str) -> None:
    _save(tmp_path / "a.nii.gz", np.zeros((2, 2, 2), dtype=np.uint8))
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(FormatError) as err:
        labelport.load(tmp_path, format="nifti")
    assert err.value.location == location and err.value.file.endswith("labels.json")


def test_truncated_gzip_volume_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.nii.gz"
    blob = gzip.compress((DATA / "abdomen" / "case_002.nii").read_bytes())
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(FormatError) as err:
        list(labelport.load(path, format="nifti"))
    assert err.value.file == str(path)


# --------------------------------------------------------------------------- detection


def test_detection_needs_the_nifti_magic(tmp_path: Path) -> None:
    fake = tmp_path / "fake.nii"
    fake.write_bytes(b"\x5c\x01\x00\x00" + b"\x00" * 400)  # sizeof_hdr 348 but no magic
    assert labelport_nifti.labelport_detect(probe=Probe(fake)) is None
    analyze = tmp_path / "pair.nii"
    head = bytearray(352)
    head[:4] = (348).to_bytes(4, "little")
    head[344:348] = b"ni1\x00"  # a .hdr/.img pair header, not a single file
    analyze.write_bytes(bytes(head))
    assert labelport_nifti.labelport_detect(probe=Probe(analyze)) is None
    only_labels = tmp_path / "labels_only"
    only_labels.mkdir()
    (only_labels / "labels.json").write_text("[]")
    assert labelport_nifti.labelport_detect(probe=Probe(only_labels)) is None
    big_endian = _save(
        tmp_path / "be.nii", np.zeros((2, 2, 2), dtype=np.uint8), header=nib.Nifti1Header(endianness=">")
    )
    assert labelport_nifti.labelport_detect(probe=Probe(big_endian)).confidence >= 0.9


# --------------------------------------------------------------------------- writer losses


def test_writer_reports_what_a_label_volume_cannot_hold(tmp_path: Path) -> None:
    grid = np.zeros((4, 4, 2), dtype=bool)
    one = grid.copy()
    one[0, 0, 0] = True
    two = grid.copy()
    two[1, 1, 1] = True
    ds = Dataset(
        [
            Item(
                id="v",
                media=Volume(shape=(4, 4, 2), affine=np.diag([2.0, 2, 2, 1]).tolist()),
                annotations=[
                    VolumeMask(label="a", data=one),
                    VolumeMask(label="a", data=two),
                    VolumeMask(label="b", data=grid),
                    VolumeMask(label=None, data=one),
                    VolumeMask(label="c", data=np.ones((2, 2, 2), dtype=bool)),
                ],
            ),
            Item(id="photo", media=Image(name="photo.png", width=6, height=5)),
        ],
        labels=[Label(name="a"), Label(name="b"), Label(name="c")],
    )
    report = labelport.save(ds, tmp_path / "out", "nifti")
    whats = {what for what, _ in report.losses}
    assert whats == {
        "volume mask of a label already present",
        "empty volume mask",
        "unlabelled volume mask",
        "volume mask",
    }
    items = _items(tmp_path / "out")
    assert _masks(items["v"])["a"].sum() == 2
    assert np.allclose(items["v"].media.affine, np.diag([2.0, 2, 2, 1]))
    assert items["photo"].media.shape == (6, 5, 1) and not items["photo"].annotations
