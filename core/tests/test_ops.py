"""Dataset operations and export options, through the API and the CLI."""

import json
import random
import shutil
import subprocess
from collections import Counter

import labelport
import pytest
from labelport import cli, ops
from labelport.errors import OptionsError
from labelport.schema import BBox, Dataset, Image, Item, Label, Polygon, Tag
from PIL import Image as PILImage


def _labelled(n, seed=0):
    rng = random.Random(seed)
    weights = {"common": 0.80, "medium": 0.15, "rare": 0.05}
    items = []
    for i in range(n):
        label = rng.choices(list(weights), weights=list(weights.values()))[0]
        items.append(Item(id=f"i{i:05d}", media=Image(name=f"i{i:05d}.jpg", width=10, height=10), annotations=[Tag(label=label)]))
    return Dataset(items, labels=[Label(name=n) for n in weights])


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("0.3", {"train": 0.7, "test": 0.3}),
        (0, {"train": 1.0}),
        ("train=0.7,val=0.2,test=0.1", {"train": 0.7, "val": 0.2, "test": 0.1}),
        ({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}),
    ],
)
def test_parse_split(spec, expected):
    assert ops.parse_split(spec) == pytest.approx(expected)


@pytest.mark.parametrize("spec", ["train=0.7,val=0.2", "1.5", "train:0.5,val:0.5", "a=-0.5,b=1.5"])
def test_bad_split_is_a_clear_error(spec):
    with pytest.raises(OptionsError):
        ops.parse_split(spec)


def test_stratified_split_of_10000_items_is_reproducible_and_within_one_item_per_label():
    ds = _labelled(10_000)
    ratios = {"train": 0.7, "val": 0.2, "test": 0.1}
    first = [(i.id, i.subset) for i in ops.split(ds, ratios, seed=5, stratify=True)]
    again = [(i.id, i.subset) for i in ops.split(ds, ratios, seed=5, stratify=True)]
    other = [(i.id, i.subset) for i in ops.split(ds, ratios, seed=6, stratify=True)]
    assert first == again and first != other
    subset_of = dict(first)
    per_label = Counter()
    per_label_subset = Counter()
    for item in ds:
        label = item.annotations[0].label
        per_label[label] += 1
        per_label_subset[(label, subset_of[item.id])] += 1
    for label, total in per_label.items():
        for subset, ratio in ratios.items():
            assert abs(per_label_subset[(label, subset)] - ratio * total) <= 1, (label, subset)


def test_plain_split_hits_the_ratios_and_keeps_items_whole():
    ds = _labelled(1000)
    out = list(ops.split(ds, "0.25", seed=1))
    counts = Counter(i.subset for i in out)
    assert counts == {"train": 750, "test": 250}
    assert all(len(i.annotations) == 1 for i in out)


def test_shuffle_is_reproducible():
    ds = _labelled(50)
    a = [i.id for i in ops.shuffle(ds, seed=3)]
    assert a == [i.id for i in ops.shuffle(ds, seed=3)] and a != [i.id for i in ds]
    assert sorted(a) == sorted(i.id for i in ds)


def _rich():
    return Dataset(
        [
            Item(
                id="a/1",
                subset="train",
                attributes={"date": "2024-03-05", "site": "north"},
                annotations=[
                    BBox(label="cat", x=0, y=0, w=1, h=1, attributes={"occluded": True}),
                    Polygon(label="dog", parts=[[0, 0, 1, 0, 1, 1]]),
                ],
            ),
            Item(
                id="b/2",
                subset="val",
                attributes={"date": "2023-12-31T10:00:00", "site": "south"},
                annotations=[
                    BBox(label="dog", x=0, y=0, w=2, h=2, attributes={"occluded": False}),
                ],
            ),
        ],
        labels=[Label(name="cat"), Label(name="dog")],
    )


