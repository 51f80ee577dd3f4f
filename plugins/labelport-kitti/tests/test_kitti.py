"""KITTI specifics: the 15/16/17 columns and their defaults, boxes, segmentation encodings,
tracking, losses and located errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import labelport_kitti as plugin
import numpy as np
import pytest
from labelport.errors import FormatError
from labelport.geometry.masks import rle_decode
from labelport.plugin import Probe
from labelport.schema import BBox, Dataset, Image, Item, Label, Mask, VideoFrame
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def _items(path: Path, **options) -> dict[str, Item]:
    return {it.id: it for it in labelport.load(path, format="kitti", **options)}


def _png(path: Path) -> np.ndarray:
    with PILImage.open(path) as im:
        return np.asarray(im).astype(np.int64)


def test_box_columns_become_a_top_left_box_and_attributes():
    car, ped, cyclist, dontcare = _items(DATA / "a_object")["000000"].annotations
    assert (car.label, car.x, car.y, car.w, car.h) == (
        "Car",
        587.01,
        173.33,
        pytest.approx(27.11),
        pytest.approx(26.79),
    )
    assert car.attributes == {
        "truncated": 0.0,
        "occluded": 0,
        "alpha": -1.58,
        "dimensions": [1.65, 1.67, 3.64],
        "location": [-0.65, 1.71, 46.7],
        "rotation_y": -1.59,
    }
    assert (ped.x, ped.y, ped.x + ped.w, ped.y + ped.h) == (10.5, 20.25, 40.0, 90.75)
    assert ped.attributes["truncated"] == 0.31 and ped.attributes["occluded"] == 2
    # the devkit's invalid defaults are no attributes
    assert cyclist.attributes == {"truncated": 1.0, "occluded": 3}
    assert dontcare.label == "DontCare" and dontcare.attributes == {} and dontcare.score is None


def test_score_column_and_images_without_labels():
    items = _items(DATA / "a_object")
    assert [a.score for a in items["000001"].annotations] == [0.93, 0.4125]
    assert items["000002"].annotations == [] and items["000002"].subset == "training"
    assert items["000100"].subset == "testing" and items["000100"].media.width == 700


def test_rows_are_written_as_the_devkit_writes_them(tmp_path):
    labelport.save(labelport.load(DATA / "a_object", format="kitti"), tmp_path / "out", "kitti")
    lines = (tmp_path / "out/training/label_2/000000.txt").read_text().splitlines()
    assert lines[0] == "Car 0 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59"
    assert lines[2] == "Cyclist 1 3 -10 600 150 630.50 199.50 -1 -1 -1 -1000 -1000 -1000 -10"
    assert lines[3] == "DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10"
    scored = (tmp_path / "out/training/label_2/000001.txt").read_text().splitlines()
    assert scored[1] == "Van -1 -1 -10 300 100 420 180 -1 -1 -1 -1000 -1000 -1000 -10 0.4125"
    assert (tmp_path / "out/training/label_2/000002.txt").read_text() == ""
    assert (tmp_path / "out/labels.txt").read_text().split() == ["Car", "Pedestrian", "Cyclist", "DontCare", "Van"]


def test_kitti_attributes_round_trip_exactly(tmp_path):
    before = _items(DATA / "a_object")
    labelport.save(labelport.load(DATA / "a_object", format="kitti"), tmp_path / "out", "kitti")
    after = _items(tmp_path / "out")
    for key in ("000000", "000001"):
        assert [(a.label, a.attributes, a.score) for a in after[key].annotations] == [
            (a.label, a.attributes, a.score) for a in before[key].annotations
        ]
        for a, b in zip(before[key].annotations, after[key].annotations, strict=True):
            assert (a.x, a.y, a.w, a.h) == pytest.approx((b.x, b.y, b.w, b.h), abs=1e-9)


def test_attributes_kitti_cannot_hold_are_reported(tmp_path):
    box = BBox(
        label="traffic cone", x=1, y=2, w=3, h=4, attributes={"occluded": True, "color": "orange", "location": "far"}
    )
    ds = Dataset(
        [Item(id="a", media=Image(width=10, height=10), annotations=[box])], labels=[Label(name="traffic cone")]
    )
    report = labelport.save(ds, tmp_path / "out", "kitti")
    assert report.losses[("attribute 'color'", "dropped (KITTI has fixed columns)")] == 1
    assert report.losses[("attribute 'location' that is not a number", "dropped")] == 1
    assert (
        "label names with spaces",
        "spaces replaced by underscores (KITTI columns are space-separated)",
    ) in report.losses
    line = (tmp_path / "out/default/label_2/a.txt").read_text().strip()
    assert line == "traffic_cone -1 1 -10 1 2 4 6 -1 -1 -1 -1000 -1000 -1000 -10"


def test_tracking_frames_track_ids_and_dontcare():
    items = _items(DATA / "c_tracking")
    first = items["0000/000000"]
    assert isinstance(first.media, VideoFrame) and (first.media.video, first.media.frame) == ("0000", 0)
    assert [(a.label, a.track_id) for a in first.annotations] == [("Van", 0), ("Pedestrian", 1), ("DontCare", None)]
    assert first.annotations[0].attributes["truncated"] == 0 and isinstance(
        first.annotations[0].attributes["truncated"], int
    )
    assert items["0000/000001"].annotations == []
    assert items["0000/000002"].annotations[0].track_id == 0


def test_tracking_is_written_per_sequence_sorted_by_frame(tmp_path):
    report = labelport.save(labelport.load(DATA / "c_tracking", format="kitti"), tmp_path / "out", "kitti")
    assert report.losses == {("video frame without objects", "dropped (tracking label files list objects only)"): 1}
    lines = (tmp_path / "out/training/label_02/0000.txt").read_text().splitlines()
    assert [ln.split()[:3] for ln in lines] == [
        ["0", "0", "Van"],
        ["0", "1", "Pedestrian"],
        ["0", "-1", "DontCare"],
        ["2", "0", "Van"],
    ]
    assert lines[0] == "0 0 Van 0 0 -1.79 296.74 161.75 455.23 292.25 2 1.82 4.43 -4.55 1.65 13.42 -2.11"
    copied = labelport.save(
        labelport.load(DATA / "c_tracking", format="kitti"), tmp_path / "copy", "kitti", save_media="copy"
    )
    assert copied.lossless and (tmp_path / "copy/training/image_02/0000/000001.png").is_file()


def test_instance_maps_use_class_times_256_plus_instance():
    ds = labelport.load(DATA / "b_segmentation_cvat", format="kitti")
    assert [(lb.name, lb.id) for lb in ds.labels] == [("background", 0), ("car", 1), ("road", 2), ("person", 3)]
    (item,) = list(ds)
    inst = _png(DATA / "b_segmentation_cvat/default/instance/frame_000.png")
    masks = [a for a in item.annotations if a.type == "mask"]
    assert sorted((a.label, a.semantics, a.id) for a in masks) == [
        ("car", "instance", 257),
        ("car", "instance", 258),
        ("person", "instance", 769),
        ("road", "class", 512),
    ]
    for m in masks:
        assert np.array_equal(rle_decode(m.rle), inst == m.id)


def test_semantic_and_colour_maps_with_the_default_table():
    items = _items(DATA / "d_semantics")
    ids = _png(DATA / "d_semantics/training/semantic/000000_10.png")
    by_ids = {a.label: rle_decode(a.rle) for a in items["000000_10"].annotations}
    by_rgb = {a.label: rle_decode(a.rle) for a in items["000001_10"].annotations}
    assert set(by_ids) == {"road", "sky", "car"}  # Cityscapes ids 7, 23, 26; 0 is background
    assert np.array_equal(by_ids["car"], ids == 26)
    for name in by_ids:  # the colour map is the mirror image of the id map
        assert np.array_equal(by_rgb[name], by_ids[name][:, ::-1])


def test_segmentation_is_written_like_the_cvat_export(tmp_path):
    report = labelport.save(labelport.load(DATA / "b_segmentation_cvat", format="kitti"), tmp_path / "out", "kitti")
    assert report.lossless, report
    out = tmp_path / "out"
    for sub in ("instance", "semantic", "semantic_rgb"):
        assert np.array_equal(
            _png(out / f"default/{sub}/frame_000.png"), _png(DATA / f"b_segmentation_cvat/default/{sub}/frame_000.png")
        ), sub
    assert PILImage.open(out / "default/instance/frame_000.png").mode == "I;16"
    assert (out / "label_colors.txt").read_text().splitlines()[:2] == ["0 0 0\tbackground", "250 50 83\tcar"]
    assert (out / "labels.txt").read_text().split() == ["background", "car", "road", "person"]


def test_default_table_writes_no_colour_file_and_keeps_ids(tmp_path):
    labelport.save(labelport.load(DATA / "d_semantics", format="kitti"), tmp_path / "out", "kitti")
    assert not (tmp_path / "out/label_colors.txt").exists()
    assert np.array_equal(
        _png(tmp_path / "out/training/semantic/000000_10.png"),
        _png(DATA / "d_semantics/training/semantic/000000_10.png"),
    )


def test_mask_losses_are_reported(tmp_path):
    a = np.zeros((4, 4), bool)
    a[:3, :3] = True
    b = np.zeros((4, 4), bool)
    b[2:, 2:] = True
    ds = Dataset(
        [
            Item(
                id="x",
                media=Image(width=4, height=4),
                annotations=[
                    Mask.from_array(a, label="car"),
                    Mask.from_array(b, label="car"),
                    Mask.from_array(a, label="road", semantics="class"),
                    Mask.from_array(b, label="road", semantics="class"),
                    Mask.from_array(b, label="car", score=0.5),
                ],
            )
        ],
        labels=[Label(name="car"), Label(name="road")],
    )
    report = labelport.save(ds, tmp_path / "out", "kitti")
    assert report.losses[("class masks of one label in an image", "merged into one")] == 1
    assert report.losses[("pixels shared by overlapping masks", "kept by the later mask only")] == 4
    assert report.losses[("mask scores", "dropped")] == 1
    inst = _png(tmp_path / "out/default/instance/x.png")
    # car and road are Cityscapes classes (26, 7): the original table applies; the later masks cover the rest
    assert set(np.unique(inst).tolist()) == {0, 7 << 8, (26 << 8) + 3}
    assert not (tmp_path / "out/label_colors.txt").exists()


@pytest.mark.parametrize(
    ("line", "location", "message"),
    [
        ("Car 0 0 -1 1 2 3 4 -1 -1 -1 -1000 -1000 -1000", "line 2", "expected 15 values"),
        ("Car 0 0 -1 1 2 x 4 -1 -1 -1 -1000 -1000 -1000 -10", "line 2, column 7", "right is not a number"),
        ("Car 0 0 -1 1 2 nan 4 -1 -1 -1 -1000 -1000 -1000 -10", "line 2, column 7", "not finite"),
        ("Car 0 1.5 -1 1 2 3 4 -1 -1 -1 -1000 -1000 -1000 -10", "line 2", "occluded must be an integer"),
    ],
)
def test_bad_rows_are_located(tmp_path, line, location, message):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_object", root)
    path = root / "training/label_2/000001.txt"
    path.write_text(path.read_text().splitlines()[0] + "\n" + line + "\n")
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="kitti"))
    assert err.value.file == str(path) and err.value.location == location and message in err.value.message


def test_class_outside_the_table_is_located(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "b_segmentation_cvat", root)
    path = root / "default/instance/frame_000.png"
    inst = _png(path)
    inst[1, 2] = (9 << 8) + 1
    PILImage.fromarray(inst.astype(np.uint16)).save(path)
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="kitti"))
    assert err.value.location == "pixel x=2, y=1" and "class id 9" in err.value.message


def test_validate_checks_devkit_ranges(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_object", root)
    (root / "training/label_2/000002.txt").write_text(
        "Car 0 5 -1 10 10 20 20 -1 -1 -1 -1000 -1000 -1000 -10\n"
        "Car 0 0 -1 30 10 20 20 -1 -1 -1 -1000 -1000 -1000 -10\n"
        "Bus 2.5 0 -1 10 10 20 20 -1 -1 -1 -1000 -1000 -1000 -10\n"
    )
    problems = [
        (p.severity, p.location, p.message)
        for p in labelport.validate(root, format="kitti")
        if p.file and p.file.endswith("000002.txt")
    ]
    assert any(s == "error" and loc == "line 1" and "occluded is 5" in m for s, loc, m in problems), problems
    assert any(s == "error" and loc == "line 2" and "right/bottom" in m for s, loc, m in problems), problems
    assert any(s == "warning" and loc == "line 3" and "'Bus' is not a KITTI object type" in m for s, loc, m in problems)
    assert any(s == "warning" and loc == "line 3" and "truncated is 2.5" in m for s, loc, m in problems)


def test_detection_tells_kitti_rows_from_yolo_rows(tmp_path):
    (tmp_path / "label_2").mkdir()
    (tmp_path / "label_2/0.txt").write_text("0 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 0.1 0.2 0.3 0.4 0.5\n")
    assert plugin.labelport_detect(probe=Probe(tmp_path)) is None  # 15 numbers: a YOLO polygon row
    (tmp_path / "label_2/0.txt").write_text("Car 0 0 -1 1 2 3 4 -1 -1 -1 -1000 -1000 -1000 -10\n")
    assert plugin.labelport_detect(probe=Probe(tmp_path)).confidence == 0.95
    assert plugin.labelport_detect(probe=Probe(tmp_path / "label_2/0.txt")).confidence == 0.8


def test_single_label_file_reads_and_writes(tmp_path):
    src = DATA / "a_object/training/label_2/000000.txt"
    (item,) = list(labelport.load(src, format="kitti"))
    assert item.id == "000000" and len(item.annotations) == 4
    labelport.save(labelport.load(src, format="kitti"), tmp_path / "one.txt", "kitti")
    assert (tmp_path / "one.txt").read_text().splitlines()[3].startswith("DontCare -1 -1 -10 503.89")


def test_unreadable_image_does_not_block_the_labels(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_object", root)
    (root / "training/image_2/000000.png").write_bytes(b"\x89PNG broken")
    item = _items(root)["000000"]
    assert len(item.annotations) == 4 and item.media.width is None and item.media.path.endswith("000000.png")


def _masks_of(item: Item) -> list[tuple[str, str, bytes]]:
    return sorted(
        (a.label, a.semantics, np.packbits(rle_decode(a.rle)).tobytes()) for a in item.annotations if a.type == "mask"
    )


def test_generated_label_maps_round_trip_pixel_exact(tmp_path):
    """Non-overlapping class and instance masks (the most an instance map holds) survive
    exactly, with the Cityscapes table and with a custom (CVAT) one."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    counter = iter(range(10**6))

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        size=st.sampled_from([(8, 6), (17, 9), (40, 21)]),
        grid=st.tuples(st.integers(1, 4), st.integers(1, 3)),
        cells=st.lists(st.integers(0, 6), min_size=12, max_size=12),
        custom=st.booleans(),
    )
    def check(size, grid, cells, custom):
        (w, h), (gx, gy) = size, grid
        names = ("rust", "crack", "moss") if custom else ("road", "car", "person")
        segment = np.zeros((h, w), dtype=np.int64)
        for k in range(gx * gy):
            ys, xs = slice(k // gx * h // gy, (k // gx + 1) * h // gy), slice(k % gx * w // gx, (k % gx + 1) * w // gx)
            segment[ys, xs] = cells[k]
        anns = []
        for v in sorted(set(segment.ravel().tolist()) - {0}):
            label, semantics = (names[v - 1], "class") if v <= 3 else (names[(v - 4) % 2], "instance")
            anns.append(Mask.from_array(segment == v, label=label, semantics=semantics))
        ds = Dataset(
            [Item(id="x", media=Image(width=w, height=h), annotations=anns)], labels=[Label(name=n) for n in names]
        )
        out = tmp_path / f"g{next(counter)}"
        report = labelport.save(ds, out, "kitti")
        assert report.lossless, report
        (item,) = list(labelport.load(out, format="kitti"))
        assert _masks_of(item) == _masks_of(ds._items[0])

    check()


@pytest.mark.parametrize(
    "victim",
    [
        "b_segmentation_cvat/default/instance/frame_000.png",
        "d_semantics/training/semantic/000000_10.png",
        "d_semantics/training/semantic_rgb/000001_10.png",
    ],
)
def test_damaged_maps_are_refused_with_their_file(tmp_path, victim):
    """The maps the reader uses (instance/ first, then semantic/, then semantic_rgb/), cut short
    or with a damaged chunk, raise a LabelportError naming the map."""
    from labelport.errors import LabelportError

    sample, rel = victim.split("/", 1)
    data = (DATA / victim).read_bytes()
    for n, damaged in enumerate([data[: len(data) // 2], data[:1], data[:60] + b"\x00" * 8 + data[68:]]):
        root = tmp_path / str(n)
        shutil.copytree(DATA / sample, root)
        (root / rel).write_bytes(damaged)
        with pytest.raises(LabelportError) as err:
            list(labelport.load(root, format="kitti"))
        assert err.value.file == str(root / rel)
