"""TFRecord behaviour: the framing and its CRCs, float32 normalised coordinates, class text versus
label map ids, flags, PNG and numerical masks, keypoints, the label map written back, embedded
images, and records written by labelport read by an independent TFRecord reader."""

from __future__ import annotations

import io
import random
import shutil
import struct
from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.errors import FormatError, LabelportError
from labelport.schema import BBox, Dataset, Image, Item, Keypoints, Label, Mask, Skeleton, Tag
from labelport_tfrecord._proto import frame, messages, read_records
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def load(path: Path, **options) -> Dataset:
    return labelport.load(path, format="tfrecord", **options).materialize()


def items(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def of(item: Item, kind: str) -> list:
    return [a for a in item.annotations if a.type == kind]


def jpeg(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", (w, h), (10, 200, 30)).save(buf, format="JPEG")
    return buf.getvalue()


def example(features: dict) -> bytes:
    """A serialised Example from {key: ("bytes"|"float"|"int64", [values])}."""
    ex = messages()["Example"]()
    for key, (kind, values) in features.items():
        getattr(ex.features.feature[key], f"{kind}_list").value.extend(values)
    return ex.SerializeToString()


def write_records(path: Path, *records: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(frame(r) for r in records))
    return path


# --------------------------------------------------------------------------- reading


def test_boxes_are_normalised_float32_read_as_their_shortest_decimal(tmp_path: Path) -> None:
    record = example({
        "image/filename": ("bytes", [b"a.jpg"]), "image/width": ("int64", [10]), "image/height": ("int64", [5]),
        "image/object/bbox/xmin": ("float", [0.2]), "image/object/bbox/xmax": ("float", [0.5]),
        "image/object/bbox/ymin": ("float", [0.2]), "image/object/bbox/ymax": ("float", [0.4]),
        "image/object/class/text": ("bytes", [b"car"]), "image/object/class/label": ("int64", [1]),
    })
    (item,) = load(write_records(tmp_path / "train.tfrecord", record))
    (box,) = of(item, "bbox")
    # 0.2 is stored as 0.20000000298...: read as 0.2, so 2 px exactly, not 2.0000000298
    assert (box.x, box.y, box.w, box.h) == (2.0, 1.0, 3.0, 1.0)
    assert item.subset == "train" and item.id == "a"


def test_class_text_wins_and_ids_resolve_through_the_label_map() -> None:
    ds = load(DATA / "detection")
    street = items(ds)["street"]
    cat, dog = of(street, "bbox")
    assert (cat.label, dog.label) == ("cat", "dog")  # "dog" came from id 2 alone
    assert {lb.name: lb.id for lb in ds.labels} == {"cat": 1, "dog": 2, "person": 3}
    assert {lb.name: lb.metadata for lb in ds.labels}["cat"] == {"display_name": "Cat"}


def test_class_zero_without_text_is_an_unlabelled_box(tmp_path: Path) -> None:
    record = example({
        "image/width": ("int64", [4]), "image/height": ("int64", [4]),
        "image/object/bbox/xmin": ("float", [0.0]), "image/object/bbox/xmax": ("float", [0.5]),
        "image/object/bbox/ymin": ("float", [0.0]), "image/object/bbox/ymax": ("float", [0.5]),
        "image/object/class/label": ("int64", [0]), "image/object/class/text": ("bytes", [b""]),
    })
    (item,) = load(write_records(tmp_path / "x.record", record))
    assert [b.label for b in of(item, "bbox")] == [None]
    assert item.id == "record_0"  # no filename, no source id


def test_flags_set_to_one_become_attributes() -> None:
    cat, dog = of(items(load(DATA / "detection"))["street"], "bbox")
    assert cat.attributes == {"truncated": True, "view": "frontal"}
    assert dog.attributes == {"difficult": True}  # difficult 0 / truncated 0 / empty view: left out


def test_png_masks_are_grouped_with_their_box_and_empty_ones_dropped() -> None:
    yard = items(load(DATA / "detection"))["yard"]
    dog_box, dog_mask, cat_box = (a for a in yard.annotations if a.type != "label")
    assert dog_box.group == dog_mask.group == 1 and cat_box.group is None
    expected = np.zeros((10, 20), dtype=bool)
    expected[2:8, 2:8] = True
    assert np.array_equal(dog_mask.to_array(), expected)
    assert [t.label for t in of(yard, "label")] == ["dog"]


def test_numerical_masks_in_a_gzip_file() -> None:
    ds = load(DATA / "classification")
    b = items(ds)["b"]
    masks = of(b, "mask")
    assert [int(m.to_array().sum()) for m in masks] == [6, 4]
    assert [t.label for t in of(b, "label")] == ["tabby", "9"]  # id 9 has no text and no label map
    assert next(iter(ds)).subset == "test"  # test.tfrecord.gz


def test_keypoints_with_names_visibility_and_the_label_map_skeleton() -> None:
    ds = load(DATA / "detection")
    walk = items(ds)["walk"]
    (kp,) = of(walk, "keypoints")
    assert kp.points == [20.0, 8.0, 0.0, 0.0, 28.0, 20.0] and kp.visibility == [2, 0, 1]
    assert kp.names == ["head", "left_hand", "right_hand"] and kp.group == of(walk, "bbox")[0].group == 1
    assert walk.subset == "val"  # val-00000-of-00001.tfrecord
    assert {lb.name: lb.skeleton for lb in ds.labels}["person"].points == ["head", "left_hand", "right_hand"]


def test_images_are_embedded_with_their_size() -> None:
    street = items(load(DATA / "detection"))["street"]
    assert street.media.data[:2] == b"\xff\xd8" and (street.media.width, street.media.height) == (64, 32)


# --------------------------------------------------------------------------- errors


def test_damaged_data_fails_its_crc_and_names_the_record(tmp_path: Path) -> None:
    path = shutil.copy(DATA / "detection" / "train.tfrecord", tmp_path / "train.tfrecord")
    data = bytearray(Path(path).read_bytes())
    (first_length,) = struct.unpack("<Q", data[:8])
    data[12 + first_length + 4 + 12 + 20] ^= 0xFF  # a byte inside the second record's data
    Path(path).write_bytes(bytes(data))
    with pytest.raises(FormatError, match="fails its CRC") as info:
        load(tmp_path)
    assert info.value.file == str(path) and info.value.location == "record 1"


def test_a_file_cut_short_is_reported(tmp_path: Path) -> None:
    data = (DATA / "detection" / "train.tfrecord").read_bytes()
    path = tmp_path / "train.tfrecord"
    path.write_bytes(data[:-10])
    with pytest.raises(FormatError, match="ends inside a record") as info:
        load(tmp_path)
    assert info.value.location == "record 1"


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ({"image/height": ("bytes", [b"5"])}, "image/height is a bytes_list, expected a int64_list"),
        ({"image/width": ("int64", [4]), "image/height": ("int64", [4]),
          "image/object/bbox/xmin": ("float", [0.1, 0.2]), "image/object/bbox/xmax": ("float", [0.5]),
          "image/object/bbox/ymin": ("float", [0.1]), "image/object/bbox/ymax": ("float", [0.5])}, "differ in length"),
        ({"image/width": ("int64", [4]), "image/height": ("int64", [4]),
          "image/object/bbox/xmin": ("float", [0.6]), "image/object/bbox/xmax": ("float", [0.5]),
          "image/object/bbox/ymin": ("float", [0.1]), "image/object/bbox/ymax": ("float", [0.5])}, "below its min"),
        ({"image/width": ("int64", [4]), "image/height": ("int64", [4]),
          "image/object/bbox/xmin": ("float", [0.1]), "image/object/bbox/xmax": ("float", [0.5]),
          "image/object/bbox/ymin": ("float", [0.1]), "image/object/bbox/ymax": ("float", [0.5]),
          "image/object/keypoint/x": ("float", [0.1, 0.2, 0.3]), "image/object/keypoint/y": ("float", [0.1, 0.2, 0.3]),
          "image/object/keypoint/num": ("int64", [2])}, "does not split"),
    ],
)
def test_bad_examples_raise_with_the_record(tmp_path: Path, features: dict, message: str) -> None:
    path = write_records(tmp_path / "t.tfrecord", example({}), example(features))
    with pytest.raises(FormatError, match=message) as info:
        load(tmp_path)
    assert info.value.file == str(path) and info.value.location.startswith("record 1")


