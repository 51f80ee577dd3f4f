"""Datature skeleton behaviour: connections by name and by index, chirality by categories and by
keypoint names, the skeletons round-tripping as COCO keypoint categories would give them,
errors with JSON paths, validation and reported losses."""

from __future__ import annotations

import json
from pathlib import Path

import labelport
import pytest
from labelport.errors import FormatError
from labelport.plugin import Probe
from labelport.schema import Dataset, Info, Item, Keypoints, Label, Skeleton
from labelport_datature_skeleton import labelport_detect

DATA = Path(__file__).parent / "data"


def load(path: Path) -> Dataset:
    return labelport.load(path, format="datature_skeleton")


def skeletons(ds: Dataset) -> dict[str, Skeleton]:
    return {lb.name: lb.skeleton for lb in ds.labels}


def write_json(path: Path, doc) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def skeleton_doc(**skeleton) -> dict:
    base = {"name": "s", "keypoints": [{"name": "a"}, {"name": "b"}], "connections": [{"pair": ["a", "b"]}]}
    return {"skeletons": [{**base, **skeleton}]}


# --------------------------------------------------------------------------- reading


def test_connections_by_name_and_by_index_become_zero_based_edges() -> None:
    sk = skeletons(load(DATA / "human_pose.json"))
    assert sk["person"].edges == [(0, 1), (0, 2), (3, 4), (3, 5), (4, 6)]
    assert sk["hand"].edges == [(0, 1), (0, 2)]  # written as indices [0, 1], [0, 2]
    assert skeletons(load(DATA / "export"))["bird"].edges == [(0, 3), (1, 3), (2, 3)]  # names and indices mixed


def test_chirality_by_categories_pairs_keypoints_by_name() -> None:
    person = skeletons(load(DATA / "human_pose.json"))["person"]
    assert sorted(person.flip_pairs) == [(1, 2), (3, 4), (5, 6)]  # left_x <-> right_x, nose has none


def test_chirality_by_keypoint_names() -> None:
    assert skeletons(load(DATA / "export"))["bird"].flip_pairs == [(1, 2)]


def test_chirality_categories_swap_words_keeping_their_case(tmp_path: Path) -> None:
    doc = {
        "chirality": {"left": "right"},
        "skeletons": [{"name": "face", "keypoints": [
            {"name": "LeftEye", "category": ["left"]}, {"name": "RightEye", "category": ["right"]},
            {"name": "left ear", "category": ["left"]},
        ], "connections": []}],
    }
    ds = load(write_json(tmp_path / "s.json", doc))
    assert skeletons(ds)["face"].flip_pairs == [(0, 1)]
    found = labelport.validate(tmp_path / "s.json", format="datature_skeleton")
    assert [p.message for p in found] == ["face: keypoint 'left ear' (left) has no right counterpart named 'right ear'"]


def test_info_licences_cameras_and_ids_are_kept() -> None:
    ds = load(DATA / "human_pose.json")
    assert (ds.info.name, ds.info.version) == ("gym", "1.2") and ds.info.licenses[0]["name"] == "CC BY 4.0"
    assert [c["id"] for c in ds.info.metadata["datature"]["cameras"]] == ["front", "side"]
    person = next(lb for lb in ds.labels if lb.name == "person")
    assert person.metadata["datature"]["skeleton_id"] == "sk-person-01"
    assert person.metadata["datature"]["keypoint_ids"][1] == "kp-1"
    assert list(ds) == []


def test_a_bare_list_or_a_single_skeleton_reads_too(tmp_path: Path) -> None:
    one = skeleton_doc()["skeletons"][0]
    assert skeletons(load(write_json(tmp_path / "list.json", [one])))["s"].edges == [(0, 1)]
    assert skeletons(load(write_json(tmp_path / "one.json", one)))["s"].points == ["a", "b"]


def test_only_skeleton_files_are_detected(tmp_path: Path) -> None:
    coco = write_json(tmp_path / "coco.json", {"images": [], "annotations": [], "categories": [
        {"id": 1, "name": "person", "keypoints": ["a", "b"], "skeleton": [[1, 2]]}]})
    other = write_json(tmp_path / "other.json", {"skeletons": [{"bones": 3}]})
    assert labelport_detect(probe=Probe(coco)) is None
    assert labelport_detect(probe=Probe(other)) is None
    assert labelport.detect(DATA / "human_pose.json")[0].format == "datature_skeleton"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("skeleton", "location", "message"),
    [
        ({"connections": [{"pair": ["a", "c"]}]}, "skeletons[0].connections[0].pair[1]", "no keypoint named 'c'"),
        ({"connections": [{"pair": [0, 2]}]}, "skeletons[0].connections[0].pair[1]", "outside 0..1"),
        ({"connections": [{"pair": ["a"]}]}, "skeletons[0].connections[0].pair", "pair of two"),
        ({"connections": [{"pair": ["a", True]}]}, "skeletons[0].connections[0].pair[1]", "boolean"),
        ({"keypoints": [{"name": "a"}, {"name": "a"}]}, "skeletons[0].keypoints[1].name", "named twice"),
        ({"keypoints": [{"id": "x"}]}, "skeletons[0].keypoints[0].name", "missing"),
    ],
)
def test_bad_skeletons_raise_with_the_json_path(tmp_path: Path, skeleton: dict, location: str, message: str) -> None:
    path = write_json(tmp_path / "s.json", skeleton_doc(**skeleton))
    with pytest.raises(FormatError, match=message) as info:
        load(path)
    assert (info.value.file, info.value.location) == (str(path), location)


