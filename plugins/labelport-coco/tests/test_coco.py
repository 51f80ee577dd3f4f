"""COCO specifics beyond the conformance kit."""

import json
from pathlib import Path

import numpy as np
import pytest

import labelport
from labelport.errors import FormatError
from labelport.schema import BBox, Dataset, Image, Item, Label, Mask, Polygon

DATA = Path(__file__).parent / "data"


def test_bbox_area_and_sparse_category_ids_are_kept_as_written():
    items = {i.id: i for i in labelport.load(DATA / "instances.json")}
    crowd = next(a for a in items["b"].annotations if a.metadata.get("iscrowd"))
    assert crowd.type == "mask" and crowd.metadata["area"] == 4015.0  # stored area, not the pixel count
    assert crowd.rle.counts and isinstance(crowd.rle.counts, list)  # uncompressed counts, as iscrowd=1 writes them
    ds = labelport.load(DATA / "instances.json")
    assert {lb.name: lb.id for lb in ds.labels} == {"person": 1, "car": 3, "tree": 90}


def test_multi_part_polygon_is_one_annotation():
    street = {i.id: i for i in labelport.load(DATA / "instances.json")}["street/a"]
    tree = next(a for a in street.annotations if a.label == "tree")
    assert tree.type == "polygon" and len(tree.parts) == 2


def test_keypoints_one_based_skeleton_and_visibility():
    ds = labelport.load(DATA / "folder", format="coco")
    assert ds.labels["person"].skeleton.edges == [(0, 1), (0, 2)]
    kp = next(a for i in ds for a in i.annotations if a.type == "keypoints")
    assert kp.visibility == [2, 1, 0] and kp.points[:2] == [10, 10]


def test_writing_keeps_ids_and_one_based_skeleton(tmp_path):
    ds = labelport.load(DATA / "folder", format="coco")
    labelport.save(ds, tmp_path / "out", "coco")
    doc = json.loads((tmp_path / "out" / "annotations" / "person_keypoints_train.json").read_text())
    person = next(c for c in doc["categories"] if c["name"] == "person")
    assert person["skeleton"] == [[1, 2], [1, 3]] and person["id"] == 1
    assert doc["annotations"][0]["id"] == 10 and doc["annotations"][0]["num_keypoints"] == 2


def test_errors_name_the_json_path(tmp_path):
    doc = json.loads((DATA / "instances.json").read_text())
    doc["annotations"][1]["bbox"] = [1, 2, "wide", 4]
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    with pytest.raises(FormatError) as err:
        labelport.load(tmp_path / "bad.json", format="coco")
    assert err.value.location == "annotations[1].bbox[2]"


def test_panoptic_write_and_read_back(tmp_path):
    a = np.zeros((20, 30), bool)
    a[2:10, 3:12] = True
    b = np.zeros((20, 30), bool)
    b[12:18, 5:25] = True
    ds = Dataset(
        [Item(id="x", media=Image(name="x.jpg", width=30, height=20), annotations=[
            Mask.from_array(a, label="sky", id=5), Mask.from_array(b, label="car", id=6),
            BBox(label="car", x=1, y=1, w=2, h=2), Polygon(label="car", parts=[[0, 0, 4, 0, 4, 4]]),
        ])],
        labels=[Label(name="sky"), Label(name="car")],
    )
    labelport.save(ds, tmp_path / "out", "coco", panoptic=True)
    doc = json.loads((tmp_path / "out" / "annotations" / "panoptic_default.json").read_text())
    segs = {s["id"]: s for s in doc["annotations"][0]["segments_info"]}
    assert segs[5]["area"] == a.sum() and segs[6]["bbox"] == [5, 12, 20, 6]
    assert all(c["isthing"] == 1 for c in doc["categories"])
    back = next(iter(labelport.load(tmp_path / "out", format="coco")))
    masks = {m.label: m.to_array() for m in back.annotations if m.type == "mask"}
    assert np.array_equal(masks["sky"], a) and np.array_equal(masks["car"], b)
    assert sorted(x.type for x in back.annotations) == ["bbox", "mask", "mask", "polygon"]