def test_garbled_examples_in_valid_framing_only_raise_labelport_errors(tmp_path: Path) -> None:
    """The CRCs stop most damage at the framing; this reaches the Example parsing behind it."""
    rng = random.Random(5)
    records = [data for f in sorted((DATA / "detection").glob("*.tfrecord")) for _, data in read_records(f)]
    for case in range(150):
        data = bytearray(rng.choice(records))
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        folder = tmp_path / str(case)
        write_records(folder / "x.tfrecord", bytes(data))
        shutil.copy(DATA / "detection" / "label_map.pbtxt", folder)
        try:
            load(folder)
        except LabelportError:
            pass


def test_validate_flags_text_that_disagrees_with_the_label_map(tmp_path: Path) -> None:
    (tmp_path / "label_map.pbtxt").write_text("item { id: 1 name: 'cat' }\n")
    record = example({
        "image/width": ("int64", [4]), "image/height": ("int64", [4]),
        "image/object/bbox/xmin": ("float", [0.0, 0.0]), "image/object/bbox/xmax": ("float", [0.5, 1.2]),
        "image/object/bbox/ymin": ("float", [0.0, 0.0]), "image/object/bbox/ymax": ("float", [0.5, 0.5]),
        "image/object/class/label": ("int64", [1, 1]), "image/object/class/text": ("bytes", [b"dog", b"cat"]),
    })
    write_records(tmp_path / "t.tfrecord", record)
    found = {(p.severity, p.location, p.message) for p in labelport.validate(tmp_path, format="tfrecord")}
    assert ("warning", "record 0, object 0", "class text 'dog' but label map id 1 is 'cat'") in found
    assert ("warning", "record 0, object 1", "normalised box outside 0..1") in found


