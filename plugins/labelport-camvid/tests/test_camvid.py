"""CamVid specifics: colour tables, list paths, index and colour-coded masks, losses, errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import labelport_camvid as plugin
import numpy as np
import pytest
from labelport.errors import FormatError, UnsafeInputError
from labelport.geometry.masks import rle_decode
from labelport.plugin import Probe
from labelport.schema import Dataset, Image, Item, Label, Mask
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"
COLORS = {
    "Animal": (64, 128, 64),
    "Building": (128, 0, 0),
    "Car": (64, 0, 128),
    "Road": (128, 64, 128),
    "Sky": (128, 128, 128),
    "Wall": (64, 192, 0),
}


def _items(path: Path, **options) -> dict[str, Item]:
    return {it.id: it for it in labelport.load(path, format="camvid", **options)}


def _png(path: Path) -> np.ndarray:
    with PILImage.open(path) as im:
        return np.asarray(im)


def test_colour_table_with_tabs_and_spaces_puts_void_first():
    for sample in ("a_segnet", "b_release"):  # tabs in one, runs of spaces in the other
        ds = labelport.load(DATA / sample, format="camvid")
        assert [(lb.name, lb.id) for lb in ds.labels] == [
            ("Void", 0),
            ("Animal", 1),
            ("Building", 2),
            ("Car", 3),
            ("Road", 4),
            ("Sky", 5),
            ("Wall", 6),
        ]
        assert ds.labels["Building"].color == (128, 0, 0)


def test_index_masks_decode_to_the_classes_of_the_table():
    item = _items(DATA / "a_segnet")["0001TP_006690"]
    index = _png(DATA / "a_segnet/trainannot/0001TP_006690.png")
    masks = {a.label: rle_decode(a.rle) for a in item.annotations}
    assert set(masks) == {"Car", "Road", "Sky"}  # Void (index 0) is background
    for name, value in {"Car": 3, "Road": 4, "Sky": 5}.items():
        assert np.array_equal(masks[name], index == value)
    assert all(a.semantics == "class" for a in item.annotations)


def test_list_paths_with_author_folders_quotes_and_without_masks():
    items = _items(DATA / "a_segnet")
    val = items["0016E5_07959"]  # listed as /SegNet/CamVid/val/...
    assert val.subset == "val" and val.media.path.endswith("val/0016E5_07959.png") and len(val.annotations) == 3
    quoted = items["Seq05VD f00000"]
    assert quoted.subset == "test" and quoted.media.name == "Seq05VD f00000.png" and len(quoted.annotations) == 3
    bare = items["0001TP_006750"]
    assert bare.annotations == [] and (bare.media.width, bare.media.height) == (9, 6)


def test_release_colour_labels_match_their_colours():
    items = _items(DATA / "b_release")
    rgb = _png(DATA / "b_release/LabeledApproved_full/0006R0_f02640_L.png")
    item = items["0006R0_f02640"]
    assert item.media.path.endswith("701_StillsRaw_full/0006R0_f02640.png") and item.subset is None
    for ann in item.annotations:
        expected = np.all(rgb == COLORS[ann.label], axis=-1)
        assert np.array_equal(rle_decode(ann.rle), expected), ann.label


def test_default_table_without_colour_file():
    ds = labelport.load(DATA / "c_annot_folders", format="camvid")
    names = [lb.name for lb in ds.labels]
    assert len(names) == 32 and names[0] == "Void" and "MotorcycleScooter" in names
    (item,) = list(ds)
    areas = {a.label: int(rle_decode(a.rle).sum()) for a in item.annotations}
    assert areas == {"Tree": 14, "Pedestrian": 8, "Sidewalk": 17}


def test_writer_writes_palette_masks_lists_and_table(tmp_path):
    ds = labelport.load(DATA / "a_segnet", format="camvid")
    report = labelport.save(ds, tmp_path / "out", "camvid")
    assert report.lossless, report
    out = tmp_path / "out"
    lines = (out / "train.txt").read_text().splitlines()
    assert lines == [
        "/train/0001TP_006690.png /trainannot/0001TP_006690.png",
        "/train/0001TP_006720.png /trainannot/0001TP_006720.png",
        "/train/0001TP_006750.png",
    ]
    assert (out / "test.txt").read_text() == '"/test/Seq05VD f00000.png" "/testannot/Seq05VD f00000.png"\n'
    table = (out / "label_colors.txt").read_text().splitlines()
    assert table[0] == "0 0 0\tVoid" and table[3] == "64 0 128\tCar"
    with PILImage.open(out / "trainannot/0001TP_006690.png") as im:
        assert im.mode == "P" and tuple(im.getpalette()[9:12]) == (64, 0, 128)  # index 3 shows the Car colour
    assert np.array_equal(
        _png(out / "trainannot/0001TP_006690.png"), _png(DATA / "a_segnet/trainannot/0001TP_006690.png")
    )


@pytest.mark.parametrize("color_masks", [False, True])
def test_masks_round_trip_pixel_exact(tmp_path, color_masks):
    before = _items(DATA / "b_release")
    labelport.save(
        labelport.load(DATA / "b_release", format="camvid"), tmp_path / "out", "camvid", color_masks=color_masks
    )
    mode = PILImage.open(tmp_path / "out/defaultannot/0006R0_f02610.png").mode
    assert mode == ("RGB" if color_masks else "P")
    after = _items(tmp_path / "out")
    for key, item in before.items():
        want = {a.label: rle_decode(a.rle) for a in item.annotations}
        got = {a.label: rle_decode(a.rle) for a in after[key].annotations}
        assert want.keys() == got.keys() and all(np.array_equal(want[k], got[k]) for k in want)


def test_instances_and_overlaps_are_reported_as_losses(tmp_path):
    a = np.zeros((4, 5), bool)
    a[0:2, 0:3] = True
    b = np.zeros((4, 5), bool)
    b[1:4, 2:5] = True
    c = np.zeros((4, 5), bool)
    c[3, 0] = True
    ds = Dataset(
        [
            Item(
                id="f",
                media=Image(width=5, height=4),
                annotations=[
                    Mask.from_array(a, label="car"),
                    Mask.from_array(b, label="car"),
                    Mask.from_array(c, label="Void"),
                    Mask.from_array(c.copy(), label=None),
                ],
            )
        ],
        labels=[Label(name="Void", color=(0, 0, 0)), Label(name="car", color=(10, 20, 30))],
    )
    report = labelport.save(ds, tmp_path / "out", "camvid")
    assert report.losses == {
        ("masks of one label in an image", "merged into one class mask"): 1,
        ("pixels shared by overlapping masks", "kept by the later mask only"): 1,
        ("mask of the background class", "dropped (background pixels are not annotations)"): 1,
        ("mask without a label", "dropped"): 1,
    }
    (item,) = list(labelport.load(tmp_path / "out", format="camvid"))
    (car,) = item.annotations
    assert np.array_equal(rle_decode(car.rle), a | b)
    assert (tmp_path / "out/label_colors.txt").read_text() == "0 0 0\tVoid\n10 20 30\tcar\n"


def test_missing_mask_file_is_located(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_segnet", root)
    (root / "trainannot/0001TP_006720.png").unlink()
    with pytest.raises(FormatError) as err:
        labelport.load(root, format="camvid")
    assert err.value.file == str(root / "train.txt") and err.value.location == "line 2"


def test_line_with_three_fields_is_located(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_segnet", root)
    (root / "val.txt").write_text("/val/0016E5_07959.png /valannot/0016E5_07959.png extra\n")
    with pytest.raises(FormatError) as err:
        labelport.load(root, format="camvid")
    assert err.value.location == "line 1" and "3 fields" in err.value.message


def test_path_leaving_the_dataset_is_refused(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_segnet", root)
    (tmp_path / "secret.png").write_bytes(b"x")
    (root / "val.txt").write_text("/val/0016E5_07959.png ../secret.png\n")
    with pytest.raises(UnsafeInputError):
        labelport.load(root, format="camvid")


def test_class_index_beyond_the_table_is_located(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_segnet", root)
    path = root / "valannot/0016E5_07959.png"
    index = _png(path).copy()
    index[4, 6] = 9  # the table has 7 classes
    PILImage.fromarray(index).save(path)
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="camvid"))
    assert err.value.file == str(path) and err.value.location == "pixel x=6, y=4"


def test_colour_not_in_the_table_is_located(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "b_release", root)
    path = root / "LabeledApproved_full/0006R0_f02610_L.png"
    rgb = _png(path).copy()
    rgb[2, 3] = (9, 9, 9)
    PILImage.fromarray(rgb).save(path)
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="camvid"))
    assert err.value.location == "pixel x=3, y=2" and "(9, 9, 9)" in err.value.message


def test_validate_flags_a_mask_of_another_size(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_segnet", root)
    PILImage.new("L", (4, 4)).save(root / "trainannot/0001TP_006720.png")
    errors = [p for p in labelport.validate(root, format="camvid") if p.severity == "error"]
    assert any("4x4" in p.message and p.file.endswith("0001TP_006720.png") for p in errors), errors


def test_image_lists_of_other_formats_are_not_claimed(tmp_path):
    (tmp_path / "images").mkdir()
    PILImage.new("RGB", (4, 4)).save(tmp_path / "images/a.jpg")
    (tmp_path / "train.txt").write_text("images/a.jpg\n")  # a darknet image list
    assert plugin.labelport_detect(probe=Probe(tmp_path)) is None
    (tmp_path / "train.txt").write_text("images/a.jpg 3\n")  # an ImageNet-style class list
    assert plugin.labelport_detect(probe=Probe(tmp_path)) is None
    (tmp_path / "train.txt").write_text("images/a.jpg images/a.jpg\n")  # a pair whose mask exists
    assert plugin.labelport_detect(probe=Probe(tmp_path)).confidence == 0.9


def test_unreadable_image_does_not_block_the_mask(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_segnet", root)
    (root / "train/0001TP_006750.png").write_bytes(b"broken")  # the image without a mask
    (root / "train/0001TP_006690.png").write_bytes(b"broken")
    items = _items(root)
    assert items["0001TP_006750"].media.width is None
    assert len(items["0001TP_006690"].annotations) == 3 and items["0001TP_006690"].media.width == 9


def test_overlong_path_is_a_located_error(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_segnet", root)
    (root / "val.txt").write_text("/val/" + "a" * 300 + ".png /valannot/0016E5_07959.png\n")
    with pytest.raises(FormatError) as err:
        labelport.load(root, format="camvid")
    assert err.value.location == "line 1" and "too long" in err.value.message


def test_colour_masks_get_distinct_colours(tmp_path):
    ds = labelport.load(DATA / "a_segnet", format="camvid")
    ds.labels.add(Label(name="Rubble", color=(128, 0, 0)))  # the colour of Building
    report = labelport.save(ds, tmp_path / "out", "camvid", color_masks=True)
    assert report.losses == {
        ("label colours shared by several classes", "replaced so colour-coded masks stay decodable"): 1
    }
    colors = [line.split("\t")[0] for line in (tmp_path / "out/label_colors.txt").read_text().splitlines()]
    assert len(colors) == len(set(colors)) == 8


def test_generated_class_maps_round_trip_pixel_exact(tmp_path):
    """Class masks that do not overlap (what a class map holds) survive exactly, in index and
    in colour-coded masks."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    counter = iter(range(10**6))

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        size=st.sampled_from([(8, 6), (17, 9), (40, 21)]),
        grid=st.tuples(st.integers(1, 4), st.integers(1, 3)),
        cells=st.lists(st.integers(0, 4), min_size=12, max_size=12),
        color_masks=st.booleans(),
    )
    def check(size, grid, cells, color_masks):
        (w, h), (gx, gy) = size, grid
        names = ("Road", "Car", "Sky", "Tree")
        segment = np.zeros((h, w), dtype=np.int64)
        for k in range(gx * gy):
            ys, xs = slice(k // gx * h // gy, (k // gx + 1) * h // gy), slice(k % gx * w // gx, (k % gx + 1) * w // gx)
            segment[ys, xs] = cells[k]
        masks = {names[v - 1]: segment == v for v in set(segment.ravel().tolist()) - {0}}
        anns = [Mask.from_array(m, label=n, semantics="class") for n, m in masks.items()]
        ds = Dataset(
            [Item(id="x", media=Image(width=w, height=h), annotations=anns)], labels=[Label(name=n) for n in names]
        )
        out = tmp_path / f"g{next(counter)}"
        report = labelport.save(ds, out, "camvid", color_masks=color_masks)
        assert report.lossless, report
        (item,) = list(labelport.load(out, format="camvid"))
        got = {a.label: rle_decode(a.rle) for a in item.annotations}
        assert got.keys() == masks.keys() and all(np.array_equal(got[n], masks[n]) for n in masks)

    check()


def test_release_layout_round_trip(tmp_path):
    ds = labelport.load(DATA / "b_release", format="camvid").materialize()
    ds._items.append(Item(id="0006R0_f02670", subset="val", media=Image(width=10, height=7)))
    report = labelport.save(ds, tmp_path / "out", "camvid", release_layout=True, save_media="copy")
    assert report.losses == {("subset names", "dropped (the release layout has no subsets)"): 1}
    out = tmp_path / "out"
    assert sorted(p.name for p in (out / "LabeledApproved_full").iterdir()) == [
        "0006R0_f02610_L.png",
        "0006R0_f02640_L.png",
        "0006R0_f02670_L.png",
    ]
    assert (out / "701_StillsRaw_full/0006R0_f02610.png").is_file()
    assert [p.name for p in out.glob("*.txt")] == ["label_colors.txt"]  # no SegNet lists
    with PILImage.open(out / "LabeledApproved_full/0006R0_f02640_L.png") as im:
        assert im.mode == "RGB"
    after = _items(out)
    for item in ds:
        want = {a.label: rle_decode(a.rle) for a in item.annotations}
        got = {a.label: rle_decode(a.rle) for a in after[item.id].annotations}
        assert want.keys() == got.keys() and all(np.array_equal(want[k], got[k]) for k in want)


def test_damaged_masks_are_refused_cleanly(tmp_path):
    from labelport.errors import LabelportError

    victims = sorted((DATA / "a_segnet").glob("*annot/*.png")) + sorted((DATA / "c_annot_folders").glob("*annot/*.png"))
    for k, victim in enumerate(victims):
        sample = DATA / victim.relative_to(DATA).parts[0]
        data = victim.read_bytes()
        for n, damaged in enumerate([data[: len(data) // 2], data[:1], data[:60] + b"\x00" * 8 + data[68:]]):
            root = tmp_path / f"{k}-{n}"
            shutil.copytree(sample, root)
            (root / victim.relative_to(sample)).write_bytes(damaged)
            with pytest.raises(LabelportError) as err:
                list(labelport.load(root, format="camvid"))
            assert err.value.file == str(root / victim.relative_to(sample))
