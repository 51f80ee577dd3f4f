"""Market-1501 specifics: the fields encoded in file names, junk and distractors, query
images, the writer's names and lists, losses and located errors."""

from __future__ import annotations

from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.schema import Dataset, Image, Item, Label, Tag
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def _items(path: Path, **options) -> dict[tuple[str | None, str], Item]:
    return {(it.subset, it.id): it for it in labelport.load(path, format="market1501", **options)}


def _tags(item: Item) -> list[str]:
    return [a.label for a in item.annotations if a.type == "label"]


# --------------------------------------------------------------------------- reading


def test_file_name_fields_become_attributes_and_the_person_a_label() -> None:
    item = _items(DATA / "b_release")[("train", "0002_c1s1_000451_03")]
    assert item.attributes == {"person_id": "0002", "camera_id": 0, "track_id": 1, "frame_id": 451, "bbox_id": 3, "query": False}
    assert _tags(item) == ["0002"]
    assert (item.media.name, item.media.width, item.media.height) == ("bounding_box_train/0002_c1s1_000451_03.jpg", 16, 32)
    assert labelport.load(DATA / "b_release", format="market1501").labels["0002"].id == 2


def test_junk_and_distractors_have_no_person_label() -> None:
    items = _items(DATA / "b_release")
    junk = items[("test", "-1_c3s2_000112_02")]
    assert _tags(junk) == [] and junk.attributes["person_id"] == "-1" and junk.attributes["camera_id"] == 2
    assert _tags(items[("test", "0000_c1s1_000000_00")]) == []


def test_query_folder_and_query_images_in_lists() -> None:
    query = _items(DATA / "b_release")[("query", "0001_c2s1_000301_00")]
    assert query.attributes["query"] is True
    listed = _items(DATA / "a_lists")
    assert listed[("test", "0013_c4s2_000020_00")].attributes["query"] is True
    assert listed[("test", "0013_c1s1_000005_00")].attributes["query"] is False


def test_an_id_after_the_encoded_part_is_the_item_id() -> None:
    item = _items(DATA / "a_lists")[("train", "street_cam")]
    assert item.attributes["track_id"] == 3 and item.attributes["bbox_id"] == 1
    assert item.media.path is not None


def test_a_list_file_alone_is_detected_and_read() -> None:
    path = DATA / "a_lists" / "images_train.txt"
    assert labelport.detect(path)[0].format == "market1501"
    assert sorted(_items(path)) == [("train", "0012_c1s1_000000_00"), ("train", "street_cam")]


def test_folders_of_other_names_are_detected_low(tmp_path: Path) -> None:
    PILImage.new("RGB", (4, 8)).save(tmp_path / "x.jpg")
    (tmp_path / "bounding_box_train").mkdir()
    PILImage.new("RGB", (4, 8)).save(tmp_path / "bounding_box_train" / "person.jpg")
    found = next(d for d in labelport.detect(tmp_path) if d.format == "market1501")
    assert found.confidence == 0.5


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bounding_box_train/a.jpg\nnotes about the set\n", "is not an image path"),
        ("bounding_box_train/a.jpg\nx\x00.jpg\n", "is not an image path"),
    ],
)
def test_bad_list_rows_raise_located_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "images_train.txt").write_text(text)
    with pytest.raises(FormatError) as err:
        list(labelport.load(tmp_path, format="market1501"))
    assert message in err.value.message and err.value.location == "line 2"


def test_validate_reports_names_missing_images_and_escapes(tmp_path: Path) -> None:
    (tmp_path / "images_train.txt").write_text(
        "bounding_box_train/photo.jpg\nbounding_box_train/0001_c1s1_000001_00.jpg\n../../0001_c1s1_000002_00.jpg\n"
    )
    problems = labelport.validate(tmp_path, format="market1501")
    assert any("does not encode" in p.message and p.location == "line 1" for p in problems)
    assert any("not found" in p.message and p.location == "line 2" for p in problems)
    assert any(p.severity == "error" and "outside the dataset" in p.message and p.location == "line 3" for p in problems)
    assert not [p for p in labelport.validate(DATA / "b_release", format="market1501") if p.severity == "warning"]


