"""Ultralytics YOLO: tasks, data.yaml forms, coordinates, the writer's choices and losses."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import orjson
import pytest
import yaml
from labelport.errors import FormatError
from labelport.schema import BBox, Dataset, Image, Item, Keypoints, Label, Polygon, Skeleton, Tag
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data" / "ultralytics"


def _load(path: Path) -> dict[tuple, Item]:
    return {(i.subset, i.id): i for i in labelport.load(path, format="ultralytics")}


def _r(values) -> list[float]:
    return [round(v, 6) + 0.0 for v in values]


def _geom(ann) -> tuple:
    if ann.type == "bbox":
        return ("bbox", ann.label, _r((ann.x, ann.y, ann.w, ann.h)), round(ann.rotation, 6))
    if ann.type == "polygon":
        return ("polygon", ann.label, _r(ann.parts[0]))
    if ann.type == "keypoints":
        return ("keypoints", ann.label, _r(ann.points), ann.visibility, ann.group)
    return (ann.type, ann.label)


def _dataset(tmp_path: Path, yaml_text: str, rows: str, size: tuple[int, int] = (100, 100)) -> Path:
    root = tmp_path / "ds"
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text(yaml_text)
    PILImage.new("RGB", size).save(root / "images" / "train" / "x.jpg")
    (root / "labels" / "train" / "x.txt").write_text(rows)
    return root


def _losses(report) -> dict[str, str]:
    return {what: action for what, action in report.losses}


NAMES = "train: images/train\nval: images/train\nnames: [a, b]\n"


# --------------------------------------------------------------------------- reading


def test_detection_sample_in_pixels_with_subsets():
    items = _load(DATA / "detect")
    assert set(items) == {("train", "im1"), ("train", "im2"), ("val", "im3")}
    assert [_geom(a) for a in items[("train", "im1")].annotations] == [
        ("bbox", "person", [8, 12, 16, 24], 0),
        ("bbox", "car", [32, 9, 12.8, 6], 0),
    ]
    assert items[("train", "im2")].annotations == []  # an image without a label file
    assert [_geom(a) for a in items[("val", "im3")].annotations] == [("bbox", "bicycle", [10, 10, 20, 20], 0)]
    ds = labelport.load(DATA / "detect", format="ultralytics")
    assert [(lb.name, lb.id) for lb in ds.labels] == [("person", 0), ("bicycle", 1), ("car", 2)]


def test_segmentation_polygons_in_pixels():
    (item,) = labelport.load(DATA / "segment", format="ultralytics")
    assert [_geom(a) for a in item.annotations] == [
        ("polygon", "triangle", [10, 8, 40, 8, 25, 40]),
        ("polygon", "quad", [50, 40, 90, 44, 80, 72, 55, 68]),  # 4 points, no rectangle: a polygon
        ("polygon", "quad", [10, 48, 30, 48, 35, 56, 30, 72, 10, 72]),
    ]


def test_four_point_rectangles_are_oriented_boxes_unless_the_task_says_segment(tmp_path):
    rows = "0 0.1 0.1 0.3 0.1 0.3 0.2 0.1 0.2\n"
    (item,) = labelport.load(_dataset(tmp_path / "a", NAMES, rows), format="ultralytics")
    assert [_geom(a) for a in item.annotations] == [("bbox", "a", [10, 10, 20, 10], 0)]
    (item,) = labelport.load(_dataset(tmp_path / "b", NAMES + "task: segment\n", rows), format="ultralytics")
    assert [_geom(a) for a in item.annotations] == [("polygon", "a", [10, 10, 30, 10, 30, 20, 10, 20])]


def test_oriented_boxes_and_their_rows_are_kept_exactly(tmp_path):
    (item,) = labelport.load(DATA / "obb", format="ultralytics")
    assert [_geom(a) for a in item.annotations] == [
        ("bbox", "plane", [30, 40, 40, 20], 90),
        ("bbox", "ship", [10, 70, 20, 10], 0),
    ]
    labelport.save(labelport.load(DATA / "obb", format="ultralytics"), tmp_path / "out", "ultralytics")
    assert (tmp_path / "out" / "labels" / "train" / "o1.txt").read_text() == (
        DATA / "obb" / "labels" / "train" / "o1.txt"
    ).read_text()
    assert yaml.safe_load((tmp_path / "out" / "data.yaml").read_text())["task"] == "obb"


def test_pose_rows_pair_keypoints_with_their_box():
    ds = labelport.load(DATA / "pose", format="ultralytics")
    (item,) = list(ds)
    assert [_geom(a) for a in item.annotations] == [
        ("keypoints", "person", [50, 30, 40, 25, 60, 25], [2, 1, 2], 1),
        ("bbox", "person", [30, 20, 40, 60], 0),
        # the second box only encloses its visible keypoints: no separate box
        ("keypoints", "person", [10, 20, 30, 30, 0, 0], [2, 2, 0], None),
    ]
    assert item.annotations[1].group == 1
    assert ds.labels["person"].skeleton == Skeleton(points=["nose", "left_eye", "right_eye"], flip_pairs=[(1, 2)])
    assert ds.info.metadata == {"ultralytics_task": "pose", "ultralytics_kpt_shape": [3, 3]}


def test_two_value_keypoints_treat_the_origin_as_unlabelled(tmp_path):
    root = _dataset(tmp_path, NAMES + "kpt_shape: [2, 2]\n", "1 0.5 0.5 0.5 0.5 0.4 0.4 0 0\n")
    (item,) = labelport.load(root, format="ultralytics")
    kp = item.annotations[0]
    assert (kp.label, kp.points, kp.visibility) == ("b", [40.0, 40.0, 0.0, 0.0], [2, 0])
    assert item.annotations[1].type == "bbox"


def test_roboflow_paths_and_a_renamed_split_folder():
    items = _load(DATA / "roboflow")
    assert set(items) == {("train", "h1"), ("val", "h2")}
    assert [_geom(a) for a in items[("val", "h2")].annotations] == [
        ("bbox", "head", [10, 10, 10, 10], 0),
        ("bbox", "helmet", [30, 30, 10, 10], 0),
    ]


def test_split_list_files_with_relative_entries():
    items = _load(DATA / "list_file")
    assert set(items) == {("train", "l1"), ("train", "l2")}  # val names the same list: read once
    assert [_geom(a) for a in items[("train", "l1")].annotations] == [("bbox", "thing", [0, 0, 30, 20], 0)]


def test_an_image_listed_and_found_in_its_folder_is_one_item(tmp_path):
    root = _dataset(tmp_path, "train: [images/train/x.jpg]\nnames: [a]\n", "0 0.5 0.5 0.2 0.2\n")
    assert [i.id for i in labelport.load(root, format="ultralytics")] == ["x"]


def test_classification_folders_without_yaml():
    root = DATA / "_classify_folders_only"
    assert labelport.detect(root)[0].format == "ultralytics"
    ds = labelport.load(root, format="ultralytics")
    items = {(i.subset, i.id): [a.label for a in i.annotations] for i in ds}
    assert items == {
        ("train", "cat/c1"): ["cat"],
        ("train", "cat/c2"): ["cat"],
        ("train", "dog/d1"): ["dog"],
        ("val", "dog/d2"): ["dog"],
    }
    assert ds.labels.names() == ["cat", "dog"] and ds.info.metadata["ultralytics_task"] == "classify"


def test_classification_written_with_labels_json_and_class_folders(tmp_path):
    item = Item(
        id="photo",
        subset="train",
        media=Image(name="photo.png", width=4, height=4),
        annotations=[Tag(label="cat"), Tag(label="pet")],
    )
    other = Item(id="nothing", subset="train", media=Image(name="n.jpg"))
    report = labelport.save(
        Dataset([item, other], labels=[Label(name="cat"), Label(name="pet")]), tmp_path / "out", "ultralytics"
    )
    out = tmp_path / "out"
    assert orjson.loads((out / "train" / "labels.json").read_bytes()) == {
        "photo": {"labels": ["cat", "pet"], "path": "cat/photo.png"},
        "nothing": {"labels": [], "path": "no_label/nothing.jpg"},
    }
    assert yaml.safe_load((out / "data.yaml").read_text())["task"] == "classify"
    assert report.lossless
    back = {i.id: sorted(a.label for a in i.annotations) for i in labelport.load(out, format="ultralytics")}
    assert back == {"photo": ["cat", "pet"], "nothing": []}


def test_classification_media_is_placed_in_each_class_folder(tmp_path):
    ds = labelport.load(DATA / "classify", format="ultralytics")
    labelport.save(ds, tmp_path / "out", "ultralytics", save_media="copy")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.jpg")) == [
        "train/cat/c1.jpg",
        "train/cat/c2.jpg",
        "train/dog/d1.jpg",
        "val/dog/d2.jpg",
    ]
    (tmp_path / "out" / "train" / "labels.json").unlink()
    (tmp_path / "out" / "val" / "labels.json").unlink()
    back = {(i.subset, i.id) for i in labelport.load(tmp_path / "out", format="ultralytics")}
    assert back == {("train", "cat/c1"), ("train", "cat/c2"), ("train", "dog/d1"), ("val", "dog/d2")}


def test_images_and_labels_folders_without_yaml(tmp_path):
    root = _dataset(tmp_path, "", "3 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").unlink()
    assert labelport.detect(root)[0].format == "ultralytics"
    ds = labelport.load(root, format="ultralytics")
    (item,) = list(ds)
    assert item.annotations[0].label == "3" and ds.labels.names() == ["3"]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "yaml_text, message, location",
    [
        ("train: images/train\nnames: [a, b\n", "malformed YAML", "line 3"),
        ("train: images/train\nnames: 7\n", "list or a mapping of class names", "names"),
        ("train: images/train\nnames: {x: a}\n", "not a non-negative integer", "names"),
        ("train: images/train\nnames: [a]\nkpt_shape: [3, 4]\n", "2 or 3", "kpt_shape"),
        ("train: images/train\nnames: [a]\nkpt_shape: [3, 3]\nflip_idx: [0, 1]\n", "3 keypoint indices", "flip_idx"),
        ("- just\n- a list\n", "mapping of settings", None),
    ],
)
def test_bad_settings_are_located(tmp_path, yaml_text, message, location):
    root = _dataset(tmp_path, yaml_text, "")
    with pytest.raises(FormatError) as info:
        list(labelport.load(root, format="ultralytics"))
    assert message in info.value.message and info.value.location == location
    assert info.value.file.endswith("data.yaml")


@pytest.mark.parametrize(
    "extra, row, message",
    [
        ("", "0 0.1 0.1 0.2 0.1 0.3 0.3 0.5\n", "polygon points come in x, y pairs"),
        ("kpt_shape: [2, 3]\n", "0 0.5 0.5 0.2 0.2 0.1 0.1 2\n", "pose rows have 11"),
        ("kpt_shape: [1, 3]\n", "0 0.5 0.5 0.2 0.2 0.1 0.1 3\n", "visibility 3"),
        ("", "0 0.5 0.5 0.2 0.2 7.5\n", "track id or a score"),
    ],
)
def test_bad_rows_are_located(tmp_path, extra, row, message):
    root = _dataset(tmp_path, NAMES + extra, row)
    with pytest.raises(FormatError, match=message) as info:
        list(labelport.load(root, format="ultralytics"))
    assert info.value.location == "line 1"


def test_polygon_rows_may_end_with_a_track_id(tmp_path):
    (item,) = labelport.load(_dataset(tmp_path, NAMES, "1 0.1 0.1 0.5 0.1 0.3 0.4 17\n"), format="ultralytics")
    assert (
        _geom(item.annotations[0]) == ("polygon", "b", [10, 10, 50, 10, 30, 40]) and item.annotations[0].track_id == 17
    )


def test_validate_warns_about_settings(tmp_path):
    root = _dataset(tmp_path, "train: images/train\nval: images/missing\nnc: 3\nnames: [a, b]\n", "0 0.5 0.5 0.2 0.2\n")
    problems = labelport.validate(root, format="ultralytics")
    assert not [p for p in problems if p.severity == "error"]
    found = {(p.location, p.message.split(":")[0]) for p in problems}
    assert ("nc", "nc is 3 but names has 2 entries") in found
    assert ("val", "split 'val'") in found


def test_labels_without_image_or_size_name_the_image(tmp_path):
    root = _dataset(tmp_path, NAMES, "0 0.5 0.5 0.2 0.2\n")
    (root / "images" / "train" / "x.jpg").unlink()
    with pytest.raises(FormatError, match="image size unknown for 'x'"):
        list(labelport.load(root, format="ultralytics"))
    (root / "images.meta").write_text("images/train/x.png 50 200\n")
    (item,) = labelport.load(root, format="ultralytics")
    assert item.media.name == "x.png" and _geom(item.annotations[0]) == ("bbox", "a", [80, 20, 40, 10], 0)


# --------------------------------------------------------------------------- writing


def _written(tmp_path: Path, items: list[Item], labels=("a", "b"), **options) -> tuple[Path, object]:
    out = tmp_path / "out"
    report = labelport.save(Dataset(items, labels=[Label(name=n) for n in labels]), out, "ultralytics", **options)
    return out, report


def _rows(out: Path, subset: str = "train", stem: str = "x") -> str:
    return (out / "labels" / subset / f"{stem}.txt").read_text()


def test_data_yaml_names_the_splits_and_classes(tmp_path):
    items = [
        Item(
            id="x", subset="valid", media=Image(width=10, height=10), annotations=[BBox(label="b", x=0, y=0, w=5, h=5)]
        )
    ]
    out, report = _written(tmp_path, items)
    cfg = yaml.safe_load((out / "data.yaml").read_text())
    # no 'path' key: Ultralytics then resolves the splits against the yaml's own folder
    assert cfg == {
        "valid": "images/valid",
        "train": "images/valid",
        "val": "images/valid",
        "task": "detect",
        "nc": 2,
        "names": {0: "a", 1: "b"},
    }
    assert _rows(out, "valid") == "1 0.25 0.25 0.5 0.5\n"
    assert (out / "images.meta").read_text() == "images/valid/x.jpg 10 10\n"
    assert any("no 'val' split" in n for n in report.notes)
    assert [(i.subset, i.id) for i in labelport.load(out, format="ultralytics")] == [("valid", "x")]


def test_default_decimals_keep_ultralytics_values_stable(tmp_path):
    for sample in ("detect", "segment", "pose"):
        labelport.save(labelport.load(DATA / sample, format="ultralytics"), tmp_path / sample, "ultralytics")
        for label in (DATA / sample / "labels").rglob("*.txt"):
            assert (tmp_path / sample / label.relative_to(DATA / sample)).read_text() == label.read_text(), label


@pytest.mark.parametrize(
    "anns, task",
    [
        ([BBox(label="a", x=1, y=1, w=2, h=2)], "detect"),
        ([BBox(label="a", x=1, y=1, w=2, h=2), Polygon(label="b", parts=[[0, 0, 4, 0, 2, 3]])], "segment"),
        ([BBox(label="a", x=1, y=1, w=2, h=2, rotation=45)], "obb"),
        (
            [
                Keypoints(label="a", points=[1, 1, 2, 2], visibility=[2, 2]),
                Polygon(label="b", parts=[[0, 0, 4, 0, 2, 3]]),
            ],
            "pose",
        ),
        ([Tag(label="a")], "classify"),
    ],
)
def test_auto_task_follows_the_annotations(tmp_path, anns, task):
    out, _ = _written(tmp_path, [Item(id="x", media=Image(width=10, height=10), annotations=anns)])
    assert yaml.safe_load((out / "data.yaml").read_text())["task"] == task


def test_mixed_boxes_and_polygons_are_noted(tmp_path):
    anns = [BBox(label="a", x=0, y=0, w=5, h=5), Polygon(label="b", parts=[[0, 0, 10, 0, 10, 10, 0, 10]])]
    out, report = _written(tmp_path, [Item(id="x", media=Image(width=10, height=10), annotations=anns)])
    assert _rows(out) == "0 0.25 0.25 0.5 0.5\n1 0 0 1 0 1 1 0 1\n"
    assert any("mixed" in n for n in report.notes) and report.lossless
    (back,) = labelport.load(out, format="ultralytics")  # task: segment keeps the square a polygon
    assert [a.type for a in back.annotations] == ["bbox", "polygon"]


def test_what_a_task_cannot_hold_is_reported(tmp_path):
    anns = [
        Keypoints(label="a", points=[1, 1, 3, 3], visibility=[2, 1]),
        Polygon(label="b", parts=[[0, 0, 4, 0, 2, 3]]),
        BBox(label="b", x=0, y=0, w=1, h=1, rotation=30),
        Tag(label="a"),
    ]
    _, report = _written(tmp_path, [Item(id="x", media=Image(width=10, height=10), annotations=anns)])
    losses = _losses(report)
    assert "reduced to its box" in losses["polygon"]
    assert "axis-aligned" in losses["rotated bbox"]
    assert "no image labels" in losses["label"]
    _, report = _written(
        tmp_path / "d", [Item(id="x", media=Image(width=10, height=10), annotations=anns)], task="detect"
    )
    assert "holds no keypoints" in _losses(report)["keypoints"]


def test_pose_writer_rows_and_settings(tmp_path):
    skeleton = Skeleton(points=["l", "r", "c"], edges=[(0, 2)], flip_pairs=[(0, 1)])
    anns = [
        Keypoints(label="a", points=[10, 20, 30, 40, 0, 0], visibility=[2, 1, 0], group=5),
        BBox(label="a", x=0, y=0, w=50, h=50, group=5),
        Keypoints(label="a", points=[10, 10, 20, 30, 50, 50], visibility=[2, 2, 2]),  # box from its points
        BBox(label="b", x=50, y=50, w=10, h=10),  # a plain box: keypoints all unlabelled
    ]
    labels = [Label(name="a", skeleton=skeleton), Label(name="b")]
    report = labelport.save(
        Dataset([Item(id="x", media=Image(width=100, height=100), annotations=anns)], labels=labels),
        tmp_path / "out",
        "ultralytics",
    )
    out = tmp_path / "out"
    assert _rows(out) == (
        "0 0.25 0.25 0.5 0.5 0.1 0.2 2 0.3 0.4 1 0 0 0\n"
        "0 0.3 0.3 0.4 0.4 0.1 0.1 2 0.2 0.3 2 0.5 0.5 2\n"
        "1 0.55 0.55 0.1 0.1 0 0 0 0 0 0 0 0 0\n"
    )
    cfg = yaml.safe_load((out / "data.yaml").read_text())
    assert (cfg["kpt_shape"], cfg["flip_idx"], cfg["kpt_names"]) == ([3, 3], [1, 0, 2], {0: ["l", "r", "c"]})
    assert _losses(report) == {"skeleton edges": "dropped (data.yaml holds point names and flip pairs only)"}
    back = [_geom(a) for a in next(iter(labelport.load(out, format="ultralytics"))).annotations]
    assert back == [
        ("keypoints", "a", [10, 20, 30, 40, 0, 0], [2, 1, 0], 1),
        ("bbox", "a", [0, 0, 50, 50], 0),
        ("keypoints", "a", [10, 10, 20, 30, 50, 50], [2, 2, 2], None),
        ("bbox", "b", [50, 50, 10, 10], 0),
    ]


def test_keypoint_counts_that_differ_are_reported(tmp_path):
    anns = [
        Keypoints(label="a", points=[1, 1, 2, 2, 3, 3], visibility=[2, 2, 2]),
        Keypoints(label="a", points=[5, 5], visibility=[2]),
    ]
    out, report = _written(tmp_path, [Item(id="x", media=Image(width=10, height=10), annotations=anns)])
    assert "padded or cut to the dataset's 3 points" in _losses(report)["keypoints"]
    assert yaml.safe_load((out / "data.yaml").read_text())["kpt_shape"] == [3, 3]


def test_coordinates_outside_the_image_are_clipped_and_reported(tmp_path):
    anns = [BBox(label="a", x=-2, y=5, w=6, h=10), Polygon(label="b", parts=[[5, 5, 12, 5, 5, 8]])]
    out, report = _written(tmp_path, [Item(id="x", media=Image(width=10, height=10), annotations=anns)])
    assert _rows(out) == "0 0.2 0.75 0.4 0.5\n1 0.5 0.5 1 0.5 0.5 0.8\n"
    assert {w for w, _ in report.losses} == {"bbox outside the image", "polygon outside the image"}


def test_save_media_writes_images_where_ultralytics_looks(tmp_path):
    ds = labelport.load(DATA / "detect", format="ultralytics")
    labelport.save(ds, tmp_path / "out", "ultralytics", save_media="copy")
    out = tmp_path / "out"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "data.yaml",
        "images/train/im1.jpg",
        "images/train/im2.jpg",
        "images/val/im3.png",
        "labels/train/im1.txt",
        "labels/train/im2.txt",
        "labels/val/im3.txt",
    ]


def test_converting_to_yolo_formats_reports_every_loss(tmp_path):
    """Ultralytics -> darknet: polygons become boxes, keypoints become the box of their visible points, all counted."""
    shutil.copytree(DATA / "segment", tmp_path / "seg")
    report = labelport.convert(tmp_path / "seg", tmp_path / "darknet", to="yolo")
    assert _losses(report) == {"polygon": "reduced to its box"}
    assert report.losses[("polygon", "reduced to its box")] == 3
    report = labelport.convert(DATA / "pose", tmp_path / "keras", to="yolo_keras")
    assert report.losses[("keypoints", "reduced to the box of its visible points")] == 2


def test_the_yaml_itself_can_be_read():
    assert labelport.detect(DATA / "detect" / "data.yaml")[0].format == "ultralytics"
    items = {(i.subset, i.id) for i in labelport.load(DATA / "detect" / "data.yaml", format="ultralytics")}
    assert items == {("train", "im1"), ("train", "im2"), ("val", "im3")}
