"""MOT-specific behaviour: 1-based frames, ids and boxes, the column layouts of MOT15 and
MOT16+, classes, located errors and what the writer keeps and reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.schema import BBox, Dataset, Image, Item, Label, VideoFrame

DATA = Path(__file__).parent / "data_mot"


def _sequence(
    tmp_path: Path, rows: str, labels: str | None = None, seqinfo: str | None = None, det: bool = False
) -> Path:
    seq = tmp_path / "seq"
    folder = seq / ("det" if det else "gt")
    folder.mkdir(parents=True)
    (folder / ("det.txt" if det else "gt.txt")).write_text(rows)
    if labels is not None:
        (folder / "labels.txt").write_text(labels)
    if seqinfo is not None:
        (seq / "seqinfo.ini").write_text(seqinfo)
    return seq


def _items(path: Path, **options: object) -> dict[str, Item]:
    return {item.id: item for item in labelport.load(path, format="mot", **options)}


# ------------------------------------------------------------------ reading


def test_frames_ids_and_boxes_are_one_based(tmp_path: Path) -> None:
    items = _items(_sequence(tmp_path, "3,7,11.5,21.25,30,40,1,1,0.5\n"))
    assert sorted(items) == ["000003"]
    item = items["000003"]
    assert isinstance(item.media, VideoFrame) and item.media.frame == 2  # canonical frames count from 0
    (box,) = item.annotations
    assert (box.x, box.y, box.w, box.h) == (10.5, 20.25, 30.0, 40.0)  # pixel 1 is the first column
    assert box.track_id == 6


def test_box_origin_zero_reads_tools_that_write_zero_based_boxes(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, "1,1,11.5,21.25,30,40,1,1,1\n")
    items = _items(seq, box_origin=0)
    (box,) = items["000001"].annotations
    assert (box.x, box.y) == (11.5, 21.25)
    assert not labelport.load(seq, box_origin=0).notes
    assert "box_origin=0" in labelport.load(seq).notes[0]  # the default is told, not hidden


def test_frames_without_images_are_listed_as_missing(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, "1,1,1,1,5,5,1,1,1\n2,1,1,1,5,5,1,1,1\n")
    (seq / "img1").mkdir()
    shutil.copy(DATA / "cvat_mot11" / "img1" / "000002.jpg", seq / "img1" / "000002.jpg")
    assert labelport.load(seq).missing_media == ["000001.jpg"]
    assert [i.id for i in labelport.load(seq, keep_missing_media=False)] == ["000002"]


def test_mot16_columns_flag_class_and_visibility() -> None:
    ds = labelport.load(DATA / "mot17_sequence")
    assert ds.labels.names()[:2] == ["pedestrian", "person on vehicle"] and len(ds.labels) == 12
    items = {i.id: i for i in ds}
    assert sorted(items) == ["000001", "000002", "000003", "000004"]  # seqLength=4, frame 4 has no boxes
    first = items["000001"].annotations
    assert first[0].attributes == {"ignored": False, "visibility": 1.0, "occluded": False}
    assert first[2].label == "distractor" and first[2].attributes["ignored"] is True  # flag 0
    assert items["000002"].annotations[1].attributes["occluded"] is True  # visibility 0
    assert items["000003"].annotations[0].label == "static person"  # class 7
    media = items["000004"].media
    assert (media.video, media.width, media.height) == ("SYN-01", 32, 24)
    assert media.path and media.path.endswith("img1/000004.jpg")


def test_occlusion_threshold(tmp_path: Path) -> None:
    items = _items(_sequence(tmp_path, "1,1,1,1,5,5,1,1,0.25\n"), occlusion_threshold=0.3)
    assert items["000001"].annotations[0].attributes["occluded"] is True


def test_mot15_ten_columns_keep_world_coordinates() -> None:
    items = {i.id: i for i in labelport.load(DATA / "mot15_sequence")}
    assert sorted(items) == ["000001", "000002", "000003"]
    a, b = items["000001"].annotations
    assert a.label is None and a.attributes == {"ignored": False}  # no class column in MOT15
    assert (b.x, b.y) == (199.5, 59.0)
    (c,) = items["000003"].annotations
    assert c.metadata["mot_world"] == [12.5, 3.25, 0.0]
    assert "mot_world" not in a.metadata  # -1 means unused


def test_labels_file_classes_and_missing_track_ids() -> None:
    ds = labelport.load(DATA / "cvat_mot11")
    assert ds.labels.names() == ["car", "truck", "bus"]
    items = {i.id: i for i in ds}
    no_track = items["000002"].annotations[1]
    assert no_track.label == "bus" and no_track.track_id is None  # id -1
    assert items["000001"].media.width == 40  # from the frame on disk


def test_detection_files_carry_scores() -> None:
    items = {i.id: i for i in labelport.load(DATA / "detections")}
    scores = [a.score for a in items["000001"].annotations]
    assert scores == [0.98, -0.35]  # DPM scores may be negative
    assert items["000001"].annotations[0].attributes == {}


def test_a_folder_of_sequences_prefixes_item_ids() -> None:
    ds = labelport.load(DATA / "benchmark_split")
    assert [i.id for i in ds] == [
        "train/SYN-02/000001",
        "train/SYN-02/000002",
        "train/SYN-05/000001",
        "train/SYN-05/000002",
        "train/SYN-05/000003",
    ]
    assert {i.media.video for i in ds} == {"SYN-02", "SYN-05"}


def test_a_bare_result_file() -> None:
    assert labelport.detect(DATA / "tracker_output.txt")[0].format == "mot"
    items = {i.id: i for i in labelport.load(DATA / "tracker_output.txt")}
    assert [a.track_id for a in items["000001"].annotations] == [2, 5]


@pytest.mark.parametrize(
    ("rows", "location", "message"),
    [
        ("1,1,1,1,5,5,1,1,1\n1,1,1,1,5\n", "line 2", "6 to 10"),
        ("1,1,1,1,5,5,1,1,1\n\n2,1,x,1,5,5,1,1,1\n", "line 3", "bb_left"),
        ("0,1,1,1,5,5,1,1,1\n", "line 1", "run from 1"),
        ("1.5,1,1,1,5,5,1,1,1\n", "line 1", "whole number"),
        ("1,1,1,1,nan,5,1,1,1\n", "line 1", "not finite"),
    ],
)
def test_bad_rows_raise_located_format_errors(tmp_path: Path, rows: str, location: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        labelport.load(_sequence(tmp_path, rows), format="mot")
    assert info.value.location == location and message in info.value.message
    assert info.value.file and info.value.file.endswith("gt.txt")


def test_an_implausible_sequence_length_is_refused_before_making_items(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, "1,1,1,1,5,5,1,1,1\n", seqinfo="[Sequence]\nname=x\nseqLength=999999999999\n")
    with pytest.raises(FormatError) as info:
        labelport.load(seq, format="mot")
    assert info.value.location == "line 3" and info.value.file.endswith("seqinfo.ini")


def test_undecodable_text_is_a_format_error(tmp_path: Path) -> None:
    seq = _sequence(tmp_path, "")
    (seq / "gt" / "gt.txt").write_bytes(b"1,1,1,1,5,5,1,1,1\n\xff\xfe\n")
    with pytest.raises(FormatError, match="UTF-8"):
        labelport.load(seq, format="mot")


def test_validation_finds_what_only_mot_knows(tmp_path: Path) -> None:
    seq = _sequence(
        tmp_path,
        "1,1,1,1,5,5,1,1,1\n1,1,2,2,5,5,1,1,1.5\n5,2,1,1,5,5,1,4,1\n",
        labels="car\ntruck\n",
        seqinfo="[Sequence]\nname=x\nseqLength=3\n",
    )
    problems = {(p.severity, p.location, p.message) for p in labelport.validate(seq, format="mot")}
    assert ("error", "line 2", "id 1 appears twice in frame 1") in problems
    assert ("warning", "line 2", "visibility 1.5 is outside 0..1") in problems
    assert ("warning", "line 3", "frame 5 is past seqLength 3") in problems
    assert ("error", "line 3", "class 4 is past the 2 labels") in problems


def test_detection_leaves_space_separated_text_alone(tmp_path: Path) -> None:
    kitti = tmp_path / "kitti.txt"
    kitti.write_text("Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59\n")
    yolo = tmp_path / "yolo.txt"
    yolo.write_text("0 0.5 0.5 0.2 0.3\n")
    odd = tmp_path / "odd.txt"
    odd.write_text("inf,1,1,1,5,5\nnan,1,1,1,5,5\n")  # detection must not trip over non-finite numbers
    for path in (kitti, yolo, odd):
        assert all(d.format != "mot" for d in labelport.detect(path))


# ------------------------------------------------------------------ writing


def test_reading_and_writing_reproduces_the_ground_truth(tmp_path: Path) -> None:
    src = DATA / "mot17_sequence"
    report = labelport.save(labelport.load(src), tmp_path / "out", "mot")
    assert report.lossless, report
    assert (tmp_path / "out" / "gt" / "gt.txt").read_text() == (src / "gt" / "gt.txt").read_text()
    assert (tmp_path / "out" / "seqinfo.ini").read_text() == (src / "seqinfo.ini").read_text()


def test_canonical_tracks_and_frames_are_written_one_based(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(
                id="frame_a",
                media=VideoFrame(video="v", frame=0, width=20, height=10),
                annotations=[
                    BBox(label="car", x=0, y=0.5, w=4, h=2, track_id=0, attributes={"occluded": True}),
                ],
            )
        ],
        labels=[Label(name="car")],
    )
    report = labelport.save(ds, tmp_path / "out", "mot")
    assert (tmp_path / "out" / "gt" / "gt.txt").read_text() == "1,1,1,1.5,4,2,1,1,0\n"
    assert (tmp_path / "out" / "gt" / "labels.txt").read_text() == "car\n"
    assert "imWidth=20\nimHeight=10" in (tmp_path / "out" / "seqinfo.ini").read_text()
    assert set(report.losses) == {("item names", "replaced by frame numbers (MOT items are frames)")}
    (back,) = labelport.load(tmp_path / "out", format="mot")
    assert back.annotations[0].track_id == 0 and back.annotations[0].attributes["occluded"] is True


def test_what_mot_cannot_hold_is_reported(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(
                id="000001",
                media=Image(width=10, height=10),
                annotations=[
                    BBox(
                        label="a",
                        x=1,
                        y=1,
                        w=2,
                        h=2,
                        track_id=0,
                        keyframe=True,
                        attributes={"color": "red", "visibility": 0.5},
                    ),
                    BBox(label="a", x=1, y=1, w=2, h=2, track_id=0, keyframe=True, outside=True),
                    BBox(label="a", x=1, y=1, w=2, h=2, score=0.3, track_id=-4),
                ],
            ),
            Item(id="000002", media=Image(width=12, height=10)),
        ],
        labels=[Label(name="a")],
    )
    report = labelport.save(ds, tmp_path / "out", "mot")
    assert dict(report.losses) == {
        ("annotation attributes", "dropped (MOT keeps visibility, occluded and ignored only)"): 1,
        ("keyframe flags", "dropped"): 1,
        ("track frames where the object is outside", "dropped"): 1,
        ("negative track ids", "dropped"): 1,
        ("scores", "dropped"): 1,
    }
    rows = (tmp_path / "out" / "gt" / "gt.txt").read_text().splitlines()
    assert rows == ["1,1,2,2,2,2,1,1,0.5", "1,-1,2,2,2,2,1,1,1"]
    seqinfo = (tmp_path / "out" / "seqinfo.ini").read_text()
    assert "seqLength=2" in seqinfo and "imWidth" not in seqinfo  # one size per sequence only


def test_sequences_keep_their_folders_and_frames(tmp_path: Path) -> None:
    before = labelport.load(DATA / "benchmark_split")
    labelport.save(before, tmp_path / "out", "mot")
    assert (tmp_path / "out" / "train" / "SYN-05" / "gt" / "gt.txt").is_file()
    after = labelport.load(tmp_path / "out", format="mot")
    assert [i.id for i in after] == [i.id for i in before]
    assert [i.media for i in after] == [i.media for i in before]


def test_videos_of_other_formats_become_sequences(tmp_path: Path) -> None:
    ds = Dataset(
        [
            Item(id=f"{v}_{k}", media=VideoFrame(video=v, frame=k), annotations=[BBox(x=k, y=0, w=1, h=1)])
            for v in ("cam one", "cam two")
            for k in (0, 1)
        ]
    )
    labelport.save(ds, tmp_path / "out", "mot")
    after = labelport.load(tmp_path / "out", format="mot")
    assert [i.id for i in after] == ["000001", "000002", "cam_two/000001", "cam_two/000002"]
    assert [(i.media.video, i.media.frame) for i in after] == [
        ("cam one", 0),
        ("cam one", 1),
        ("cam two", 0),
        ("cam two", 1),
    ]


def test_media_are_saved_as_numbered_frames(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "cvat_mot11")
    labelport.save(ds, tmp_path / "out", "mot", save_media="copy")
    assert sorted(p.name for p in (tmp_path / "out" / "img1").iterdir()) == ["000001.jpg", "000002.jpg"]
