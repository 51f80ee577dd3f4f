"""Writes the synthetic samples in tests/data from the Market-1501 readme (file names encoding
person, camera, sequence, frame and box; bounding_box_train/test, query, junk -1 and
distractor 0000 images) and the datumaro/CVAT image lists. Run it from this folder:
``python _make_samples.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

DATA = Path(__file__).parent / "data"


def image(path: Path, w: int = 16, h: int = 32, shade: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 120, 200 - shade)).save(path)


def release_sample() -> None:
    """The release folders: two people in train, a junk and a distractor image in test, a query."""
    root = DATA / "b_release"
    names = [
        "bounding_box_train/0002_c1s1_000451_03.jpg",
        "bounding_box_train/0002_c2s1_000301_01.jpg",
        "bounding_box_train/0007_c6s4_002202_00.jpg",
        "bounding_box_test/-1_c3s2_000112_02.jpg",
        "bounding_box_test/0000_c1s1_000000_00.jpg",
        "bounding_box_test/0001_c1s1_001051_00.jpg",
        "query/0001_c2s1_000301_00.jpg",
    ]
    for i, name in enumerate(names):
        image(root / name, shade=20 * i)


def lists_sample() -> None:
    """As datumaro and CVAT export it: images_<subset>.txt lists, a query image of the test
    subset, and an item whose own id follows the encoded part."""
    root = DATA / "a_lists"
    (root).mkdir(parents=True, exist_ok=True)
    (root / "images_train.txt").write_text(
        "bounding_box_train/0012_c1s1_000000_00.jpg\nbounding_box_train/0012_c2s3_000010_01street_cam.jpg\n"
    )
    (root / "images_test.txt").write_text("bounding_box_test/0013_c1s1_000005_00.jpg\nquery/0013_c4s2_000020_00.jpg\n")
    for i, rel in enumerate(
        [
            "bounding_box_train/0012_c1s1_000000_00.jpg",
            "bounding_box_train/0012_c2s3_000010_01street_cam.jpg",
            "bounding_box_test/0013_c1s1_000005_00.jpg",
            "query/0013_c4s2_000020_00.jpg",
        ]
    ):
        image(root / rel, shade=40 * i)


if __name__ == "__main__":
    for sample in ("a_lists", "b_release"):
        shutil.rmtree(DATA / sample, ignore_errors=True)
    release_sample()
    lists_sample()
