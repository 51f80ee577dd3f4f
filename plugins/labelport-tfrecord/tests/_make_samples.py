"""Writes the synthetic samples in tests/data from the Object Detection API's record layout
(dataset_tools/create_*_tf_record.py) with the independent ``tfrecord`` package (pip install
labelport-tfrecord[testing]), so the samples do not come from labelport's own writer.
Run it from this folder: ``python _make_samples.py``."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from tfrecord import TFRecordWriter

DATA = Path(__file__).parent / "data"


def encoded(w: int, h: int, fmt: str, shade: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (shade, 120, 200 - shade)).save(buf, format=fmt)
    return buf.getvalue()


def png_mask(w: int, h: int, box: tuple[int, int, int, int] | None) -> bytes:
    m = np.zeros((h, w), dtype=np.uint8)
    if box is not None:
        x1, y1, x2, y2 = box
        m[y1:y2, x1:x2] = 1  # the API's masks hold 0/1 values
    buf = io.BytesIO()
    Image.fromarray(m).save(buf, format="PNG")
    return buf.getvalue()


def image_features(name: str, data: bytes, w: int, h: int, fmt: str) -> dict:
    return {
        "image/filename": (name.encode(), "byte"),
        "image/source_id": (name.split(".")[0].encode(), "byte"),
        "image/encoded": (data, "byte"),
        "image/format": (fmt.encode(), "byte"),
        "image/key/sha256": (hashlib.sha256(data).hexdigest().encode(), "byte"),
        "image/height": (h, "int"),
        "image/width": (w, "int"),
    }


def detection() -> None:
    """train.tfrecord: boxes with VOC flags (a class given by text only, one by id only), and an
    image with PNG instance masks (one object without a mask) and image-level classes.
    val-00000-of-00001.tfrecord (a shard): a person with keypoints named in the label map."""
    root = DATA / "detection"
    root.mkdir(parents=True)
    (root / "label_map.pbtxt").write_text(
        "item {\n  id: 1\n  name: 'cat'\n  display_name: 'Cat'\n}\n"
        "item {\n  name: \"dog\"\n  id: 2\n}\n"
        "item {\n  id: 3\n  name: 'person'\n"
        "  keypoints { id: 0 label: 'head' }\n  keypoints { id: 1 label: 'left_hand' }\n"
        "  keypoints { id: 2 label: 'right_hand' }\n}\n"
    )
    writer = TFRecordWriter(str(root / "train.tfrecord"))
    writer.write({
        **image_features("street.jpg", encoded(64, 32, "JPEG"), 64, 32, "jpeg"),
        "image/object/bbox/xmin": ([0.125, 0.5], "float"),
        "image/object/bbox/xmax": ([0.375, 0.75], "float"),
        "image/object/bbox/ymin": ([0.25, 0.0], "float"),
        "image/object/bbox/ymax": ([0.75, 1.0], "float"),
        "image/object/class/text": ([b"cat", b""], "byte"),
        "image/object/class/label": ([1, 2], "int"),
        "image/object/difficult": ([0, 1], "int"),
        "image/object/truncated": ([1, 0], "int"),
        "image/object/view": ([b"frontal", b""], "byte"),
    })
    writer.write({
        **image_features("yard.png", encoded(20, 10, "PNG", 30), 20, 10, "png"),
        "image/object/bbox/xmin": ([0.1, 0.5], "float"),
        "image/object/bbox/xmax": ([0.4, 0.9], "float"),
        "image/object/bbox/ymin": ([0.2, 0.1], "float"),
        "image/object/bbox/ymax": ([0.8, 0.5], "float"),
        "image/object/class/text": ([b"dog", b"cat"], "byte"),
        "image/object/class/label": ([2, 1], "int"),
        "image/object/mask": ([png_mask(20, 10, (2, 2, 8, 8)), png_mask(20, 10, None)], "byte"),
        "image/class/label": ([2], "int"),
        "image/class/text": ([b"dog"], "byte"),
    })
    writer.close()
    writer = TFRecordWriter(str(root / "val-00000-of-00001.tfrecord"))
    writer.write({
        **image_features("walk.jpg", encoded(40, 40, "JPEG", 150), 40, 40, "jpeg"),
        "image/object/bbox/xmin": ([0.25], "float"),
        "image/object/bbox/xmax": ([0.75], "float"),
        "image/object/bbox/ymin": ([0.1], "float"),
        "image/object/bbox/ymax": ([0.9], "float"),
        "image/object/class/text": ([b"person"], "byte"),
        "image/object/class/label": ([3], "int"),
        "image/object/keypoint/x": ([0.5, 0.0, 0.7], "float"),
        "image/object/keypoint/y": ([0.2, 0.0, 0.5], "float"),
        "image/object/keypoint/num": ([3], "int"),
        "image/object/keypoint/visibility": ([2, 0, 1], "int"),
        "image/object/keypoint/text": ([b"head", b"left_hand", b"right_hand"], "byte"),
    })
    writer.close()


def classification() -> None:
    """A gzip-compressed file of classification records (image/class/label and text only, no
    label map), one of them with numerical masks (n x height x width floats) and no class text."""
    root = DATA / "classification"
    root.mkdir(parents=True)
    plain = root / "test.tfrecord"
    writer = TFRecordWriter(str(plain))
    writer.write({**image_features("a.jpg", encoded(8, 8, "JPEG"), 8, 8, "jpeg"),
                  "image/class/label": ([7], "int"), "image/class/text": ([b"tabby"], "byte")})
    mask = np.zeros((2, 4, 6), dtype=np.float32)
    mask[0, 1:3, 1:4] = 1.0
    mask[1, 0:2, 4:6] = 1.0
    writer.write({
        **image_features("b.png", encoded(6, 4, "PNG"), 6, 4, "png"),
        "image/class/label": ([7, 9], "int"),
        "image/object/bbox/xmin": ([1 / 6, 4 / 6], "float"),
        "image/object/bbox/xmax": ([4 / 6, 1.0], "float"),
        "image/object/bbox/ymin": ([0.25, 0.0], "float"),
        "image/object/bbox/ymax": ([0.75, 0.5], "float"),
        "image/object/class/label": ([7, 7], "int"),
        "image/object/mask": (mask.ravel().tolist(), "float"),
    })
    writer.close()
    with open(plain, "rb") as src, gzip.open(root / "test.tfrecord.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain.unlink()


if __name__ == "__main__":
    for sample in ("detection", "classification"):
        shutil.rmtree(DATA / sample, ignore_errors=True)
    detection()
    classification()