def test_malformed_label_map_names_the_line(tmp_path: Path) -> None:
    write_records(tmp_path / "t.tfrecord", example({}))
    (tmp_path / "label_map.pbtxt").write_text("item {\n  id: 1\n  name: 'cat'\n\n")
    with pytest.raises(FormatError, match="malformed label map") as info:
        load(tmp_path)
    assert info.value.location is not None and info.value.location.startswith("line")


# --------------------------------------------------------------------------- writing


def sample_dataset() -> Dataset:
    m = np.zeros((20, 40), dtype=bool)
    m[5:15, 10:30] = True
    return Dataset(
        [
            Item(id="img1", subset="train", media=Image(name="img1.jpg", data=jpeg(40, 20), width=40, height=20), annotations=[
                BBox(label="car", x=10, y=5, w=20, h=10, group=1, attributes={"difficult": True, "colour": "red"}),
                Mask.from_array(m, label="car", group=1),
                Keypoints(label="person", points=[4, 2, 0, 0], visibility=[2, 0]),
                BBox(label="car", x=0, y=0, w=4, h=4),
                Tag(label="car"),
            ]),
        ],
        labels=[Label(name="car", id=7), Label(name="person", skeleton=Skeleton(points=["a", "b"], edges=[(0, 1)]))],
    )


def test_an_independent_tfrecord_reader_reads_what_labelport_writes(tmp_path: Path) -> None:
    tfrecord = pytest.importorskip("tfrecord", reason="the independent reader: pip install labelport-tfrecord[testing]")
    from tfrecord import example_pb2

    ds = sample_dataset()
    labelport.save(ds, tmp_path / "out", "tfrecord")
    raw = list(tfrecord.reader.tfrecord_iterator(str(tmp_path / "out" / "train.tfrecord")))
    assert len(raw) == 1
    ex = example_pb2.Example()
    ex.ParseFromString(bytes(raw[0]))
    f = ex.features.feature
    assert f["image/encoded"].bytes_list.value[0] == ds._items[0].media.data
    assert f["image/format"].bytes_list.value[0] == b"jpeg"
    assert list(f["image/object/class/text"].bytes_list.value) == [b"car", b"person", b"car"]
    assert list(f["image/object/class/label"].int64_list.value) == [7, 1, 7]  # car keeps its id, person takes 1
    assert list(f["image/object/bbox/xmin"].float_list.value) == pytest.approx([0.25, 0.1, 0.0])
    assert list(f["image/object/bbox/ymax"].float_list.value) == pytest.approx([0.75, 0.1, 0.2])
    assert list(f["image/object/difficult"].int64_list.value) == [1, 0, 0]
    pngs = f["image/object/mask"].bytes_list.value
    assert len(pngs) == 3 and np.asarray(PILImage.open(io.BytesIO(pngs[0]))).astype(bool).sum() == 200
    assert list(f["image/object/keypoint/num"].int64_list.value) == [0, 2, 0]
    assert list(f["image/object/keypoint/visibility"].int64_list.value) == [2, 0]
    assert list(f["image/object/keypoint/text"].bytes_list.value) == [b"a", b"b"]  # the label's skeleton names
    assert list(f["image/class/text"].bytes_list.value) == [b"car"]
    # the package's parsing loader agrees (it checks nothing but the types)
    sizes = {"image/height": "int", "image/width": "int"}
    loader = tfrecord.tfrecord_loader(str(tmp_path / "out" / "train.tfrecord"), None, sizes)
    parsed = next(iter(loader))
    assert (int(parsed["image/height"][0]), int(parsed["image/width"][0])) == (20, 40)
    # and labelport reads it back
    back = items(load(tmp_path / "out"))["img1"]
    assert [a.type for a in back.annotations] == ["bbox", "mask", "bbox", "keypoints", "bbox", "label"]


