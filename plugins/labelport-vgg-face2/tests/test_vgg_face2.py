"""VGGFace2 specifics: boxes and five landmarks by NAME_ID, identities, the datumaro variant,
the writer's tables, losses and located errors."""

from __future__ import annotations

from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.schema import BBox, Dataset, Item, Label, Points, Tag
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def _items(path: Path, **options) -> dict[tuple[str | None, str], Item]:
    return {(it.subset, it.id): it for it in labelport.load(path, format="vgg_face2", **options)}


def _kinds(item: Item) -> list[tuple[str, str | None]]:
    return [(a.type, a.label) for a in item.annotations]


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "bb_landmark" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return tmp_path


# --------------------------------------------------------------------------- reading


def test_box_and_landmarks_of_a_name_id() -> None:
    item = _items(DATA / "a_release")[("train", "n000002/0001_01")]
    box, marks = item.annotations
    assert (box.type, box.label, box.x, box.y, box.w, box.h) == ("bbox", "n000002", 5.0, 6.0, 20.0, 30.0)
    assert (marks.type, marks.label) == ("points", "n000002")
    assert marks.points == [10.5, 15.25, 19.75, 15.0, 15.125, 20.0, 11.0, 27.5, 19.0, 27.25]
    assert (item.media.name, item.media.width, item.media.height) == ("n000002/0001_01.jpg", 40, 50)


def test_subset_list_and_identity_meta() -> None:
    ds = labelport.load(DATA / "a_release", format="vgg_face2")
    items = {(i.subset, i.id): i for i in ds}
    assert len(items) == 5
    # listed in train_list.txt only: the image keeps its identity as an image label
    assert _kinds(items[("train", "n000009/0007_01")]) == [("label", "n000009")]
    assert _kinds(items[("test", "n000004/0010_01")]) == [("bbox", "n000004"), ("points", "n000004")]
    meta = ds.labels["n000004"].metadata
    assert meta["person_name"] == "Ada_Lovelace" and meta["vgg_face2_gender"] == "f"


def test_export_variant_names_empty_rows_and_no_label() -> None:
    ds = labelport.load(DATA / "b_export", format="vgg_face2")
    items = {i.id: i for i in ds}
    assert ds.labels["n000001"].metadata["person_name"] == "Karl"
    assert _kinds(items["n000001/a"]) == [("points", "n000001")]
    assert _kinds(items["n000002/b"]) == [("label", "n000002")]
    assert _kinds(items["c"]) == [] and items["c"].media.path is not None


def test_a_csv_file_alone_reads_and_is_detected() -> None:
    path = DATA / "a_release" / "bb_landmark" / "loose_bb_test.csv"
    items = _items(path)
    assert list(items) == [("test", "n000004/0010_01")]
    assert items[("test", "n000004/0010_01")].media.path is not None
    assert labelport.detect(path)[0].format == "vgg_face2"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "text", "message", "line"),
    [
        (
            "loose_bb_train.csv",
            "NAME_ID,X,Y,W,H\na/1,1,2,3,4\na/1,1,2,3,4\n",
            "a/1 is listed again (first at loose_bb_train.csv:2)",
            3,
        ),
        ("loose_bb_train.csv", "NAME,X,Y,W,H\na/1,1,2,3,4\n", "expected the header NAME_ID,X,Y,W,H", 1),
        ("loose_bb_train.csv", "NAME_ID,X,Y,W,H\na/1,1,two,3,4\n", "Y 'two' is not a number", 2),
        ("loose_bb_train.csv", "NAME_ID,X,Y,W,H\na/1,1,2,-3,4\n", "negative box size", 2),
        (
            "loose_landmark_train.csv",
            "NAME_ID,P1X,P1Y,P2X,P2Y,P3X,P3Y,P4X,P4Y,P5X,P5Y\na/1,1,2,3,4,5,6,7,8,9,inf\n",
            "P5Y 'inf' is not finite",
            2,
        ),
        ("loose_bb_train.csv", "NAME_ID,X,Y,W,H\n,1,2,3,4\n", "empty NAME_ID", 2),
    ],
)
def test_bad_rows_raise_located_errors(tmp_path: Path, name: str, text: str, message: str, line: int) -> None:
    root = _csv(tmp_path, name, text)
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="vgg_face2"))
    assert message in err.value.message
    assert err.value.location == f"line {line}" and err.value.file.endswith(name)


