"""WIDER Face specifics: the readme's rows and flags, the dummy row, event folders, the
datumaro variant, the writer's rows, losses and located errors."""

from __future__ import annotations

from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.schema import BBox, Dataset, Image, Item, Label, Tag
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def _items(path: Path, **options) -> dict[tuple[str | None, str], Item]:
    return {(it.subset, it.id): it for it in labelport.load(path, format="wider_face", **options)}


def _boxes(item: Item) -> list[BBox]:
    return [a for a in item.annotations if a.type == "bbox"]


def _tags(item: Item) -> list[str]:
    return [a.label for a in item.annotations if a.type == "label"]


def _gt(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wider_face_split" / "wider_face_train_bbx_gt.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return tmp_path


# --------------------------------------------------------------------------- reading


def test_readme_rows_become_boxes_with_flags() -> None:
    item = _items(DATA / "a_official")[("train", "0_Parade_marchingband_1_849")]
    first, second = _boxes(item)
    assert (first.label, first.x, first.y, first.w, first.h) == ("face", 4.0, 5.0, 20.0, 24.0)
    assert first.attributes == {"blur": 2, "expression": 0, "illumination": 0, "invalid": 0, "occlusion": 0, "pose": 0}
    # the readme's column order: ... illumination, invalid, occlusion, pose
    assert second.attributes == {"blur": 0, "expression": 1, "illumination": 1, "invalid": 0, "occlusion": 2, "pose": 1}
    assert _tags(item) == ["Parade"]
    assert (item.media.width, item.media.height) == (64, 48)
    assert item.media.name == "0--Parade/0_Parade_marchingband_1_849.jpg"


def test_zero_faces_and_the_dummy_row() -> None:
    items = _items(DATA / "a_official")
    assert _boxes(items[("train", "0_Parade_Parade_0_904")]) == []
    # the dummy row is not read as the next image or a face
    group = items[("train", "12_Group_Group_12_Group_Group_12_10")]
    assert [(b.w, b.h, b.attributes["invalid"]) for b in _boxes(group)] == [(0.0, 0.0, 1)]


def test_event_numbers_are_label_ids_and_subsets_come_from_file_names() -> None:
    ds = labelport.load(DATA / "a_official", format="wider_face")
    assert ds.labels["Parade"].id == 0 and ds.labels["Group"].id == 12
    items = {(i.subset, i.id) for i in ds}
    assert ("val", "12_Group_Large_Group_12_Group_Large_Group_12_31") in items
    assert ("test", "0_Parade_marchingband_1_9") in items
    assert len(items) == 5


def test_datumaro_variant_dashes_label_column_and_missing_count() -> None:
    items = _items(DATA / "b_export")
    p1 = items[("default", "p1")]
    a, b, c = _boxes(p1)
    assert (a.x, a.y, a.w, a.h, a.attributes, a.label) == (1.5, 2.25, 10.0, 12.75, {}, "face")
    assert (b.label, b.attributes) == ("mask", {"blur": 1, "illumination": 0, "occlusion": 2})
    assert (c.label, c.attributes) == ("mask", {})
    assert _boxes(items[("default", "p2")]) == [] and _tags(items[("default", "p2")]) == []
    assert [(x.x, x.w) for x in _boxes(items[("default", "p3")])] == [(2.0, 4.0)]
    assert labelport.load(DATA / "b_export", format="wider_face").labels.names()[:3] == ["face", "mask", "Parade"]


def test_a_ground_truth_file_alone_reads_and_is_detected() -> None:
    gt = DATA / "a_official" / "wider_face_split" / "wider_face_train_bbx_gt.txt"
    items = _items(gt)
    assert len(items) == 3 and all(i.media.path for i in items.values())
    assert labelport.detect(gt)[0].format == "wider_face"


def test_rows_in_a_file_of_another_name_are_detected_lower(tmp_path: Path) -> None:
    (tmp_path / "faces.txt").write_text("a/b.jpg\n1\n1 2 3 4 0 0 0 0 0 0\n")
    found = labelport.detect(tmp_path / "faces.txt")[0]
    assert found.format == "wider_face" and found.confidence < 0.9


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("a/x.jpg\n2\n1 2 3 4 0 0 0 0 0 0\nb/y.jpg\n", "2 faces announced, 1 found", 4),
        ("a/x.jpg\n1\n1 2 three 4\n", "box value 'three' is not a number", 3),
        ("a/x.jpg\n1\n1 2 -3 4\n", "negative box size", 3),
        ("1 2 3 4\n", "expected an image path", 1),
        ("a/x.jpg\n1\n1 2 3 4 0 x 0 0 0 0\n", "flag expression 'x' is not a whole number", 3),
        ("a/x.jpg\n1\n1 2 3 4 0 0 0 0 0 0 0 0\n", "at most 10 are defined", 3),
        ("a/x.jpg\n1\n1 2 nan 4\n", "not finite", 3),
        ("a/x.jpg\n1.5\n", "face count '1.5' is not a whole number", 2),
    ],
)
def test_bad_rows_raise_located_errors(tmp_path: Path, text: str, message: str, line: int) -> None:
    root = _gt(tmp_path, text)
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="wider_face"))
    assert message in err.value.message
    assert err.value.location == f"line {line}" and err.value.file.endswith("wider_face_train_bbx_gt.txt")