# --------------------------------------------------------------------------- writing


def test_writer_encodes_names_and_lists(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(
                id="a",
                subset="train",
                annotations=[Tag(label="0042")],
                attributes={"camera_id": 2, "track_id": 5, "frame_id": 77, "bbox_id": 1},
            ),
            Item(id="b", subset="train", media=Image(name="b.png"), annotations=[Tag(label="0042")]),
            Item(id="c", subset="train", annotations=[Tag(label="0042")]),
            Item(id="0003_c1s1_000010_00", subset="test", attributes={"query": True}),
            Item(id="d", subset="test", annotations=[Tag(label="cat"), Tag(label="dog")], attributes={"weather": "rain"}),
        ],
        labels=[Label(name="0042")],
    )
    report = labelport.save(ds, tmp_path / "out", "market1501")
    assert (tmp_path / "out" / "images_train.txt").read_text() == (
        "bounding_box_train/0042_c3s5_000077_01a.jpg\n"
        "bounding_box_train/0042_c1s1_000000_00b.png\n"
        "bounding_box_train/0042_c1s1_000001_00c.jpg\n"
    )
    assert (tmp_path / "out" / "images_test.txt").read_text() == "query/0003_c1s1_000010_00.jpg\nbounding_box_test/d.jpg\n"
    losses = {what: count for (what, _), count in report.losses.items()}
    assert losses == {
        "image labels that are not person numbers": 1,
        "image labels beyond the first": 1,
        "item attributes other than the Market-1501 name fields": 1,
    }
    back = _items(tmp_path / "out")
    assert sorted(back) == [("test", "0003_c1s1_000010_00"), ("test", "d"), ("train", "a"), ("train", "b"), ("train", "c")]
    assert back[("train", "a")].attributes["camera_id"] == 2 and _tags(back[("train", "a")]) == ["0042"]
    assert back[("test", "0003_c1s1_000010_00")].attributes["query"] is True


def test_round_trip_keeps_every_name_and_media_place(tmp_path: Path) -> None:
    before = labelport.load(DATA / "b_release", format="market1501")
    report = labelport.save(before, tmp_path / "out", "market1501", save_media="copy")
    assert report.lossless and not report.missing_media
    original = sorted(p.relative_to(DATA / "b_release").as_posix() for p in (DATA / "b_release").rglob("*.jpg"))
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.jpg"))
    assert written == original
    after = _items(tmp_path / "out")
    assert {k: (v.attributes, _tags(v)) for k, v in after.items()} == {(i.subset, i.id): (i.attributes, _tags(i)) for i in before}


def test_same_name_in_query_and_gallery_of_one_subset_stays_two_items(tmp_path: Path) -> None:
    for folder in ("bounding_box_test", "query"):
        (tmp_path / folder).mkdir()
        PILImage.new("RGB", (4, 8)).save(tmp_path / folder / "0005_c1s1_000001_00.jpg")
    (tmp_path / "images_test.txt").write_text("bounding_box_test/0005_c1s1_000001_00.jpg\nquery/0005_c1s1_000001_00.jpg\n")
    assert sorted(_items(tmp_path)) == [("test", "0005_c1s1_000001_00"), ("test", "query/0005_c1s1_000001_00")]


def test_links_leaving_the_dataset_are_not_followed(tmp_path: Path) -> None:
    PILImage.new("RGB", (4, 8)).save(tmp_path / "secret.jpg")
    (tmp_path / "ds" / "query").mkdir(parents=True)
    (tmp_path / "ds" / "query" / "0001_c1s1_000001_00.jpg").symlink_to(tmp_path / "secret.jpg")
    (item,) = labelport.load(tmp_path / "ds", format="market1501")
    assert item.media.path is None
    assert any(
        p.severity == "error" and "outside the dataset" in p.message
        for p in labelport.validate(tmp_path / "ds", format="market1501")
    )