def test_writer_reports_what_it_cannot_keep_and_writes_the_label_map(tmp_path: Path) -> None:
    report = labelport.save(sample_dataset(), tmp_path / "out", "tfrecord")
    losses = dict(report.losses)
    assert losses[("skeleton edges", "dropped (label_map.pbtxt names keypoints only)")] == 1
    assert losses[("box attributes TFRecord has no feature for", "dropped")] == 1
    text = (tmp_path / "out" / "label_map.pbtxt").read_text()
    assert 'item {\n  id: 7\n  name: "car"\n}' in text
    assert 'id: 1\n  name: "person"\n  keypoints { id: 0 label: "a" }\n  keypoints { id: 1 label: "b" }' in text
    labels = {lb.name: lb for lb in load(tmp_path / "out").labels}
    assert labels["car"].id == 7 and labels["person"].skeleton.points == ["a", "b"]


def test_lone_masks_and_keypoints_get_the_box_around_them(tmp_path: Path) -> None:
    back = items(load(_saved(tmp_path)))["img1"]
    person_box, person_kp = (a for a in back.annotations if a.label == "person")
    assert (person_box.x, person_box.y, person_box.w, person_box.h) == (4.0, 2.0, 0.0, 0.0)  # its one visible point
    assert person_kp.group == person_box.group is not None and person_kp.points == [4.0, 2.0, 0.0, 0.0]
    car_box, car_mask, lone = of(back, "bbox")[0], of(back, "mask")[0], of(back, "bbox")[2]
    assert car_box.group == car_mask.group and lone.group is None  # its empty placeholder mask is not read
    assert car_box.attributes == {"difficult": True}


def _saved(tmp_path: Path) -> Path:
    labelport.save(sample_dataset(), tmp_path / "out", "tfrecord")
    return tmp_path / "out"


def test_images_are_embedded_from_their_files_unless_asked_not_to(tmp_path: Path) -> None:
    src = tmp_path / "photo.jpg"
    src.write_bytes(jpeg(8, 6))
    box = BBox(label="a", x=1, y=1, w=2, h=2)
    ds = Dataset([Item(id="photo", media=Image(name="photo.jpg", path=str(src)), annotations=[box])])
    labelport.save(ds, tmp_path / "embedded", "tfrecord")
    (item,) = load(tmp_path / "embedded")
    assert item.media.data == src.read_bytes() and (item.media.width, item.media.height) == (8, 6)
    assert of(item, "bbox")[0].x == pytest.approx(1.0)
    report = labelport.save(ds, tmp_path / "bare", "tfrecord", embed_images=False)
    (bare,) = load(tmp_path / "bare")
    assert bare.media.data is None and report.missing_media == []
    report = labelport.save(Dataset([Item(id="gone", media=Image(width=4, height=4))]), tmp_path / "gone", "tfrecord")
    assert report.missing_media == ["gone"]


def test_objects_of_images_of_unknown_size_are_reported(tmp_path: Path) -> None:
    ds = Dataset([Item(id="x", annotations=[BBox(label="a", x=0, y=0, w=1, h=1)])])
    report = labelport.save(ds, tmp_path / "o", "tfrecord")
    assert dict(report.losses)[("objects of images of unknown size", "dropped (TFRecord boxes are normalised)")] == 1


def test_round_trip_keeps_subsets_as_files(tmp_path: Path) -> None:
    labelport.save(load(DATA / "detection"), tmp_path / "out", "tfrecord")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["label_map.pbtxt", "train.tfrecord", "val.tfrecord"]
