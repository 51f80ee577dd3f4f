"""Datumaro-specific behaviour: conventions at the boundary, CVAT's track attributes,
skeleton forms, errors with JSON paths and the losses the writer reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.errors import FormatError
from labelport.schema import (
    AttributeDef,
    BBox,
    Caption,
    Cuboid2D,
    Dataset,
    Ellipse,
    Image,
    Item,
    Keypoints,
    Label,
    Mask,
    Points,
    Polygon,
    Polyline,
    Skeleton,
    Tag,
    Taxonomy,
    VideoFrame,
    Volume,
)

DATA = Path(__file__).parent / "data"


def _by_id(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def _write_doc(folder: Path, doc: dict, subset: str = "default") -> Path:
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    (folder / "annotations" / f"{subset}.json").write_text(json.dumps(doc))
    return folder


def _doc(annotations: list, labels: tuple[str, ...] = ("a", "b"), **item: object) -> dict:
    return {
        "dm_format_version": "1.0",
        "categories": {
            "label": {"labels": [{"name": n, "parent": "", "attributes": []} for n in labels], "attributes": []}
        },
        "items": [{"id": "x", "annotations": annotations, **item}],
    }


# ------------------------------------------------------------------ reading


def test_every_annotation_kind_reads_with_exact_geometry() -> None:
    ds = labelport.load(DATA / "v1_all_types")
    item = _by_id(ds)["street_01"]
    assert item.subset == "train"
    assert item.attributes == {"weather": "rain", "frame": 0}
    assert isinstance(item.media, Image)
    assert (item.media.width, item.media.height) == (8, 6)  # Datumaro's size is [height, width]
    assert item.media.path and item.media.path.endswith("images/train/street_01.jpg")
    anns = {a.id: a for a in item.annotations}

    box = anns[1]
    assert isinstance(box, BBox)
    assert (box.x, box.y, box.w, box.h) == (1.5, 0.5, 4.0, 3.0)
    assert (box.label, box.group, box.z_order) == ("car", 1, 2)
    assert box.rotation == 30.0 and box.score == 0.75  # lifted out of the attributes
    assert box.attributes == {"occluded": False, "color": "red"}

    assert isinstance(anns[2], Polygon) and anns[2].parts == [[1.0, 1.0, 6.0, 1.0, 6.0, 4.0, 1.0, 4.0]]
    assert isinstance(anns[3], Polyline) and anns[3].points == [0.0, 5.5, 7.5, 5.0, 7.9, 2.25]
    assert isinstance(anns[4], Points) and anns[4].visibility == [2, 1]
    # a points annotation of a label with a points category is a skeleton instance
    kp = anns[5]
    assert isinstance(kp, Keypoints)
    assert kp.points == [4.0, 4.0, 5.0, 3.0, 0.0, 0.0] and kp.visibility == [2, 1, 0]

    mask = anns[6]
    assert isinstance(mask, Mask) and mask.label == "road"
    expected = np.zeros((6, 8), bool)
    expected[1:4, 2:6] = True
    expected[4, 2] = True
    assert np.array_equal(mask.to_array(), expected)

    ellipse = anns[7]  # stored as its box corners [1, 2, 5, 4]
    assert isinstance(ellipse, Ellipse)
    assert (ellipse.cx, ellipse.cy, ellipse.rx, ellipse.ry, ellipse.rotation) == (3.0, 3.0, 2.0, 1.0, 15.0)

    caption = anns[8]
    assert isinstance(caption, Caption) and caption.text == "a red car on a wet road" and caption.label is None
    tag = anns[9]
    assert isinstance(tag, Tag) and tag.label == "vehicle" and tag.score == 0.5 and tag.attributes == {}
    cuboid = anns[10]
    assert isinstance(cuboid, Cuboid2D)
    assert cuboid.points == [1, 1, 1, 4, 5, 1, 5, 4, 2, 0.5, 2, 3.5, 6, 0.5, 6, 3.5]


def test_categories_become_labels_skeletons_colours_and_groups() -> None:
    ds = labelport.load(DATA / "v1_all_types")
    car = ds.labels["car"]
    assert car.parent == "vehicle"
    assert [a.name for a in car.attributes] == ["color", "parked"]
    assert car.color == (0, 0, 230)
    hand = ds.labels["hand"].skeleton
    assert hand is not None
    assert hand.points == ["wrist", "thumb", "index"]
    assert hand.edges == [(0, 1), (0, 2)]  # joints [[1, 2], [1, 3]] are 1-based
    assert ds.taxonomies == [Taxonomy(name="movers", labels=["car", "person"])]
    assert ds.info.metadata["datumaro_group_types"] == {"movers": "exclusive"}
    assert ds.info.metadata["datumaro_attributes"] == ["occluded", "score"]
    assert ds.info.name == "street scenes"
    assert ds.info.metadata["datumaro_infos"] == {"creator": "synthetic"}


def test_cvat_track_attributes_become_track_fields() -> None:
    item = _by_id(labelport.load(DATA / "v1_all_types"))["street_02"]
    first, second = item.annotations
    assert (first.track_id, first.keyframe, first.outside) == (0, True, False)
    assert (second.track_id, second.keyframe, second.outside) == (1, True, True)
    assert first.attributes == second.attributes == {"occluded": False}


def test_legacy_files_without_a_version() -> None:
    ds = labelport.load(DATA / "legacy_classification")
    assert ds.format == "datumaro"
    items = _by_id(ds)
    assert items["pet_1"].subset == "default"
    tag, box = items["pet_1"].annotations
    assert tag.label == "dog" and tag.score == 0.9
    assert (tag.id, box.id) == (0, 0)  # ids need not be unique in Datumaro
    # legacy exports keep the images directly below images/
    assert items["pet_1"].media.path.endswith("images/pet_1.jpg")
    assert (items["pet_2"].media.width, items["pet_2"].media.height) == (5, 4)
    assert ds.info.metadata["datumaro_group_types"] == {"pets": "inclusive"}


def test_point_clouds_and_cuboids() -> None:
    ds = labelport.load(DATA / "point_clouds")
    item = _by_id(ds)["scan_0"]
    assert item.media.kind == "point_cloud"
    assert item.media.path.endswith("point_clouds/default/scan_0.pcd")
    assert item.media.related_images == ["scan_0/cam_front.jpg"]
    car, cyclist = item.annotations
    assert car.position == (1.5, -0.25, 0.8)
    assert car.dimensions == (4.2, 1.8, 1.5)  # Datumaro calls them "scale"
    assert car.rotation == (0.0, 0.0, 1.5707963)
    assert car.track_id == 1 and cyclist.attributes == {"occluded": True}


def test_cvat_skeleton_with_elements() -> None:
    ds = labelport.load(DATA / "cvat_skeleton.json")
    (kp,) = next(iter(ds)).annotations
    assert isinstance(kp, Keypoints) and kp.label == "body"
    # elements are listed in any order; points follow the skeleton's order
    assert ds.labels["body"].skeleton.points == ["head", "left foot", "right foot"]
    assert kp.points == [5.0, 2.0, 3.0, 18.5, 7.0, 18.0]
    assert kp.visibility == [2, 1, 0]
    assert (kp.track_id, kp.keyframe) == (3, True)
    assert kp.metadata["datumaro_point_attributes"] == [
        {"visible_face": True, "outside": False},
        {"outside": False},
        {"outside": True},
    ]


def test_zero_based_joints_are_recognised_and_kept(tmp_path: Path) -> None:
    doc = _doc([], labels=("pose", "p1", "p2"))
    doc["categories"]["points"] = {"items": [{"label_id": 0, "labels": ["p1", "p2"], "joints": [[0, 1]]}]}
    ds = labelport.load(_write_doc(tmp_path / "in", doc))
    assert ds.labels["pose"].skeleton.edges == [(0, 1)]
    labelport.save(ds, tmp_path / "out", "datumaro")
    written = json.loads((tmp_path / "out" / "annotations" / "default.json").read_text())
    assert written["categories"]["points"]["items"][0]["joints"] == [[0, 1]]


def test_out_of_range_label_id_reads_under_a_placeholder_and_validation_reports_it(tmp_path: Path) -> None:
    src = _write_doc(tmp_path / "in", _doc([{"id": 1, "type": "label", "label_id": 7}]))
    ds = labelport.load(src)
    (tag,) = next(iter(ds)).annotations
    assert tag.label == "label_7" and "label_7" in ds.labels
    problems = [p for p in labelport.validate(src) if p.severity == "error"]
    assert any(p.location == "items[0].annotations[0].label_id" and "outside the 2" in p.message for p in problems)


@pytest.mark.parametrize(
    ("annotation", "location"),
    [
        ({"type": "bbox", "bbox": [1, 2, 3]}, "items[0].annotations[0].bbox"),
        ({"type": "polygon", "points": [1, 2, 3]}, "items[0].annotations[0].points"),
        ({"type": "points", "points": [1, 2], "visibility": [3]}, "items[0].annotations[0].visibility"),
        ({"type": "mask", "rle": {"counts": "!!bad", "size": [2, 2]}}, "items[0].annotations[0].rle.counts"),
        ({"type": "mask", "rle": {"counts": [1, 2], "size": [2, 2]}}, "items[0].annotations[0].rle.counts"),
        # runs covering 10 of 16 pixels: pycocotools would decode the rest from uninitialised memory
        ({"type": "mask", "rle": {"counts": "0:", "size": [4, 4]}}, "items[0].annotations[0].rle.counts"),
        ({"type": "ellipse", "points": [1, "x", 2, 3]}, "items[0].annotations[0].points[1]"),
        ({"type": "wobble"}, "items[0].annotations[0].type"),
        ({"type": "skeleton", "label_id": 0, "points": [1, 2, 2]}, "items[0].annotations[0].label_id"),
    ],
)
def test_bad_annotations_raise_format_errors_with_json_paths(tmp_path: Path, annotation: dict, location: str) -> None:
    src = _write_doc(tmp_path / "in", _doc([annotation]))
    with pytest.raises(FormatError) as info:
        labelport.load(src, format="datumaro")
    assert info.value.location == location
    assert info.value.file and info.value.file.endswith("default.json")


def test_malformed_json_reports_the_line(tmp_path: Path) -> None:
    folder = tmp_path / "in" / "annotations"
    folder.mkdir(parents=True)
    (folder / "default.json").write_text('{"categories": {},\n "items": [\n  {"id": "a",, }\n]}')
    with pytest.raises(FormatError) as info:
        labelport.load(tmp_path / "in", format="datumaro")
    assert info.value.location and info.value.location.startswith("line 3")


def test_image_paths_never_leave_the_dataset(tmp_path: Path) -> None:
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"not yours")
    src = tmp_path / "ds"
    (src / "images" / "default").mkdir(parents=True)
    (src / "images" / "default" / "kept.jpg").write_bytes(b"jpeg")
    doc = _doc([])
    doc["items"] = [
        {"id": "up", "annotations": [], "image": {"path": "../../secret.jpg"}},
        # old exports wrote absolute paths: only the base name is looked up, inside the dataset
        {"id": "abs", "annotations": [], "image": {"path": "/somewhere/else/kept.jpg"}},
    ]
    ds = labelport.load(_write_doc(src, doc))
    items = _by_id(ds)
    assert items["up"].media.name == "../../secret.jpg" and items["up"].media.path is None
    assert items["abs"].media.path == str(src / "images" / "default" / "kept.jpg")
    assert ds.missing_media == ["../../secret.jpg"]
    assert [i.id for i in labelport.load(src, keep_missing_media=False)] == ["abs"]


def test_detection_prefers_versioned_files_and_leaves_coco_alone(tmp_path: Path) -> None:
    versioned = labelport.detect(DATA / "v1_all_types")[0]
    legacy = labelport.detect(DATA / "legacy_classification")[0]
    assert (versioned.format, legacy.format) == ("datumaro", "datumaro")
    assert versioned.confidence > legacy.confidence
    coco = tmp_path / "coco.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": [], "items": []}))
    assert all(d.format != "datumaro" for d in labelport.detect(coco))


# ------------------------------------------------------------------ writing


def test_written_files_follow_datumaro_conventions(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(
                id="f",
                subset="train",
                media=Image(name="f.png", width=10, height=4),
                annotations=[
                    BBox(id=3, label="b", x=1, y=2, w=3, h=4, rotation=45, score=0.5, track_id=2, keyframe=False),
                    Ellipse(label="a", cx=5, cy=2, rx=2, ry=1),
                    Points(label="a", points=[1, 2]),
                    Caption(text="hi"),
                ],
            )
        ],
        labels=[Label(name="a", color=(1, 2, 3)), Label(name="b", parent="a")],
    )
    labelport.save(ds, tmp_path / "out", "datumaro")
    doc = json.loads((tmp_path / "out" / "annotations" / "train.json").read_text())
    assert doc["dm_format_version"] == "1.0" and doc["media_type"] == 2
    assert doc["categories"]["label"]["labels"][1] == {"name": "b", "parent": "a", "attributes": []}
    assert doc["categories"]["mask"]["colormap"] == [{"label_id": 0, "r": 1, "g": 2, "b": 3}]
    item = doc["items"][0]
    assert item["image"] == {"path": "f.png", "size": [4, 10]}
    box, ellipse, points, caption = item["annotations"]
    assert box["bbox"] == [1, 2, 3, 4] and box["label_id"] == 1 and box["id"] == 3 and box["group"] == 0
    assert box["attributes"] == {"score": 0.5, "track_id": 2, "keyframe": False, "outside": False, "rotation": 45}
    assert ellipse["points"] == [3, 1, 7, 3]
    assert "visibility" not in points  # Points without visibility stay without
    assert caption["caption"] == "hi" and "label_id" not in caption


def test_cvat_video_tracks_survive_a_round_trip(tmp_path: Path) -> None:
    """What a CVAT video task holds - tracks with keyframes and outside boxes, immutable and
    mutable attributes, groups, z-order, rotated boxes, cuboids, skeletons - comes back
    unchanged from Datumaro."""
    skeleton = Skeleton(points=["nose", "tail"], edges=[(0, 1)])
    labels = [
        Label(
            name="car",
            color=(255, 0, 0),
            attributes=[
                AttributeDef(name="model", type="select", values=["sedan", "van"], default="sedan"),
                AttributeDef(name="speed", type="int", values=[0, 200, 1], default=0, mutable=True),
            ],
        ),
        Label(name="dog", skeleton=skeleton),
        Label(name="nose", parent="dog"),
        Label(name="tail", parent="dog"),
    ]

    def frame(k: int, anns: list) -> Item:
        return Item(
            id=f"frame_{k:06d}",
            subset="default",
            attributes={"frame": k},
            media=VideoFrame(video="street.mp4", frame=k, name=f"frame_{k:06d}.png", width=64, height=48),
            annotations=anns,
        )

    track = {"label": "car", "track_id": 0, "group": 2, "z_order": 1}
    items = [
        frame(
            0,
            [
                BBox(
                    **track,
                    keyframe=True,
                    x=1,
                    y=2,
                    w=10,
                    h=5,
                    rotation=12.5,
                    attributes={"model": "van", "speed": 30, "occluded": False},
                ),
                Keypoints(
                    label="dog",
                    track_id=1,
                    keyframe=True,
                    points=[5, 5, 9, 7],
                    visibility=[2, 1],
                    attributes={"occluded": True},
                ),
                Cuboid2D(label="car", z_order=3, points=[float(v) for v in range(16)]),
            ],
        ),
        frame(
            1,
            [
                BBox(
                    **track,
                    keyframe=False,
                    x=2,
                    y=2,
                    w=10,
                    h=5,
                    rotation=12.5,
                    attributes={"model": "van", "speed": 35, "occluded": True},
                )
            ],
        ),
        frame(
            2,
            [
                BBox(
                    **track,
                    keyframe=True,
                    outside=True,
                    x=3,
                    y=2,
                    w=10,
                    h=5,
                    rotation=12.5,
                    attributes={"model": "van", "speed": 35, "occluded": False},
                )
            ],
        ),
        frame(3, [Tag(label="car", attributes={"model": "sedan"})]),
    ]
    before = Dataset(items, labels=labels)
    report = labelport.save(before, tmp_path / "dm", "datumaro")
    assert report.lossless, report
    after = labelport.load(tmp_path / "dm", format="datumaro")
    assert [lb.model_dump() for lb in after.labels] == [lb.model_dump() for lb in labels]
    for a, b in zip(before, after, strict=True):
        assert (b.id, b.attributes, b.media) == (a.id, a.attributes, a.media)
        assert [x.model_dump(exclude={"metadata"}) for x in b.annotations] == [
            x.model_dump(exclude={"metadata"}) for x in a.annotations
        ]


def test_skeleton_forms_are_written_back_as_read(tmp_path: Path) -> None:
    labelport.save(labelport.load(DATA / "cvat_skeleton.json"), tmp_path / "out", "datumaro")
    doc = json.loads((tmp_path / "out" / "annotations" / "cvat_skeleton.json").read_text())
    (ann,) = doc["items"][0]["annotations"]
    assert ann["type"] == "skeleton"
    elements = {el["label_id"]: el for el in ann["elements"]}
    assert elements[1]["points"] == [5.0, 2.0] and elements[1]["attributes"] == {"visible_face": True, "outside": False}
    assert elements[3]["visibility"] == [0]


def test_losses_the_format_cannot_hold_are_reported(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(id="v", media=Volume(shape=(2, 2, 2))),
            Item(
                id="i",
                annotations=[
                    BBox(id="abc", label="a", x=0, y=0, w=1, h=1, group=0),
                    Caption(text="t", label="a"),
                    Tag(label="a", taxonomy="kinds"),
                ],
            ),
        ],
        labels=[Label(name="a", skeleton=Skeleton(points=["l", "r"], flip_pairs=[(0, 1)]))],
    )
    report = labelport.save(ds, tmp_path / "out", "datumaro")
    lost = {what for what, _action in report.losses}
    assert lost == {
        "volume media",
        "annotation ids that are not integers",
        "annotation group 0",
        "caption labels",
        "tag taxonomies",
        "skeleton flip pairs",
    }


def test_the_writer_reads_its_items_once_and_saves_media(tmp_path: Path) -> None:
    src = tmp_path / "img.jpg"
    shutil.copy(DATA / "v1_all_types" / "images" / "train" / "street_01.jpg", src)
    passes = []

    def items():
        passes.append(1)
        yield Item(id="a/b", subset="s", media=Image(name="sub/img.jpg", path=str(src)), annotations=[Tag(label="new")])

    report = labelport.save(Dataset(items), tmp_path / "out", "datumaro", save_media="copy")
    assert len(passes) == 1 and report.lossless
    assert (tmp_path / "out" / "images" / "s" / "sub" / "img.jpg").read_bytes() == src.read_bytes()
    back = labelport.load(tmp_path / "out")
    assert "new" in back.labels  # a label met only in the items is declared
    assert next(iter(back)).media.path == str(tmp_path / "out" / "images" / "s" / "sub" / "img.jpg")


def test_subsets_become_files_and_empty_datasets_still_read(tmp_path: Path) -> None:
    labelport.save(Dataset([]), tmp_path / "empty", "datumaro")
    assert labelport.load(tmp_path / "empty", format="datumaro").count() == 0
    ds = Dataset([Item(id="1", subset="a/b")])
    report = labelport.save(ds, tmp_path / "odd", "datumaro")
    assert (tmp_path / "odd" / "annotations" / "a_b.json").is_file()
    assert any(what == "subset names that are not file names" for what, _ in report.losses)
