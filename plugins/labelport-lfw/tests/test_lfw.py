"""LFW specifics: pairs as attributes in the order of pairs.txt, people, landmarks, the
datumaro/CVAT variants, the writer's rows, losses and located errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.schema import Dataset, Image, Item, Label, Points, Tag

DATA = Path(__file__).parent / "data"


def _items(path: Path, **options) -> dict[str, Item]:
    return {it.id: it for it in labelport.load(path, format="lfw", **options)}


def _tag(item: Item) -> Tag:
    (tag,) = [a for a in item.annotations if a.type == "label"]
    return tag


# --------------------------------------------------------------------------- reading


def test_matched_and_mismatched_pairs_become_attributes() -> None:
    items = _items(DATA / "a_release")
    ada = _tag(items["Ada_Lovelace_0001"])
    assert ada.label == "Ada_Lovelace"
    assert ada.attributes == {
        "positive_pairs": ["Ada_Lovelace/Ada_Lovelace_0002"],
        "negative_pairs": ["Alan_Turing/Alan_Turing_0001"],
    }
    assert _tag(items["Grace_Hopper_0001"]).attributes == {"negative_pairs": ["Alan_Turing/Alan_Turing_0002"]}
    assert _tag(items["Alan_Turing_0002"]).attributes == {}
    assert len(items) == 6 and all(i.media.path for i in items.values())
    assert (items["Alan_Turing_0003"].media.name, items["Alan_Turing_0003"].media.width) == (
        "Alan_Turing/Alan_Turing_0003.jpg",
        25,
    )


def test_people_in_sets_become_labels() -> None:
    ds = labelport.load(DATA / "a_release", format="lfw")
    assert ds.labels.names() == ["Ada_Lovelace", "Grace_Hopper", "Alan_Turing"]
    assert ds.labels["Alan_Turing"].metadata["lfw_images"] == 3


def test_export_variant_landmarks_neutral_rows_and_dash() -> None:
    items = _items(DATA / "b_export")
    (marks,) = [a for a in items["name0_0001"].annotations if a.type == "points"]
    assert (marks.label, marks.points) == ("name0", [1.5, 4.0, 3.0, 3.25, 2.0, 2.0, 1.0, 0.0, 3.0, 0.0])
    assert _tag(items["name0_0001"]).attributes == {"negative_pairs": ["stranger"]}
    assert items["stranger"].annotations == [] and items["stranger"].subset == "test"
    assert _tag(items["name0_0002"]).label == "name0"


def test_a_pairs_file_alone_is_detected_and_read() -> None:
    path = DATA / "a_release" / "pairs.txt"
    assert labelport.detect(path)[0].format == "lfw"
    assert "Ada_Lovelace_0001" in _items(path)


def test_cvat_export_with_files_beside_images(tmp_path: Path) -> None:
    root = tmp_path / "cvat"
    shutil.copytree(DATA / "b_export" / "test" / "images", root / "images")
    for name in ("pairs.txt", "people.txt", "landmarks.txt"):
        shutil.copy(DATA / "b_export" / "test" / "annotations" / name, root / name)
    assert labelport.detect(root)[0].format == "lfw"
    items = _items(root)
    assert sorted(items) == ["name0_0001", "name0_0002", "name1_0001", "name1_0002", "stranger"]
    assert all(i.subset is None and i.media.path for i in items.values())


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "text", "message", "line"),
    [
        ("pairs.txt", "1\t1\na\t1\t2\nb\t1\t2\t3\t4\n", "3 (matched) or 4 (mismatched) values, found 5", 3),
        ("pairs.txt", "1\t1\na b\n", "found 2", 2),
        ("landmarks.txt", "a/a_0001.jpg\t1\t2\t3\n", "x y pairs, found 3 values", 1),
        ("landmarks.txt", "a/a_0001.jpg\t1\tx\n", "landmark value 'x' is not a number", 1),
        ("landmarks.txt", "a/a_0001.jpg\t1\tnan\n", "not finite", 1),
        ("people.txt", "1\na\tmany\n", "expected a row 'name count'", 2),
    ],
)
def test_bad_rows_raise_located_errors(tmp_path: Path, name: str, text: str, message: str, line: int) -> None:
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / name).write_text(text)
    with pytest.raises(FormatError) as err:
        list(labelport.load(tmp_path, format="lfw"))
    assert message in err.value.message
    assert err.value.location == f"line {line}" and err.value.file.endswith(name)


def test_validate_reports_header_counts_and_missing_images(tmp_path: Path) -> None:
    shutil.copytree(DATA / "a_release", tmp_path / "ds")
    (tmp_path / "ds" / "lfw" / "Grace_Hopper" / "Grace_Hopper_0001.jpg").unlink()
    pairs = tmp_path / "ds" / "pairs.txt"
    pairs.write_text(pairs.read_text() + "Ada_Lovelace\t2\t1\n")
    problems = labelport.validate(tmp_path / "ds", format="lfw")
    messages = [p.message for p in problems]
    assert any("does not count the 5 pairs" in m for m in messages)
    assert "image Grace_Hopper/Grace_Hopper_0001 not found" in messages
    assert "Grace_Hopper: 1 images stated, 0 found" in messages
    assert not [p for p in labelport.validate(DATA / "a_release", format="lfw") if p.severity == "warning"]


# --------------------------------------------------------------------------- writing


def test_round_trip_keeps_the_rows_their_order_and_the_header(tmp_path: Path) -> None:
    report = labelport.save(labelport.load(DATA / "a_release", format="lfw"), tmp_path / "out", "lfw")
    assert report.lossless
    assert (tmp_path / "out" / "annotations" / "pairs.txt").read_text() == (DATA / "a_release" / "pairs.txt").read_text()
    assert (
        tmp_path / "out" / "annotations" / "people.txt"
    ).read_text() == "3\nAda_Lovelace\t2\nGrace_Hopper\t1\nAlan_Turing\t3\n"


def test_export_round_trip_writes_neutral_rows_and_landmarks(tmp_path: Path) -> None:
    before = labelport.load(DATA / "b_export", format="lfw")
    labelport.save(before, tmp_path / "out", "lfw", save_media="copy")
    ann = tmp_path / "out" / "test" / "annotations"
    assert (ann / "pairs.txt").read_text() == "1\t1\nname1\t1\t2\nname0\t1\t-\tstranger\nname0/name0_0002\n"
    # rows follow the items (images of pairs first): the same rows, in another order
    written = (ann / "landmarks.txt").read_text().splitlines()
    assert sorted(written) == sorted((DATA / "b_export" / "test" / "annotations" / "landmarks.txt").read_text().splitlines())
    assert (tmp_path / "out" / "test" / "images" / "stranger.jpg").is_file()
    after = _items(tmp_path / "out")
    assert {k: [a.model_dump() for a in v.annotations] for k, v in after.items()} == {
        i.id: [a.model_dump() for a in i.annotations] for i in before
    }


def test_writer_rows_for_new_data(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(
                id="bob_0001",
                annotations=[
                    Tag(label="bob", attributes={"positive_pairs": ["bob/bob_0003"], "negative_pairs": "amy/amy_0002, x"})
                ],
            ),
            Item(id="photo", media=Image(name="photo.png"), annotations=[Tag(label="amy"), Points(label="amy", points=[1, 2.5])]),
            Item(id="other", annotations=[Tag(label="amy"), Tag(label="bob", attributes={"color": "red"})]),
        ],
        labels=[Label(name="amy"), Label(name="bob"), Label(name="nobody", metadata={"lfw_images": 4})],
    )
    report = labelport.save(ds, tmp_path / "out", "lfw")
    ann = tmp_path / "out" / "annotations"
    assert (ann / "pairs.txt").read_text() == "1\t2\nbob\t1\t3\nbob\t1\tamy\t2\nbob\t1\t-\tx\namy/other\n"
    assert (ann / "landmarks.txt").read_text() == "amy/photo.png\t1\t2.5\n"
    assert (ann / "people.txt").read_text() == "3\namy\t2\nbob\t1\nnobody\t4\n"
    losses = {what: count for (what, _), count in report.losses.items()}
    assert losses == {"image labels beyond the first": 1}
    items = _items(tmp_path / "out")
    assert _tag(items["bob_0001"]).attributes == {"positive_pairs": ["bob/bob_0003"], "negative_pairs": ["amy/amy_0002", "x"]}
    assert [a.type for a in items["photo"].annotations] == ["label", "points"]


def test_other_attributes_are_reported_lost(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="a", annotations=[Tag(label="p", attributes={"age": 3}), Points(label="p", points=[0, 0], attributes={"v": 1})])]
    )
    report = labelport.save(ds, tmp_path / "out", "lfw")
    assert sum(c for (what, _), c in report.losses.items() if what.startswith("attributes other")) == 2


def test_links_leaving_the_dataset_are_not_followed(tmp_path: Path) -> None:
    from PIL import Image as PILImage

    PILImage.new("RGB", (4, 4)).save(tmp_path / "secret.jpg")
    (tmp_path / "ds" / "annotations").mkdir(parents=True)
    (tmp_path / "ds" / "annotations" / "pairs.txt").write_text("1\t1\nbob\t1\t2\nbob\t1\t-\tx\n")
    (tmp_path / "ds" / "images" / "bob").mkdir(parents=True)
    (tmp_path / "ds" / "images" / "bob" / "bob_0001.jpg").symlink_to(tmp_path / "secret.jpg")
    (tmp_path / "ds" / "images" / "bob" / "bob_0003.jpg").symlink_to(tmp_path / "secret.jpg")
    items = _items(tmp_path / "ds")
    assert sorted(items) == ["bob_0001", "bob_0002", "x"]
    assert all(i.media.path is None for i in items.values())


def test_a_landmarks_file_is_lfw_not_a_class_list() -> None:
    found = labelport.detect(DATA / "b_export" / "test" / "annotations" / "landmarks.txt")
    assert found[0].format == "lfw"


def test_ids_under_their_person_folder_lose_the_folder(tmp_path: Path) -> None:
    ds = Dataset([Item(id="cat/cat_001", annotations=[Tag(label="cat")])])
    labelport.save(ds, tmp_path / "out", "lfw")
    assert (tmp_path / "out" / "annotations" / "pairs.txt").read_text() == "1\t0\ncat/cat_001\n"
    assert list(_items(tmp_path / "out")) == ["cat_001"]


def test_white_space_in_names_is_replaced_and_reported(tmp_path: Path) -> None:
    ds = Dataset([Item(id="holiday photo", annotations=[Tag(label="Ada Lovelace")])])
    report = labelport.save(ds, tmp_path / "out", "lfw")
    assert sum(c for (what, _), c in report.losses.items() if what.startswith("white space")) == 2
    (item,) = labelport.load(tmp_path / "out", format="lfw")
    assert (item.id, _tag(item).label) == ("holiday_photo", "Ada_Lovelace")