def test_validate_flags_values_outside_the_readme(tmp_path: Path) -> None:
    root = _gt(tmp_path, "a/x.jpg\n2\n1 2 3 4 3 0 0 0 0 0\n1 2 0 4 0 0 0 0 0 0\nb/y.jpg\n0\n")
    problems = labelport.validate(root, format="wider_face")
    assert any("blur is 3" in p.message and p.location == "line 3" for p in problems)
    assert any("without area" in p.message and p.location == "line 4" for p in problems)
    assert any("dummy row" in p.message and p.location == "line 5" for p in problems)
    assert not [p for p in labelport.validate(DATA / "a_official", format="wider_face") if p.severity == "warning"]


# --------------------------------------------------------------------------- writing


def _dataset() -> Dataset:
    return Dataset(
        [
            Item(
                id="x",
                subset="train",
                media=Image(name="x.png"),
                annotations=[
                    Tag(label="Parade"),
                    BBox(label="face", x=1, y=2.5, w=3, h=4, attributes={"blur": 1, "occlusion": 2, "color": "red"}),
                    BBox(label="mask", x=0, y=0, w=5, h=5, attributes={"occluded": True}),
                ],
            ),
            Item(id="y", subset="train", annotations=[Tag(label="Riot"), Tag(label="Parade")]),
            Item(id="z", subset="train"),
        ],
        labels=[Label(name="face"), Label(name="mask"), Label(name="Parade", id=7), Label(name="Riot")],
    )


def test_writer_rows_event_folders_and_dummy_row(tmp_path: Path) -> None:
    report = labelport.save(_dataset(), tmp_path / "out", "wider_face")
    gt = (tmp_path / "out" / "wider_face_split" / "wider_face_train_bbx_gt.txt").read_text()
    assert gt == (
        "7--Parade/x.png\n2\n"
        "1 2.5 3 4 1 0 0 0 2 0\n"
        "0 0 5 5 0 0 0 0 1 0 mask\n"
        "8--Riot/y.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n"
        "no_label/z.jpg\n0\n0 0 0 0 0 0 0 0 0 0\n"
    )
    assert (tmp_path / "out" / "labels.txt").read_text() == "face\nmask\nParade\nRiot\n"
    losses = {what: count for (what, _), count in report.losses.items()}
    assert losses == {
        "annotation attributes other than the WIDER flags": 1,
        "image labels beyond the first": 1,
        "occluded attribute": 1,
    }
    assert any("written as 0" in n for n in report.notes)


def test_writer_can_mark_missing_flags_as_datumaro_does(tmp_path: Path) -> None:
    ds = Dataset([Item(id="x", annotations=[BBox(label="face", x=1, y=2, w=3, h=4, attributes={"pose": 1})])])
    labelport.save(ds, tmp_path / "out", "wider_face", missing_flags="dash")
    gt = (tmp_path / "out" / "wider_face_split" / "wider_face_default_bbx_gt.txt").read_text()
    assert gt == "no_label/x.jpg\n1\n1 2 3 4 - - - - - 1\n"
    (box,) = _boxes(_items(tmp_path / "out")[("default", "x")])
    assert box.attributes == {"pose": 1}


def test_round_trip_keeps_flags_events_and_ids(tmp_path: Path) -> None:
    before = labelport.load(DATA / "a_official", format="wider_face")
    labelport.save(before, tmp_path / "out", "wider_face")
    after = _items(tmp_path / "out")
    for item in before:
        other = after[(item.subset, item.id)]
        assert _tags(other) == _tags(item)
        assert [(b.x, b.y, b.w, b.h, b.attributes) for b in _boxes(other)] == [
            (b.x, b.y, b.w, b.h, b.attributes) for b in _boxes(item)
        ]
    text = (tmp_path / "out" / "wider_face_split" / "wider_face_train_bbx_gt.txt").read_text()
    assert text.startswith("0--Parade/0_Parade_marchingband_1_849.jpg\n2\n4 5 20 24 2 0 0 0 0 0\n")
    assert "12--Group/12_Group_Group_12_Group_Group_12_10.jpg\n" in text


def test_save_media_uses_the_subset_image_folders(tmp_path: Path) -> None:
    src = tmp_path / "src.png"
    PILImage.new("RGB", (5, 5)).save(src)
    ds = Dataset([Item(id="a", subset="val", media=Image(name="a.png", path=str(src)), annotations=[Tag(label="Crowd")])])
    report = labelport.save(ds, tmp_path / "out", "wider_face", save_media="copy")
    assert (tmp_path / "out" / "WIDER_val" / "images" / "0--Crowd" / "a.png").is_file()
    assert not report.missing_media
    (item,) = labelport.load(tmp_path / "out", format="wider_face")
    assert (item.id, item.media.width) == ("a", 5)
