"""Cityscapes specifics: the label table, instance encoding, drawing order, custom tables,
losses and located errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.geometry.masks import rle_area, rle_decode
from labelport.schema import Dataset, Image, Item, Label, Mask, Polygon
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"
AACHEN = "aachen/aachen_000000_000019"


def _items(path: Path, **options) -> dict[str, Item]:
    return {it.id: it for it in labelport.load(path, format="cityscapes", **options)}


def _png(path: Path) -> np.ndarray:
    with PILImage.open(path) as im:
        return np.asarray(im).astype(np.int64)


def test_polygon_file_is_read_in_order_with_groups_and_without_deleted_objects():
    item = _items(DATA / "a_polygons")[AACHEN]
    assert item.subset == "train"
    assert (item.media.width, item.media.height) == (16, 12)
    assert [a.label for a in item.annotations] == ["building", "road", "car", "car", "car", "license plate"]
    assert item.annotations[2].parts == [[2.0, 7.0, 6.0, 7.0, 6.0, 10.0, 2.0, 10.0]]
    group = item.annotations[4]
    assert group.metadata["cityscapes_group"] is True and "cityscapes_group" not in item.annotations[3].metadata
    assert item.annotations[0].metadata["cityscapes"] == {"date": "01-Jan-2015 10:00:00", "user": "a", "verified": 1}


def test_fractional_polygon_points_are_kept_exactly():
    person = _items(DATA / "a_polygons")["bremen/bremen_000001_000019"].annotations[1]
    assert person.parts == [[4.5, 3.25, 7.5, 3.25, 7.5, 11.0, 4.5, 11.0]]


def test_image_without_annotation_file_is_an_item():
    item = _items(DATA / "a_polygons")["berlin/berlin_000000_000001"]
    assert item.subset == "test" and item.annotations == [] and item.media.width == 16


def test_default_table_declares_the_original_ids():
    ds = labelport.load(DATA / "a_polygons", format="cityscapes")
    labels = {lb.name: lb for lb in ds.labels}
    assert labels["car"].id == 26 and labels["car"].color == (0, 0, 142)
    assert labels["bicycle"].id == 33 and labels["license plate"].id == -1
    assert labels["road"].metadata == {"category": "flat", "train_id": 0}
    assert len([lb for lb in ds.labels if lb.id is not None and lb.id >= 0]) == 34


def test_instance_map_values_become_instance_and_class_masks():
    item = _items(DATA / "b_instance_maps")["frankfurt/frankfurt_000000_000294"]
    inst = _png(DATA / "b_instance_maps/gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_instanceIds.png")
    got = {(a.label, a.semantics, a.id): a for a in item.annotations}
    assert set(got) == {
        ("road", "class", 7),
        ("sky", "class", 23),
        ("bicycle", "class", 33),
        ("person", "instance", 24000),
        ("person", "instance", 24001),
        ("rider", "instance", 25000),
    }
    for (_label, _sem, value), ann in got.items():
        assert np.array_equal(rle_decode(ann.rle), inst == value)
    assert got[("person", "instance", 24001)].metadata == {"cityscapes_instance": 1}
    # the unlabeled pixel (id 0) is background, not an annotation
    assert all(not rle_decode(a.rle)[9, 0] for a in item.annotations)


def test_train_ids_are_read_with_the_train_table_and_255_ignored():
    item = _items(DATA / "b_instance_maps")["frankfurt/frankfurt_000000_000576"]
    areas = {a.label: rle_area(a.rle) for a in item.annotations}
    assert areas == {"sky": 12, "road": 6}  # the 6 pixels of 255 are not annotated


def test_custom_table_moves_the_black_class_first_and_keeps_names_with_spaces():
    ds = labelport.load(DATA / "c_custom_table", format="cityscapes")
    assert [(lb.name, lb.id, lb.color) for lb in ds.labels] == [
        ("background", 0, (0, 0, 0)),
        ("crack", 1, (128, 0, 0)),
        ("patch area", 2, (0, 128, 0)),
    ]
    items = {it.id: it for it in ds}
    by_ids = {a.label: rle_decode(a.rle) for a in items["site/site_000001_000001"].annotations}
    by_color = {a.label: rle_decode(a.rle) for a in items["site/site_000001_000002"].annotations}
    assert set(by_ids) == {"crack", "patch area"}
    for name in by_ids:  # the colour-only image decodes to the same classes
        assert np.array_equal(by_ids[name], by_color[name])
    assert int(by_ids["crack"].sum()) == 8 and int(by_ids["patch area"].sum()) == 12


def test_prefer_maps_reads_the_maps_even_when_polygons_exist():
    item = _items(DATA / "a_polygons", prefer_maps=True)[AACHEN]
    kinds = sorted((a.label, a.semantics) for a in item.annotations)
    assert kinds == [
        ("building", "class"),
        ("car", "class"),
        ("car", "instance"),
        ("car", "instance"),
        ("road", "class"),
    ]


def test_polygons_are_written_with_reference_instance_numbering(tmp_path):
    ds = labelport.load(DATA / "a_polygons", format="cityscapes")
    report = labelport.save(ds, tmp_path / "out", "cityscapes")
    assert report.lossless, report
    base = tmp_path / "out/gtFine/train" / AACHEN
    doc = json.loads(base.with_name(base.name + "_gtFine_polygons.json").read_text())
    assert (doc["imgWidth"], doc["imgHeight"]) == (16, 12)
    assert [o["label"] for o in doc["objects"]] == ["building", "road", "car", "car", "cargroup", "license plate"]
    inst = _png(base.with_name(base.name + "_gtFine_instanceIds.png"))
    labels = _png(base.with_name(base.name + "_gtFine_labelIds.png"))
    color = _png(base.with_name(base.name + "_gtFine_color.png"))
    # the first car is instance 0 (26000), the second 26001, the car group has the plain id 26
    assert inst[8, 4] == 26000 and inst[8, 10] == 26001 and inst[9, 14] == 26
    # polygons are rasterised as COCO does (pixel centres inside the outline): the road's
    # bottom edge at y=11 is the boundary, so row 10 is road and row 11 is not
    assert labels[8, 4] == 26 and labels[2, 2] == 11 and labels[10, 0] == 7 and labels[11, 0] == 0
    # the license plate (id -1) is not drawn: the car stays underneath
    assert inst[9, 4] == 26000
    assert tuple(color[2, 2]) == (70, 70, 70) and tuple(color[8, 4]) == (0, 0, 142)
    assert PILImage.open(base.with_name(base.name + "_gtFine_instanceIds.png")).mode == "I;16"
    assert not (tmp_path / "out/label_colors.txt").exists()  # the original table needs no file


def test_masks_round_trip_pixel_exact(tmp_path):
    before = _items(DATA / "b_instance_maps")
    labelport.save(labelport.load(DATA / "b_instance_maps", format="cityscapes"), tmp_path / "out", "cityscapes")
    after = _items(tmp_path / "out")
    for key, item in before.items():
        # ids of a trainIds map become labelIds on writing: compare by class and instance number
        want = {
            (a.label, a.semantics, a.metadata.get("cityscapes_instance")): rle_decode(a.rle) for a in item.annotations
        }
        got = {
            (a.label, a.semantics, a.metadata.get("cityscapes_instance")): rle_decode(a.rle)
            for a in after[key].annotations
        }
        assert want.keys() == got.keys()
        assert all(np.array_equal(want[k], got[k]) for k in want)


def test_custom_labels_get_a_table_with_background_first(tmp_path):
    ds = Dataset(
        [
            Item(
                id="x",
                media=Image(width=8, height=6),
                annotations=[
                    Polygon(label="crack", parts=[[1, 1, 5, 1, 5, 3, 1, 3]]),
                    Mask.from_array(np.pad(np.ones((2, 2), bool), ((3, 1), (5, 1))), label="lichen", semantics="class"),
                ],
            )
        ],
        labels=[Label(name="crack", color=(200, 10, 10)), Label(name="lichen")],
    )
    report = labelport.save(ds, tmp_path / "out", "cityscapes")
    table = (tmp_path / "out/label_colors.txt").read_text().splitlines()
    assert table[0] == "0 0 0\tbackground" and table[1] == "200 10 10\tcrack"
    assert table[2].endswith("\tlichen") and not table[2].startswith("0 0 0")
    assert ("polygon", "rasterised to a mask (the image also has masks)") in report.losses
    back = labelport.load(tmp_path / "out", format="cityscapes")
    assert [(lb.name, lb.id) for lb in back.labels] == [("background", 0), ("crack", 1), ("lichen", 2)]
    (item,) = list(back)
    areas = {a.label: rle_area(a.rle) for a in item.annotations}
    assert areas == {"crack": 8, "lichen": 4}
    assert {a.semantics for a in item.annotations if a.label == "crack"} == {"instance"}


def test_coco_polygons_to_masks_keep_area_within_one_percent_and_class(tmp_path):
    rng = np.random.default_rng(3)
    anns = []
    for k in range(12):
        cx, cy, r = rng.uniform(60, 260), rng.uniform(60, 180), rng.uniform(15, 50)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radii = r * rng.uniform(0.7, 1.0, 9)
        pts = np.column_stack((cx + radii * np.cos(angles), cy + radii * np.sin(angles))).ravel().round(2).tolist()
        anns.append(Polygon(label=("car", "person", "bicycle")[k % 3], parts=[pts]))
    ds = Dataset(
        [Item(id=f"img{k}", media=Image(width=320, height=240), annotations=[a]) for k, a in enumerate(anns)],
        labels=[Label(name=n) for n in ("car", "person", "bicycle")],
    )
    labelport.save(ds, tmp_path / "out", "cityscapes", polygons=False)
    back = {it.id: it for it in labelport.load(tmp_path / "out", format="cityscapes")}
    for k, poly in enumerate(anns):
        (mask,) = back[f"img{k}"].annotations
        assert mask.type == "mask" and mask.label == poly.label and mask.semantics == "instance"
        assert rle_area(mask.rle) == pytest.approx(coords.polygon_area(poly.parts[0]), rel=0.01)


def test_overlaps_and_merged_class_masks_are_reported(tmp_path):
    a = np.zeros((6, 6), bool)
    a[0:4, 0:4] = True
    b = np.zeros((6, 6), bool)
    b[2:6, 2:6] = True
    c = np.zeros((6, 6), bool)
    c[5, 0] = True
    ds = Dataset(
        [
            Item(
                id="x",
                media=Image(width=6, height=6),
                annotations=[
                    Mask.from_array(a, label="car"),
                    Mask.from_array(b, label="car"),
                    Mask.from_array(c, label="road", semantics="class"),
                    Mask.from_array(c.T, label="road", semantics="class"),
                    Mask.from_array(c, label="unlabeled"),
                ],
            )
        ],
        labels=[Label(name="car"), Label(name="road"), Label(name="unlabeled")],
    )
    report = labelport.save(ds, tmp_path / "out", "cityscapes")
    assert report.losses[("pixels shared by overlapping annotations", "kept by the later annotation only")] == 1
    assert report.losses[("class masks of one label in an image", "merged into one")] == 1
    assert report.losses[("mask of the background class", "dropped (background pixels are not annotations)")] == 1
    (item,) = list(labelport.load(tmp_path / "out", format="cityscapes"))
    cars = sorted(rle_area(m.rle) for m in item.annotations if m.label == "car")
    assert cars == [12, 16]  # the first car lost the 4 pixels the second covers


def test_bad_polygon_point_is_located(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_polygons", root)
    path = root / "gtFine/val" / "bremen/bremen_000001_000019_gtFine_polygons.json"
    doc = json.loads(path.read_text())
    doc["objects"][1]["polygon"][1] = [4.5, "x"]
    path.write_text(json.dumps(doc))
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="cityscapes"))
    assert err.value.location == "objects[1].polygon[1][1]" and err.value.file == str(path)


def test_unknown_class_id_is_located_at_its_pixel(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "b_instance_maps", root)
    path = root / "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_instanceIds.png"
    inst = _png(path)
    inst[5, 7] = 40  # no class 40 in the table
    PILImage.fromarray(inst.astype(np.uint16)).save(path)
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="cityscapes"))
    assert err.value.location == "pixel x=7, y=5" and "40" in err.value.message


def test_colour_outside_the_table_is_located(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "c_custom_table", root)
    path = root / "gtFine/default/site/site_000001_000002_gtFine_color.png"
    rgb = _png(path).astype(np.uint8)
    rgb[2, 6] = (1, 2, 3)
    PILImage.fromarray(rgb).save(path)
    with pytest.raises(FormatError) as err:
        list(labelport.load(root, format="cityscapes"))
    assert err.value.location == "pixel x=6, y=2" and "(1, 2, 3)" in err.value.message


def test_broken_colour_table_line_is_located(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "c_custom_table", root)
    (root / "label_colors.txt").write_text("0 0 0 background\n12 300 0 rust\n")
    with pytest.raises(FormatError) as err:
        labelport.load(root, format="cityscapes")
    assert err.value.location == "line 2" and "0..255" in err.value.message


def test_validate_flags_maps_that_disagree(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "b_instance_maps", root)
    path = root / "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelIds.png"
    labels = _png(path)
    labels[1, 2] = 7  # instanceIds says sky (23)
    PILImage.fromarray(labels.astype(np.uint8)).save(path)
    problems = [p for p in labelport.validate(root, format="cityscapes") if p.severity == "error"]
    assert any(p.location == "pixel x=2, y=1" and "23" in p.message for p in problems), problems


def test_validate_warns_about_labels_outside_the_table(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_polygons", root)
    path = root / "gtFine/val" / "bremen/bremen_000001_000019_gtFine_polygons.json"
    doc = json.loads(path.read_text())
    doc["objects"][0]["label"] = "spaceship"
    path.write_text(json.dumps(doc))
    problems = labelport.validate(root, format="cityscapes")
    assert any(p.severity == "warning" and p.location == "objects[0].label" for p in problems), problems


def test_detection_needs_the_annotation_file_names(tmp_path):
    import labelport_cityscapes as plugin
    from labelport.plugin import Probe

    (tmp_path / "gtFine/train").mkdir(parents=True)
    PILImage.new("L", (4, 4)).save(tmp_path / "gtFine/train/mask_0001.png")
    assert plugin.labelport_detect(probe=Probe(tmp_path)) is None
    PILImage.new("L", (4, 4)).save(tmp_path / "gtFine/train/a_000000_000001_gtFine_labelIds.png")
    assert plugin.labelport_detect(probe=Probe(tmp_path)).confidence >= 0.9


def test_empty_image_keeps_its_polygon_file(tmp_path):
    ds = Dataset([Item(id="city/city_000000_000000", subset="val", media=Image(width=4, height=3))])
    labelport.save(ds, tmp_path / "out", "cityscapes")
    doc = json.loads((tmp_path / "out/gtFine/val/city/city_000000_000000_gtFine_polygons.json").read_text())
    assert doc == {"imgHeight": 3, "imgWidth": 4, "objects": []}
    (item,) = list(labelport.load(tmp_path / "out", format="cityscapes"))
    assert (item.id, item.subset, item.media.width, item.media.height) == ("city/city_000000_000000", "val", 4, 3)


def test_coarse_annotations_and_the_label_color_file_name(tmp_path):
    root = tmp_path / "ds"
    (root / "gtCoarse/train_extra/erlangen").mkdir(parents=True)
    ids = np.zeros((3, 4), dtype=np.uint8)
    ids[:, :2] = 1
    PILImage.fromarray(ids).save(root / "gtCoarse/train_extra/erlangen/erlangen_000000_000001_gtCoarse_labelIds.png")
    (root / "label_color.txt").write_text("0 0 0 void\n9 9 9 rock\n")
    (item,) = list(labelport.load(root, format="cityscapes"))
    assert (item.subset, item.id) == ("train_extra", "erlangen/erlangen_000000_000001")
    assert [(a.label, rle_area(a.rle)) for a in item.annotations] == [("rock", 6)]


def test_unreadable_image_does_not_block_the_annotations(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "b_instance_maps", root)
    (root / "leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png").write_bytes(b"not a png")
    item = _items(root)["frankfurt/frankfurt_000000_000294"]
    assert len(item.annotations) == 6 and (item.media.width, item.media.height) == (12, 10)


def test_background_colour_change_is_reported(tmp_path):
    ds = Dataset(
        [Item(id="x", media=Image(width=4, height=4))],
        labels=[Label(name="background", color=(5, 5, 5)), Label(name="rust")],
    )
    report = labelport.save(ds, tmp_path / "out", "cityscapes")
    assert report.losses == {("label colours", "replaced by black for the background class"): 1}
    assert (tmp_path / "out/label_colors.txt").read_text().splitlines()[0] == "0 0 0\tbackground"


def test_cross_coco_round_trip_through_instance_maps_keeps_areas(tmp_path):
    """COCO polygons -> Cityscapes maps -> COCO: each instance keeps its class and its area
    within 1% (needs the coco plugin; tox runs this plugin alone, where it is skipped)."""
    if "coco" not in {f.name for f in labelport.formats()}:
        pytest.skip("the coco plugin is not installed")
    rng = np.random.default_rng(11)
    items = []
    for k in range(6):
        anns = []
        for j in range(3):
            cx, cy, r = 80 + 150 * j, rng.uniform(70, 170), rng.uniform(20, 45)
            t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
            pts = np.column_stack((cx + r * np.cos(t), cy + 0.8 * r * np.sin(t))).ravel().round(2).tolist()
            anns.append(Polygon(label=("car", "person", "rider")[(k + j) % 3], parts=[pts]))
        items.append(Item(id=f"img{k}", media=Image(width=480, height=240), annotations=anns))
    labels = [Label(name=n) for n in ("car", "person", "rider")]
    labelport.save(Dataset(items, labels=labels), tmp_path / "a.json", "coco")
    labelport.convert(tmp_path / "a.json", tmp_path / "cs", "cityscapes", polygons=False)
    labelport.convert(tmp_path / "cs", tmp_path / "b.json", "coco")
    back = {it.id: it for it in labelport.load(tmp_path / "b.json", format="coco")}
    for item in items:
        got = sorted((a.label, rle_area(a.rle)) for a in back[item.id].annotations)
        want = sorted((a.label, coords.polygon_area(a.parts[0])) for a in item.annotations)
        assert [g[0] for g in got] == [w[0] for w in want]
        for (_, area), (_, expected) in zip(got, want, strict=True):
            assert area == pytest.approx(expected, rel=0.01)


def test_validate_reports_a_colour_instance_map(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "b_instance_maps", root)
    path = root / "gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_instanceIds.png"
    PILImage.new("RGB", (12, 10)).save(path)
    errors = [p for p in labelport.validate(root, format="cityscapes") if p.severity == "error"]
    assert any("single-channel" in p.message and p.file == str(path) for p in errors), errors


def test_validate_reports_a_broken_colour_map(tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(DATA / "a_polygons", root)
    path = root / "gtFine/train" / (AACHEN + "_gtFine_color.png")
    path.write_bytes(path.read_bytes()[:40])
    errors = [p for p in labelport.validate(root, format="cityscapes") if p.severity == "error"]
    assert any(p.file == str(path) for p in errors), errors


def _masks_of(item: Item) -> list[tuple[str, str, bytes]]:
    return sorted((a.label, a.semantics, np.packbits(rle_decode(a.rle)).tobytes()) for a in item.annotations)


def test_generated_label_maps_round_trip_pixel_exact(tmp_path):
    """Non-overlapping class and instance masks (the most a label map holds) survive exactly,
    with the original table and with a custom one."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    counter = iter(range(10**6))

    @settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        size=st.sampled_from([(8, 6), (17, 9), (40, 21)]),
        grid=st.tuples(st.integers(1, 4), st.integers(1, 3)),
        cells=st.lists(st.integers(0, 6), min_size=12, max_size=12),
        custom=st.booleans(),
    )
    def check(size, grid, cells, custom):
        (w, h), (gx, gy) = size, grid
        names = ("rust", "crack", "moss") if custom else ("road", "car", "person")
        segment = np.zeros((h, w), dtype=np.int64)
        for k in range(gx * gy):
            ys, xs = slice(k // gx * h // gy, (k // gx + 1) * h // gy), slice(k % gx * w // gx, (k % gx + 1) * w // gx)
            segment[ys, xs] = cells[k]
        anns = []
        for v in sorted(set(segment.ravel().tolist()) - {0}):
            # 1..3: one class mask of each label; 4..6: instances of the first two labels
            label, semantics = (names[v - 1], "class") if v <= 3 else (names[(v - 4) % 2], "instance")
            anns.append(Mask.from_array(segment == v, label=label, semantics=semantics))
        ds = Dataset(
            [Item(id="x", media=Image(width=w, height=h), annotations=anns)], labels=[Label(name=n) for n in names]
        )
        out = tmp_path / f"g{next(counter)}"
        report = labelport.save(ds, out, "cityscapes")
        assert report.lossless, report
        (item,) = list(labelport.load(out, format="cityscapes"))
        assert _masks_of(item) == _masks_of(ds._items[0])

    check()