def test_a_skeleton_defined_twice_is_an_error(tmp_path: Path) -> None:
    doc = skeleton_doc()
    doc["skeletons"] *= 2
    with pytest.raises(FormatError, match="defined twice") as info:
        load(write_json(tmp_path / "s.json", doc))
    assert info.value.location == "skeletons[1].name"


def test_validate_warns_about_odd_connections(tmp_path: Path) -> None:
    connections = [{"pair": ["a", "b"]}, {"pair": [1, 0]}, {"pair": ["a", "a"]}]
    path = write_json(tmp_path / "s.json", skeleton_doc(connections=connections))
    found = [(p.severity, p.location, p.message) for p in labelport.validate(path, format="datature_skeleton")]
    assert ("warning", "skeletons[0].connections[1]", "connection 'b'-'a' is listed twice") in found
    assert ("warning", "skeletons[0].connections[2]", "connection joins keypoint 'a' to itself") in found


# --------------------------------------------------------------------------- writing


COCO_PERSON = Skeleton(  # as the COCO reader gives a category's keypoints and 1-based skeleton pairs
    points=["nose", "left_eye", "right_eye", "left_ear", "right_ear"],
    edges=[(0, 1), (0, 2), (1, 3), (2, 4)],
    flip_pairs=[(1, 2), (3, 4)],
)


def test_coco_style_skeletons_round_trip(tmp_path: Path) -> None:
    ds = Dataset([], labels=[Label(name="person", skeleton=COCO_PERSON), Label(name="cat", skeleton=Skeleton(points=["x"]))])
    report = labelport.save(ds, tmp_path / "skeletons.json", "datature_skeleton")
    assert report.lossless
    doc = json.loads((tmp_path / "skeletons.json").read_text())
    assert doc["skeletons"][0]["connections"][0] == {"pair": ["nose", "left_eye"]}
    assert doc["chirality"] == [{"pair": ["left_eye", "right_eye"]}, {"pair": ["left_ear", "right_ear"]}]
    back = skeletons(load(tmp_path / "skeletons.json"))
    assert back["person"] == COCO_PERSON and back["cat"].points == ["x"]


def test_connections_can_be_written_as_indices(tmp_path: Path) -> None:
    ds = Dataset([], labels=[Label(name="person", skeleton=COCO_PERSON)])
    labelport.save(ds, tmp_path / "out", "datature_skeleton", connections_by="index")
    doc = json.loads((tmp_path / "out" / "skeletons.json").read_text())
    assert [c["pair"] for c in doc["skeletons"][0]["connections"]] == [[0, 1], [0, 2], [1, 3], [2, 4]]
    assert skeletons(load(tmp_path / "out"))["person"] == COCO_PERSON


def test_the_file_read_is_written_back(tmp_path: Path) -> None:
    labelport.save(load(DATA / "human_pose.json"), tmp_path / "out.json", "datature_skeleton")
    before = json.loads((DATA / "human_pose.json").read_text())
    after = json.loads((tmp_path / "out.json").read_text())
    assert after["chirality"] == before["chirality"]  # still gives the same flip pairs: kept as categories
    assert after["cameras"] == before["cameras"] and after["licenses"] == before["licenses"]
    assert after["skeletons"][0]["keypoints"][1] == {"id": "kp-1", "name": "left_eye", "category": ["left"]}
    assert after["skeletons"][0]["skeletonId"] == "sk-person-01"


def test_changed_flip_pairs_replace_the_stored_chirality(tmp_path: Path) -> None:
    ds = load(DATA / "human_pose.json")
    labels = [
        lb.model_copy(update={"skeleton": lb.skeleton.model_copy(update={"flip_pairs": [(1, 2)]})}) if lb.name == "person" else lb
        for lb in ds.labels
    ]
    changed = Dataset([], labels=labels, info=ds.info)
    labelport.save(changed, tmp_path / "out.json", "datature_skeleton")
    assert json.loads((tmp_path / "out.json").read_text())["chirality"] == [{"pair": ["left_eye", "right_eye"]}]
    assert skeletons(load(tmp_path / "out.json"))["person"].flip_pairs == [(1, 2)]


def test_items_and_plain_labels_are_reported_as_dropped(tmp_path: Path) -> None:
    kp = Keypoints(label="person", points=[1, 1, 2, 2, 3, 3, 4, 4, 5, 5], visibility=[2] * 5)
    ds = Dataset([Item(id="a", annotations=[kp])], labels=[Label(name="person", skeleton=COCO_PERSON), Label(name="car")],
                 info=Info(description="d"))
    report = labelport.save(ds, tmp_path / "out", "datature_skeleton")
    losses = dict(report.losses)
    assert losses[("items", "dropped (a skeleton file defines labels only; write the annotations as COCO keypoints)")] == 1
    assert losses[("labels without a skeleton", "dropped (the file lists skeletons only)")] == 1
    assert [lb.name for lb in load(tmp_path / "out").labels] == ["person"]
