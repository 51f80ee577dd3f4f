"""MOTS-specific behaviour: object ids class*1000+instance in 16-bit PNGs and txt RLE lines,
the ignore region, frame numbering of KITTI MOTS and MOTSChallenge, and the PNG writer."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.errors import FormatError, LabelportError
from labelport.schema import Dataset, Image, Item, Label, Mask, VideoFrame
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data_mots"


def _items(path: Path) -> dict[str, Item]:
    return {item.id: item for item in labelport.load(path, format="mots")}


def _box(h: int, w: int, ys: slice, xs: slice) -> np.ndarray:
    a = np.zeros((h, w), bool)
    a[ys, xs] = True
    return a


# ------------------------------------------------------------------ reading


def test_png_ids_split_into_class_and_instance() -> None:
    ds = labelport.load(DATA / "png_with_subsets")
    assert ds.labels.names() == ["car", "pedestrian", "cyclist"]
    items = {(i.subset, i.id): i for i in ds}
    assert sorted(items) == [("train", "000001"), ("train", "000002"), ("val", "000001")]
    frame = items[("train", "000002")]
    assert (frame.media.width, frame.media.height) == (8, 6)
    assert frame.media.path.endswith("train/images/000002.jpg")
    car, pedestrian = frame.annotations
    assert (car.label, car.track_id, car.metadata["mots_id"]) == ("car", 1, 1001)
    assert (pedestrian.label, pedestrian.track_id) == ("pedestrian", 2)  # id 2002
    assert np.array_equal(car.to_array(), _box(6, 8, slice(1, 3), slice(1, 4)))
    assert np.array_equal(pedestrian.to_array(), _box(6, 8, slice(3, 6), slice(5, 7)))
    assert items[("val", "000001")].annotations[2].label == "cyclist"


def test_mots_classes_and_the_ignore_region_without_labels_file() -> None:
    ds = labelport.load(DATA / "kitti_png")
    items = {item.id: item for item in ds}
    assert sorted(items) == ["0002/000000", "0002/000001"]
    anns = {a.metadata["mots_id"]: a for a in items["0002/000001"].annotations}
    assert (anns[1005].label, anns[1005].track_id) == ("car", 5)
    assert (anns[2002].label, anns[2002].track_id) == ("pedestrian", 2)
    assert anns[10000].label == "ignored" and anns[10000].to_array().sum() == 2
    assert ds.labels.names() == ["car", "pedestrian", "ignored"]  # declared when met


def test_kitti_txt_counts_frames_from_zero() -> None:
    items = _items(DATA / "kitti_txt")
    assert sorted(items) == ["0002/000000", "0002/000001", "0005/000003"]
    frame = items["0002/000000"]
    assert isinstance(frame.media, VideoFrame)
    assert (frame.media.video, frame.media.frame, frame.media.width, frame.media.height) == ("0002", 0, 9, 6)
    car, pedestrian, ignore = frame.annotations
    assert (car.label, car.track_id) == ("car", 2)
    assert np.array_equal(car.to_array(), _box(6, 9, slice(0, 2), slice(0, 3)))
    assert pedestrian.label == "pedestrian" and ignore.label == "ignored"
    assert items["0005/000003"].media.frame == 3


def test_frames_without_images_are_listed_as_missing(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "kitti_png", format="mots")
    assert [i.id for i in ds] and ds.missing_media == ["0002/000000", "0002/000001"]
    assert list(labelport.load(DATA / "kitti_png", format="mots", keep_missing_media=False)) == []
    copy = tmp_path / "seq"
    shutil.copytree(DATA / "motschallenge", copy)
    (copy / "MOTS20-90" / "img1" / "000002.jpg").unlink()
    ds = labelport.load(copy, format="mots")
    assert ds.missing_media == ["000002"]
    assert [i.id for i in labelport.load(copy, format="mots", keep_missing_media=False)] == ["000001"]


def test_motschallenge_counts_frames_from_one() -> None:
    items = _items(DATA / "motschallenge")
    assert sorted(items) == ["000001", "000002"]
    frame = items["000001"]
    assert (frame.media.video, frame.media.frame) == ("MOTS20-90", 0)
    assert frame.media.path.endswith("img1/000001.jpg")
    assert [a.track_id for a in frame.annotations] == [1, 2]
    assert labelport.detect(DATA / "motschallenge")[0].format == "mots"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("0 1001 1 4 4", "6 space-separated"),
        ("0 1001 1 4 4 !!!", "invalid RLE"),
        ("0 1001 1 4 4 0:0", "invalid RLE"),  # runs that do not cover 4x4
        ("0 1001 1 0 4 04", "height and width"),
        ("x 1001 1 4 4 04", "frame is not a number"),
        ("0 1001 1 99999999 99999999 04", "past what labelport reads"),  # refused before any decoding
    ],
)
def test_bad_txt_lines_raise_located_errors(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "seq.txt"
    path.write_text("0 1001 1 2 2 04\n" + line + "\n")
    with pytest.raises(FormatError) as info:
        labelport.load(path, format="mots")
    assert info.value.location == "line 2" and message in info.value.message



def test_damaged_pngs_only_raise_labelport_errors(tmp_path: Path) -> None:
    # the kit's fuzzing leaves image files alone; the PNG encoding keeps its annotations in them
    rng = random.Random(5)
    src = DATA / "png_with_subsets"
    for case in range(30):
        copy = tmp_path / f"c{case}"
        shutil.copytree(src, copy)
        victim = copy / "train" / "instances" / "000001.png"
        data = bytearray(victim.read_bytes())
        if case % 3 == 0:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 6)):
                data[rng.randrange(8, len(data))] = rng.randrange(256)
        victim.write_bytes(bytes(data))
        try:
            for item in labelport.load(copy, format="mots"):
                _ = item.annotations
        except LabelportError:
            pass


def test_a_colour_png_is_refused(tmp_path: Path) -> None:
    (tmp_path / "instances").mkdir()
    PILImage.new("RGB", (3, 2)).save(tmp_path / "instances" / "f.png")
    with pytest.raises(FormatError, match="one integer channel"):
        list(labelport.load(tmp_path, format="mots"))


def test_validation_of_txt_and_png(tmp_path: Path) -> None:
    txt = tmp_path / "seq.txt"
    # 2x2 masks: "04" is all set, "13" sets all but the first pixel
    txt.write_text("0 1001 1 2 2 04\n0 2001 1 2 2 13\n1 1001 1 2 2 04\n1 1002 1 3 3 09\n")
    problems = {(p.location, p.message) for p in labelport.validate(txt, format="mots") if p.severity == "error"}
    assert ("line 2", "id 2001 is not of class 1") in problems
    assert ("line 2", "the mask of id 2001 overlaps another in frame 0") in problems
    assert ("line 4", "frame 1 has masks of two sizes") in problems
    png = tmp_path / "png"
    shutil.copytree(DATA / "png_with_subsets", png)
    (png / "val" / "instances" / "labels.txt").write_text("car\npedestrian\n")
    problems = [p for p in labelport.validate(png, format="mots") if p.severity == "error"]
    assert any(
        "class 3, past the 2 labels" in p.message and p.file.endswith("val/instances/000001.png") for p in problems
    )


# ------------------------------------------------------------------ writing


def _png(path: Path) -> np.ndarray:
    with PILImage.open(path) as im:
        assert im.mode.startswith("I;16")
        return np.asarray(im)


def test_written_pngs_hold_class_times_1000_plus_instance(tmp_path: Path) -> None:
    before = labelport.load(DATA / "png_with_subsets")
    report = labelport.save(before, tmp_path / "out", "mots")
    assert report.lossless, report
    for rel in ("train/instances/000001.png", "train/instances/000002.png", "val/instances/000001.png"):
        assert np.array_equal(_png(tmp_path / "out" / rel), _png(DATA / "png_with_subsets" / rel))
    assert (tmp_path / "out" / "train" / "instances" / "labels.txt").read_text() == "car\npedestrian\ncyclist\n"


def test_the_ignore_region_is_written_back_as_10000(tmp_path: Path) -> None:
    labelport.save(labelport.load(DATA / "kitti_txt"), tmp_path / "out", "mots")
    ids = _png(tmp_path / "out" / "default" / "instances" / "0002" / "000000.png")
    assert set(np.unique(ids).tolist()) == {0, 1002, 2001, 10000}
    assert ids.shape == (6, 9)


def test_masks_from_other_formats(tmp_path: Path) -> None:
    h, w = 4, 5
    ds = Dataset(
        [
            Item(
                id="f1",
                media=Image(width=w, height=h),
                annotations=[
                    Mask.from_array(_box(h, w, slice(0, 2), slice(0, 2)), label="person", track_id=7),
                    Mask.from_array(_box(h, w, slice(1, 3), slice(1, 3)), label="person"),  # overlaps, no track
                    Mask.from_array(_box(h, w, slice(3, 4), slice(4, 5)), label="person", track_id=4000),
                    Mask.from_array(_box(h, w, slice(3, 4), slice(0, 1))),  # no label
                ],
            ),
            Item(id="empty", media=Image(width=w, height=h)),
            Item(id="sizeless"),
        ],
        labels=[Label(name="dog"), Label(name="person")],
    )
    report = labelport.save(ds, tmp_path / "out", "mots")
    assert set(report.losses) == {
        ("overlapping mask pixels", "painted over (a MOTS pixel holds one object id)"),
        ("track ids outside 0..999", "replaced by a free instance number"),
        ("masks without a label", "dropped (a MOTS id carries the class)"),
        ("items without masks or image size", "dropped (a MOTS frame is an instance PNG)"),
    }
    ids = _png(tmp_path / "out" / "default" / "instances" / "f1.png")
    assert ids[0, 0] == 2007  # person is class 2 (labels.txt line 2), track 7
    assert ids[1, 1] == 2008  # painted over 2007; the first free instance after 7
    assert ids[3, 4] == 2009
    assert ids[3, 0] == 0
    assert not _png(tmp_path / "out" / "default" / "instances" / "empty.png").any()
    assert sorted(i.id for i in labelport.load(tmp_path / "out", format="mots")) == ["empty", "f1"]


def test_labels_declared_while_streaming_keep_their_class_numbers(tmp_path: Path) -> None:
    labels = [Label(name="car")]
    ds = Dataset(labels=labels)

    def items():
        # a lazy reader declares two labels at once; the writer meets the second one first
        ds.labels.add("bus")
        ds.labels.add("tram")
        yield Item(
            id="f",
            media=Image(width=2, height=1),
            annotations=[
                Mask.from_array(np.array([[1, 0]], bool), label="tram", track_id=1),
                Mask.from_array(np.array([[0, 1]], bool), label="bus", track_id=1),
            ],
        )

    labelport.save(ds.with_items(items), tmp_path / "out", "mots")
    assert (tmp_path / "out" / "default" / "instances" / "labels.txt").read_text() == "car\nbus\ntram\n"
    assert _png(tmp_path / "out" / "default" / "instances" / "f.png").tolist() == [[3001, 2001]]
