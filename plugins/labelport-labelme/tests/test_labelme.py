"""LabelMe JSON specifics: shape conversions, masks, flags, legacy files, paths, errors, validation."""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import labelport
from labelport.errors import FormatError, UnsafeInputError
from labelport.geometry.masks import rle_area, rle_bbox
from labelport.plugin import Report
from labelport.schema import Dataset, Ellipse, Image, Item, Label, Mask, Points, Tag

DATA = Path(__file__).parent / "data" / "labelme"


def by_type(item: Item, kind: str) -> list:
    return [a for a in item.annotations if a.type == kind]


def write_json(path: Path, doc: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def doc_with(*shapes: dict, **top: object) -> dict:
    return {"version": "5.5.0", "flags": {}, "shapes": list(shapes), "imagePath": "x.jpg", "imageData": None,
            "imageHeight": 20, "imageWidth": 30, **top}


def png_b64(array: np.ndarray) -> str:
    buf = io.BytesIO()
    PILImage.fromarray(array).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def roundtrip(ds: Dataset, tmp_path: Path, **options: object) -> tuple[Dataset, Report]:
    out = tmp_path / "out"
    report = labelport.save(ds, out, "labelme", **options)
    return labelport.load(out, format="labelme").materialize(), report


@pytest.fixture(scope="module")
def street() -> Item:
    return next(iter(labelport.load(DATA / "shapes_v5", format="labelme")))


# ----------------------------------------------------------------------------- reading shapes


def test_rectangle_corners_in_any_order(street: Item) -> None:
    car = next(a for a in by_type(street, "bbox") if a.label == "car" and a.group == 1)
    assert (car.x, car.y, car.w, car.h) == (10.0, 5.0, 40.0, 25.0)  # written as [[50, 30], [10, 5]]


def test_circle_is_centre_and_rim_point(street: Item) -> None:
    (wheel,) = by_type(street, "ellipse")
    assert (wheel.cx, wheel.cy) == (20.0, 20.0)
    assert wheel.rx == wheel.ry == pytest.approx(5.0)  # rim at (23, 24): a 3-4-5 triangle


def test_lines_points_and_oriented_rectangle(street: Item) -> None:
    lines = by_type(street, "polyline")
    assert [len(a.points) for a in lines] == [4, 6]
    assert [a.metadata["labelme_shape_type"] for a in lines] == ["line", "linestrip"]
    (light,) = by_type(street, "points")
    assert light.points == [5.5, 6.25]
    sign = next(a for a in by_type(street, "bbox") if a.label == "sign")
    assert sign.rotation == pytest.approx(30.0)
    assert (sign.w, sign.h) == pytest.approx((10.0, 5.0))
    assert (sign.x + sign.w / 2, sign.y + sign.h / 2) == pytest.approx(((40 + 46.160254037844386) / 2, (2 + 11.330127018922193) / 2))


def test_mask_patch_is_placed_at_its_first_point(street: Item) -> None:
    (puddle,) = by_type(street, "mask")
    array = puddle.to_array()
    assert array.shape == (40, 60)
    expected = np.zeros((40, 60), dtype=bool)
    expected[10:13, 30:34] = [[0, 1, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0]]
    assert (array == expected).all()


def test_mask_patch_is_clipped_at_the_image_border(tmp_path: Path) -> None:
    patch = np.ones((4, 5), dtype=np.uint8)
    shape = {"label": "m", "points": [[27, -2], [31, 1]], "shape_type": "mask", "mask": png_b64(patch), "group_id": None, "flags": {}}
    path = write_json(tmp_path / "a.json", doc_with(shape))
    (item,) = labelport.load(path, format="labelme")
    (mask,) = item.annotations
    assert rle_bbox(mask.rle) == (27.0, 0.0, 3.0, 2.0)
    assert rle_area(mask.rle) == 6


def test_groups_flags_descriptions_and_scores(street: Item) -> None:
    group = [a for a in street.annotations if a.group == 1]
    assert sorted(a.type for a in group) == ["bbox", "polygon"]
    car = next(a for a in group if a.type == "bbox")
    assert car.attributes == {"occluded": True, "description": "parked"}
    fork = next(a for a in by_type(street, "bbox") if a.score is not None)
    assert fork.score == 0.75
    assert fork.attributes == {"color": "red", "doors": 4}


def test_image_flags_become_labels() -> None:
    ds = labelport.load(DATA / "shapes_v5", format="labelme")
    (item,) = list(ds)
    assert [a.label for a in by_type(item, "label")] == ["day"]  # night is false
    assert item.metadata["labelme_flags"] == ["day", "night"]
    # labels.txt first, then flags.txt, in file order
    assert ds.labels.names()[:3] == ["__ignore__", "_background_", "car"]
    assert {"day", "night"} <= set(ds.labels.names())


def test_legacy_file_without_shape_type_or_size() -> None:
    (item,) = labelport.load(DATA / "legacy_v3.json", format="labelme")
    assert [a.type for a in item.annotations] == ["polygon", "polygon"]
    assert item.media.name == "plant.png" and item.metadata["labelme_image_path"] == "..\\images\\plant.png"
    # size from the embedded image's header; the image bytes are kept
    assert (item.media.width, item.media.height) == (16, 12)
    assert item.media.data is not None and item.media.data.startswith(b"\x89PNG")
    assert item.metadata["labelme_extra"] == {"lineColor": [0, 255, 0, 128], "fillColor": [255, 0, 0, 128]}
    assert item.annotations[1].metadata["labelme_extra"] == {"line_color": [0, 255, 0, 128], "fill_color": None}


def test_embedded_image_is_not_kept_on_request() -> None:
    (item,) = labelport.load(DATA / "legacy_v3.json", format="labelme", load_image_data=False)
    assert item.media.data is None
    assert item.media.width == 16  # the header was still read for the size


def test_labels_are_declared_before_streaming() -> None:
    ds = labelport.load(DATA / "nested", format="labelme")
    assert ds.is_lazy
    assert set(ds.labels.names()) == {"dog", "indoor", "blurry"}


# ----------------------------------------------------------------------------- image paths


def test_image_path_relative_to_the_json_file() -> None:
    items = {i.id: i for i in labelport.load(DATA / "nested", format="labelme")}
    assert set(items) == {"train/a", "train/b"}  # settings.json is not a LabelMe file
    assert Path(items["train/a"].media.path) == DATA / "nested" / "images" / "a.jpg"
    assert items["train/a"].media.name == "images/a.jpg"  # relative to the dataset folder
    assert items["train/a"].metadata["labelme_image_path"] == "../images/a.jpg"  # as written


def test_paths_leaving_the_dataset_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    PILImage.new("RGB", (5, 5)).save(tmp_path / "outside.png")
    write_json(root / "a.json", doc_with(imagePath="../outside.png"))
    (item,) = labelport.load(root, format="labelme")
    assert item.media.path is None
    assert item.media.name == "outside.png"
    assert item.metadata["labelme_image_path"] == "../outside.png"
    problems = labelport.validate(root, format="labelme")
    assert any(p.location == "imagePath" and "leaves the dataset" in p.message for p in problems)


def test_windows_and_absolute_paths_fall_back_to_the_file_beside_the_json(tmp_path: Path) -> None:
    PILImage.new("RGB", (7, 3)).save(tmp_path / "photo.png")
    write_json(tmp_path / "a.json", doc_with(imagePath="C:\\Users\\me\\photos\\photo.png", imageHeight=None, imageWidth=None))
    (item,) = labelport.load(tmp_path, format="labelme")
    assert Path(item.media.path) == tmp_path / "photo.png"
    assert (item.media.width, item.media.height) == (7, 3)


# ----------------------------------------------------------------------------- writing


def test_samples_rewrite_to_the_same_json(tmp_path: Path) -> None:
    """Everything the reader understood is written back as LabelMe wrote it."""
    out = tmp_path / "out"
    labelport.save(labelport.load(DATA / "shapes_v5", format="labelme"), out, "labelme")
    before = json.loads((DATA / "shapes_v5" / "street.json").read_text())
    after = json.loads((out / "street.json").read_text())
    assert {k: v for k, v in after.items() if k != "shapes"} == {k: v for k, v in before.items() if k != "shapes"}
    assert [s["shape_type"] for s in after["shapes"]] == [s["shape_type"] for s in before["shapes"]]
    for b, a in zip(before["shapes"], after["shapes"]):
        if b["shape_type"] in ("polygon", "line", "linestrip", "point", "mask"):
            assert a["points"] == b["points"], b["shape_type"]
        assert {k: a[k] for k in ("label", "group_id", "flags", "description")} == {k: b[k] for k in ("label", "group_id", "flags", "description")}
    assert np.allclose(after["shapes"][7]["points"], before["shapes"][7]["points"])  # oriented rectangle
    assert after["shapes"][0]["points"] == [[10.0, 5.0], [50.0, 30.0]]  # rectangles: top-left first
    assert after["shapes"][2]["points"] == [[20.0, 20.0], [25.0, 20.0]]  # circles: rim to the right
    assert after["shapes"][8]["attributes"] == {"color": "red", "doors": 4} and after["shapes"][8]["score"] == 0.75
    assert (out / "labels.txt").read_text().splitlines() == ["__ignore__", "_background_", "car", "wheel", "lane", "light", "puddle", "sign"]
    assert (out / "flags.txt").read_text().splitlines() == ["day", "night"]


def test_mask_is_written_as_a_tight_patch(tmp_path: Path) -> None:
    array = np.zeros((20, 30), dtype=bool)
    array[4:9, 10:13] = True
    array[6, 20] = True
    ds = Dataset([Item(id="m", media=Image(name="m.png"), annotations=[Mask.from_array(array, label="blob")])], labels=[Label(name="blob")])
    out = tmp_path / "out"
    labelport.save(ds, out, "labelme")
    doc = json.loads((out / "m.json").read_text())
    (shape,) = doc["shapes"]
    assert shape["points"] == [[10.0, 4.0], [20.0, 8.0]]  # top-left and bottom-right pixels, inclusive
    assert (doc["imageHeight"], doc["imageWidth"]) == (20, 30)  # taken from the mask's grid
    patch = np.asarray(PILImage.open(io.BytesIO(base64.b64decode(shape["mask"])))).astype(bool)
    assert (patch == array[4:9, 10:21]).all()
    (item,) = labelport.load(out, format="labelme")
    assert (item.annotations[0].to_array() == array).all()


def test_ellipses_that_are_not_circles_become_polygons_with_a_loss(tmp_path: Path) -> None:
    ds = Dataset([Item(id="e", media=Image(name="e.jpg", width=40, height=40), annotations=[
        Ellipse(label="c", cx=10, cy=10, rx=4, ry=4, rotation=30),
        Ellipse(label="e", cx=20, cy=20, rx=8, ry=3),
    ])], labels=[Label(name="c"), Label(name="e")])
    after, report = roundtrip(ds, tmp_path)
    (item,) = after
    (circle,) = by_type(item, "ellipse")
    assert (circle.cx, circle.cy, circle.rx) == pytest.approx((10, 10, 4))
    (poly,) = by_type(item, "polygon")
    assert len(poly.parts[0]) == 128 and poly.label == "e"
    xs = poly.parts[0][0::2]
    assert (min(xs), max(xs)) == pytest.approx((12, 28))
    assert report.losses[("ellipse", "approximated by a 64-point polygon (LabelMe holds circles only)")] == 1


def test_points_single_multiple_and_unlabelled(tmp_path: Path) -> None:
    ds = Dataset([Item(id="p", media=Image(name="p.jpg", width=40, height=40), annotations=[
        Points(label="a", points=[1, 2]),
        Points(label="b", points=[1, 2, 3, 4, 5, 6]),
        Points(label="k", points=[0, 0, 7, 8, 9, 10], visibility=[0, 1, 2]),
    ])], labels=[Label(name=n) for n in "abk"])
    out = tmp_path / "out"
    report = labelport.save(ds, out, "labelme")
    shapes = json.loads((out / "p.json").read_text())["shapes"]
    assert [s["shape_type"] for s in shapes] == ["point", "points", "points"]
    assert shapes[2]["points"] == [[7.0, 8.0], [9.0, 10.0]]
    assert report.losses[("unlabelled points (visibility 0)", "dropped")] == 1
    assert report.losses[("point visibility", "dropped (LabelMe points have none)")] == 1


def test_image_labels_round_trip_and_report_what_flags_cannot_hold(tmp_path: Path) -> None:
    ds = Dataset([Item(id="t", media=Image(name="t.jpg", width=8, height=8), annotations=[
        Tag(label="cat"), Tag(label="cat"), Tag(label="dog", attributes={"certain": True}),
    ])], labels=[Label(name="cat"), Label(name="dog"), Label(name="bird")])
    after, report = roundtrip(ds, tmp_path)
    (item,) = after
    assert sorted(a.label for a in item.annotations) == ["cat", "dog"]
    assert report.losses[("repeated image label", "merged (a flag is set once)")] == 1
    assert report.losses[("attributes, scores and groups of image labels", "dropped (LabelMe flags are true or false)")] == 1
    assert (tmp_path / "out" / "flags.txt").read_text().splitlines() == ["cat", "dog"]
    assert (tmp_path / "out" / "labels.txt").read_text().splitlines() == ["bird"]


def test_image_data_is_embedded_only_on_request(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "legacy_v3.json", format="labelme").materialize()
    report = labelport.save(ds, tmp_path / "plain", "labelme")
    assert json.loads((tmp_path / "plain" / "legacy_v3.json").read_text())["imageData"] is None
    assert any("image_data=True" in n for n in report.notes)
    labelport.save(ds, tmp_path / "embedded", "labelme", image_data=True)
    (item,) = labelport.load(tmp_path / "embedded", format="labelme")
    assert item.media.data == next(iter(ds)).media.data


def test_embedded_image_saved_as_media_beside_the_json(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "legacy_v3.json", format="labelme")
    labelport.save(ds, tmp_path / "out", "labelme", save_media="copy")
    doc = json.loads((tmp_path / "out" / "legacy_v3.json").read_text())
    assert doc["imagePath"] == "plant.png"  # the original path left the folder
    assert (tmp_path / "out" / "plant.png").read_bytes() == next(iter(ds)).media.data


def test_subsets_are_written_as_folders(tmp_path: Path) -> None:
    ds = Dataset([
        Item(id="a", subset="train", media=Image(name="a.jpg", width=4, height=4)),
        Item(id="a", subset="val", media=Image(name="a.jpg", width=4, height=4)),
    ])
    out = tmp_path / "out"
    labelport.save(ds, out, "labelme")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json")) == ["train/a.json", "val/a.json"]


def test_item_ids_cannot_leave_the_target(tmp_path: Path) -> None:
    ds = Dataset([Item(id="../escape", media=Image(name="a.jpg", width=4, height=4))])
    with pytest.raises(UnsafeInputError):
        labelport.save(ds, tmp_path / "out", "labelme")
    assert not (tmp_path / "escape.json").exists()


def test_unknown_shape_types_are_kept_in_place(tmp_path: Path) -> None:
    odd = {"label": "x", "points": [[1, 1]], "shape_type": "cuboid", "extra": [1]}
    box = {"label": "b", "points": [[0, 0], [2, 2]], "shape_type": "rectangle"}
    src = write_json(tmp_path / "src" / "a.json", doc_with(box, odd))
    (item,) = labelport.load(src, format="labelme")
    assert [a.type for a in item.annotations] == ["bbox"]
    problems = labelport.validate(src, format="labelme")
    assert any(p.severity == "warning" and "cuboid" in p.message and p.location == "shapes[1]" for p in problems)
    labelport.save(labelport.load(src, format="labelme"), tmp_path / "out", "labelme")
    shapes = json.loads((tmp_path / "out" / "a.json").read_text())["shapes"]
    assert shapes[1] == odd


# ----------------------------------------------------------------------------- errors and validation


@pytest.mark.parametrize(
    ("shape", "location"),
    [
        ({"label": "a", "points": [[1, 2], [3]], "shape_type": "polygon"}, "shapes[0].points[1]"),
        ({"label": "a", "points": [[1, 2], [3, "4"]], "shape_type": "polygon"}, "shapes[0].points[1][1]"),
        ({"label": "a", "points": [], "shape_type": "point"}, "shapes[0].points"),
        ({"label": "a", "points": [[1, 2], [3, 4], [5, 6]], "shape_type": "circle"}, "shapes[0].points"),
        ({"label": "a", "points": [[1, 2]], "shape_type": "polygon", "flags": {"x": "yes"}}, "shapes[0].flags.x"),
        ({"label": "a", "points": [[1, 2]], "shape_type": "polygon", "group_id": "g"}, "shapes[0].group_id"),
        ({"label": 3, "points": [[1, 2]], "shape_type": "polygon"}, "shapes[0].label"),
        ({"label": "a", "points": [[1, 2], [3, 4]], "shape_type": "mask", "mask": "@@not base64@@"}, "shapes[0].mask"),
        ({"label": "a", "points": [[1, 2], [3, 4]], "shape_type": "mask"}, "shapes[0].mask"),
    ],
)
def test_bad_shapes_raise_located_errors(tmp_path: Path, shape: dict, location: str) -> None:
    path = write_json(tmp_path / "a.json", doc_with(shape))
    with pytest.raises(FormatError) as info:
        list(labelport.load(path, format="labelme"))
    assert info.value.location == location
    assert info.value.file == str(path)


def test_mask_without_any_image_size_is_a_clear_error(tmp_path: Path) -> None:
    shape = {"label": "m", "points": [[0, 0], [1, 1]], "shape_type": "mask", "mask": png_b64(np.ones((2, 2), dtype=np.uint8))}
    path = write_json(tmp_path / "a.json", doc_with(shape, imageHeight=None, imageWidth=None))
    with pytest.raises(FormatError, match="image size") as info:
        list(labelport.load(path, format="labelme"))
    assert info.value.location == "shapes[0]"


def test_malformed_json_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"shapes": [\n  {"label": "a",,}\n]}')
    with pytest.raises(FormatError) as info:
        labelport.load(path, format="labelme")
    assert info.value.location.startswith("line 2")


