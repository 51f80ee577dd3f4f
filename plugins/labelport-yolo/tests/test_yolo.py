"""YOLO darknet: coordinates, layouts, row validation, losses and the writer's output."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.schema import BBox, Dataset, Image, Item, Label, Polygon
from labelport_yolo._common import YoloWarning, fmt
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data" / "yolo"


def _items(path: Path, **kw) -> dict[tuple, Item]:
    return {(i.subset, i.id): i for i in labelport.load(path, format="yolo", **kw)}


def _box(ann: BBox) -> tuple[float, ...]:
    return (round(ann.x, 9), round(ann.y, 9), round(ann.w, 9), round(ann.h, 9))


def _layout(tmp_path: Path, rows: str, names: str = "a\nb\n", size: tuple[int, int] = (100, 50)) -> Path:
    root = tmp_path / "ds"
    (root / "obj_train_data").mkdir(parents=True)
    (root / "obj.names").write_text(names)
    (root / "obj.data").write_text("classes = 2\ntrain = data/train.txt\nnames = data/obj.names\n")
    (root / "train.txt").write_text("data/obj_train_data/x.jpg\n")
    PILImage.new("RGB", size).save(root / "obj_train_data" / "x.jpg")
    (root / "obj_train_data" / "x.txt").write_text(rows)
    return root


# --------------------------------------------------------------------------- reading


def test_cvat_layout_converts_centre_boxes_to_pixels_exactly():
    items = _items(DATA / "cvat_layout")
    assert set(items) == {("train", "frame_1"), ("train", "frame_2"), ("valid", "frame_3")}
    frame = items[("train", "frame_1")]
    assert (frame.media.width, frame.media.height) == (64, 48)
    assert [(a.label, _box(a)) for a in frame.annotations] == [("cat", (8, 12, 16, 24)), ("person", (40, 0, 24, 48))]
    assert items[("train", "frame_2")].annotations == []
    assert [_box(a) for a in items[("valid", "frame_3")].annotations] == [(0, 0, 32, 32), (0, 0, 8, 8)]


def test_labels_carry_their_class_ids():
    ds = labelport.load(DATA / "cvat_layout", format="yolo")
    assert [(lb.name, lb.id) for lb in ds.labels] == [("cat", 0), ("dog", 1), ("person", 2)]


def test_loose_labels_folders_give_subsets_and_skip_non_label_text():
    items = _items(DATA / "labels_folders")
    assert set(items) == {("train", "a"), ("val", "b")}  # README.txt and classes.txt are no items
    a = items[("train", "a")]
    assert a.media.path.endswith("images/train/a.jpg")
    assert [(x.label, _box(x)) for x in a.annotations] == [("car", (20, 10, 20, 20)), ("bus", (50, 0, 50, 50))]


@pytest.mark.parametrize(
    "sample, names_file", [("_flat_datature", "label.labels"), ("_flat_innotescus", "darknet.labels")]
)
def test_flat_folders_with_tool_class_lists_are_detected_and_read(sample, names_file):
    found = labelport.detect(DATA / sample)
    assert found[0].format == "yolo" and names_file in found[0].reason
    (item,) = labelport.load(DATA / sample, format="yolo")
    assert item.id == "fruit" and item.subset is None and item.media.width == 50
    ann = item.annotations[0]
    assert ann.label in ("apple", "pear")
    assert _box(ann) == ((20, 15, 10, 10) if sample == "_flat_datature" else (0, 0, 10, 8))


def test_without_a_class_list_ids_become_label_names(tmp_path):
    root = tmp_path / "loose"
    shutil.copytree(DATA / "_flat_datature", root)
    (root / "label.labels").unlink()
    ds = labelport.load(root, format="yolo")
    (item,) = list(ds)
    assert item.annotations[0].label == "1"
    assert [(lb.name, lb.id) for lb in ds.labels] == [("1", 1)]


def test_list_entries_with_absolute_paths_are_found_inside_the_dataset(tmp_path):
    root = _layout(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (root / "train.txt").write_text("/home/someone/darknet/data/obj_train_data/x.jpg\n")
    (item,) = labelport.load(root, format="yolo")
    assert item.id == "x" and item.media.path == str(root / "obj_train_data" / "x.jpg")


def test_a_sixth_column_is_a_score_or_a_track_id(tmp_path):
    root = _layout(tmp_path, "0 0.5 0.5 0.2 0.2 0.87\n1 0.5 0.5 0.2 0.2 12\n")
    (item,) = labelport.load(root, format="yolo")
    assert (item.annotations[0].score, item.annotations[0].track_id) == (0.87, None)
    assert (item.annotations[1].score, item.annotations[1].track_id) == (None, 12)


# --------------------------------------------------------------------------- row validation


@pytest.mark.parametrize(
    "row, message",
    [
        ("0 0.5 0.5 0.2\n", "4 columns"),
        ("2 0.5 0.5 0.2 0.2\n", "class id 2 is not declared (2 classes in obj.names)"),
        ("-1 0.5 0.5 0.2 0.2\n", "class id -1 is not declared"),
        ("0 0.5 nan 0.2 0.2\n", "not a finite number"),
        ("0 0.5 1e999 0.2 0.2\n", "not a finite number"),
        ("0 0.5 0.5 0.2 x\n", "'x' is not a number"),
        ("0 1.2 0.5 0.2 0.2\n", "outside [0, 1]"),
        ("0.5 0.5 0.5 0.2 0.2\n", "class id '0.5' is not an integer"),
        ("0 0.1 0.1 0.3 0.1 0.2 0.3\n", "Ultralytics"),
    ],
)
def test_bad_rows_raise_format_errors_with_file_and_line(tmp_path, row, message):
    root = _layout(tmp_path, "0 0.5 0.5 0.2 0.2\n" + row)
    with pytest.raises(FormatError) as info:
        list(labelport.load(root, format="yolo"))
    assert message in info.value.message
    assert info.value.file.endswith("x.txt") and info.value.location == "line 2"


def test_values_slightly_outside_the_image_are_clipped_with_a_warning(tmp_path):
    root = _layout(tmp_path, "0 1.004 0.5 0.2 0.2\n0 0.5 -0.003 0.2 0.2\n")
    ds = labelport.load(root, format="yolo")
    with pytest.warns(YoloWarning, match=r"2 value\(s\) .* clipped \(first at line 1\)"):
        (item,) = list(ds)
    assert len(ds.notes) == 1 and "clipped" in ds.notes[0]
    assert _box(item.annotations[0]) == (90, 20, 20, 10)  # centre x clipped to 1.0 (100 px)
    assert _box(item.annotations[1]) == (40, -5, 20, 10)  # centre y clipped to 0
    with pytest.warns(YoloWarning):  # the generic checks read the dataset too
        problems = labelport.validate(root, format="yolo")
    warnings = [p for p in problems if p.severity == "warning" and "clipped" in p.message]
    assert [p.location for p in warnings] == ["line 1", "line 2"]


def test_validate_collects_every_bad_row(tmp_path):
    root = _layout(tmp_path, "0 0.5 0.5 0.2\n5 0.5 0.5 0.2 0.2\n0 0.5 0.5 0.2 0.2\n0 2 0.5 0.2 0.2\n")
    problems = [p for p in labelport.validate(root, format="yolo") if p.severity == "error"]
    assert {p.location for p in problems} >= {"line 1", "line 2", "line 4"}
    assert all(p.file.endswith("x.txt") for p in problems)


def test_undecodable_label_file_is_a_located_error(tmp_path):
    root = _layout(tmp_path, "")
    (root / "obj_train_data" / "x.txt").write_bytes(b"0 0.5 0.5 0.2 0.2\n0 0.5 \xff\xfe 0.2\n")
    with pytest.raises(FormatError, match="not UTF-8") as info:
        list(labelport.load(root, format="yolo"))
    assert info.value.location == "line 2"


def test_missing_label_files_and_lists_are_warnings(tmp_path):
    root = _layout(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (root / "obj_train_data" / "x.txt").unlink()
    (root / "obj.data").write_text(
        "classes = 2\ntrain = data/train.txt\nvalid = data/valid.txt\nnames = data/obj.names\n"
    )
    problems = labelport.validate(root, format="yolo")
    assert not [p for p in problems if p.severity == "error"]
    messages = [p.message for p in problems]
    assert any("no label file for 'obj_train_data/x.jpg'" in m for m in messages)
    assert any("subset 'valid'" in m for m in messages)


def test_rows_without_an_image_size_name_the_image(tmp_path):
    root = _layout(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (root / "obj_train_data" / "x.jpg").unlink()
    with pytest.raises(FormatError, match=r"image size unknown for 'x.jpg'"):
        list(labelport.load(root, format="yolo"))
    (root / "images.meta").write_text("obj_train_data/x.jpg 50 100\n")
    (item,) = labelport.load(root, format="yolo")
    assert (item.media.width, item.media.height, item.media.path) == (100, 50, None)
    assert _box(item.annotations[0]) == (40, 20, 20, 10)


def test_images_kept_elsewhere_are_found_with_the_images_option(tmp_path):
    root = _layout(tmp_path, "0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "pictures").mkdir()
    (root / "obj_train_data" / "x.jpg").rename(tmp_path / "pictures" / "x.jpg")
    (item,) = labelport.load(root, format="yolo", images=tmp_path / "pictures")
    assert item.media.path == str(tmp_path / "pictures" / "x.jpg")
    assert _box(item.annotations[0]) == (40, 20, 20, 10)


def test_missing_images_are_listed_for_the_report(tmp_path):
    root = _layout(tmp_path, "")
    (root / "obj_train_data" / "x.jpg").unlink()
    ds = labelport.load(root, format="yolo")
    (item,) = list(ds)
    assert ds.missing_media == ["x.jpg"] and item.media.path is None


# --------------------------------------------------------------------------- writing


def _dataset(*items: Item, labels=("cat", "dog")) -> Dataset:
    return Dataset(list(items), labels=[Label(name=n) for n in labels])


def test_writer_normalises_centre_boxes_in_the_cvat_layout(tmp_path):
    item = Item(
        id="im",
        subset="train",
        media=Image(name="im.png", width=64, height=48),
        annotations=[BBox(label="dog", x=8, y=12, w=16, h=24), BBox(label="cat", x=0, y=0, w=64 / 3, h=48)],
    )
    report = labelport.save(_dataset(item), tmp_path / "out", "yolo")
    out = tmp_path / "out"
    assert (out / "obj_train_data" / "im.txt").read_text() == "1 0.25 0.5 0.25 0.5\n0 0.166667 0.5 0.333333 1\n"
    assert (out / "obj.names").read_text() == "cat\ndog\n"
    assert (
        out / "obj.data"
    ).read_text() == "classes = 2\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    assert (out / "train.txt").read_text() == "data/obj_train_data/im.png\n"
    assert (out / "images.meta").read_text() == "obj_train_data/im.png 48 64\n"
    assert report.lossless


def test_decimals_option(tmp_path):
    item = Item(id="im", media=Image(width=30, height=30), annotations=[BBox(label="cat", x=0, y=0, w=10, h=10)])
    labelport.save(_dataset(item), tmp_path / "a", "yolo", decimals=2)
    assert (tmp_path / "a" / "obj_train_data" / "im.txt").read_text() == "0 0.17 0.17 0.33 0.33\n"
    labelport.save(_dataset(item), tmp_path / "b", "yolo", decimals=None)
    assert (tmp_path / "b" / "obj_train_data" / "im.txt").read_text() == f"0 {1 / 6!r} {1 / 6!r} {1 / 3!r} {1 / 3!r}\n"


def test_yolo_to_yolo_keeps_the_written_values(tmp_path):
    rows = "1 0.133333 0.3 0.266667 0.2\n0 0.266667 0.45 0.133333 0.3\n"
    root = _layout(tmp_path, rows, size=(15, 10))
    labelport.save(labelport.load(root, format="yolo"), tmp_path / "out", "yolo")
    assert (tmp_path / "out" / "obj_train_data" / "x.txt").read_text() == rows
    assert (tmp_path / "out" / "obj.names").read_text() == "a\nb\n"


def test_items_without_subset_go_to_train_with_a_note(tmp_path):
    ds = labelport.load(DATA / "_flat_datature", format="yolo")
    report = labelport.save(ds, tmp_path / "out", "yolo")
    assert any("'train'" in n for n in report.notes)
    (item,) = labelport.load(tmp_path / "out", format="yolo")
    assert item.subset == "train" and item.id == "fruit"
    assert _box(item.annotations[0]) == (20, 15, 10, 10)


def test_save_media_copies_images_and_needs_no_meta(tmp_path):
    ds = labelport.load(DATA / "cvat_layout", format="yolo")
    labelport.save(ds, tmp_path / "out", "yolo", save_media="copy")
    out = tmp_path / "out"
    assert (out / "obj_train_data" / "frame_2.png").is_file() and (out / "obj_valid_data" / "frame_3.jpg").is_file()
    assert not (out / "images.meta").exists()
    assert labelport.detect(out)[0].format == "yolo"


def test_missing_sizes_are_one_error_naming_the_images(tmp_path):
    items = [
        Item(id=f"im{k}", media=Image(name=f"im{k}.jpg"), annotations=[BBox(label="cat", x=0, y=0, w=1, h=1)])
        for k in range(3)
    ]
    items.append(Item(id="empty", media=Image(name="empty.jpg")))  # no boxes: no size needed
    with pytest.raises(FormatError, match=r"3 image\(s\): im0.jpg, im1.jpg, im2.jpg"):
        labelport.save(_dataset(*items), tmp_path / "out", "yolo")
    assert not (tmp_path / "out").exists()


def test_sizes_are_read_from_image_headers_when_the_dataset_has_none(tmp_path):
    PILImage.new("RGB", (40, 20)).save(tmp_path / "pic.jpg")
    item = Item(
        id="pic", media=Image(path=str(tmp_path / "pic.jpg")), annotations=[BBox(label="cat", x=10, y=5, w=20, h=10)]
    )
    labelport.save(_dataset(item), tmp_path / "out", "yolo")
    assert (tmp_path / "out" / "obj_train_data" / "pic.txt").read_text() == "0 0.5 0.5 0.5 0.5\n"


def test_what_darknet_cannot_hold_is_reported(tmp_path):
    item = Item(
        id="im",
        media=Image(width=10, height=10),
        annotations=[
            Polygon(label="cat", parts=[[1, 1, 5, 1, 3, 4]]),
            BBox(label=None, x=0, y=0, w=1, h=1),
            BBox(label="dog", x=0, y=0, w=2, h=2, rotation=30, score=0.5),
        ],
    )
    report = labelport.save(_dataset(item), tmp_path / "out", "yolo")
    losses = {what: action for (what, action) in report.losses}
    assert losses["polygon"] == "reduced to its box"
    assert "dropped" in losses["unlabelled annotation"]
    assert "axis-aligned" in losses["rotated bbox"] and losses["scores"] == "dropped"
    (back,) = labelport.load(tmp_path / "out", format="yolo")
    assert [(a.label, _box(a)) for a in back.annotations][0] == ("cat", (1, 1, 4, 3))


def test_unsafe_item_ids_stay_below_the_target(tmp_path):
    item = Item(
        id="../../escape", media=Image(width=10, height=10), annotations=[BBox(label="cat", x=0, y=0, w=5, h=5)]
    )
    labelport.save(_dataset(item), tmp_path / "out", "yolo")
    assert (tmp_path / "out" / "obj_train_data" / "escape.txt").is_file()
    assert not (tmp_path / "escape.txt").exists()


def test_number_formatting():
    assert [fmt(v, 6) for v in (0.5, 1.0, 0.0, -0.0000001, 1 / 3, 0.1234567)] == [
        "0.5",
        "1",
        "0",
        "0",
        "0.333333",
        "0.123457",
    ]
    assert fmt(0.1 + 0.2, None) == "0.30000000000000004" and fmt(3.0, None) == "3"


def test_the_data_file_itself_can_be_read_but_not_a_label_file():
    items = {(i.subset, i.id) for i in labelport.load(DATA / "cvat_layout" / "obj.data", format="yolo")}
    assert items == {("train", "frame_1"), ("train", "frame_2"), ("valid", "frame_3")}
    assert labelport.detect(DATA / "cvat_layout" / "obj.data")[0].format == "yolo"
    with pytest.raises(FormatError, match="a YOLO dataset is a folder"):
        labelport.load(DATA / "cvat_layout" / "obj_train_data" / "frame_1.txt", format="yolo")
