"""YOLO Keras TXT: pixel boxes per image line, the per-box variant, splits, paths and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.schema import BBox, Dataset, Image, Item, Label

DATA = Path(__file__).parent / "data" / "yolo_keras"


def _read(path: Path) -> dict[tuple, list]:
    return {
        (i.subset, i.id): [(a.label, a.x, a.y, a.w, a.h) for a in i.annotations]
        for i in labelport.load(path, format="yolo_keras")
    }


def test_a_line_per_image_in_pixels():
    assert _read(DATA / "per_image") == {
        (None, "000001"): [("helmet", 17, 8, 13, 15), ("helmet", 11, 14, 2, 3)],
        (None, "my photo"): [("person", 2.5, 10, 9.75, 23)],  # a path with a space
        (None, "000013"): [],
    }
    item = next(i for i in labelport.load(DATA / "per_image", format="yolo_keras") if i.id == "my photo")
    assert (item.media.name, item.media.width, item.media.height) == ("my photo.jpg", 20, 40)


def test_a_line_per_box_merges_an_images_lines():
    assert _read(DATA / "per_box") == {
        (None, "images/a"): [("cat", 1, 2, 4, 4), ("dog", 3, 3, 6, 6)],
        (None, "images/b"): [("dog", 0, 0, 4, 4)],
        (None, "images/c"): [],
    }


def test_roboflow_split_folders_are_subsets():
    items = _read(DATA / "roboflow_splits")
    assert set(items) == {("train", "road_1"), ("train", "road_2"), ("valid", "road_3")}
    assert items[("train", "road_2")] == [("pothole", 0, 0, 8, 8), ("pothole", 10, 10, 6, 6)]


def test_a_single_file_with_absolute_paths_and_no_class_list():
    assert labelport.detect(DATA / "list_without_classes.txt")[0].format == "yolo_keras"
    ds = labelport.load(DATA / "list_without_classes.txt", format="yolo_keras")
    items = list(ds)
    assert {i.id: [a.label for a in i.annotations] for i in items} == {"000005": ["8", "8"], "000007": ["6"]}
    assert sorted(ds.labels.names()) == ["6", "8"]
    # never followed: the name is looked up inside the dataset, the written path kept as metadata
    assert (items[0].media.name, items[0].media.path) == ("000005.jpg", None)
    assert items[0].metadata == {"yolo_keras_path": "/data/voc/JPEGImages/000005.jpg"}
    assert ds.missing_media == ["000005.jpg", "000007.jpg"]
    problems = labelport.validate(DATA / "list_without_classes.txt", format="yolo_keras")
    assert not [p for p in problems if p.severity == "error"]
    assert any("leaves the dataset; looked up as '000007.jpg'" in p.message for p in problems)


@pytest.mark.parametrize(
    "line, message",
    [
        ("a.jpg 1,2,3,4,5\n", "class id 5 is not declared (2 classes in classes.txt)"),
        ("a.jpg 1,2,3,4\n", "malformed box '1,2,3,4'"),
        ("a.jpg 1,2,3,4,0 5,6,7\n", "box 2: '5,6,7' is not x_min,y_min,x_max,y_max,class_id"),
        ("1,2,3,4,0 a.jpg\n", "starts with a box"),
        ("a.jpg 5,2,3,4,0\n", "below x_min"),
        ("a.jpg 1,2,3,1e999,0\n", "not a finite number"),
    ],
)
def test_bad_lines_are_located(tmp_path, line, message):
    (tmp_path / "classes.txt").write_text("x\ny\n")
    (tmp_path / "annotations.txt").write_text("b.jpg 0,0,1,1,1\n" + line)
    with pytest.raises(FormatError) as info:
        list(labelport.load(tmp_path, format="yolo_keras"))
    assert message in info.value.message and info.value.location == "line 2"
    problems = [p for p in labelport.validate(tmp_path, format="yolo_keras") if p.severity == "error"]
    assert problems and problems[0].location == "line 2" and problems[0].file.endswith("annotations.txt")


def test_validate_warns_about_missing_images(tmp_path):
    shutil.copytree(DATA / "per_box", tmp_path / "ds")
    (tmp_path / "ds" / "images" / "b.png").unlink()
    problems = labelport.validate(tmp_path / "ds", format="yolo_keras")
    assert [p.message for p in problems] == ["image 'images/b.png' not found"]
    assert problems[0].severity == "warning"


def _ds(*items: Item) -> Dataset:
    return Dataset(list(items), labels=[Label(name="cat"), Label(name="dog")])


def test_writer_lines_and_class_list(tmp_path):
    items = [
        Item(
            id="a",
            media=Image(name="a.png"),
            annotations=[BBox(label="dog", x=1, y=2, w=3, h=4), BBox(label="cat", x=0.5, y=0, w=1, h=1)],
        ),
        Item(id="sub/b", media=Image(name="b.jpg")),
    ]
    report = labelport.save(_ds(*items), tmp_path / "out", "yolo_keras")
    assert (tmp_path / "out" / "yolokeras.annotations.txt").read_text() == "a.png 1,2,4,6,1 0.5,0,1.5,1,0\nsub/b.jpg\n"
    assert (tmp_path / "out" / "yolokeras.classes.txt").read_text() == "cat\ndog\n"
    assert report.lossless
    labelport.save(_ds(*items), tmp_path / "box", "yolo_keras", one_box_per_line=True)
    assert (tmp_path / "box" / "annotation.txt").read_text() == "a.png 1,2,4,6,1\na.png 0.5,0,1.5,1,0\nsub/b.jpg\n"
    assert (tmp_path / "box" / "label.txt").read_text() == "cat\ndog\n"
    assert _read(tmp_path / "box") == _read(tmp_path / "out")


def test_whole_pixels_on_request_report_the_rounding(tmp_path):
    item = Item(id="a", media=Image(), annotations=[BBox(label="cat", x=0.4, y=2, w=3.3, h=4)])
    report = labelport.save(_ds(item), tmp_path / "out", "yolo_keras", decimals=0)
    assert (tmp_path / "out" / "yolokeras.annotations.txt").read_text() == "a.jpg 0,2,4,6,0\n"
    assert dict(report.losses) == {("sub-pixel box coordinates", "rounded to 0 decimals"): 1}


def test_subsets_are_folders_and_items_without_one_stay_on_top(tmp_path):
    items = [Item(id="a", subset="train"), Item(id="b", subset="valid"), Item(id="c")]
    labelport.save(_ds(*items), tmp_path / "out", "yolo_keras")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.txt")) == [
        "train/yolokeras.annotations.txt",
        "train/yolokeras.classes.txt",
        "valid/yolokeras.annotations.txt",
        "valid/yolokeras.classes.txt",
        "yolokeras.annotations.txt",
        "yolokeras.classes.txt",
    ]
    assert set(_read(tmp_path / "out")) == {("train", "a"), ("valid", "b"), (None, "c")}


def test_what_keras_cannot_hold_is_reported(tmp_path):
    from labelport.schema import Polygon

    item = Item(
        id="a", media=Image(), annotations=[Polygon(label="cat", parts=[[0, 0, 4, 0, 2, 2]]), BBox(x=0, y=0, w=1, h=1)]
    )
    report = labelport.save(_ds(item), tmp_path / "out", "yolo_keras")
    assert {w: a for w, a in report.losses} == {
        "polygon": "reduced to its box",
        "unlabelled annotation": "dropped (a box needs a class)",
    }
    assert (tmp_path / "out" / "yolokeras.annotations.txt").read_text() == "a.jpg 0,0,4,2,0\n"


def test_foreign_text_is_not_keras(tmp_path):
    (tmp_path / "train.txt").write_text("data/obj_train_data/1.jpg\ndata/obj_train_data/2.jpg\n")
    (tmp_path / "imagenet.txt").write_text("1.jpg 0\n2.jpg 3\n")
    for name in ("train.txt", "imagenet.txt"):
        assert not [d for d in labelport.detect(tmp_path / name) if d.format == "yolo_keras"]
