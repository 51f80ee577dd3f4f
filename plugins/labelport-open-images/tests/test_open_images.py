"""Open Images behaviour: XMin, XMax, YMin, YMax column order, negative image labels, flags of -1,
the class tree, masks tied to boxes and resized to the image, file layouts, errors with
locations, validation and reported losses."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.errors import FormatError
from labelport.schema import BBox, Dataset, Image, Item, Label, Mask, Tag
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"
BOX_HEADER = "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside\n"


def load(path: Path, **options) -> Dataset:
    return labelport.load(path, format="open_images", **options).materialize()


def items(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def of(item: Item, kind: str) -> list:
    return [a for a in item.annotations if a.type == kind]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


# --------------------------------------------------------------------------- reading


def test_box_columns_run_xmin_xmax_ymin_ymax() -> None:
    street = items(load(DATA / "export"))["0a1b"]  # 64 x 40 from images.meta
    man = next(b for b in of(street, "bbox") if b.label == "/m/04yx4")
    # XMin 0.25, XMax 0.5, YMin 0.125, YMax 0.875
    assert (man.x, man.y, man.w, man.h) == (16.0, 5.0, 16.0, 30.0)
    assert man.score is None  # Confidence 1: ground truth, no score


def test_negative_image_labels_are_tags_with_score_zero() -> None:
    ds = load(DATA / "export")
    tags = {t.label: t.score for t in of(items(ds)["0a1b"], "label")}
    assert tags == {"/m/04yx4": None, "/m/01yrx": 0.0}
    assert any("negative image labels" in note for note in ds.notes)


def test_unknown_flags_are_left_out_of_the_attributes() -> None:
    ds = items(load(DATA / "export"))
    man, car = of(ds["0a1b"], "bbox")
    assert man.attributes == {"occluded": True, "truncated": False, "is_group_of": False}
    flags = {"occluded": False, "truncated": True, "is_group_of": True, "is_depiction": False, "is_inside": False}
    assert car.attributes == flags
    (cat,) = of(ds["0c2d"], "bbox")
    assert cat.attributes == {} and cat.metadata["source"] == "activemil"


def test_class_tree_becomes_parents_and_the_root_is_no_label() -> None:
    labels = {lb.name: lb for lb in load(DATA / "export").labels}
    assert labels["/m/04yx4"].parent == "/m/01g317"
    assert labels["/m/01g317"].parent is None and "/m/0bl9f" not in labels
    assert labels["/m/0k4j"].metadata["display_name"] == "Car"


def test_class_list_with_header_and_quoted_commas() -> None:
    labels = {lb.name: lb.metadata["display_name"] for lb in load(DATA / "release").labels}
    assert labels == {"/m/0cmf2": "Airplane", "/m/0dzct": "Human face, front"}


def test_mask_is_tied_to_its_box_and_keeps_its_file_details() -> None:
    street = items(load(DATA / "export"))["0a1b"]
    (mask,) = of(street, "mask")
    man = next(b for b in of(street, "bbox") if b.label == "/m/04yx4")
    assert mask.group == man.group is not None
    car = next(b for b in of(street, "bbox") if b.label == "/m/0k4j")
    assert car.group is None
    assert mask.attributes == {"predicted_iou": 0.81}
    assert mask.metadata["box_id"] == "7f3a21c0" and mask.metadata["clicks"] == "0.3 0.4 1;0.31 0.6 0"
    expected = np.zeros((40, 64), dtype=bool)
    expected[5:35, 16:32] = True
    assert np.array_equal(mask.to_array(), expected)


def test_masks_at_their_own_resolution_are_resized_to_the_image() -> None:
    plane = items(load(DATA / "release"))["f00d"]  # image 40 x 20, mask PNG 20 x 10
    (mask,) = of(plane, "mask")
    assert mask.rle.size == (20, 40)
    rows_, cols = np.nonzero(mask.to_array())
    assert (cols.min(), rows_.min(), cols.max() + 1, rows_.max() + 1) == (4, 4, 36, 16)


def test_image_size_from_images_meta_before_the_image_header(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(DATA / "export", root)
    (root / "annotations" / "images.meta").write_text("0a1b 80 128\n")  # twice the real image
    street = items(load(root))["0a1b"]
    assert (street.media.width, street.media.height) == (128, 80)
    man = next(b for b in of(street, "bbox") if b.label == "/m/04yx4")
    assert (man.x, man.w) == (32.0, 32.0)


def test_boxes_of_images_of_unknown_size_are_skipped_with_a_note(tmp_path: Path) -> None:
    write(tmp_path / "annotations" / "train-annotations-bbox.csv", BOX_HEADER + "x1,xclick,/m/0,1,0,1,0,1,0,0,0,0,0\n")
    ds = load(tmp_path)
    (item,) = ds
    assert item.annotations == [] and item.subset == "train"
    assert any("unknown size" in note for note in ds.notes)
    assert ds.missing_media == ["x1"]


def test_missing_mask_png_is_skipped_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    shutil.copytree(DATA / "export", root)
    shutil.rmtree(root / "masks")
    ds = load(root)
    assert of(items(ds)["0a1b"], "mask") == [] and any("not found" in n for n in ds.notes)
    problems = labelport.validate(root, format="open_images")
    assert [(p.severity, p.location) for p in problems if "not found" in p.message] == [("warning", "line 2")]


def test_display_names_option_names_labels_and_writing_restores_mids(tmp_path: Path) -> None:
    ds = load(DATA / "export", display_names=True)
    labels = {lb.name: lb for lb in ds.labels}
    assert labels["Man"].parent == "Person" and labels["Man"].metadata["mid"] == "/m/04yx4"
    assert {t.label for t in of(items(ds)["0a1b"], "label")} == {"Man", "Cat"}
    labelport.save(ds, tmp_path / "out", "open_images")
    assert ["/m/04yx4", "Man"] in rows(tmp_path / "out" / "annotations" / "class-descriptions.csv")
    box_rows = rows(tmp_path / "out" / "annotations" / "train-annotations-bbox.csv")[1:]
    assert {r[2] for r in box_rows} == {"/m/04yx4", "/m/0k4j", "/m/01yrx"}


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a,xclick,/m/0,1,0.5,0.2,0,1,0,0,0,0,0", "below XMin"),
        ("a,xclick,/m/0,1,zero,1,0,1,0,0,0,0,0", "XMin 'zero' is not a number"),
        ("a,xclick,/m/0,1,0,1,0,1,2,0,0,0,0", "IsOccluded must be 1, 0 or -1"),
        ("a,xclick,/m/0,1,0,1,,1,0,0,0,0,0", "YMin is empty"),
    ],
)
def test_bad_box_rows_raise_with_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    write(tmp_path / "annotations" / "images.meta", "a 10 10\n")
    good = "a,xclick,/m/0,1,0,1,0,1,0,0,0,0,0\n"
    path = write(tmp_path / "annotations" / "train-annotations-bbox.csv", BOX_HEADER + good + line + "\n")
    with pytest.raises(FormatError, match=message) as info:
        load(tmp_path)
    assert info.value.file == str(path) and info.value.location == "line 3"


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = write(tmp_path / "annotations" / "train-annotations-bbox.csv", "ImageID,LabelName,XMin,XMax,YMin\na,/m/0,0,1,0\n")
    with pytest.raises(FormatError, match="missing column YMax") as info:
        load(tmp_path)
    assert (info.value.file, info.value.location) == (str(path), "line 1")


def test_unsafe_image_ids_are_refused(tmp_path: Path) -> None:
    labels = tmp_path / "annotations" / "train-annotations-human-imagelabels.csv"
    write(labels, "ImageID,Source,LabelName,Confidence\n../x,v,/m/0,1\n")
    with pytest.raises(FormatError, match="not a usable file name"):
        load(tmp_path)


def test_validate_flags_undescribed_labels_and_coordinates_outside_the_image(tmp_path: Path) -> None:
    write(tmp_path / "annotations" / "class-descriptions.csv", "/m/0,Zero\n")
    write(tmp_path / "annotations" / "images.meta", "a 10 10\n")
    path = write(tmp_path / "annotations" / "train-annotations-bbox.csv", BOX_HEADER + "a,x,/m/9,1,0,1.2,0,1,0,0,0,0,0\n")
    problems = labelport.validate(tmp_path, format="open_images")
    found = {(p.severity, p.location, p.message) for p in problems if p.file == str(path)}
    assert ("warning", "line 2", "label /m/9 is not in the class descriptions") in found
    assert ("warning", "line 2", "normalised box coordinates outside 0..1") in found


# --------------------------------------------------------------------------- writing


def test_writer_writes_the_cvat_layout(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="img1", subset="val", media=Image(width=200, height=100), annotations=[
            BBox(label="car", x=20, y=10, w=50, h=40, score=0.5, attributes={"occluded": True, "is_inside": False}),
            Tag(label="car"),
            Tag(label="cat", score=0.0),
        ])],
        labels=[Label(name="vehicle"), Label(name="car", parent="vehicle"), Label(name="cat")],
    )
    report = labelport.save(ds, tmp_path / "out", "open_images")
    assert report.lossless, report
    ann = tmp_path / "out" / "annotations"
    assert rows(ann / "val-annotations-bbox.csv") == [
        BOX_HEADER.strip().split(","),
        ["img1", "", "car", "0.5", "0.1", "0.35", "0.1", "0.5", "1", "-1", "-1", "-1", "0"],
    ]
    assert rows(ann / "val-annotations-human-imagelabels.csv")[1:] == [["img1", "", "car", "1"], ["img1", "", "cat", "0"]]
    assert rows(ann / "class-descriptions.csv") == [["vehicle", "vehicle"], ["car", "car"], ["cat", "cat"]]  # no header
    tree = json.loads((ann / "bbox_labels_600_hierarchy.json").read_text())
    assert tree == {"LabelName": "/m/0bl9f", "Subcategory": [{"LabelName": "vehicle", "Subcategory": [{"LabelName": "car"}]}]}
    assert (ann / "images.meta").read_text() == "img1 100 200\n"
    assert rows(ann / "val-image_ids_and_rotation.csv")[1][:2] == ["img1", "val"]
    back = items(load(tmp_path / "out"))["img1"]
    (box,) = of(back, "bbox")
    assert (box.x, box.y, box.w, box.h, box.score) == pytest.approx((20, 10, 50, 40, 0.5))
    assert {lb.name: lb.parent for lb in load(tmp_path / "out").labels}["car"] == "vehicle"


def test_masks_are_written_as_pngs_with_their_box(tmp_path: Path) -> None:
    m = np.zeros((10, 20), dtype=bool)
    m[2:6, 4:10] = True
    ds = Dataset(
        [Item(id="img1", subset="train", media=Image(width=20, height=10), annotations=[
            BBox(label="cat", x=4, y=2, w=6, h=4, group=3),
            Mask.from_array(m, label="cat", group=3, attributes={"predicted_iou": 0.9}),
            Mask.from_array(m, label="cat"),
        ])],
        labels=[Label(name="cat")],
    )
    labelport.save(ds, tmp_path / "out", "open_images")
    seg = rows(tmp_path / "out" / "annotations" / "train-annotations-object-segmentation.csv")
    assert [r[3:9] for r in seg[1:]] == [
        ["00000000", "0.2", "0.5", "0.2", "0.6", "0.9"],
        ["00000001", "0.2", "0.5", "0.2", "0.6", ""],
    ]
    png = tmp_path / "out" / "masks" / "train" / seg[1][0]
    assert np.array_equal(np.asarray(PILImage.open(png)) > 0, m)
    back = of(items(load(tmp_path / "out"))["img1"], "mask")
    assert [a.group for a in back] == [of(items(load(tmp_path / "out"))["img1"], "bbox")[0].group] * 2  # both outline the box
    assert np.array_equal(back[0].to_array(), m)


def test_what_open_images_cannot_hold_is_reported(tmp_path: Path) -> None:
    m = np.ones((4, 4), dtype=bool)
    ds = Dataset([
        Item(id="a", annotations=[BBox(label="x", x=0, y=0, w=1, h=1)]),  # no image size anywhere
        Item(id="b", media=Image(width=4, height=4), annotations=[
            BBox(x=0, y=0, w=1, h=1),
            BBox(label="x", x=0, y=0, w=1, h=1, attributes={"colour": "red"}),
            Mask.from_array(m, label="x", score=0.3),
        ]),
    ], labels=[Label(name="x")])
    report = labelport.save(ds, tmp_path / "out", "open_images")
    losses = dict(report.losses)
    assert losses[("boxes of images of unknown size", "dropped (Open Images boxes are normalised)")] == 1
    assert losses[("bbox without a label", "dropped (every Open Images row names a class)")] == 1
    assert losses[("bbox attributes Open Images has no column for", "dropped")] == 1
    assert losses[("mask scores", "dropped (the segmentation file has none)")] == 1


def test_save_media_places_images_by_subset(tmp_path: Path) -> None:
    labelport.save(load(DATA / "export"), tmp_path / "out", "open_images", save_media="copy")
    images = tmp_path / "out" / "images"
    assert sorted(p.relative_to(images).as_posix() for p in images.rglob("*.jpg")) == [
        "train/0a1b.jpg", "train/0c2d.jpg", "validation/0e3f.jpg",
    ]
