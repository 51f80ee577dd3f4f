"""Writes the synthetic samples in tests/data from the WIDER Face readme and the variant
datumaro/CVAT export. Run it from this folder: ``python _make_samples.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

DATA = Path(__file__).parent / "data"


def image(path: Path, w: int = 64, h: int = 48, shade: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 120, 200 - shade)).save(path)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def official_sample() -> None:
    """The readme layout: ten-column rows with a trailing space, an image without faces
    followed by its dummy row, a validation subset and the test file list."""
    root = DATA / "a_official"
    write(
        root / "wider_face_split" / "wider_face_train_bbx_gt.txt",
        "0--Parade/0_Parade_marchingband_1_849.jpg\n"
        "2\n"
        "4 5 20 24 2 0 0 0 0 0 \n"
        "30 6 12 15 0 1 1 0 2 1 \n"
        "0--Parade/0_Parade_Parade_0_904.jpg\n"
        "0\n"
        "0 0 0 0 0 0 0 0 0 0 \n"
        "12--Group/12_Group_Group_12_Group_Group_12_10.jpg\n"
        "1\n"
        "10 10 0 0 2 0 0 1 0 0 \n",
    )
    write(
        root / "wider_face_split" / "wider_face_val_bbx_gt.txt",
        "12--Group/12_Group_Large_Group_12_Group_Large_Group_12_31.jpg\n1\n1 2 30 40 1 0 0 0 1 0 \n",
    )
    write(root / "wider_face_split" / "wider_face_test_filelist.txt", "0--Parade/0_Parade_marchingband_1_9.jpg\n")
    image(root / "WIDER_train/images/0--Parade/0_Parade_marchingband_1_849.jpg", shade=10)
    image(root / "WIDER_train/images/0--Parade/0_Parade_Parade_0_904.jpg", shade=40)
    image(root / "WIDER_train/images/12--Group/12_Group_Group_12_Group_Group_12_10.jpg", shade=70)
    image(root / "WIDER_val/images/12--Group/12_Group_Large_Group_12_Group_Large_Group_12_31.jpg", shade=100)
    image(root / "WIDER_test/images/0--Parade/0_Parade_marchingband_1_9.jpg", shade=130)


def datumaro_style_sample() -> None:
    """As datumaro and CVAT export it: labels.txt, '-' for unknown flags, an 11th label column,
    an image without faces and without a count, fractional coordinates, no_label/."""
    root = DATA / "b_export"
    write(root / "labels.txt", "face\nmask\nParade\n")
    write(
        root / "wider_face_split" / "wider_face_default_bbx_gt.txt",
        "0--Parade/p1.jpg\n"
        "3\n"
        "1.5 2.25 10 12.75 - - - - - -\n"
        "20 4 8 8 1 - 0 - 2 - mask\n"
        "30 30 5 5 mask\n"
        "no_label/p2.jpg\n"
        "no_label/p3.jpg\n"
        "1\n"
        "2 2 4 4\n",
    )
    for i, name in enumerate(["0--Parade/p1.jpg", "no_label/p2.jpg", "no_label/p3.jpg"]):
        image(root / "WIDER_default/images" / name, shade=30 * i)


if __name__ == "__main__":
    for sample in ("a_official", "b_export"):
        shutil.rmtree(DATA / sample, ignore_errors=True)
    official_sample()
    datumaro_style_sample()
