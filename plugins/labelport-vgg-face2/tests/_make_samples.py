"""Writes the synthetic samples in tests/data from the VGGFace2 release layout and the
datumaro/CVAT export. Run it from this folder: ``python _make_samples.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

DATA = Path(__file__).parent / "data"


def image(path: Path, w: int = 40, h: int = 50, shade: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 120, 200 - shade)).save(path)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def release_sample() -> None:
    """The release: loose boxes and landmarks per subset, identity_meta.csv with quoted names,
    train_list.txt naming one image that has no annotation rows."""
    root = DATA / "a_release"
    write(
        root / "bb_landmark/loose_bb_train.csv",
        'NAME_ID,X,Y,W,H\n"n000002/0001_01",5,6,20,30\n"n000002/0002_01",4,3,22,31\n"n000009/0005_02",1,2,30,40\n',
    )
    write(
        root / "bb_landmark/loose_landmark_train.csv",
        "NAME_ID,P1X,P1Y,P2X,P2Y,P3X,P3Y,P4X,P4Y,P5X,P5Y\n"
        '"n000002/0001_01",10.5,15.25,19.75,15,15.125,20,11,27.5,19,27.25\n'
        '"n000002/0002_01",9,14,18,14,13.5,19,10,26,17,26\n'
        '"n000009/0005_02",8,12,24,12,16,22,10,33,22,33\n',
    )
    write(root / "bb_landmark/loose_bb_test.csv", 'NAME_ID,X,Y,W,H\n"n000004/0010_01",2,2,10,12\n')
    write(
        root / "bb_landmark/loose_landmark_test.csv",
        'NAME_ID,P1X,P1Y,P2X,P2Y,P3X,P3Y,P4X,P4Y,P5X,P5Y\n"n000004/0010_01",4,6,9,6,6.5,8,5,11,8,11\n',
    )
    write(
        root / "meta/identity_meta.csv",
        "Class_ID, Name, Sample_Num, Flag, Gender\n"
        'n000002, "Abel_Xavier", 2, 1, m\n'
        'n000004, "Ada_Lovelace", 1, 0, f\n'
        'n000009, "Test_Person", 2, 1, f\n',
    )
    write(root / "train_list.txt", "n000002/0001_01.jpg\nn000002/0002_01.jpg\nn000009/0005_02.jpg\nn000009/0007_01.jpg\n")
    for i, name in enumerate(["n000002/0001_01", "n000002/0002_01", "n000009/0005_02", "n000009/0007_01"]):
        image(root / "train" / f"{name}.jpg", shade=30 * i)
    image(root / "test/n000004/0010_01.jpg", 20, 20, 200)


def export_sample() -> None:
    """As datumaro and CVAT export it: labels.txt with names, a landmark row without values
    for an image with only an identity, no_label/ for one without, no boxes file."""
    root = DATA / "b_export"
    write(root / "labels.txt", "n000001 Karl\nn000002 Jay\n")
    write(
        root / "bb_landmark/loose_landmark_default.csv",
        "NAME_ID,P1X,P1Y,P2X,P2Y,P3X,P3Y,P4X,P4Y,P5X,P5Y\n"
        "n000001/a,1,2,3,4,5,6,7,8,9,10\n"
        "n000002/b,,,,,,,,,,\n"
        "no_label/c,,,,,,,,,,\n",
    )
    for i, name in enumerate(["n000001/a", "n000002/b", "no_label/c"]):
        image(root / "default" / f"{name}.jpg", 12, 12, 40 * i)


if __name__ == "__main__":
    for sample in ("a_release", "b_export"):
        shutil.rmtree(DATA / sample, ignore_errors=True)
    release_sample()
    export_sample()
