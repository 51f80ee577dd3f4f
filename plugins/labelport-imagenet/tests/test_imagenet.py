"""ImageNet specifics: class index lists and synsets, class folders, both writers, losses and
located errors."""

from __future__ import annotations

from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError, OptionsError
from labelport.schema import BBox, Dataset, Image, Item, Label, Tag
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def _items(path: Path, **options) -> dict[tuple[str | None, str], Item]:
    return {(it.subset, it.id): it for it in labelport.load(path, format="imagenet", **options)}


def _tags(item: Item) -> list[str]:
    return [a.label for a in item.annotations if a.type == "label"]


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", (4, 3)).save(path)


# --------------------------------------------------------------------------- class index lists


def test_class_indices_name_the_synsets_rows() -> None:
    items = _items(DATA / "a_lists")
    assert _tags(items[("train", "n01440764/n01440764_10026")]) == ["n01440764"]
    assert _tags(items[("train", "mixed/two_fish")]) == ["n01440764", "n01443537"]
    assert _tags(items[("train", "unlabelled")]) == []
    assert _tags(items[("val", "ILSVRC2012_val_00000001")]) == ["n01484850"]
    assert len(items) == 7


def test_quoted_name_with_a_space_and_media_found() -> None:
    item = _items(DATA / "a_lists")[("train", "holiday photo")]
    assert item.media.name == "holiday photo.JPEG"
    assert Path(item.media.path) == DATA / "a_lists" / "images" / "holiday photo.JPEG"
    assert _tags(item) == ["n01484850"]


def test_labels_keep_index_and_description() -> None:
    ds = labelport.load(DATA / "a_lists", format="imagenet")
    assert [(lb.name, lb.id) for lb in ds.labels] == [("n01440764", 0), ("n01443537", 1), ("n01484850", 2)]
    assert ds.labels["n01443537"].metadata["description"] == "goldfish, Carassius auratus"


def test_list_writer_rows_and_synsets(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(id="a", subset="train", media=Image(name="a.png"), annotations=[Tag(label="dog")]),
            Item(id="b c", subset="train", annotations=[Tag(label="cat"), Tag(label="dog")]),
            Item(id="d", subset="val"),
        ],
        # ids numbering 0..n-1 decide the index, not the order of declaration
        labels=[Label(name="dog", id=1), Label(name="cat", id=0)],
    )
    report = labelport.save(ds, tmp_path / "out", "imagenet")
    out = tmp_path / "out"
    assert (out / "synsets.txt").read_text() == "cat\ndog\n"
    assert (out / "train.txt").read_text() == 'a.png 1\n"b c".jpg 0 1\n'
    assert (out / "val.txt").read_text() == "d.jpg\n"
    assert report.lossless
    back = _items(out)
    assert _tags(back[("train", "b c")]) == ["cat", "dog"]
    assert back[("val", "d")].annotations == []


def test_labels_met_only_in_items_are_appended(tmp_path: Path) -> None:
    ds = Dataset([Item(id="x", annotations=[Tag(label="new")])], labels=[Label(name="old")])
    labelport.save(ds, tmp_path / "out", "imagenet")
    assert (tmp_path / "out" / "synsets.txt").read_text() == "old\nnew\n"
    assert (tmp_path / "out" / "default.txt").read_text() == "x.jpg 1\n"


def test_descriptions_are_written_to_synset_words(tmp_path: Path) -> None:
    labelport.save(labelport.load(DATA / "a_lists", format="imagenet"), tmp_path / "out", "imagenet")
    assert (tmp_path / "out" / "synsets.txt").read_text() == (DATA / "a_lists" / "synsets.txt").read_text()
    assert (tmp_path / "out" / "synset_words.txt").read_text() == (DATA / "a_lists" / "synset_words.txt").read_text()


def test_list_writer_saves_media_under_images(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "a_lists", format="imagenet")
    report = labelport.save(ds, tmp_path / "out", "imagenet", save_media="copy", variant="txt")
    assert (tmp_path / "out" / "images" / "holiday photo.JPEG").is_file()
    assert (tmp_path / "out" / "images" / "n01440764" / "n01440764_10026.JPEG").is_file()
    assert not report.missing_media
    assert all(it.media.path for it in labelport.load(tmp_path / "out", format="imagenet"))


