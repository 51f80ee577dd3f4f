"""Create ML specifics: centre-based pixel boxes, key spellings, layouts, errors and losses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image as PILImage

import labelport
from labelport.errors import FormatError
from labelport.plugin import Probe
from labelport.schema import BBox, Dataset, Image, Item, Label, Polygon, Tag

import labelport_createml as plugin

DATA = Path(__file__).parent / "data"


def _write_json(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def _by_id(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


# --------------------------------------------------------------------------- coordinates


def test_centre_coordinates_become_top_left_boxes() -> None:
    items = _by_id(labelport.load(DATA / "boxes.json"))
    car, person = items["street_01"].annotations
    assert (car.label, car.x, car.y, car.w, car.h) == ("car", 5.0, 104.5, 230.0, 119.0)
    assert (person.x, person.y, person.w, person.h) == (280.0, 150.5, 41.0, 99.5)
    assert items["empty_road"].annotations == []


def test_writer_stores_the_box_centre(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="a", media=Image(name="a.jpg"), annotations=[BBox(label="cat", x=10, y=20, w=30, h=41)])],
        labels=[Label(name="cat")],
    )
    labelport.save(ds, tmp_path / "out.json", "createml")
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc == [{"image": "a.jpg", "annotations": [{"label": "cat", "coordinates": {"x": 25.0, "y": 40.5, "width": 30.0, "height": 41.0}}]}]


def test_round_trip_keeps_extra_keys_and_legacy_spelling(tmp_path: Path) -> None:
    labelport.save(labelport.load(DATA / "legacy_keys.json"), tmp_path / "legacy.json", "createml")
    assert json.loads((tmp_path / "legacy.json").read_text()) == json.loads((DATA / "legacy_keys.json").read_text())
    labelport.save(labelport.load(DATA / "boxes.json"), tmp_path / "boxes.json", "createml")
    first = json.loads((tmp_path / "boxes.json").read_text())[0]
    assert first["verified"] is True


# --------------------------------------------------------------------------- layouts


def test_roboflow_folder_subsets_media_and_sizes() -> None:
    ds = labelport.load(DATA / "roboflow")
    items = {(i.subset, i.id): i for i in ds}
    assert sorted(items) == [("train", "cat_001"), ("train", "dog_002"), ("valid", "cat_003")]
    cat = items[("train", "cat_001")]
    assert (cat.media.width, cat.media.height) == (64, 48)
    assert cat.media.path and Path(cat.media.path).name == "cat_001.jpg"
    assert ds.labels.names() == ["cat", "dog"]


def test_folder_writer_uses_roboflow_layout(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "roboflow")
    out = tmp_path / "out"
    report = labelport.save(ds, out, "createml", save_media="copy")
    assert (out / "train" / plugin.ROBOFLOW_NAME).is_file()
    assert (out / "valid" / plugin.ROBOFLOW_NAME).is_file()
    assert (out / "train" / "cat_001.jpg").is_file()
    assert report.lossless and not report.missing_media
    back = labelport.load(out)
    assert back.format == "createml"
    assert sorted((i.subset, i.id) for i in back) == [("train", "cat_001"), ("train", "dog_002"), ("valid", "cat_003")]


def test_items_without_subset_go_to_the_root_file(tmp_path: Path) -> None:
    ds = Dataset([Item(id="x", media=Image(name="x.png"))])
    labelport.save(ds, tmp_path / "out", "createml")
    assert json.loads((tmp_path / "out" / plugin.ROBOFLOW_NAME).read_text()) == [{"image": "x.png", "annotations": []}]
    assert [(i.subset, i.id) for i in labelport.load(tmp_path / "out", format="createml")] == [(None, "x")]


def test_single_file_merging_subsets_reports_the_loss(tmp_path: Path) -> None:
    report = labelport.save(labelport.load(DATA / "roboflow"), tmp_path / "all.json", "createml")
    assert ("subset names", "merged into one file (write to a folder to keep subsets)") in report.losses
    assert len(json.loads((tmp_path / "all.json").read_text())) == 3


def test_image_found_by_base_name_when_the_path_is_foreign(tmp_path: Path) -> None:
    PILImage.new("RGB", (7, 5)).save(tmp_path / "pic.png")
    _write_json(tmp_path / "a.json", [{"image": "C:\\Users\\me\\pics\\pic.png", "annotations": []}])
    (item,) = labelport.load(tmp_path / "a.json", format="createml")
    assert Path(item.media.path).name == "pic.png" and item.media.width == 7


def test_names_leaving_the_dataset_are_never_followed(tmp_path: Path) -> None:
    PILImage.new("RGB", (4, 4)).save(tmp_path / "secret.png")
    _write_json(tmp_path / "ds" / "a.json", [{"image": "../secret.png", "annotations": []}])
    (item,) = labelport.load(tmp_path / "ds" / "a.json", format="createml")
    assert item.media.path is None


def test_same_image_twice_is_merged_and_warned(tmp_path: Path) -> None:
    box = {"label": "a", "coordinates": {"x": 5, "y": 5, "width": 2, "height": 2}}
    path = _write_json(tmp_path / "dup.json", [{"image": "p.jpg", "annotations": [box]}, {"image": "p.jpg", "annotations": [box]}])
    (item,) = labelport.load(path, format="createml")
    assert len(item.annotations) == 2
    problems = labelport.validate(path, format="createml")
    assert any("listed again" in p.message and p.location == "[1]" for p in problems)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("doc", "location", "message"),
    [
        ([{"image": "a.jpg", "annotations": [{"label": "x", "coordinates": {"x": 1, "y": 1, "width": -2, "height": 1}}]}],
         "[0].annotations[0].coordinates", "negative box size"),
        ([{"image": "a.jpg", "annotations": [{"label": "x"}]}], "[0].annotations[0].coordinates", "missing"),
        ([{"image": "a.jpg", "annotations": [{"label": "x", "coordinates": {"x": "1", "y": 1, "width": 2, "height": 1}}]}],
         "[0].annotations[0].coordinates.x", "expected a number"),
        ([{"annotations": []}], "[0].image", "missing"),
        ({"image": "a.jpg"}, "$", "expected a list"),
    ],
)
def test_bad_input_raises_located_errors(tmp_path: Path, doc: object, location: str, message: str) -> None:
    path = _write_json(tmp_path / "bad.json", doc)
    with pytest.raises(FormatError) as err:
        list(labelport.load(path, format="createml"))
    assert err.value.location == location and message in err.value.message
    assert err.value.file == str(path)


def test_malformed_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"image": "a.jpg",\n   "annotations": [}\n]')
    with pytest.raises(FormatError) as err:
        labelport.load(path, format="createml")
    assert err.value.location and err.value.location.startswith("line 3")


# --------------------------------------------------------------------------- detection


def test_detection_is_by_content() -> None:
    assert plugin.labelport_detect(probe=Probe(DATA / "boxes.json")).confidence >= 0.9
    assert plugin.labelport_detect(probe=Probe(DATA / "roboflow")).confidence >= 0.9


@pytest.mark.parametrize(
    "doc",
    [
        {"images": [], "annotations": [], "categories": []},  # COCO
        [{"image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4], "score": 0.5}],  # COCO results
        [{"image": "a.jpg", "caption": "a dog"}],  # some caption list
        [{"image": "a.jpg", "annotations": [{"label": "x", "points": [1, 2]}]}],  # boxes not in Create ML form
        [],
    ],
)
def test_other_json_is_not_claimed(tmp_path: Path, doc: object) -> None:
    path = _write_json(tmp_path / "other.json", doc)
    assert plugin.labelport_detect(probe=Probe(path)) is None


def _big_probe(path: Path) -> Probe:
    probe = Probe(path)
    probe._cache[("json", "None")] = None  # what the probe answers for files over its JSON limit
    return probe


def test_large_file_is_detected_from_its_first_bytes(tmp_path: Path) -> None:
    box = {"label": "x", "coordinates": {"x": 1, "y": 1, "width": 1, "height": 1}}
    found = plugin.labelport_detect(probe=_big_probe(_write_json(tmp_path / "big.json", [{"image": "a.jpg", "annotations": [box]}])))
    assert found is not None and found.confidence >= 0.9
    other = _write_json(tmp_path / "other.json", [{"image": "a.jpg", "annotations": [box], "segments": []}])
    assert plugin.labelport_detect(probe=_big_probe(other)) is None


# --------------------------------------------------------------------------- losses


def test_kinds_it_cannot_hold_are_reported(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="a", media=Image(name="a.jpg", width=50, height=50), annotations=[
            Polygon(label="p", parts=[[0, 0, 10, 0, 10, 20]]),
            BBox(label="r", x=10, y=10, w=10, h=4, rotation=90),
            Tag(label="day"),
        ])],
        labels=[Label(name="p"), Label(name="r"), Label(name="day")],
    )
    report = labelport.save(ds, tmp_path / "o.json", "createml")
    assert report.losses[("polygon", "reduced to its box")] == 1
    assert report.losses[("rotated bbox", "replaced by its axis-aligned enclosing box")] == 1
    assert report.losses[("label", "dropped (the format cannot hold it)")] == 1
    (item,) = labelport.load(tmp_path / "o.json", format="createml")
    boxes = sorted((a.label, a.x, a.y, a.w, a.h) for a in item.annotations)
    assert boxes[0] == ("p", 0.0, 0.0, 10.0, 20.0)
    assert boxes[1][0] == "r" and boxes[1][1:] == pytest.approx((13.0, 7.0, 4.0, 10.0))