@pytest.mark.parametrize(
    "expr,items,anns",
    [
        ("label=cat", ["a/1", "b/2"], 1),
        ("label in cat,dog", ["a/1", "b/2"], 3),
        ("type=polygon", ["a/1", "b/2"], 1),
        ("attr.occluded=true", ["a/1", "b/2"], 1),
        ("subset!=val", ["a/1"], 2),
        ("id~a/*", ["a/1"], 2),
        ("item.site=south", ["b/2"], 1),
        ("date>=2024-01-01", ["a/1"], 2),
        ("date<2024-01-01", ["b/2"], 1),
    ],
)
def test_filters(expr, items, anns):
    out = list(ops.filter_dataset(_rich(), [expr]))
    assert [i.id for i in out] == items
    assert sum(len(i.annotations) for i in out) == anns


@pytest.mark.parametrize("expr", ["colour=red", "label", "date>=yesterday"])
def test_bad_filter_is_a_clear_error(expr):
    with pytest.raises(OptionsError, match="filter"):
        ops.Filter(expr)


def test_merge_unifies_labels_and_deduplicates_annotations():
    a = Dataset([Item(id="x", annotations=[BBox(label="cat", x=0, y=0, w=1, h=1)])], labels=[Label(name="cat")])
    b = Dataset(
        [Item(id="x", annotations=[BBox(label="cat", x=0, y=0, w=1, h=1), BBox(label="dog", x=5, y=5, w=1, h=1)]), Item(id="y")],
        labels=[Label(name="dog"), Label(name="cat", color=(1, 2, 3))],
    )
    merged = labelport.merge([a, b])
    assert merged.labels.names() == ["cat", "dog"]
    items = {i.id: i for i in merged}
    assert len(items["x"].annotations) == 2 and "y" in items
    again = labelport.merge([merged, b])  # importing the same annotations again adds nothing
    assert sum(len(i.annotations) for i in again) == 2


def test_merge_update_replaces_by_id():
    a = Dataset([Item(id="x", annotations=[BBox(id=7, label="cat", x=0, y=0, w=1, h=1)])])
    b = Dataset([Item(id="x", annotations=[BBox(id=7, label="cat", x=9, y=9, w=1, h=1)])])
    assert next(iter(labelport.merge([a, b]))).annotations[0].x == 0
    assert next(iter(labelport.merge([a, b], update=True))).annotations[0].x == 9


def test_remap_renames_merges_and_deletes():
    out = labelport.remap(_rich(), {"cat": "animal", "dog": "animal"})
    assert out.labels.names() == ["animal"]
    assert {a.label for i in out for a in i.annotations} == {"animal"}
    out = labelport.remap(_rich(), {"cat": None})
    assert out.labels.names() == ["dog"] and sum(len(i.annotations) for i in out) == 2
    out = labelport.remap(_rich(), {"cat": "feline"}, default="delete")
    assert out.labels.names() == ["feline"] and sum(len(i.annotations) for i in out) == 1


def _images(tmp_path):
    imgs = tmp_path / "uploaded"
    (imgs / "sub").mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", (4, 4)).save(imgs / "sub" / "cat.png")
    PILImage.new("RGB", (4, 4)).save(imgs / "frame_000012.jpg")
    return imgs


def test_media_matched_by_name_extension_subfolder_or_frame(registry, tmp_path):
    ds = Dataset(
        [
            Item(id="cat", media=Image(name="cat.jpg")),  # other extension, in a sub-folder
            Item(id="v/12", media=Image(name="12.jpg")),  # frame number
            Item(id="ghost", media=Image(name="ghost.jpg")),  # missing
        ]
    )
    labelport.save(ds, tmp_path / "toy", "toy", registry=registry)
    loaded = labelport.load(tmp_path / "toy", images=_images(tmp_path), registry=registry)
    paths = {i.id: i.media.path for i in loaded}
    assert paths["cat"].endswith("sub/cat.png") and paths["v/12"].endswith("frame_000012.jpg")
    assert paths["ghost"] is None and loaded.missing_media == ["ghost.jpg"]
    dropped = labelport.load(tmp_path / "toy", images=_images(tmp_path), keep_missing_media=False, registry=registry)
    assert [i.id for i in dropped] == ["cat", "v/12"]