def test_single_list_file_reads_with_its_synsets(tmp_path: Path) -> None:
    (tmp_path / "synsets.txt").write_text("a\nb\n")
    (tmp_path / "val.txt").write_text("x.jpg 1\n")
    (item,) = labelport.load(tmp_path / "val.txt", format="imagenet")
    assert (item.subset, item.id, _tags(item)) == ("val", "x", ["b"])
    assert labelport.detect(tmp_path / "val.txt")[0].format == "imagenet"


def test_without_synsets_classes_are_named_by_index(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("x.jpg 2\ny.jpg 0\n")
    ds = labelport.load(tmp_path, format="imagenet")
    assert [(lb.name, lb.id) for lb in ds.labels] == [("class-0", 0), ("class-1", 1), ("class-2", 2)]
    assert [_tags(i) for i in ds] == [["class-2"], ["class-0"]]
    assert any("class-<index>" in n for n in ds.notes)
    assert sorted(ds.missing_media) == ["x", "y"]


def test_missing_images_can_be_dropped(tmp_path: Path) -> None:
    (tmp_path / "synsets.txt").write_text("a\n")
    (tmp_path / "train.txt").write_text("here.png 0\ngone.png 0\n")
    _png(tmp_path / "images" / "here.png")
    assert [i.id for i in labelport.load(tmp_path, format="imagenet", keep_missing_media=False)] == ["here"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("x.jpg 5", "class index 5 but synsets.txt lists 2 classes"),
        ("x.jpg one", "class index 'one' is not an integer"),
        ("x.jpg -1", "negative class index -1"),
        ('"x.jpg 1', "unclosed quote"),
    ],
)
def test_bad_rows_raise_located_errors(tmp_path: Path, row: str, message: str) -> None:
    (tmp_path / "synsets.txt").write_text("a\nb\n")
    (tmp_path / "train.txt").write_text(f"ok.jpg 0\n{row}\n")
    with pytest.raises(FormatError) as err:
        list(labelport.load(tmp_path, format="imagenet"))
    assert message in err.value.message
    assert err.value.location == "line 2" and err.value.file.endswith("train.txt")


def test_validate_reports_repeated_classes_and_rows(tmp_path: Path) -> None:
    (tmp_path / "synsets.txt").write_text("a\nb\na\n")
    (tmp_path / "train.txt").write_text("x.jpg 0\nx.jpg 1\n")
    problems = labelport.validate(tmp_path, format="imagenet")
    assert any(p.severity == "error" and "repeats line 1" in p.message and p.location == "line 3" for p in problems)
    assert any(p.severity == "warning" and "listed again" in p.message and p.location == "line 2" for p in problems)


# --------------------------------------------------------------------------- class folders


def test_class_folders_give_tags_and_parents() -> None:
    ds = labelport.load(DATA / "b_class_folders", format="imagenet")
    items = {i.id: i for i in ds}
    assert sorted(items) == ["cat/cat_001", "cat/cat_002", "dog/dog_001", "dog/puppy/dog_001", "loose", "unknown"]
    assert _tags(items["dog/puppy/dog_001"]) == ["dog/puppy"]
    assert _tags(items["cat/cat_002"]) == ["cat"]
    assert _tags(items["loose"]) == [] and _tags(items["unknown"]) == []
    assert ds.labels["dog/puppy"].parent == "dog" and ds.labels["cat"].parent is None
    assert items["cat/cat_002"].media.name == "cat/cat_002.png"


def test_folder_writer_needs_media() -> None:
    ds = labelport.load(DATA / "b_class_folders", format="imagenet")
    with pytest.raises(OptionsError):
        labelport.save(ds, "/nonexistent/never", "imagenet", variant="folders")