def test_validate_reports_point_counts(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    PILImage.new("RGB", (10, 10)).save(root / "x.jpg")
    write_json(root / "a.json", doc_with(
        {"label": "r", "points": [[0, 0], [5, 5], [1, 9]], "shape_type": "rectangle"},
        {"label": "p", "points": [[0, 0], [5, 5]], "shape_type": "polygon"},
    ))
    problems = labelport.validate(root, format="labelme")
    messages = {(p.severity, p.location): p.message for p in problems}
    assert messages[("warning", "shapes[0].points")] == "a rectangle has 2 points, this one 3"
    assert ("warning", "imagePath") not in messages  # x.jpg is there
    assert any(p.severity == "error" and "polygon" in p.message for p in problems)  # 2 points


def test_samples_validate_without_warnings_where_images_exist() -> None:
    assert labelport.validate(DATA / "shapes_v5", format="labelme") == []
    assert labelport.validate(DATA / "nested", format="labelme") == []


# ----------------------------------------------------------------------------- detection


def test_detection_by_content(tmp_path: Path) -> None:
    lm = write_json(tmp_path / "lm.json", doc_with())
    coco = write_json(tmp_path / "coco.json", {"images": [], "annotations": [], "categories": []})
    shapes_only = write_json(tmp_path / "other.json", {"shapes": [1, 2]})
    assert labelport.detect(lm)[0].format == "labelme"
    assert all(d.format != "labelme" for d in labelport.detect(coco))
    assert all(d.format != "labelme" for d in labelport.detect(shapes_only))


def test_folder_mostly_of_other_json_ranks_lower(tmp_path: Path) -> None:
    shutil.copytree(DATA / "nested", tmp_path / "ds")
    [full] = [d for d in labelport.detect(tmp_path / "ds") if d.format == "labelme"]
    for k in range(5):
        write_json(tmp_path / "ds" / f"conf{k}.json", {"k": k})
    [mixed] = [d for d in labelport.detect(tmp_path / "ds") if d.format == "labelme"]
    assert mixed.confidence < full.confidence
