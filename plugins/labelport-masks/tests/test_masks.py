"""Behaviour of the masks format beyond the conformance kit: pixel values, layouts, losses, errors."""

from __future__ import annotations

import math
import random
import shutil
from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.errors import FormatError
from labelport.geometry.coords import polygon_area
from labelport.geometry.masks import mask_to_polygons, rle_area, rle_bbox
from labelport.schema import Dataset, Image, Item, Label, Mask, Polygon, VideoFrame
from labelport.testing import diff_datasets
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"
INFO = labelport.formats()
MASKS_INFO = next(f for f in INFO if f.name == "masks")


def load(path: Path, **options) -> list[Item]:
    return list(labelport.load(path, format="masks", **options))


def by_id(items: list[Item]) -> dict[str, Item]:
    return {i.id: i for i in items}


def masks_of(item: Item, label: str) -> list[Mask]:
    return [a for a in item.annotations if a.label == label]


def save_png(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(arr).save(path)


def copy_sample(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(DATA / name, dst)
    return dst


# --------------------------------------------------------------------------- reading pixel values


def test_class_values_become_exact_masks() -> None:
    item = by_id(load(DATA / "aggregated"))["img_001"]
    (cat,) = masks_of(item, "cat")
    (dog,) = masks_of(item, "dog")
    (light,) = masks_of(item, "traffic light")
    # rows 1..4, columns 2..6 in the PNG: x, y, w, h in pixels with a top-left origin
    assert rle_bbox(cat.rle) == (2.0, 1.0, 5.0, 4.0) and rle_area(cat.rle) == 20
    assert rle_bbox(dog.rle) == (8.0, 6.0, 7.0, 5.0) and rle_area(dog.rle) == 35
    assert rle_bbox(light.rle) == (0.0, 0.0, 1.0, 1.0) and rle_area(light.rle) == 1
    assert {a.semantics for a in item.annotations} == {"class"}
    assert (item.media.width, item.media.height) == (16, 12)
    assert item.media.path and item.media.path.endswith("img_001.jpg")


def test_palette_png_is_read_by_index_not_colour() -> None:
    item = by_id(load(DATA / "aggregated"))["img_002"]
    with PILImage.open(DATA / "aggregated" / "class_masks" / "img_002.png") as im:
        assert im.mode == "P"
    (light,) = masks_of(item, "traffic light")
    (cat,) = masks_of(item, "cat")
    assert rle_area(cat.rle) == 4
    assert rle_area(light.rle) == 6 * 10 - 4  # the cat square is cut out of it


def test_empty_mask_is_an_item_without_annotations() -> None:
    item = by_id(load(DATA / "aggregated"))["empty"]
    assert item.annotations == [] and (item.media.width, item.media.height) == (16, 12)


def test_explicit_values_and_16_bit_masks() -> None:
    ds = labelport.load(DATA / "explicit_16bit", format="masks")
    (item,) = list(ds)
    assert item.id == "city/frame_a"
    assert {lb.name: lb.id for lb in ds.labels} == {"road": 7, "sidewalk": 300, "sign": 1024}
    assert rle_area(masks_of(item, "sidewalk")[0].rle) == 6 * 8
    assert rle_bbox(masks_of(item, "sign")[0].rle) == (10.0, 8.0, 4.0, 2.0)


def test_names_only_classes_without_background_start_at_one(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    arr = np.zeros((4, 4), dtype=np.uint8)
    arr[0, 0], arr[1, 1] = 1, 2
    save_png(tmp_path / "class_masks" / "a.png", arr)
    ds = labelport.load(tmp_path, format="masks")
    (item,) = list(ds)
    assert {a.label: rle_bbox(a.rle)[:2] for a in item.annotations} == {"cat": (0.0, 0.0), "dog": (1.0, 1.0)}
    assert any("no background line" in n for n in ds.notes)


def test_values_missing_from_classes_get_a_label_a_note_and_a_warning(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("background\ncat\n")
    arr = np.zeros((4, 4), dtype=np.uint8)
    arr[0, 0], arr[2:, 2:] = 1, 255
    save_png(tmp_path / "class_masks" / "a.png", arr)
    ds = labelport.load(tmp_path, format="masks")
    (item,) = list(ds)
    assert sorted(a.label for a in item.annotations) == ["cat", "class_255"]
    assert "class_255" in ds.labels and ds.labels["class_255"].id == 255
    assert any("class_<value>" in n for n in ds.notes)
    warnings = [p for p in labelport.validate(tmp_path, format="masks") if "pixel value 255" in p.message]
    assert warnings and warnings[0].severity == "warning" and warnings[0].file.endswith("a.png")


def test_grayscale_saved_as_rgb_is_accepted_colour_coded_is_refused(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("background\ncat\n")
    gray = np.zeros((4, 4, 3), dtype=np.uint8)
    gray[1:3, 1:3] = 1
    save_png(tmp_path / "class_masks" / "a.png", gray)
    (item,) = load(tmp_path)
    assert [rle_area(a.rle) for a in item.annotations] == [4]
    gray[0, 0] = (200, 10, 10)
    save_png(tmp_path / "class_masks" / "a.png", gray)
    with pytest.raises(FormatError, match="colour-coded") as err:
        load(tmp_path)
    assert err.value.file.endswith("a.png")


# --------------------------------------------------------------------------- instances


def test_instances_take_the_class_under_them() -> None:
    (item,) = load(DATA / "instances")
    cars = masks_of(item, "car")
    assert sorted(rle_bbox(a.rle) for a in cars) == [(1.0, 1.0, 4.0, 3.0), (8.0, 1.0, 4.0, 3.0)]
    assert {a.semantics for a in cars} == {"instance"}
    (person,) = masks_of(item, "person")
    assert person.metadata["instance"] == 5 and rle_area(person.rle) == 8
    # road has no instances: its class mask is what remains of the class map
    (road,) = masks_of(item, "road")
    assert road.semantics == "class" and rle_area(road.rle) == 4 * 16


def test_instance_class_is_the_majority_value(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("background\ncat\ndog\n")
    cls = np.zeros((4, 4), dtype=np.uint8)
    inst = np.zeros((4, 4), dtype=np.uint8)
    inst[0:2, :] = 3
    cls[0:2, :3] = 1  # 6 cat pixels
    cls[0:2, 3] = 2  # 2 dog pixels: the higher value, yet the minority
    save_png(tmp_path / "class_masks" / "a.png", cls)
    save_png(tmp_path / "instance_masks" / "a.png", inst)
    (item,) = load(tmp_path)
    (only,) = item.annotations
    assert only.label == "cat" and rle_area(only.rle) == 8


def test_instance_and_class_masks_of_different_sizes_are_refused(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("background\ncat\n")
    save_png(tmp_path / "class_masks" / "a.png", np.zeros((4, 4), dtype=np.uint8))
    save_png(tmp_path / "instance_masks" / "a.png", np.zeros((4, 5), dtype=np.uint8))
    with pytest.raises(FormatError, match="5x4") as err:
        load(tmp_path)
    assert err.value.file.endswith("a.png")


# --------------------------------------------------------------------------- individual masks


def test_individual_file_names_give_class_and_instance() -> None:
    items = by_id(load(DATA / "individual"))
    one = items["img_001"]
    (sky,) = masks_of(one, "sky")
    assert sky.semantics == "class" and rle_area(sky.rle) == 16
    trees = masks_of(one, "tree")
    assert sorted(a.metadata["instance"] for a in trees) == [1, 2]
    assert {rle_area(a.rle) for a in trees} == {9, 12}  # a 0/1 mask counts like a 0/255 one
    (sign,) = items["img_002"].annotations
    assert sign.label == "traffic sign" and sign.metadata == {"instance": 1}


def test_individual_class_name_with_numeric_suffix_listed_in_classes(tmp_path: Path) -> None:
    (tmp_path / "classes.txt").write_text("background\ntype_2\n")
    m = np.zeros((3, 3), dtype=np.uint8)
    m[1, 1] = 255
    save_png(tmp_path / "individual_masks" / "a" / "type_2.png", m)
    save_png(tmp_path / "individual_masks" / "a" / "type_2_7.png", m)
    (item,) = load(tmp_path)
    kinds = sorted((a.label, a.semantics, a.metadata.get("instance")) for a in item.annotations)
    assert kinds == [("type_2", "class", None), ("type_2", "instance", 7)]


def test_individual_layout_keeps_overlaps_the_default_reports_them(tmp_path: Path) -> None:
    big = np.zeros((10, 10), dtype=bool)
    big[0:6, 0:6] = True
    small = np.zeros((10, 10), dtype=bool)
    small[4:8, 4:8] = True
    ds = Dataset(
        [
            Item(
                id="a",
                media=Image(name="a.jpg", width=10, height=10),
                annotations=[
                    Mask.from_array(big, label="cat"),
                    Mask.from_array(small, label="dog"),
                ],
            )
        ],
        labels=[Label(name="cat"), Label(name="dog")],
    )
    report = labelport.save(ds, tmp_path / "agg", "masks")
    assert report.losses[("overlapping mask pixels", "given to the later mask")] == 1
    (item,) = load(tmp_path / "agg")
    assert rle_area(masks_of(item, "cat")[0].rle) == 36 - 4  # the dog painted over 4 pixels
    report = labelport.save(ds, tmp_path / "ind", "masks", mask_layout="individual")
    assert report.lossless
    (item,) = load(tmp_path / "ind")
    assert {a.label: rle_area(a.rle) for a in item.annotations} == {"cat": 36, "dog": 16}


# --------------------------------------------------------------------------- video


def test_video_frames_in_order_with_their_instances() -> None:
    ds = labelport.load(DATA / "video", format="masks")
    items = list(ds)
    assert [i.id for i in items] == [
        "clip_a/frame_000000",
        "clip_a/frame_000001",
        "clip_a/frame_000002",
        "clip_b/00000",
    ]
    first = items[0]
    assert isinstance(first.media, VideoFrame) and first.media.video == "clip_a" and first.media.frame == 0
    assert items[2].media.frame == 2 and items[2].media.path.endswith("frame_000002.jpg")
    balls = [masks_of(i, "ball")[0] for i in items[:3]]
    assert [rle_bbox(b.rle)[0] for b in balls] == [2.0, 5.0, 8.0]  # the ball moves 3 pixels a frame
    assert {b.track_id for b in balls} == {1}  # a video's instance number is its track id
    assert items[3].media.path is None and "clip_b/00000" in ds.missing_media


def test_video_written_back_keeps_folders_frames_and_instance_numbers(tmp_path: Path) -> None:
    before = labelport.load(DATA / "video", format="masks").materialize()
    labelport.save(before, tmp_path / "out", "masks", save_media="copy")
    assert (tmp_path / "out" / "clip_a" / "frames" / "frame_000001.jpg").is_file()
    inst = np.asarray(PILImage.open(tmp_path / "out" / "clip_a" / "instance_masks" / "frame_000001.png"))
    assert set(np.unique(inst).tolist()) == {0, 1}
    after = labelport.load(tmp_path / "out", format="masks").materialize()
    assert not diff_datasets(before, after, MASKS_INFO)
    assert [i.media.frame for i in after] == [i.media.frame for i in before]


def test_track_ids_survive_in_videos_only(tmp_path: Path) -> None:
    m = np.zeros((6, 6), dtype=bool)
    m[1:3, 1:3] = True
    n = np.zeros((6, 6), dtype=bool)
    n[4:6, 4:6] = True
    frames = [
        Item(
            id=f"v/{k}",
            media=VideoFrame(video="v", frame=k, width=6, height=6),
            annotations=[
                Mask.from_array(m, label="ball", track_id=40),
                Mask.from_array(n, label="ball", track_id=7, outside=k == 1),
            ],
        )
        for k in range(2)
    ]
    still = Item(id="still", media=Image(width=6, height=6), annotations=[Mask.from_array(m, label="ball", track_id=3)])
    ds = Dataset([*frames, still], labels=[Label(name="ball")])
    for layout in ("instance", "individual"):
        report = labelport.save(ds, tmp_path / layout, "masks", mask_layout=layout)
        assert report.losses[("track ids", "dropped (only instance masks of video frames keep them)")] == 1
        assert report.losses[("track frames where the object is outside", "dropped")] == 1
        items = by_id(load(tmp_path / layout))
        assert sorted(a.track_id for a in items["v/0"].annotations) == [7, 40]
        assert [a.track_id for a in items["v/1"].annotations] == [40]
        assert [a.track_id for a in items["still"].annotations] == [None]
    assert (tmp_path / "individual" / "v" / "masks" / "0" / "ball_40.png").is_file()


def test_a_mask_hidden_under_later_masks_is_reported(tmp_path: Path) -> None:
    small = np.zeros((6, 6), dtype=bool)
    small[2:4, 2:4] = True
    ds = Dataset(
        [
            Item(
                id="a",
                media=Image(width=6, height=6),
                annotations=[
                    Mask.from_array(small, label="cat"),
                    Mask.from_array(np.ones((6, 6), dtype=bool), label="dog"),
                ],
            )
        ],
        labels=[Label(name="cat"), Label(name="dog")],
    )
    report = labelport.save(ds, tmp_path / "out", "masks")
    assert report.losses[("mask hidden under later masks", "dropped")] == 1
    (item,) = load(tmp_path / "out")
    assert [a.label for a in item.annotations] == ["dog"]


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("sample", ["aggregated", "explicit_16bit", "instances", "individual", "video", "subsets"])
def test_default_layout_round_trips_every_sample(sample: str, tmp_path: Path) -> None:
    before = labelport.load(DATA / sample, format="masks").materialize()
    report = labelport.save(before, tmp_path / "out", "masks")
    assert report.lossless, report.losses
    after = labelport.load(tmp_path / "out", format="masks").materialize()
    assert not diff_datasets(before, after, MASKS_INFO)


def test_label_ids_are_pixel_values_and_16_bit_when_needed(tmp_path: Path) -> None:
    m = np.zeros((4, 4), dtype=bool)
    m[1, 1] = True
    ds = Dataset(
        [
            Item(
                id="a",
                media=Image(width=4, height=4),
                annotations=[Mask.from_array(m, label="toothbrush", semantics="class")],
            )
        ],
        labels=[Label(name="person", id=1), Label(name="toothbrush", id=90), Label(name="sign", id=1024)],
    )
    labelport.save(ds, tmp_path / "out", "masks")
    lines = (tmp_path / "out" / "classes.txt").read_text().splitlines()
    assert lines == ["0 background", "1 person", "90 toothbrush", "1024 sign"]
    arr = np.asarray(PILImage.open(tmp_path / "out" / "class_masks" / "a.png"))
    assert arr[1, 1] == 90 and arr.dtype == np.uint8
    m2 = m.copy()
    m2[1, 1], m2[2, 2] = False, True
    ds2 = Dataset(
        [
            Item(
                id="a",
                media=Image(width=4, height=4),
                annotations=[Mask.from_array(m2, label="sign", semantics="class")],
            )
        ],
        labels=[Label(name="sign", id=1024)],
    )
    labelport.save(ds2, tmp_path / "out16", "masks")
    arr = np.asarray(PILImage.open(tmp_path / "out16" / "class_masks" / "a.png"))
    assert arr.dtype == np.uint16 and arr[2, 2] == 1024


def test_labels_first_seen_in_items_take_the_smallest_free_value(tmp_path: Path) -> None:
    m = np.zeros((4, 4), dtype=bool)
    m[3, 3] = True
    ds = Dataset(
        [Item(id="a", media=Image(width=4, height=4), annotations=[Mask.from_array(m, label="dog", semantics="class")])],
        labels=[Label(name="cat", id=1), Label(name="bird", id=65535)],
    )
    labelport.save(ds, tmp_path / "out", "masks")
    lines = (tmp_path / "out" / "classes.txt").read_text().splitlines()
    assert lines == ["0 background", "1 cat", "2 dog", "65535 bird"]
    (item,) = load(tmp_path / "out")
    assert [a.label for a in item.annotations] == ["dog"]


def test_class_layout_merges_instances_and_says_so(tmp_path: Path) -> None:
    (item,) = load(DATA / "instances")
    ds = Dataset([item], labels=[Label(name=n) for n in ("road", "car", "person")])
    report = labelport.save(ds, tmp_path / "out", "masks", mask_layout="class")
    assert report.losses[("masks of one label", "merged into one class mask")] == 1
    assert not (tmp_path / "out" / "instance_masks").exists()
    (back,) = load(tmp_path / "out")
    (cars,) = masks_of(back, "car")
    assert rle_area(cars.rle) == 24 and cars.semantics == "class"


def test_unlabelled_and_background_masks_are_reported(tmp_path: Path) -> None:
    m = np.zeros((4, 4), dtype=bool)
    m[0, 0] = True
    ds = Dataset(
        [
            Item(
                id="a",
                media=Image(width=4, height=4),
                annotations=[
                    Mask.from_array(m, semantics="class"),
                    Mask.from_array(m, label="background", semantics="class"),
                ],
            )
        ],
        labels=[Label(name="background")],
    )
    report = labelport.save(ds, tmp_path / "out", "masks")
    assert report.losses[("mask without a label", "dropped (a class mask needs a class)")] == 1
    assert report.losses[("masks of the background class", "dropped (pixel value 0 is background)")] == 1
    (item,) = load(tmp_path / "out")
    assert item.annotations == []


def test_palette_option_writes_indices_with_label_colours(tmp_path: Path) -> None:
    (item,) = [i for i in load(DATA / "aggregated") if i.id == "img_001"]
    ds = Dataset([item], labels=[Label(name="cat", color=(255, 0, 0)), Label(name="dog"), Label(name="traffic light")])
    labelport.save(ds, tmp_path / "out", "masks", palette=True)
    with PILImage.open(tmp_path / "out" / "class_masks" / "img_001.png") as im:
        assert im.mode == "P"
        assert im.getpalette()[3:6] == [255, 0, 0]
        assert np.asarray(im)[1, 2] == 1
    (back,) = load(tmp_path / "out")
    assert sorted(a.label for a in back.annotations) == ["cat", "dog", "traffic light"]


def test_subsets_are_folders_and_media_is_copied(tmp_path: Path) -> None:
    before = labelport.load(DATA / "subsets", format="masks").materialize()
    assert {i.subset for i in before} == {"train", "val"}
    labelport.save(before, tmp_path / "out", "masks", save_media="copy")
    assert (tmp_path / "out" / "train" / "class_masks" / "plant_20.png").is_file()
    assert (tmp_path / "out" / "val" / "images" / "plant_21.jpg").is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["classes.txt", "train", "val"]


# --------------------------------------------------------------------------- COCO polygons -> masks -> polygons


def _star(rng: random.Random, cx: float, cy: float, r: float) -> list[float]:
    n = rng.randint(8, 24)
    pts: list[float] = []
    for k in range(n):
        a = 2 * math.pi * k / n
        rr = r * rng.uniform(0.75, 1.0)
        pts += [round(cx + rr * math.cos(a), 2), round(cy + rr * math.sin(a), 2)]
    return pts


def test_coco_polygons_to_masks_to_polygons_keep_area_and_class(tmp_path: Path) -> None:
    """COCO-style polygons (flat float lists, one instance per polygon, some in two parts) are
    rasterised by the core on writing; the masks read back and traced to polygons again keep
    each instance's area within 1% and its class."""
    rng = random.Random(7)
    classes = ["person", "car", "dog"]
    items, expected = [], {}
    for k in range(2):
        anns = []
        for row in range(3):
            for col in range(4):
                cx, cy = 80 + col * 150, 80 + row * 150
                parts = [_star(rng, cx, cy, rng.uniform(35, 60))]
                if (row + col) % 4 == 0:  # a second part, as COCO writes an occluded object
                    parts.append(_star(rng, cx + 55, cy + 55, 12))
                label = classes[(row * 4 + col + k) % 3]
                anns.append(Polygon(label=label, parts=parts))
                expected[(f"img_{k}", cx, cy)] = (label, sum(polygon_area(p) for p in parts))
        items.append(Item(id=f"img_{k}", media=Image(name=f"img_{k}.jpg", width=640, height=480), annotations=anns))
    ds = Dataset(items, labels=[Label(name=c, id=i) for i, c in enumerate(classes, 1)])
    report = labelport.save(ds, tmp_path / "out", "masks")
    assert report.losses[("polygon", "rasterised to a mask")] == 24
    back = load(tmp_path / "out")
    seen = 0
    for item in back:
        for ann in item.annotations:
            assert ann.semantics == "instance"
            x, y, w, h = rle_bbox(ann.rle)
            key = min(
                (k for k in expected if k[0] == item.id),
                key=lambda k: (k[1] - (x + w / 2)) ** 2 + (k[2] - (y + h / 2)) ** 2,
            )
            label, area = expected.pop(key)
            assert ann.label == label
            outer, holes = mask_to_polygons(ann.to_array())
            traced = sum(polygon_area(p) for p in outer) - sum(polygon_area(p) for p in holes)
            assert abs(traced - area) <= 0.01 * area, (item.id, label, traced, area)
            assert abs(rle_area(ann.rle) - area) <= 0.01 * area
            seen += 1
    assert seen == 24 and not expected


# --------------------------------------------------------------------------- errors and validation


def test_truncated_mask_is_a_located_error(tmp_path: Path) -> None:
    root = copy_sample("instances", tmp_path)
    victim = root / "instance_masks" / "street.png"
    victim.write_bytes(victim.read_bytes()[:40])
    with pytest.raises(FormatError) as err:
        load(root)
    assert err.value.file == str(victim)
    problems = [p for p in labelport.validate(root, format="masks") if p.severity == "error"]
    assert problems and all(p.file == str(victim) for p in problems)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("background\ncat\ncat\n", "listed twice", "line 3"),
        ("0 bg\n1 cat\n1 dog\n", "listed twice", "line 3"),
        ("1 cat\n70000 dog\n", "16-bit", "line 2"),
        ("background\nca\x00t\n", "control characters", "line 2"),
    ],
)
def test_bad_classes_file_errors_name_the_line(tmp_path: Path, text: str, message: str, line: str) -> None:
    root = copy_sample("aggregated", tmp_path)
    (root / "classes.txt").write_text(text)
    with pytest.raises(FormatError, match=message) as err:
        load(root)
    assert err.value.file.endswith("classes.txt") and err.value.location == line


def test_classes_file_that_is_not_utf8(tmp_path: Path) -> None:
    root = copy_sample("aggregated", tmp_path)
    (root / "classes.txt").write_bytes(b"background\ncat\n\xff\xfe dog\n")
    with pytest.raises(FormatError, match="UTF-8") as err:
        load(root)
    assert err.value.location == "line 3"


def test_validate_flags_non_binary_individual_masks_and_classless_instances(tmp_path: Path) -> None:
    m = np.zeros((4, 4), dtype=np.uint8)
    m[0, 0], m[1, 1] = 255, 7
    save_png(tmp_path / "individual_masks" / "a" / "cat.png", m)
    inst = np.zeros((4, 4), dtype=np.uint8)
    inst[2, 2] = 1
    save_png(tmp_path / "instance_masks" / "a.png", inst)
    problems = labelport.validate(tmp_path, format="masks")
    messages = {p.message for p in problems if p.severity == "warning"}
    assert "individual mask is not binary: every non-zero pixel counts" in messages
    assert "instance mask without a class mask: its instances have no class" in messages
    assert not [p for p in problems if p.severity == "error"]


def test_samples_validate_without_warnings() -> None:
    for sample in ("aggregated", "instances", "video"):
        assert labelport.validate(DATA / sample, format="masks") == [], sample


# --------------------------------------------------------------------------- detection


def _detect(path: Path) -> dict[str, float]:
    return {d.format: d.confidence for d in labelport.detect(path)}


def test_detection_prefers_classes_file_and_ignores_lookalikes(tmp_path: Path) -> None:
    assert _detect(DATA / "aggregated")["masks"] > _detect(DATA / "individual")["masks"]
    # images/ + masks/ (no frames/) is another tool's layout; a PNG that is no PNG is not a mask
    lookalike = tmp_path / "semseg"
    save_png(lookalike / "masks" / "a.png", np.zeros((2, 2), dtype=np.uint8))
    save_png(lookalike / "images" / "a.png", np.zeros((2, 2, 3), dtype=np.uint8))
    assert "masks" not in _detect(lookalike)
    fake = tmp_path / "fake"
    (fake / "class_masks").mkdir(parents=True)
    (fake / "class_masks" / "a.png").write_text("not a png")
    assert "masks" not in _detect(fake)


def test_video_folders_alone_are_detected(tmp_path: Path) -> None:
    root = copy_sample("video", tmp_path)
    shutil.rmtree(root / "clip_a" / "instance_masks")
    found = labelport.detect(root)
    assert found[0].format == "masks" and found[0].confidence == 0.6
    shutil.rmtree(root / "clip_a" / "frames")  # masks/ folders without frames/ are anyone's
    assert "masks" not in _detect(root)


def test_keep_missing_media_false_skips_items_without_images() -> None:
    ids = [i.id for i in load(DATA / "aggregated", keep_missing_media=False)]
    assert ids == ["img_001", "img_002"]


def test_workers_write_the_same_files(tmp_path):
    """--workers spreads painting and PNG encoding over processes; the output is byte-identical."""
    import hashlib

    import numpy as np

    import labelport
    from labelport.schema import Dataset, Image, Item, Label, Mask

    rng = np.random.default_rng(3)
    items = []
    for k in range(12):
        anns = []
        for j in range(3):
            m = np.zeros((40, 60), bool)
            y, x = rng.integers(0, 30), rng.integers(0, 45)
            m[y : y + 10, x : x + 15] = True
            anns.append(Mask.from_array(m, label=("cat", "dog")[j % 2], track_id=None))
        items.append(Item(id=f"img{k:02d}", media=Image(width=60, height=40), annotations=anns))
    ds = Dataset(items, labels=[Label(name="cat"), Label(name="dog")])
    one = labelport.save(ds, tmp_path / "one", "masks")
    two = labelport.save(ds, tmp_path / "two", "masks", workers=2)

    def digest(root):
        return {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()}

    assert digest(tmp_path / "one") == digest(tmp_path / "two") and len(digest(tmp_path / "one")) > 12
    assert one.losses == two.losses