def test_folder_round_trip_keeps_ids_and_classes(tmp_path: Path) -> None:
    before = labelport.load(DATA / "b_class_folders", format="imagenet")
    report = labelport.save(before, tmp_path / "out", "imagenet", save_media="copy")
    assert (tmp_path / "out" / "dog" / "puppy" / "dog_001.jpg").is_file()
    assert (tmp_path / "out" / "no_label" / "loose.jpg").is_file()
    assert report.lossless
    after = {i.id: _tags(i) for i in labelport.load(tmp_path / "out", format="imagenet")}
    assert after == {i.id: _tags(i) for i in before}


def test_multi_class_image_is_copied_and_reported(tmp_path: Path) -> None:
    _png(tmp_path / "src" / "p.png")
    ds = Dataset(
        [
            Item(
                id="p",
                media=Image(name="p.png", path=str(tmp_path / "src" / "p.png")),
                annotations=[Tag(label="a"), Tag(label="b")],
            )
        ],
        labels=[Label(name="a"), Label(name="b")],
    )
    report = labelport.save(ds, tmp_path / "out", "imagenet", save_media="copy")
    assert (tmp_path / "out" / "a" / "p.png").is_file() and (tmp_path / "out" / "b" / "p.png").is_file()
    assert sum(c for (what, _), c in report.losses.items() if what == "additional image classes") == 1


def test_subset_folders(tmp_path: Path) -> None:
    _png(tmp_path / "ds" / "train" / "cat" / "1.png")
    _png(tmp_path / "ds" / "val" / "dog" / "1.png")
    items = _items(tmp_path / "ds")
    assert {k: _tags(v) for k, v in items.items()} == {("train", "cat/1"): ["cat"], ("val", "dog/1"): ["dog"]}
    # the same layout is Ultralytics classification, which is more specific
    found = labelport.detect(tmp_path / "ds")
    mine = next(d for d in found if d.format == "imagenet")
    assert mine.confidence <= 0.4


def test_items_without_subset_beside_subsets_go_to_default(tmp_path: Path) -> None:
    _png(tmp_path / "src" / "p.png")
    media = Image(name="p.png", path=str(tmp_path / "src" / "p.png"))
    ds = Dataset(
        [
            Item(id="p", subset="train", media=media, annotations=[Tag(label="a")]),
            Item(id="q", media=media, annotations=[Tag(label="a")]),
        ],
        labels=[Label(name="a")],
    )
    labelport.save(ds, tmp_path / "out", "imagenet", save_media="copy")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["default", "train"]
    assert sorted(_items(tmp_path / "out")) == [("default", "a/q"), ("train", "a/p")]


def test_class_folder_detection_stays_low() -> None:
    found = labelport.detect(DATA / "b_class_folders")
    assert found[0].format == "imagenet" and found[0].confidence <= 0.4
    assert labelport.detect(DATA / "a_lists")[0].confidence >= 0.7


def test_parents_not_in_the_name_are_reported_lost(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="x", annotations=[Tag(label="cat")])], labels=[Label(name="animal"), Label(name="cat", parent="animal")]
    )
    report = labelport.save(ds, tmp_path / "out", "imagenet")
    assert any(what == "label parents" for what, _ in report.losses)
    kept = Dataset(
        [Item(id="x", annotations=[Tag(label="animal/cat")])],
        labels=[Label(name="animal"), Label(name="animal/cat", parent="animal")],
    )
    assert labelport.save(kept, tmp_path / "out2", "imagenet").lossless


def test_boxes_are_not_image_classes(tmp_path: Path) -> None:
    ds = Dataset([Item(id="x", annotations=[BBox(label="a", x=0, y=0, w=1, h=1)])], labels=[Label(name="a")])
    report = labelport.save(ds, tmp_path / "out", "imagenet")
    assert ("bbox", "dropped (the format cannot hold it)") in report.losses


def test_a_huge_index_without_synsets_is_refused(tmp_path: Path) -> None:
    (tmp_path / "train.txt").write_text("x.jpg 1\ny.jpg 999999999999\n")
    with pytest.raises(FormatError) as err:
        labelport.load(tmp_path, format="imagenet")
    assert err.value.location == "line 2"
