"""Innotescus-specific behaviour: boxes with orientation, multi-polygons and open polylines, the class
tree, datasets as subsets, videos and tracks, task folders, metadata definitions, errors, validation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.schema import AttributeDef, BBox, Dataset, Image, Item, Label, Polygon, Polyline, VideoFrame

DATA = Path(__file__).parent / "data"


def by_id(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def anns(item: Item, kind: str) -> list:
    return [a for a in item.annotations if a.type == kind]


def read(path: Path) -> object:
    return json.loads(path.read_text())


def one_set(
    tmp_path: Path, annotations: list, classes: list | None = None, items: list | None = None, **extra: list
) -> Path:
    """A minimal annotation set written into ``tmp_path / "set"``."""
    folder = tmp_path / "set"
    folder.mkdir(exist_ok=True)
    classes = classes if classes is not None else [{"id": 1, "name": "car", "parent_id": None}]
    items = items if items is not None else [{"index": 0, "name": "a.jpg", "width": 50, "height": 40, "metadata": {}}]
    (folder / "classes.json").write_text(json.dumps(classes))
    (folder / "dataset_items.json").write_text(json.dumps(items))
    (folder / "annotations.json").write_text(json.dumps(annotations))
    for name, content in extra.items():
        (folder / f"{name}.json").write_text(json.dumps(content))
    return folder


def box(**kw) -> dict:
    return {
        "dataset_item_index": 0,
        "type": "Box",
        "class_id": 1,
        "box": {"x": 1, "y": 2, "width": 3, "height": 4},
        **kw,
    }


# --------------------------------------------------------------------------- shapes


def test_boxes_keep_pixels_and_orientation() -> None:
    items = by_id(labelport.load(DATA / "export"))
    car, bus = anns(items["street_01"], "bbox")
    assert (car.x, car.y, car.w, car.h, car.rotation) == (4.5, 6.0, 20.0, 10.25, 0.0)
    assert (bus.x, bus.y, bus.w, bus.h, bus.rotation) == (30.0, 8.0, 24.0, 12.0, 30.0)
    assert car.id == 101 and car.track_id == 1
    assert car.attributes == {"occluded": False, "quality": "good"}
    assert bus.metadata["innotescus_annotators"] == ["ana@example.com", "ben@example.com"]


def test_negative_orientation_is_normalised(tmp_path: Path) -> None:
    folder = one_set(tmp_path, [box(box={"x": 0, "y": 0, "width": 2, "height": 2, "orientation": -30})])
    (b,) = next(iter(labelport.load(folder))).annotations
    assert b.rotation == 330.0


def test_multipolygon_and_open_polyline() -> None:
    item = by_id(labelport.load(DATA / "export"))["street_02"]
    (road,) = anns(item, "polygon")
    assert road.parts == [[0, 40, 63, 40, 63, 47, 0, 47], [10, 30, 20, 30, 15, 36]]
    (lane,) = anns(item, "polyline")
    assert lane.points == [2, 44.5, 30, 43, 62, 44.5]


def test_open_poly_with_several_rings_gives_several_lines(tmp_path: Path) -> None:
    rings = [[[0, 0], [5, 5]], [[1, 1], [2, 2], [3, 1]]]
    folder = one_set(
        tmp_path, [{"dataset_item_index": 0, "type": "Poly", "class_id": 1, "polygons": rings, "is_open": True}]
    )
    lines = next(iter(labelport.load(folder))).annotations
    assert [ln.points for ln in lines] == [[0, 0, 5, 5], [1, 1, 2, 2, 3, 1]]


def test_written_shapes(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(
                id="a",
                media=Image(name="a.jpg", width=10, height=10),
                annotations=[
                    BBox(label="car", x=1, y=2.5, w=3, h=4, rotation=45, track_id=7, id=3),
                    Polygon(label="car", parts=[[0, 0, 4, 0, 2, 3], [5, 5, 6, 5, 6, 6]]),
                    Polyline(label="car", points=[0, 0, 9, 9]),
                ],
            )
        ],
        labels=[Label(name="car", id=4)],
    )
    labelport.save(ds, tmp_path / "out", "innotescus")
    rows = read(tmp_path / "out" / "annotations" / "default" / "annotations.json")
    assert rows[0] == {
        "id": 3,
        "dataset_item_index": 0,
        "frame_index": None,
        "class_id": 4,
        "instance_id": 7,
        "type": "Box",
        "box": {"x": 1, "y": 2.5, "width": 3, "height": 4, "orientation": 45},
        "metadata": {},
    }
    assert rows[1]["polygons"] == [[[0, 0], [4, 0], [2, 3]], [[5, 5], [6, 5], [6, 6]]] and rows[1]["is_open"] is False
    assert rows[2]["polygons"] == [[[0, 0], [9, 9]]] and rows[2]["is_open"] is True


# --------------------------------------------------------------------------- classes, subsets, media


def test_class_tree_ids_and_subsets() -> None:
    ds = labelport.load(DATA / "export")
    assert [(lb.name, lb.id, lb.parent) for lb in ds.labels] == [
        ("vehicle", 1, None),
        ("car", 2, "vehicle"),
        ("bus", 5, "vehicle"),
        ("road", 7, None),
        ("lane", 9, "road"),
    ]
    items = by_id(ds)
    assert {k: v.subset for k, v in items.items()} == {
        "street_01": "city_train",
        "street_02": "city_train",
        "street_10": "city_val",
    }
    assert items["street_10"].media.path.endswith("datasets/city_val/street_10.jpg")
    assert items["street_01"].attributes == {"camera": "north", "exposure": 0.5}


def test_class_ids_kept_and_new_ones_free(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="a", media=Image(name="a.jpg"))],
        labels=[Label(name="x", id=2), Label(name="y"), Label(name="z", id=2), Label(name="p", parent="x")],
    )
    labelport.save(ds, tmp_path / "out", "innotescus")
    classes = read(tmp_path / "out" / "annotations" / "default" / "classes.json")
    assert classes == [
        {"id": 2, "name": "x", "parent_id": None},
        {"id": 1, "name": "y", "parent_id": None},
        {"id": 3, "name": "z", "parent_id": None},
        {"id": 4, "name": "p", "parent_id": 2},
    ]


def test_parent_cycles_and_unknown_parents_are_left_out_and_reported(tmp_path: Path) -> None:
    classes = [
        {"id": 1, "name": "a", "parent_id": 2},
        {"id": 2, "name": "b", "parent_id": 1},
        {"id": 3, "name": "c", "parent_id": 99},
        {"id": 4, "name": "d", "parent_id": 3},
    ]
    folder = one_set(tmp_path, [box()], classes=classes)
    ds = labelport.load(folder)
    parents = {lb.name: lb.parent for lb in ds.labels}
    assert parents == {"a": "b", "b": None, "c": None, "d": "c"}  # the edge closing the cycle is dropped
    problems = labelport.validate(folder, format="innotescus")
    assert any(
        p.severity == "error" and "its own ancestor" in p.message and p.location == "[0].parent_id" for p in problems
    )
    assert any(p.severity == "warning" and "parent class 99" in p.message for p in problems)


# --------------------------------------------------------------------------- video and tasks


def test_video_frames_and_tracks() -> None:
    ds = labelport.load(DATA / "video_export")
    items = by_id(ds)
    assert sorted(items) == ["crossing/frame_000000", "crossing/frame_000001", "crossing/frame_000002"]
    last = items["crossing/frame_000002"]
    assert isinstance(last.media, VideoFrame) and (last.media.video, last.media.frame) == ("crossing.mp4", 2)
    assert last.subset == "clips"
    people = [a for it in items.values() for a in it.annotations if a.label == "person"]
    assert {a.track_id for a in people} == {11} and [a.x for a in people] == [10, 12, 14]
    assert people[0].metadata["innotescus_task"] == "tracking"


def test_video_written_as_one_item_with_frame_indices_in_its_task(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "video_export")
    labelport.save(ds, tmp_path / "out", "innotescus")
    folder = tmp_path / "out" / "annotations" / "tracking" / "clips"
    (entry,) = read(folder / "dataset_items.json")
    assert entry == {
        "index": 0,
        "name": "crossing.mp4",
        "type": "video",
        "width": 320,
        "height": 240,
        "metadata": {"fps": 25},
        "frame_count": 50,
    }
    rows = read(folder / "annotations.json")
    assert [(r["frame_index"], r["instance_id"]) for r in rows] == [(0, 11), (1, 11), (2, 11), (2, 12)]


def test_frames_without_annotations_are_reported(tmp_path: Path) -> None:
    frames = [Item(id=f"f{n}", media=VideoFrame(video="v.mp4", frame=n)) for n in range(2)]
    frames[0].annotations.append(BBox(label="car", x=0, y=0, w=1, h=1, track_id=1))
    report = labelport.save(Dataset(frames, labels=[Label(name="car")]), tmp_path / "o", "innotescus")
    assert (
        report.losses[("video frames without annotations", "dropped (a video is exported by its annotated frames)")]
        == 1
    )


def test_video_annotation_needs_a_frame(tmp_path: Path) -> None:
    folder = one_set(tmp_path, [box()], items=[{"index": 0, "name": "clip.mp4", "type": "video"}])
    with pytest.raises(FormatError) as err:
        list(labelport.load(folder))
    assert err.value.location == "[0]" and "frame_index" in err.value.message


# --------------------------------------------------------------------------- metadata definitions


def test_metadata_definitions_become_attribute_declarations(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "export")
    car = ds.labels["car"]
    assert [(a.name, a.type, a.values) for a in car.attributes] == [
        ("occluded", "bool", []),
        ("quality", "select", ["good", "poor"]),
        ("note", "text", []),
    ]
    labelport.save(ds, tmp_path / "out", "innotescus")
    folder = tmp_path / "out" / "annotations" / "city_train"
    assert read(folder / "annotation_metadata_definitions.json") == read(
        DATA / "export/annotations/city_train/annotation_metadata_definitions.json"
    )
    assert read(folder / "dataset_item_metadata_definitions.json") == [
        {"name": "camera", "type": "text"},
        {"name": "exposure", "type": "number"},
    ]


def test_undeclared_attributes_get_inferred_definitions(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(
                id="a",
                media=Image(name="a.jpg"),
                attributes={"shot": 3},
                annotations=[BBox(label="car", x=0, y=0, w=1, h=1, attributes={"conf": 0.5, "ok": True})],
            )
        ],
        labels=[
            Label(name="car", attributes=[AttributeDef(name="kind", type="select", values=["a", "b"], default="a")])
        ],
    )
    labelport.save(ds, tmp_path / "out", "innotescus")
    folder = tmp_path / "out" / "annotations" / "default"
    assert read(folder / "annotation_metadata_definitions.json") == [
        {"name": "kind", "type": "select", "options": ["a", "b"], "default": "a"},
        {"name": "conf", "type": "number"},
        {"name": "ok", "type": "boolean"},
    ]
    assert read(folder / "dataset_item_metadata_definitions.json") == [{"name": "shot", "type": "integer"}]


def test_validate_checks_metadata_and_instances(tmp_path: Path) -> None:
    defs = [{"name": "quality", "type": "select", "options": ["good", "poor"]}, {"name": "occluded", "type": "boolean"}]
    rows = [
        box(instance_id=1, metadata={"quality": "great", "occluded": "yes", "extra": 1}),
        box(instance_id=1, class_id=2),
    ]
    folder = one_set(
        tmp_path,
        rows,
        classes=[{"id": 1, "name": "car"}, {"id": 2, "name": "bus"}],
        annotation_metadata_definitions=defs,
    )
    found = {(p.severity, p.location): p.message for p in labelport.validate(folder, format="innotescus")}
    assert "does not fit" in found[("warning", "[0].metadata.quality")]
    assert "does not fit" in found[("warning", "[0].metadata.occluded")]
    assert "not defined" in found[("warning", "[0].metadata.extra")]
    assert found[("warning", "[1].instance_id")] == "instance 1 is class 'car' at [0] and 'bus' here"
    assert not [p for p in labelport.validate(DATA / "export", format="innotescus") if p.severity == "error"]


# --------------------------------------------------------------------------- errors and spellings


@pytest.mark.parametrize(
    "row, location, message",
    [
        (box(class_id=8), "[0].class_id", "class 8 is not in classes.json"),
        ({"type": "Box", "class_id": 1, "box": {}}, "[0].dataset_item_index", "missing"),
        (box(dataset_item_index=3), "[0].dataset_item_index", "no dataset item has index 3"),
        (box(box={"x": 1, "y": 2, "width": -3, "height": 4}), "[0].box", "negative box size"),
        (box(type="Circle"), "[0].type", "unknown annotation type 'Circle'"),
        (
            {"dataset_item_index": 0, "type": "Poly", "class_id": 1, "polygons": [[[0, 0], [1, 1]]]},
            "[0].polygons[0]",
            "a polygon needs 3 points",
        ),
        (
            {"dataset_item_index": 0, "type": "Poly", "class_id": 1, "polygons": [[[0, 0], [1, "x"]]]},
            "[0].polygons[0][1][1]",
            "expected a number",
        ),
    ],
)
def test_errors_name_file_and_json_path(tmp_path: Path, row: dict, location: str, message: str) -> None:
    folder = one_set(tmp_path, [row])
    with pytest.raises(FormatError) as err:
        list(labelport.load(folder, format="innotescus"))
    assert err.value.location == location and message in err.value.message
    assert err.value.file == str(folder / "annotations.json")


def test_other_spellings_are_read(tmp_path: Path) -> None:
    rows = [{"item_index": 0, "type": "poly", "class": "car", "polygons": [0, 0, 4, 0, 2, 3]}]
    (item,) = labelport.load(one_set(tmp_path, rows), format="innotescus")
    (poly,) = item.annotations
    assert poly.label == "car" and poly.parts == [[0, 0, 4, 0, 2, 3]]


# --------------------------------------------------------------------------- detection and losses


def test_detection(tmp_path: Path) -> None:
    ann_file = DATA / "export" / "annotations" / "city_val" / "annotations.json"
    found = labelport.detect(ann_file)
    assert found[0].format == "innotescus" and found[0].confidence == 0.9
    (item,) = labelport.load(ann_file)  # the set around the file, its folder naming the dataset
    assert item.subset == "city_val" and item.media.path is not None
    lone = tmp_path / "lone"
    lone.mkdir()
    shutil.copy(ann_file, lone / "annotations.json")  # without classes.json it is not an annotation set
    assert not [d for d in labelport.detect(lone) if d.format == "innotescus"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "classes.json").write_text('["cat", "dog"]')
    (other / "annotations.json").write_text('[{"image": "a.jpg", "label": "cat"}]')
    assert not [d for d in labelport.detect(other) if d.format == "innotescus"]


def test_losses_are_reported(tmp_path: Path) -> None:
    hole = Polygon(label="car", parts=[[0, 0, 10, 0, 10, 10, 0, 10]], holes=[[2, 2, 4, 2, 4, 4]])
    ds = Dataset(
        [Item(id="a", media=Image(name="a.jpg"), annotations=[hole, BBox(x=0, y=0, w=1, h=1)])],
        labels=[Label(name="car")],
    )
    report = labelport.save(ds, tmp_path / "o", "innotescus")
    assert report.losses[("polygon holes", "dropped (outer boundary kept)")] == 1
    assert report.losses[("bbox without a label", "dropped (an Innotescus annotation needs a class)")] == 1