def test_missing_images_are_listed_in_the_conversion_report(registry, tmp_path):
    labelport.save(Dataset([Item(id="ghost", media=Image(name="ghost.jpg"))]), tmp_path / "toy", "toy", registry=registry)
    report = labelport.convert(tmp_path / "toy", tmp_path / "out", to="toy", images=_images(tmp_path), registry=registry)
    assert report.missing_media == ["ghost.jpg"] and "ghost.jpg" in str(report)


def _with_media(tmp_path):
    src = tmp_path / "src.jpg"
    PILImage.new("RGB", (4, 4)).save(src)
    return Dataset(
        [
            Item(
                id="p",
                subset="train",
                media=Image(name="p.jpg", path=str(src), width=4, height=4),
                annotations=[BBox(label="cat", x=0, y=0, w=1, h=1)],
            )
        ],
        labels=[Label(name="cat")],
    )


def test_export_media_only_and_hardlinks(registry, tmp_path):
    labelport.save(_with_media(tmp_path), tmp_path / "m", "toy", export="media", save_media="hardlink", registry=registry)
    files = sorted(p.relative_to(tmp_path / "m").as_posix() for p in (tmp_path / "m").rglob("*") if p.is_file())
    assert files == ["train/p.jpg"]
    assert (tmp_path / "m" / "train" / "p.jpg").stat().st_ino == (tmp_path / "src.jpg").stat().st_ino


def test_datasets_layout(registry, tmp_path):
    labelport.save(
        _with_media(tmp_path), tmp_path / "e", "toy", layout="datasets", name="street", export="both", registry=registry
    )
    assert (tmp_path / "e" / "annotations" / "street" / "dataset.toy.json").is_file()
    assert (tmp_path / "e" / "datasets" / "street" / "train" / "p.jpg").is_file()


def test_password_zip_opens_with_an_independent_reader(registry, tmp_path):
    stream_unzip = pytest.importorskip("stream_unzip")
    labelport.save(_with_media(tmp_path), tmp_path / "s.zip", "toy", password="hunter2", name="exp", registry=registry)
    data = (tmp_path / "s.zip").read_bytes()
    names = {}
    for name, _size, chunks in stream_unzip.stream_unzip([data], password=b"hunter2"):
        names[name.decode()] = b"".join(chunks)
    assert json.loads(names["exp/dataset.toy.json"])["items"][0]["id"] == "p"
    with pytest.raises(stream_unzip.IncorrectAESPasswordError):
        for _name, _size, chunks in stream_unzip.stream_unzip([data], password=b"wrong"):
            b"".join(chunks)


@pytest.mark.skipif(shutil.which("7z") is None, reason="7-Zip is not installed on this machine")
def test_password_zip_opens_with_7zip(registry, tmp_path):
    labelport.save(_with_media(tmp_path), tmp_path / "s.zip", "toy", password="hunter2", registry=registry)
    ok = subprocess.run(["7z", "t", "-phunter2", str(tmp_path / "s.zip")], capture_output=True)
    bad = subprocess.run(["7z", "t", "-pnope", str(tmp_path / "s.zip")], capture_output=True)
    assert ok.returncode == 0 and bad.returncode != 0


# ---------------------------------------------------------------- the same through the CLI


@pytest.fixture
def toy_cli(monkeypatch, registry):
    import labelport.registry as reg_mod

    monkeypatch.setattr(reg_mod, "_default", registry)


def _cli(*argv):
    return cli.main([str(a) for a in argv])


