"""Nucleus-specific behaviour: payload mapping, the client's annotation id rule, tracks, masks,
scenes, single-file output, located errors, validation and reported losses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.errors import FormatError, UnsafeInputError
from labelport.schema import (
    BBox,
    Cuboid3D,
    Dataset,
    Image,
    Item,
    Keypoints,
    Label,
    Mask,
    Polygon,
    Skeleton,
    VideoFrame,
)
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def by_id(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def anns(item: Item, kind: str) -> list:
    return [a for a in item.annotations if a.type == kind]


def write_lines(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def box(ref: str, label: str = "car", **extra) -> dict:
    return {
        "label": label,
        "type": "box",
        "geometry": {"x": 1, "y": 2, "width": 3, "height": 4},
        "reference_id": ref,
        **extra,
    }


# --------------------------------------------------------------------------- ids


def test_missing_ids_follow_the_clients_rule_and_are_stable() -> None:
    items = by_id(labelport.load(DATA / "annotate_request.json"))
    (dog,) = anns(items["pets_001"], "bbox")
    assert dog.id == "dog-10-20-30.5-40-pets_001"  # label-x-y-width-height-reference_id, numbers as written
    (poly,) = anns(items["pets_002"], "polygon")
    # the client generates no polygon id: a deterministic id from type, label and geometry
    assert poly.id == Polygon(label="cat", parts=[[1.0, 1.0, 4.0, 1.0, 2.5, 4.0]]).derived_id()
    again = by_id(labelport.load(DATA / "annotate_request.json"))
    assert [a.id for a in again["pets_002"].annotations] == [a.id for a in items["pets_002"].annotations]


def test_keypoints_id_rule_and_writer_avoids_collisions(tmp_path: Path) -> None:
    sk = Skeleton(points=["a", "b"], edges=[(0, 1)])
    kp1 = Keypoints(label="hand", points=[1, 1, 2, 2], visibility=[2, 2])
    kp2 = Keypoints(label="hand", points=[5, 5, 6, 6], visibility=[2, 1])
    ds = Dataset(
        [Item(id="img", media=Image(name="img.jpg"), annotations=[kp1, kp2])], labels=[Label(name="hand", skeleton=sk)]
    )
    labelport.save(ds, tmp_path / "out", "nucleus")
    rows = read_lines(tmp_path / "out" / "annotations.jsonl")
    ids = [r["annotation_id"] for r in rows]
    assert ids[0] == "hand-img-keypoints"
    assert ids[1] == kp2.derived_id()  # the rule would repeat the first id and Nucleus would ignore it
    assert rows[0]["geometry"]["names"] == ["a", "b"] and rows[0]["geometry"]["skeleton"] == [[0, 1]]


def test_box_written_with_whole_numbers_gets_the_clients_id(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="r1", annotations=[BBox(label="car", x=10.0, y=2.5, w=3.0, h=4.0)])], labels=[Label(name="car")]
    )
    labelport.save(ds, tmp_path / "a.jsonl", "nucleus")
    (row,) = read_lines(tmp_path / "a.jsonl")
    assert row["geometry"] == {"x": 10, "y": 2.5, "width": 3, "height": 4}
    assert row["annotation_id"] == "car-10-2.5-3-4-r1"


# --------------------------------------------------------------------------- mapping


def test_keypoint_visibility_and_skeleton() -> None:
    ds = labelport.load(DATA / "image_folder")
    (kp,) = anns(by_id(ds)["street_2"], "keypoints")
    assert kp.points == [20.0, 5.0, 18.0, 9.0, 0.0, 0.0]
    assert kp.visibility == [2, 1, 0]  # visible, labelled but hidden, unlabelled (no coordinates)
    assert ds.labels["person"].skeleton == Skeleton(points=["head", "left_hand", "right_hand"], edges=[(0, 1), (0, 2)])


def test_keypoints_written_back_with_visible_flags(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "image_folder")
    labelport.save(ds, tmp_path / "out", "nucleus")
    row = next(r for r in read_lines(tmp_path / "out" / "annotations.jsonl") if r["type"] == "keypoints")
    assert row["geometry"]["keypoints"] == [
        {"x": 20, "y": 5, "visible": True},
        {"x": 18, "y": 9, "visible": False},
        {"x": None, "y": None, "visible": False},
    ]


def test_metadata_embedding_and_taxonomies() -> None:
    ds = labelport.load(DATA / "image_folder")
    items = by_id(ds)
    car = next(a for a in items["street_1"].annotations if a.id == "car_1")
    assert car.attributes == {"color": "red"} and car.embedding == [0.25, -1.5, 3.0]
    assert items["street_1"].attributes == {"weather": "sunny", "frame_number": 1}
    (tag,) = anns(items["street_1"], "label")
    assert (tag.label, tag.taxonomy) == ("daytime", "time_of_day")
    taxes = {t.name: t for t in ds.taxonomies}
    assert taxes["time_of_day"].labels == ["daytime", "night"]  # declared labels, used or not
    assert "night" in ds.labels
    multi = anns(items["street_2"], "label")
    assert [t.label for t in multi] == ["wet", "crowded"] and {t.taxonomy for t in multi} == {"conditions"}


def test_multicategory_is_written_as_one_payload(tmp_path: Path) -> None:
    labelport.save(labelport.load(DATA / "image_folder"), tmp_path / "out", "nucleus")
    rows = [r for r in read_lines(tmp_path / "out" / "annotations.jsonl") if r["type"] == "multicategory"]
    assert len(rows) == 1 and rows[0]["labels"] == ["wet", "crowded"] and rows[0]["taxonomy_name"] == "conditions"


def test_tracks_numbered_and_written_back_as_their_strings(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "video_scene")
    items = by_id(ds)
    bikes = [a for k in range(3) for a in anns(items[f"drive_1_{k}"], "bbox") if a.label == "bike"]
    assert {b.track_id for b in bikes} == {1}
    car = next(a for a in items["drive_1_1"].annotations if a.label == "car")
    assert car.track_id == 7  # a numeric reference keeps its number
    labelport.save(ds, tmp_path / "out", "nucleus")
    refs = {r["annotation_id"]: r.get("track_reference_id") for r in read_lines(tmp_path / "out" / "annotations.jsonl")}
    assert refs["bike-1-2-4-3-drive_1_0"] == "bike_a" and refs["car-8-6-5-4-drive_1_1"] == "7"


def test_string_tracks_avoid_numbers_already_used(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [box("a", track_reference_id="1"), box("b", track_reference_id="x")])
    items = by_id(labelport.load(path))
    assert anns(items["a"], "bbox")[0].track_id == 1
    assert anns(items["b"], "bbox")[0].track_id == 2


def test_cuboid_yaw_is_rotation_about_z_and_roll_is_reported(tmp_path: Path) -> None:
    (item,) = labelport.load(DATA / "lidar.jsonl")
    assert item.media.kind == "point_cloud" and item.metadata["nucleus_url"] == "s3://bucket/lidar/sweep_0.json"
    cub = next(a for a in item.annotations if a.id == "cub_1")
    assert (cub.position, cub.dimensions, cub.rotation) == ((10.5, -2.0, 0.8), (4.2, 1.8, 1.5), (0.0, 0.0, 0.5))
    tilted = Cuboid3D(label="car", position=(0, 0, 0), dimensions=(1, 1, 1), rotation=(0.1, 0.0, 0.3))
    report = labelport.save(
        Dataset([Item(id="s", annotations=[tilted])], labels=[Label(name="car")]), tmp_path / "o", "nucleus"
    )
    assert report.losses[("cuboid roll and pitch", "dropped (Nucleus cuboids turn about z only)")] == 1
    (row,) = read_lines(tmp_path / "o" / "annotations.jsonl")
    assert row["geometry"]["yaw"] == 0.3


def test_export_rows_take_the_items_reference_and_keep_cloud_urls(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "export_rows.json")
    items = by_id(ds)
    assert items["frame_a"].media.name == "frame_a.jpg"
    assert [a.id for a in items["frame_a"].annotations] == ["t1", "c1"]
    labelport.save(ds, tmp_path / "out", "nucleus")
    rows = {r["reference_id"]: r for r in read_lines(tmp_path / "out" / "items.jsonl")}
    assert rows["frame_a"]["image_url"] == "s3://bucket/path/frame_a.jpg"
    assert rows["frame_a"]["metadata"] == {"camera": "front"}


# --------------------------------------------------------------------------- masks


def test_segmentation_indices_become_masks_and_back(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "image_folder")
    masks = {m.label: m for m in anns(by_id(ds)["street_2"], "mask")}
    png = np.asarray(PILImage.open(DATA / "image_folder" / "masks" / "street_2_mask.png"))
    assert (masks["sky"].to_array() == (png == 1)).all()
    assert (masks["building"].to_array() == (png == 2)).all()
    assert masks["building"].attributes == {"height": "tall"}
    labelport.save(ds, tmp_path / "out", "nucleus")
    row = next(r for r in read_lines(tmp_path / "out" / "annotations.jsonl") if r["type"] == "mask")
    assert row["annotation_id"] == "street_2_mask"
    written = np.asarray(PILImage.open(tmp_path / "out" / row["mask_url"]))
    assert (written == png).all()


def test_overlapping_masks_are_reported(tmp_path: Path) -> None:
    a = np.zeros((4, 5), bool)
    a[:2] = True
    b = np.zeros((4, 5), bool)
    b[1:3] = True
    ds = Dataset(
        [Item(id="i", annotations=[Mask.from_array(a, label="x"), Mask.from_array(b, label="y")])],
        labels=[Label(name="x"), Label(name="y")],
    )
    report = labelport.save(ds, tmp_path / "o", "nucleus")
    assert report.losses[("mask", "partly covered by a later mask (a Nucleus mask holds one index per pixel)")] == 1
    row = next(r for r in read_lines(tmp_path / "o" / "annotations.jsonl"))
    png = np.asarray(PILImage.open(tmp_path / "o" / row["mask_url"]))
    assert png[1].tolist() == [2] * 5 and png[0].tolist() == [1] * 5


def test_remote_mask_is_kept_as_a_reference(tmp_path: Path) -> None:
    seg = {
        "type": "mask",
        "mask_url": "s3://b/m.png",
        "annotations": [{"label": "sky", "index": 1}],
        "reference_id": "r",
    }
    ds = labelport.load(write_lines(tmp_path / "s.jsonl", [seg]))
    (item,) = ds
    assert item.annotations == [] and "sky" in ds.labels
    assert any("remote" in n for n in ds.notes)
    labelport.save(ds, tmp_path / "o", "nucleus")
    (row,) = read_lines(tmp_path / "o" / "annotations.jsonl")
    assert row["mask_url"] == "s3://b/m.png"


def test_absolute_mask_path_is_found_by_its_name(tmp_path: Path) -> None:
    (tmp_path / "masks").mkdir()
    PILImage.fromarray(np.array([[0, 3], [3, 3]], np.uint8)).save(tmp_path / "masks" / "m.png")
    seg = {
        "type": "mask",
        "mask_url": "/home/someone/export/m.png",
        "annotations": [{"label": "a", "index": 3}],
        "reference_id": "r",
    }
    (item,) = labelport.load(write_lines(tmp_path / "s.jsonl", [seg]))
    assert item.annotations[0].to_array().tolist() == [[False, True], [True, True]]
    assert (item.media.width, item.media.height) == (2, 2)  # the mask has the image's size


def test_mask_url_outside_the_dataset_is_refused(tmp_path: Path) -> None:
    seg = {"type": "mask", "mask_url": "../../etc/m.png", "annotations": [], "reference_id": "r"}
    with pytest.raises(UnsafeInputError):
        list(labelport.load(write_lines(tmp_path / "s.jsonl", [seg])))


# --------------------------------------------------------------------------- scenes


def test_scene_frames_and_scene_categories(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "video_scene")
    items = by_id(ds)
    frame = items["drive_1_2"].media
    assert isinstance(frame, VideoFrame) and (frame.video, frame.frame, frame.name) == ("drive_1", 2, "frames/002.png")
    (tag,) = items["drive_1"].annotations  # the category on the scene's reference id
    assert tag.label == "rainy" and {t.name: t.kind for t in ds.taxonomies}["weather"] == "scene"
    labelport.save(ds, tmp_path / "out", "nucleus")
    (scene,) = read_lines(tmp_path / "out" / "scenes.jsonl")
    assert [f["reference_id"] for f in scene["frames"]] == ["drive_1_0", "drive_1_1", "drive_1_2"]
    assert scene["frame_rate"] == 10 and scene["metadata"] == {"city": "Lyon"}
    assert not (tmp_path / "out" / "items.jsonl").exists()


def test_frame_gaps_keep_their_numbers(tmp_path: Path) -> None:
    frames = [Item(id=f"f{n}", media=VideoFrame(video="v", frame=n, name=f"{n}.jpg")) for n in (4, 0, 9)]
    labelport.save(Dataset(frames), tmp_path / "o", "nucleus")
    (scene,) = read_lines(tmp_path / "o" / "scenes.jsonl")
    assert [(f["reference_id"], f.get("frame")) for f in scene["frames"]] == [("f0", None), ("f4", 4), ("f9", 9)]
    back = by_id(labelport.load(tmp_path / "o", format="nucleus"))
    assert {k: v.media.frame for k, v in back.items()} == {"f0": 0, "f4": 4, "f9": 9}


# --------------------------------------------------------------------------- output forms and losses


def test_single_file_targets_hold_annotations_only(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "image_folder")
    report = labelport.save(ds, tmp_path / "anns.json", "nucleus")
    rows = json.loads((tmp_path / "anns.json").read_text())
    assert {r["type"] for r in rows} == {"box", "polygon", "line", "category", "keypoints", "multicategory"}
    assert report.losses[("mask", "dropped (a single payload file has no place for mask PNGs; write to a folder)")] == 2
    assert (
        report.losses[("item media names and metadata", "dropped (a single payload file holds annotations only)")] == 2
    )
    assert labelport.detect(tmp_path / "anns.json")[0].format == "nucleus"


def test_outside_frames_and_unlabelled_shapes_are_reported(tmp_path: Path) -> None:
    anns_ = [BBox(label="car", x=0, y=0, w=1, h=1, track_id=3, outside=True), BBox(x=0, y=0, w=2, h=2)]
    ds = Dataset([Item(id="f", media=VideoFrame(video="v", frame=0), annotations=anns_)], labels=[Label(name="car")])
    report = labelport.save(ds, tmp_path / "o", "nucleus")
    assert report.losses[("track frames where the object is outside", "dropped")] == 1
    assert report.losses[("bbox without a label", "dropped (Nucleus requires one)")] == 1
    assert read_lines(tmp_path / "o" / "annotations.jsonl") == []


def test_unused_skeletons_are_reported(tmp_path: Path) -> None:
    ds = Dataset([Item(id="a")], labels=[Label(name="p", skeleton=Skeleton(points=["x"]))])
    report = labelport.save(ds, tmp_path / "o", "nucleus")
    assert sum(c for (what, _), c in report.losses.items() if what.startswith("keypoint skeletons")) == 1


# --------------------------------------------------------------------------- errors and validation


@pytest.mark.parametrize(
    "row, location, message",
    [
        (
            {"label": "c", "type": "box", "geometry": {"x": 1, "y": 2, "width": 3}, "reference_id": "r"},
            "line 2:geometry.height",
            "missing",
        ),
        (
            {"label": "c", "type": "box", "geometry": {"x": 1, "y": 2, "width": -3, "height": 1}, "reference_id": "r"},
            "line 2:geometry",
            "negative",
        ),
        (
            {
                "label": "p",
                "type": "keypoints",
                "geometry": {"keypoints": [{"visible": True}], "names": ["a"]},
                "reference_id": "r",
            },
            "line 2:geometry.keypoints[0]",
            "visible keypoint needs x and y",
        ),
        (
            {
                "label": "p",
                "type": "keypoints",
                "geometry": {"keypoints": [{"x": 1, "y": 1, "visible": True}], "names": ["a"], "skeleton": [[0, 3]]},
                "reference_id": "r",
            },
            "line 2:geometry.skeleton[0]",
            "not in 0..0",
        ),
        (
            {"label": "c", "type": "polygon", "geometry": {"vertices": [{"x": 1, "y": "a"}]}, "reference_id": "r"},
            "line 2:geometry.vertices[0].y",
            "expected a number",
        ),
    ],
)
def test_errors_name_the_line_and_json_path(tmp_path: Path, row: dict, location: str, message: str) -> None:
    path = write_lines(tmp_path / "a.jsonl", [box("ok"), row])
    with pytest.raises(FormatError) as err:
        list(labelport.load(path, format="nucleus"))
    assert f"{err.value.location}".startswith(location.split(":")[0])
    assert location.split(":")[1] in err.value.location and message in err.value.message
    assert err.value.file == str(path)


def test_malformed_json_line_is_located(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(box("r")) + '\n{"label": \n')
    with pytest.raises(FormatError) as err:
        list(labelport.load(path, format="nucleus"))
    assert err.value.location.startswith("line 2 column")


def test_validate_reports_what_nucleus_would_ignore(tmp_path: Path) -> None:
    shutil.copytree(DATA / "image_folder", tmp_path / "d")
    rows = read_lines(tmp_path / "d" / "annotations.jsonl")
    rows.append(box("street_1", annotation_id="car_1"))
    rows.append(box("ghost"))
    items = read_lines(tmp_path / "d" / "items.jsonl")
    write_lines(tmp_path / "d" / "items.jsonl", [*items, items[0]])
    kp = next(r for r in rows if r["type"] == "keypoints")
    kp["geometry"]["names"] = ["head", "head", "hand"]
    write_lines(tmp_path / "d" / "annotations.jsonl", rows)
    problems = labelport.validate(tmp_path / "d", format="nucleus")
    messages = [(p.severity, p.message) for p in problems]
    assert ("warning", "annotation id 'car_1' repeats in item 'street_1' (Nucleus ignores all but line 1)") in messages
    assert any(s == "warning" and "'ghost' is not a declared item" in m for s, m in messages)
    assert any(s == "error" and "keypoint names repeat" in m for s, m in messages)
    assert ("error", "reference id 'street_1' is declared twice (the Nucleus client refuses duplicates)") in messages
    assert not [p for p in labelport.validate(DATA / "image_folder", format="nucleus") if p.severity == "error"]


# --------------------------------------------------------------------------- detection


def test_detection_levels(tmp_path: Path) -> None:
    items = write_lines(tmp_path / "items.jsonl", [{"reference_id": "a", "image_url": "a.jpg", "metadata": {}}])
    (found,) = [d for d in labelport.detect(items) if d.format == "nucleus"]
    assert found.confidence == 0.6  # items alone: Nucleus-like, weaker than annotation payloads
    other = tmp_path / "other.json"
    other.write_text(json.dumps([{"reference_id": "a", "label": "x"}]))  # no type, geometry or url
    assert not [d for d in labelport.detect(other) if d.format == "nucleus"]


def test_items_repeating_an_id_in_another_subset_are_renamed(tmp_path: Path) -> None:
    ds = Dataset([Item(id="a", subset="train"), Item(id="a", subset="val"), Item(id="b", subset="val")])
    report = labelport.save(ds, tmp_path / "o", "nucleus")
    assert [r["reference_id"] for r in read_lines(tmp_path / "o" / "items.jsonl")] == ["a", "val/a", "b"]
    assert report.losses[("items repeating a reference id (in another subset)", "renamed <subset>/<id>")] == 1


def test_masks_are_fitted_to_the_image_size(tmp_path: Path) -> None:
    small = np.ones((2, 2), bool)
    item = Item(id="i", media=Image(name="i.png", width=3, height=4), annotations=[Mask.from_array(small, label="x")])
    report = labelport.save(Dataset([item], labels=[Label(name="x")]), tmp_path / "o", "nucleus")
    assert report.losses[("mask", "cut or padded to the image size")] == 1
    (back,) = labelport.load(tmp_path / "o", format="nucleus")
    (mask,) = back.annotations
    assert mask.rle.size == (4, 3) and mask.to_array().sum() == 4


def test_items_without_location_are_read_beside_annotations(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="bare", attributes={"k": 1}), Item(id="x", annotations=[BBox(label="c", x=0, y=0, w=1, h=1)])],
        labels=[Label(name="c")],
    )
    labelport.save(ds, tmp_path / "o", "nucleus")
    back = by_id(labelport.load(tmp_path / "o"))
    assert back["bare"].attributes == {"k": 1} and back["bare"].media is None