def test_validate_warns_of_missing_identity_and_stray_landmarks(tmp_path: Path) -> None:
    root = _csv(
        tmp_path,
        "loose_landmark_train.csv",
        "NAME_ID,P1X,P1Y,P2X,P2Y,P3X,P3Y,P4X,P4Y,P5X,P5Y\nlone,1,2,3,4,5,6,7,8,9,10\nn1/x,50,2,3,4,5,6,7,8,9,10\n",
    )
    (root / "bb_landmark" / "loose_bb_train.csv").write_text("NAME_ID,X,Y,W,H\nn1/x,0,0,12,12\n")
    problems = labelport.validate(root, format="vgg_face2")
    assert any("lone has no identity folder" in p.message and p.location == "line 2" for p in problems)
    assert any("landmarks outside the face box" in p.message for p in problems)


# --------------------------------------------------------------------------- writing


def test_writer_tables_and_labels(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(
                id="n1/a",
                subset="train",
                annotations=[
                    BBox(label="n1", x=1, y=2.5, w=3, h=4),
                    BBox(label="n1", x=0, y=0, w=1, h=1),
                    Points(label="n1", points=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10.5]),
                    Points(label="n1", points=[1, 2]),
                ],
            ),
            Item(id="b", subset="train", annotations=[Tag(label="n2")]),
            Item(id="c", subset="train"),
        ],
        labels=[Label(name="n1", metadata={"person_name": "Ann"}), Label(name="n2")],
    )
    report = labelport.save(ds, tmp_path / "out", "vgg_face2")
    folder = tmp_path / "out" / "bb_landmark"
    assert (folder / "loose_bb_train.csv").read_text() == "NAME_ID,X,Y,W,H\nn1/a,1,2.5,3,4\n"
    assert (folder / "loose_landmark_train.csv").read_text() == (
        "NAME_ID,P1X,P1Y,P2X,P2Y,P3X,P3Y,P4X,P4Y,P5X,P5Y\nn1/a,1,2,3,4,5,6,7,8,9,10.5\nn2/b,,,,,,,,,,\nno_label/c,,,,,,,,,,\n"
    )
    assert (tmp_path / "out" / "labels.txt").read_text() == "n1 Ann\nn2\n"
    losses = {what: count for (what, _), count in report.losses.items()}
    assert losses == {"boxes beyond the first of an image": 1, "points that are not five landmarks": 1}
    back = _items(tmp_path / "out")
    assert sorted(back) == [("train", "c"), ("train", "n1/a"), ("train", "n2/b")]
    assert _kinds(back[("train", "n2/b")]) == [("label", "n2")]


def test_identity_conflicts_are_reported(tmp_path: Path) -> None:
    ds = Dataset([Item(id="x", annotations=[BBox(label="a", x=0, y=0, w=1, h=1), Tag(label="b")])])
    report = labelport.save(ds, tmp_path / "out", "vgg_face2")
    assert any(what == "labels other than the image's identity" for what, _ in report.losses)
    assert "a/x,0,0,1,1" in (tmp_path / "out" / "bb_landmark" / "loose_bb_default.csv").read_text()


def test_round_trip_is_exact_and_media_lands_in_identity_folders(tmp_path: Path) -> None:
    before = labelport.load(DATA / "a_release", format="vgg_face2")
    labelport.save(before, tmp_path / "out", "vgg_face2", save_media="copy")
    assert (tmp_path / "out" / "train" / "n000002" / "0001_01.jpg").is_file()
    after = _items(tmp_path / "out")
    for item in before:
        other = after[(item.subset, item.id)]
        assert [a.model_dump() for a in other.annotations] == [a.model_dump() for a in item.annotations]
        assert (other.media.width, other.media.height) == (item.media.width, item.media.height)


def test_png_images_are_found_by_name_id(tmp_path: Path) -> None:
    root = _csv(tmp_path, "loose_bb_x.csv", "NAME_ID,X,Y,W,H\nn1/p,1,1,2,2\n")
    (root / "x" / "n1").mkdir(parents=True)
    PILImage.new("RGB", (7, 5)).save(root / "x" / "n1" / "p.png")
    (item,) = labelport.load(root, format="vgg_face2")
    assert (item.media.name, item.media.width) == ("n1/p.png", 7)


def test_white_space_in_identities_is_replaced_and_reported(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="x", annotations=[BBox(label="traffic light", x=0, y=0, w=2, h=2)])], labels=[Label(name="traffic light")]
    )
    report = labelport.save(ds, tmp_path / "out", "vgg_face2")
    assert ("white space in identities", "replaced by _ (labels.txt rows are split at spaces)") in report.losses
    assert (tmp_path / "out" / "labels.txt").read_text() == "traffic_light\n"
    (item,) = labelport.load(tmp_path / "out", format="vgg_face2")
    assert (item.id, item.annotations[0].label) == ("traffic_light/x", "traffic_light")