def test_cli_convert_with_split_filter_shuffle(toy_cli, tmp_path, capsys):
    labelport.save(_labelled(200), tmp_path / "src", "toy")
    code = _cli(
        "--json",
        "convert",
        tmp_path / "src",
        tmp_path / "out",
        "--to",
        "toy",
        "--split",
        "train=0.5,val=0.5",
        "--stratify",
        "--seed",
        "4",
        "--shuffle",
        "--filter",
        "label!=rare",
    )
    assert code == 0
    out = list(labelport.load(tmp_path / "out"))
    assert Counter(i.subset for i in out) == {"train": 100, "val": 100}
    assert all(a.label != "rare" for i in out for a in i.annotations)
    assert [i.id for i in out] != sorted(i.id for i in out)
    assert json.loads(capsys.readouterr().out)["items"] == 200


def test_cli_bad_option_exits_2(toy_cli, tmp_path, capsys):
    labelport.save(_labelled(5), tmp_path / "src", "toy")
    assert _cli("convert", tmp_path / "src", tmp_path / "o", "--to", "toy", "--split", "nonsense") == 2
    assert "split" in capsys.readouterr().err


def test_cli_merge_remap_filter_split(toy_cli, tmp_path):
    labelport.save(_rich(), tmp_path / "a", "toy")
    labelport.save(_labelled(4), tmp_path / "b", "toy")
    assert _cli("merge", tmp_path / "a", tmp_path / "b", "-o", tmp_path / "m") == 0
    assert labelport.load(tmp_path / "m").count() == 6
    (tmp_path / "map.txt").write_text("cat=animal\ndog=animal\n")
    assert _cli("remap", tmp_path / "a", tmp_path / "r", "--map-file", tmp_path / "map.txt") == 0
    assert labelport.load(tmp_path / "r").labels.names() == ["animal"]
    assert _cli("filter", tmp_path / "a", tmp_path / "f", "--filter", "subset=train") == 0
    assert [i.id for i in labelport.load(tmp_path / "f")] == ["a/1"]
    assert _cli("split", tmp_path / "b", tmp_path / "s", "--split", "0.5", "--seed", "1") == 0
    assert Counter(i.subset for i in labelport.load(tmp_path / "s")) == {"train": 2, "test": 2}


def test_cli_media_archive_and_import_options(toy_cli, tmp_path, capsys):
    labelport.save(_with_media(tmp_path), tmp_path / "src", "toy")
    src = str(tmp_path / "src")
    assert _cli("convert", src, tmp_path / "m", "--to", "toy", "--export", "media", "--save-media", "symlink") == 0
    assert (tmp_path / "m" / "train" / "p.jpg").is_symlink()
    assert _cli("convert", src, tmp_path / "l", "--to", "toy", "--layout", "datasets", "--name", "cam1", "--export", "both") == 0
    assert (tmp_path / "l" / "datasets" / "cam1" / "train" / "p.jpg").is_file()
    assert (tmp_path / "l" / "annotations" / "cam1" / "dataset.toy.json").is_file()
    assert _cli("convert", src, tmp_path / "n", "--to", "toy", "--no-normalized", "--workers", "2") == 0
    assert json.loads((tmp_path / "n" / "dataset.toy.json").read_text())["normalized"] is False
    assert _cli("convert", src, tmp_path / "s.zip", "--to", "toy", "--password", "pw", "--name", "exp") == 0
    assert _cli("info", tmp_path / "s.zip") == 2  # encrypted: needs the password
    capsys.readouterr()
    assert _cli("convert", tmp_path / "s.zip", tmp_path / "back", "--to", "toy", "--password", "pw") == 0
    (tmp_path / "uploaded").mkdir()
    PILImage.new("RGB", (4, 4)).save(tmp_path / "uploaded" / "p.png")
    (tmp_path / "src.jpg").unlink()
    capsys.readouterr()
    assert _cli("--json", "convert", src, tmp_path / "i", "--to", "toy", "--images", tmp_path / "uploaded") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["missing_media"] == []
    item = json.loads((tmp_path / "i" / "dataset.toy.json").read_text())["items"][0]
    assert item["media"]["path"].endswith("uploaded/p.png")
