"""CVAT-specific behaviour: coordinates, masks, attributes, skeletons, tracks, layouts, errors, losses."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.conversion import fit_items
from labelport.errors import FormatError, UnsafeInputError
from labelport.io.xml import parse_xml
from labelport.plugin import FormatInfo, Report
from labelport.schema import BBox, Dataset, Image, Item, Keypoints, Label, Mask, Polyline, Skeleton, VideoFrame
from lxml import etree

DATA = Path(__file__).parent / "data"


def by_id(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def anns(item: Item, kind: str) -> list:
    return [a for a in item.annotations if a.type == kind]


def roundtrip(ds: Dataset, tmp_path: Path, name: str = "out", **options) -> tuple[Dataset, Report]:
    report = labelport.save(ds, tmp_path / name, "cvat", **options)
    return labelport.load(tmp_path / name, format="cvat").materialize(), report


def xml(path: Path) -> etree._Element:
    return parse_xml(path)


def write_xml(tmp_path: Path, body: str, meta: str = "", name: str = "task.xml") -> Path:
    path = tmp_path / name
    head = '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n<version>1.1</version>\n'
    path.write_text(f"{head}<meta>{meta}</meta>\n{body}\n</annotations>\n")
    return path


# --------------------------------------------------------------------------- shapes


def test_box_corners_become_xywh_and_rotation_is_kept() -> None:
    item = by_id(labelport.load(DATA / "images_task"))["photo_001"]
    (box,) = anns(item, "bbox")
    assert (box.x, box.y, box.w, box.h) == (2.5, 3.25, 10.0, 6.5)
    assert box.rotation == 30.0
    assert box.z_order == 2 and box.group == 1
    assert box.metadata["cvat_source"] == "manual"


def test_ellipse_and_cuboid_keep_cvat_order() -> None:
    item = by_id(labelport.load(DATA / "images_task"))["photo_001"]
    (ell,) = anns(item, "ellipse")
    assert (ell.cx, ell.cy, ell.rx, ell.ry, ell.rotation) == (30.0, 8.0, 4.0, 2.5, 15.0)
    (cub,) = anns(item, "cuboid_2d")
    # xtl1, ytl1, xbl1, ybl1, xtr1, ytr1, xbr1, ybr1, then the back face
    assert cub.points[:8] == [20.0, 18.0, 20.0, 26.0, 28.0, 18.0, 28.0, 26.0]
    assert cub.points[8:] == [23.0, 16.0, 23.0, 24.0, 31.0, 16.0, 31.0, 24.0]


def test_mask_rle_is_row_major_inside_its_box() -> None:
    item = by_id(labelport.load(DATA / "images_task"))["sub/photo_002"]
    (mask,) = anns(item, "mask")
    arr = mask.to_array()
    assert arr.shape == (24, 32)  # the whole image
    # rle "1, 2, 1, 4, 2, 1, 1" in the 4x3 box at (5, 4), read row by row:
    # row 0: 0 1 1 0 / row 1: 1 1 1 1 / row 2: 0 0 1 0
    expected = np.zeros((24, 32), bool)
    expected[4, 6:8] = True
    expected[5, 5:9] = True
    expected[6, 7] = True
    assert (arr == expected).all()


def test_mask_written_back_with_the_same_rle(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "images_task")
    labelport.save(ds, tmp_path / "out", "cvat")
    (mask,) = xml(tmp_path / "out" / "annotations.xml").iter("mask")
    assert mask.get("rle") == "1, 2, 1, 4, 2, 1, 1"
    assert (mask.get("left"), mask.get("top"), mask.get("width"), mask.get("height")) == ("5", "4", "4", "3")


def test_mask_from_another_format_is_cropped_to_its_box(tmp_path: Path) -> None:
    arr = np.zeros((10, 12), bool)
    arr[2:4, 7:10] = True
    arr[5, 8] = True
    ds = Dataset(
        [Item(id="m", media=Image(name="m.png", width=12, height=10), annotations=[Mask.from_array(arr, label="x")])],
        labels=[Label(name="x")],
    )
    back, _ = roundtrip(ds, tmp_path)
    (el,) = xml(tmp_path / "out" / "annotations.xml").iter("mask")
    assert (el.get("left"), el.get("top"), el.get("width"), el.get("height")) == ("7", "2", "3", "4")
    assert (anns(by_id(back)["m"], "mask")[0].to_array() == arr).all()


def test_attributes_are_typed_by_their_declaration() -> None:
    ds = labelport.load(DATA / "images_task")
    (box,) = anns(by_id(ds)["photo_001"], "bbox")
    assert box.attributes == {
        "occluded": True,
        "model": "pick-up truck",
        "parked": True,
        "speed": 42,
        "paint": "blue",
        "plate": "AB 123",
    }
    specs = {a.name: a for a in ds.labels["car"].attributes}
    assert specs["parked"].type == "bool" and specs["parked"].default is False and specs["parked"].mutable
    assert specs["speed"].type == "int" and specs["speed"].values == ["0;200;1"]
    assert specs["model"].values == ["sedan", "suv", "pick-up truck"]
    assert ds.labels["car"].color == (255, 0, 0)
    project = labelport.load(DATA / "project")
    widths = [a.attributes["width_m"] for item in project for a in item.annotations if "width_m" in a.attributes]
    assert widths == [3.5, 2.0] and all(isinstance(w, float) for w in widths)


def test_label_declarations_survive_a_round_trip(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "images_task")
    labelport.save(ds, tmp_path / "out", "cvat")
    root = xml(tmp_path / "out" / "annotations.xml")
    car = next(lab for lab in root.iter("label") if lab.findtext("name") == "car")
    inputs = {a.findtext("name"): a.findtext("input_type") for a in car.iter("attribute")}
    assert inputs == {"model": "select", "parked": "checkbox", "speed": "number", "paint": "radio", "plate": "text"}
    assert car.findtext("color") == "#ff0000"
    back = labelport.load(tmp_path / "out")
    assert [a.model_dump() for a in back.labels["car"].attributes] == [
        a.model_dump() for a in ds.labels["car"].attributes
    ]
    assert back.labels["body"].skeleton == ds.labels["body"].skeleton


def test_undeclared_attributes_are_declared_when_written(tmp_path: Path) -> None:
    box = BBox(
        label="car", x=1, y=1, w=2, h=2, attributes={"n": 3, "f": 0.5, "flag": True, "note": "x", "occluded": True}
    )
    ds = Dataset(
        [Item(id="a", media=Image(name="a.jpg", width=8, height=8), annotations=[box])], labels=[Label(name="car")]
    )
    back, _ = roundtrip(ds, tmp_path)
    root = xml(tmp_path / "out" / "annotations.xml")
    declared = {
        a.findtext("name"): a.findtext("input_type") for a in root.iter("attribute") if a.find("input_type") is not None
    }
    assert declared == {"n": "number", "f": "number", "flag": "checkbox", "note": "text"}
    (el,) = root.iter("box")
    assert el.get("occluded") == "1" and "occluded" not in [a.get("name") for a in el.iter("attribute")]
    assert anns(by_id(back)["a"], "bbox")[0].attributes == box.attributes


# --------------------------------------------------------------------------- skeletons


def test_skeleton_points_follow_the_label_and_carry_visibility() -> None:
    ds = labelport.load(DATA / "images_task")
    assert ds.labels["body"].skeleton == Skeleton(points=["head", "hand", "foot"], edges=[(0, 1), (0, 2)])
    assert "head" not in ds.labels  # element labels belong to their skeleton
    (kp,) = anns(by_id(ds)["sub/photo_002"], "keypoints")
    assert kp.points == [16.0, 2.0, 20.5, 10.0, 14.0, 22.0]
    assert kp.visibility == [2, 1, 0]  # visible, occluded, outside
    assert kp.metadata["cvat_element_attributes"] == {"hand": {"raised": True}}


def test_datumaro_svg_without_spaces_between_attributes_is_understood() -> None:
    ds = labelport.load(DATA / "datumaro_layout")
    assert ds.labels["star"].skeleton == Skeleton(points=["tip", "base"], edges=[(0, 1)])


def test_keypoints_without_a_declared_skeleton_get_named_points(tmp_path: Path) -> None:
    kp = Keypoints(label="hand", points=[1, 2, 3, 4], visibility=[2, 1])
    ds = Dataset(
        [Item(id="a", media=Image(name="a.jpg", width=8, height=8), annotations=[kp])], labels=[Label(name="hand")]
    )
    back, _ = roundtrip(ds, tmp_path)
    assert back.labels["hand"].skeleton.points == ["1", "2"]
    (again,) = anns(by_id(back)["a"], "keypoints")
    assert again.points == [1, 2, 3, 4] and again.visibility == [2, 1]


def test_unknown_skeleton_point_is_a_located_error(tmp_path: Path) -> None:
    meta = (
        "<task><mode>annotation</mode><labels><label><name>s</name><type>skeleton</type></label>"
        "<label><name>a</name><parent>s</parent></label></labels></task>"
    )
    body = (
        '<image id="0" name="x.jpg" width="4" height="4">\n'
        '<skeleton label="s"><points label="zz" points="1,1"/></skeleton></image>'
    )
    with pytest.raises(FormatError) as err:
        labelport.load(write_xml(tmp_path, body, meta), format="cvat")
    assert "zz" in err.value.message and err.value.location == "line 6, <points>"


# --------------------------------------------------------------------------- tracks


def test_tracks_become_per_frame_annotations_with_keyframes_and_outside() -> None:
    items = by_id(labelport.load(DATA / "video_task.xml"))
    car = [(i, a) for i in sorted(items) for a in anns(items[i], "bbox")]
    assert [i for i, _ in car] == ["frame_000000", "frame_000001", "frame_000002", "frame_000003"]
    assert {a.track_id for _, a in car} == {0}
    assert [a.keyframe for _, a in car] == [True, False, True, True]
    assert [a.outside for _, a in car] == [False, False, False, True]
    assert [a.attributes.get("parked") for _, a in car] == [False, False, True, True]
    assert car[2][1].attributes["occluded"] is True
    media = items["frame_000002"].media
    assert isinstance(media, VideoFrame) and (media.video, media.frame, media.width, media.height) == (
        "crossing.mp4",
        2,
        64,
        48,
    )
    zone = anns(items["frame_000004"], "polygon")[0]
    assert zone.group == 3 and zone.metadata["cvat_source"] == "auto"


def test_skeleton_track_elements_keep_their_own_keyframes(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "video_task.xml").materialize()
    walker = anns(by_id(ds)["frame_000002"], "keypoints")[0]
    assert walker.visibility == [1, 0] and walker.metadata["cvat_element_keyframes"] == [False, True]
    assert anns(by_id(ds)["frame_000004"], "keypoints")[0].outside  # every point outside: the skeleton is
    labelport.save(ds, tmp_path / "out", "cvat")
    skeletons = list(xml(tmp_path / "out" / "annotations.xml").iter("skeleton"))
    frame2 = next(s for s in skeletons if s.get("frame") == "2")
    assert [(p.get("label"), p.get("keyframe"), p.get("outside"), p.get("occluded")) for p in frame2] == [
        ("top", "0", "0", "1"),
        ("bottom", "1", "1", "0"),
    ]


def test_datumaro_nested_point_tracks_fill_the_skeleton() -> None:
    items = by_id(labelport.load(DATA / "video_folder"))
    kp4 = anns(items["frame_000004"], "keypoints")[0]
    kp6 = anns(items["frame_000006"], "keypoints")[0]
    assert kp4.points == [1.0, 1.0, 9.0, 9.0] and kp4.visibility == [2, 2]
    assert kp6.points == [2.0, 2.0, 10.0, 10.0] and kp6.visibility == [1, 0]
    assert kp4.track_id == kp6.track_id == 6


def test_video_frames_match_images_by_name_and_number(tmp_path: Path) -> None:
    items = by_id(labelport.load(DATA / "video_folder"))
    # frame 8 has no annotation but is in images/: it is an item; frames step by 2 from 4
    assert sorted(items) == ["frame_000004", "frame_000006", "frame_000008"]
    assert all(Path(i.media.path).name == f"{i.id}.png" for i in items.values())
    assert anns(items["frame_000006"], "label")[0].label == "scene"
    # a frame file named by its bare number
    folder = tmp_path / "numbers"
    (folder / "images").mkdir(parents=True)
    shutil.copy(DATA / "video_folder" / "images" / "frame_000004.png", folder / "images" / "4.png")
    meta = "<task><mode>interpolation</mode><labels><label><name>b</name></label></labels></task>"
    write_xml(
        folder,
        '<track id="0" label="b"><points frame="4" keyframe="1" outside="0" points="1,1"/></track>',
        meta,
        "annotations.xml",
    )
    (item,) = labelport.load(folder, format="cvat")
    assert item.id == "frame_000004" and Path(item.media.path).name == "4.png"
    assert (item.media.width, item.media.height) == (24, 16)  # from the image header


def test_video_round_trip_keeps_frame_step_and_empty_frames(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "video_folder").materialize()
    back, report = roundtrip(ds, tmp_path)
    assert report.lossless
    assert sorted(by_id(back)) == sorted(by_id(ds))
    task = xml(tmp_path / "out" / "annotations.xml").find("meta/task")
    assert (
        task.findtext("start_frame"),
        task.findtext("stop_frame"),
        task.findtext("frame_filter"),
        task.findtext("size"),
    ) == ("4", "8", "step=2", "3")


def test_plain_shapes_in_a_video_become_one_frame_tracks(tmp_path: Path) -> None:
    frames = [Item(id=f"f{i}", media=VideoFrame(video="v.mp4", frame=i, width=10, height=10)) for i in range(4)]
    frames[0].annotations.append(BBox(label="a", x=0, y=0, w=2, h=2, track_id=7, keyframe=True))
    frames[1].annotations.append(BBox(label="a", x=1, y=0, w=2, h=2, track_id=7, keyframe=True, outside=True))
    frames[2].annotations.append(Polyline(label="a", points=[0, 0, 3, 3]))  # no track
    frames[3].annotations.append(Polyline(label="a", points=[1, 1, 3, 3]))  # no track, last frame
    ds = Dataset(frames, labels=[Label(name="a")])
    back, report = roundtrip(ds, tmp_path)
    tracks = xml(tmp_path / "out" / "annotations.xml").findall("track")
    polyline_tracks = [
        [(s.get("frame"), s.get("keyframe"), s.get("outside")) for s in t] for t in tracks if t[0].tag == "polyline"
    ]
    # as CVAT exports a shape: a keyframe, then an outside keyframe on the next frame if there is one
    assert polyline_tracks == [[("2", "1", "0"), ("3", "1", "1")], [("3", "1", "0")]]
    assert len({t.get("id") for t in tracks}) == 3
    assert any("one-frame tracks" in n for n in report.notes)
    lines = [a for item in back for a in anns(item, "polyline")]
    assert sum(a.outside for a in lines) == 1 and all(a.track_id is not None for a in lines)


def test_tracks_without_keyframes_are_closed_after_each_run(tmp_path: Path) -> None:
    # per-frame tracks (as MOT gives them): frames 0-2 and 5, then nothing up to frame 7
    frames = [Item(id=f"{i:06d}", media=VideoFrame(video="v", frame=i, width=9, height=9)) for i in range(8)]
    for i in (0, 1, 2, 5):
        frames[i].annotations.append(BBox(label="p", x=i, y=0, w=1, h=1, track_id=1))
    ds = Dataset(frames, labels=[Label(name="p")])
    labelport.save(ds, tmp_path / "out", "cvat")
    (track,) = xml(tmp_path / "out" / "annotations.xml").findall("track")
    assert [(s.get("frame"), s.get("keyframe"), s.get("outside")) for s in track] == [
        ("0", "1", "0"),
        ("1", "1", "0"),
        ("2", "1", "0"),
        ("3", "1", "1"),
        ("5", "1", "0"),
        ("6", "1", "1"),
    ]


def test_a_track_with_two_labels_is_split_and_reported(tmp_path: Path) -> None:
    frames = [Item(id=f"f{i}", media=VideoFrame(video="v", frame=i)) for i in range(2)]
    frames[0].annotations.append(BBox(label="a", x=0, y=0, w=1, h=1, track_id=3, keyframe=True))
    frames[1].annotations.append(BBox(label="b", x=0, y=0, w=1, h=1, track_id=3, keyframe=True))
    report = labelport.save(Dataset(frames, labels=[Label(name="a"), Label(name="b")]), tmp_path / "out", "cvat")
    tracks = xml(tmp_path / "out" / "annotations.xml").findall("track")
    assert sorted(t.get("label") for t in tracks) == ["a", "b"] and len({t.get("id") for t in tracks}) == 2
    assert any(what == "track ids" and "split" in action for (what, action) in report.losses)


def test_forcing_cvat_for_images_counts_the_lost_tracks(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "video_task.xml").materialize()
    n_tracked = sum(1 for item in ds for a in item.annotations if a.track_id is not None)
    n_outside = sum(1 for item in ds for a in item.annotations if a.outside)
    report = labelport.save(ds, tmp_path / "out", "cvat", video=False)
    assert report.losses[("track ids", "dropped (CVAT for images has no tracks)")] == n_tracked
    assert report.losses[("outside shapes", "dropped (only tracks hold them)")] == n_outside
    root = xml(tmp_path / "out" / "annotations.xml")
    assert root.find("track") is None and root.findtext("meta/task/mode") == "interpolation"


def test_forcing_cvat_for_video_writes_every_shape_as_a_track(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "images_task").materialize()
    back, _ = roundtrip(ds, tmp_path, video=True)
    root = xml(tmp_path / "out" / "annotations.xml")
    assert root.findtext("meta/task/mode") == "interpolation"
    shapes = sum(1 for item in ds for a in item.annotations if a.type != "label")
    assert len(root.findall("track")) == shapes
    # tags stay in an <image>, and so does the frame without annotations
    assert [(i.get("name"), [t.get("label") for t in i]) for i in root.findall("image")] == [
        ("photo_001.png", ["weather"]),
        ("photo_003.jpg", []),
    ]
    assert all(a.track_id is not None for item in back for a in item.annotations if a.type != "label")


# --------------------------------------------------------------------------- layouts


def test_subsets_from_project_tasks_and_datumaro_file_names(tmp_path: Path) -> None:
    project = labelport.load(DATA / "project")
    assert {(i.subset, i.id, i.metadata["cvat_task_id"]) for i in project} == {
        ("Train", "a", 11),
        ("Validation", "b", 12),
    }
    assert all(Path(i.media.path).parent.name == i.subset for i in project)
    (item,) = labelport.load(DATA / "datumaro_layout")
    assert item.subset == "train" and (item.media.width, item.media.height) == (8, 8)
    back, _ = roundtrip(project, tmp_path)
    root = xml(tmp_path / "out" / "annotations.xml")
    assert root.findtext("meta/project/subsets").split("\n") == ["Train", "Validation"]
    assert [(i.get("subset"), i.get("task_id")) for i in root.iter("image")] == [("Train", "11"), ("Validation", "12")]
    assert {(i.subset, i.id) for i in back} == {("Train", "a"), ("Validation", "b")}


def test_single_subset_is_kept_in_the_task_meta(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "datumaro_layout")
    back, _ = roundtrip(ds, tmp_path)
    assert xml(tmp_path / "out" / "annotations.xml").findtext("meta/task/subset") == "train"
    assert [i.subset for i in back] == ["train"]


def test_unlabelled_shapes_keep_an_empty_label(tmp_path: Path) -> None:
    (item,) = labelport.load(DATA / "datumaro_layout")
    (line,) = anns(item, "polyline")
    assert line.label is None
    back, _ = roundtrip(labelport.load(DATA / "datumaro_layout"), tmp_path)
    assert anns(next(iter(back)), "polyline")[0].label is None


def test_zip_with_images_is_read_and_written(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "images_task")
    labelport.save(ds, tmp_path / "task.zip", "cvat", save_media="copy")
    back = labelport.load(tmp_path / "task.zip")
    assert back.format == "cvat"
    items = by_id(back)
    assert Path(items["sub/photo_002"].media.path).name == "photo_002.jpg"
    assert items["photo_003"].media.path is None  # listed, file absent: kept
    assert len(anns(items["photo_001"], "label")) == 1


def test_single_xml_target(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "datumaro_layout")
    labelport.save(ds, tmp_path / "out.xml", "cvat")
    assert etree.QName(xml(tmp_path / "out.xml")).localname == "annotations"
    assert labelport.detect(tmp_path / "out.xml")[0].format == "cvat"


def test_frame_numbers_are_recovered_from_frame_names(tmp_path: Path) -> None:
    # video frames that went through a format without frame numbers (Image media named frame_...)
    items = [Item(id=f"frame_{f:06d}", media=Image(name=f"frame_{f:06d}.png", width=5, height=5)) for f in (3, 6)]
    items[0].annotations.append(BBox(label="a", x=0, y=0, w=1, h=1, track_id=0, keyframe=True))
    items[1].annotations.append(BBox(label="a", x=1, y=0, w=1, h=1, track_id=0, keyframe=True))
    labelport.save(Dataset(items, labels=[Label(name="a")]), tmp_path / "out", "cvat")
    root = xml(tmp_path / "out" / "annotations.xml")
    assert [b.get("frame") for b in root.iter("box")] == ["3", "6"]
    assert root.findtext("meta/task/frame_filter") == "step=3"


# --------------------------------------------------------------------------- errors and safety


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('<image id="0" name="a.jpg"><box label="x" xtl="1" ytl="nan" xbr="2" ybr="2"/></image>', "finite"),
        ('<image id="0" name="a.jpg"><box label="x" xtl="1" ytl="1" xbr="2"/></image>', "ybr"),
        ('<image id="0" name="a.jpg"><polygon label="x" points="1,2;3"/></image>', "x,y pair"),
        (
            '<image id="0" name="a.jpg" width="4" height="4">'
            '<mask label="x" rle="1, 2" left="0" top="0" width="2" height="2"/></image>',
            "covers 3 pixels",
        ),
        ('<image id="zero" name="a.jpg"/>', "not an integer"),
        ('<image id="0" name="a.jpg" width="-3" height="4"/>', "positive"),
        ('<track id="0" label="x"><box frame="0" keyframe="2" xtl="1" ytl="1" xbr="2" ybr="2"/></track>', "keyframe"),
        ('<image id="0" name="a.jpg"/><image id="0" name="b.jpg"/>', "twice"),
    ],
)
def test_bad_input_raises_a_located_format_error(tmp_path: Path, body: str, words: str) -> None:
    path = write_xml(tmp_path, body, "<task><mode>annotation</mode></task>")
    with pytest.raises(FormatError) as err:
        labelport.load(path, format="cvat").materialize()
    assert words in err.value.message
    assert err.value.file == str(path) and err.value.location.startswith("line ")


def test_entities_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><annotations><version>1.1</version>'
        '<image id="0" name="&x;"/></annotations>'
    )
    with pytest.raises(UnsafeInputError):
        labelport.load(path, format="cvat")


def test_image_names_never_leave_the_dataset(tmp_path: Path) -> None:
    (tmp_path / "secret.png").write_bytes((DATA / "project" / "images" / "Train" / "a.png").read_bytes())
    folder = tmp_path / "ds"
    folder.mkdir()
    write_xml(
        folder,
        '<image id="0" name="../secret.png" width="4" height="4"/>',
        "<task><mode>annotation</mode></task>",
        "annotations.xml",
    )
    (item,) = labelport.load(folder, format="cvat")
    assert item.media.path is None


def test_validate_reports_cvat_specific_problems(tmp_path: Path) -> None:
    meta = (
        "<task><mode>annotation</mode><labels><label><name>car</name><attributes><attribute><name>kind</name>"
        "<input_type>select</input_type><values>a\nb</values></attribute></attributes></label></labels></task>"
    )
    body = (
        '<image id="0" name="a.jpg" width="9" height="9"><box label="car" xtl="1" ytl="1" xbr="2" ybr="2">'
        '<attribute name="kind">c</attribute><attribute name="speed">3</attribute></box></image>\n'
        '<track id="0" label="car"><box frame="1" keyframe="1" xtl="1" ytl="1" xbr="2" ybr="2"/>'
        '<box frame="1" keyframe="1" xtl="1" ytl="1" xbr="2" ybr="2"/></track>'
    )
    problems = labelport.validate(write_xml(tmp_path, body, meta), format="cvat")
    messages = {(p.severity, p.message) for p in problems}
    assert ("warning", "attribute 'kind': 'c' is not one of ['a', 'b']") in messages
    assert ("warning", "attribute 'speed' is not declared for label 'car'") in messages
    assert ("error", "track 0 has two shapes on frame 1") in messages
    assert all(
        p.location and p.location.startswith("line ")
        for p in problems
        if "track" in p.message or "attribute" in p.message
    )


# --------------------------------------------------------------------------- detection


def test_detection_prefers_content(tmp_path: Path) -> None:
    voc = tmp_path / "voc.xml"
    voc.write_text("<annotation><filename>a.jpg</filename><object><name>x</name></object></annotation>")
    assert not [d for d in labelport.detect(voc) if d.format == "cvat"]
    bare = tmp_path / "bare.xml"
    bare.write_text(
        '<annotations><image id="0" name="a.jpg"><box label="x" xtl="0" ytl="0" xbr="1" ybr="1"/></image></annotations>'
    )
    (found,) = [d for d in labelport.detect(bare) if d.format == "cvat"]
    assert 0.5 <= found.confidence < 0.9
    assert labelport.detect(DATA / "video_task.xml")[0].confidence >= 0.9


# --------------------------------------------------------------------------- losses into other formats


def test_converting_to_a_box_only_format_counts_every_loss() -> None:
    boxes_only = FormatInfo(name="boxes", title="boxes", annotation_types=frozenset({"bbox"}), features=frozenset())
    for sample in ("images_task", "video_task.xml"):
        ds = labelport.load(DATA / sample).materialize()
        report = Report("boxes")
        list(fit_items(ds, boxes_only, report))
        inside = [a for item in ds for a in item.annotations if not a.outside]
        outside = sum(1 for item in ds for a in item.annotations if a.outside)
        assert report.losses[("track frames where the object is outside", "dropped")] == outside
        kinds = [a.type for a in inside]
        dropped = ("polyline", "points", "label")
        boxed = [a for a in inside if a.type == "keypoints" and any(a.visibility)]
        kept = [a for a in inside if a.type not in dropped and (a.type != "keypoints" or any(a.visibility))]
        for kind in dropped:
            assert report.losses[(kind, "dropped (the format cannot hold it)")] == kinds.count(kind)
        assert report.losses[("keypoints", "reduced to the box of its visible points")] == len(boxed)
        assert report.losses[("keypoints", "dropped (the format cannot hold it)")] == kinds.count("keypoints") - len(boxed)
        assert report.losses[("polygon", "reduced to its box")] == kinds.count("polygon")
        assert report.losses[("track ids", "dropped")] == sum(1 for a in kept if a.track_id is not None)
        assert report.losses[("z-order", "dropped")] == sum(1 for a in kept if a.z_order)
        assert report.losses[("annotation attributes", "dropped")] == sum(1 for a in kept if a.attributes)


# --------------------------------------------------------------------------- CVAT -> Datumaro -> CVAT


def test_cross_cvat_video_survives_datumaro_and_back(tmp_path: Path) -> None:
    if "datumaro" not in {f.name for f in labelport.formats()}:
        pytest.skip("labelport-datumaro is not installed")
    src = labelport.load(DATA / "video_task.xml").materialize()
    labelport.save(src, tmp_path / "dm", "datumaro")
    labelport.convert(tmp_path / "dm", tmp_path / "cvat", "cvat", from_="datumaro")
    back = labelport.load(tmp_path / "cvat", format="cvat").materialize()

    def facts(ds: Dataset) -> list:
        out = []
        for item in ds:
            for a in item.annotations:
                geometry = {k: v for k, v in a.geometry().items() if k != "rle"}
                if a.type == "mask":
                    geometry = {"pixels": int(a.to_array().sum())}
                out.append(
                    (
                        item.media.frame,
                        a.type,
                        a.label,
                        a.track_id,
                        a.keyframe,
                        a.outside,
                        a.group,
                        a.z_order,
                        sorted(a.attributes.items()),
                        repr(sorted(geometry.items())),
                    )
                )
        return sorted(out, key=repr)

    assert facts(back) == facts(src)
    # and the XML written from the round-tripped dataset is the one written from the source
    labelport.save(src, tmp_path / "direct", "cvat")

    def tracks(folder: Path) -> list:
        # every track with its label and group, every shape with frame, keyframe, outside,
        # occluded, z-order, geometry and attributes (CVAT bookkeeping such as ``source`` aside)
        out = []
        for t in xml(folder / "annotations.xml").iter("track"):
            shapes = [
                (
                    s.tag,
                    sorted((k, v) for k, v in s.attrib.items() if k != "source"),
                    [(a.get("name"), a.text) for a in s.findall("attribute")],
                )
                for s in t
            ]
            out.append((t.get("id"), t.get("label"), t.get("group_id"), shapes))
        return out

    assert tracks(tmp_path / "cvat") == tracks(tmp_path / "direct")
