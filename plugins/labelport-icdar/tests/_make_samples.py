"""Writes the synthetic samples in tests/data from the ICDAR 2013/2015 task descriptions and the
datumaro task-folder layout. Run it from this folder: ``python _make_samples.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data"


def image(path: Path, w: int, h: int, shade: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 120, 200 - shade)).save(path)


def write(path: Path, text: str, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def localization() -> None:
    """ICDAR 2015 quadrilaterals (BOM, CRLF, commas in a transcription, ### don't care) and
    ICDAR 2013 boxes (space- and comma-separated, quoted text) in two subsets."""
    root = DATA / "text_localization"
    write(
        root / "train" / "gt_img_1.txt",
        "10,12,50,12,50,30,10,30,Stop, look\r\n"
        "60,5,90,8,88,25,58,22,###\r\n"
        "5.5,40,30.25,40,30.25,55,5.5,55,12\r\n",
        bom=True,
    )
    image(root / "train" / "images" / "img_1.jpg", 100, 60)
    write(root / "train" / "gt_img_2.txt", '3 4 40 20 "Carpark"\n45 4 70 20 "say \\"hi\\""\n')
    image(root / "train" / "images" / "img_2.png", 80, 40, 30)
    write(root / "test" / "gt_scene.txt", '38, 43, 92, 61, "Tiredness"\n')
    image(root / "test" / "images" / "scene.jpg", 120, 80, 150)
    write(root / "test" / "gt_blank.txt", "")
    image(root / "test" / "images" / "blank.jpg", 20, 20, 10)


def recognition() -> None:
    """gt.txt with quoted transcriptions (one with a comma and one with spaces), word images."""
    root = DATA / "word_recognition"
    write(root / "train" / "gt.txt", 'word_1.png, "PROPER"\nword_2.png, "Genaxis Theatre"\nword_3.png, "a,b"\n', bom=True)
    for i, (w, h) in enumerate([(30, 10), (44, 12), (20, 9)], 1):
        image(root / "train" / "images" / f"word_{i}.png", w, h, 40 * i)


def segmentation() -> None:
    """Two words ("Hi" and "!"), the character colours painted on white, one centre unknown."""
    root = DATA / "text_segmentation"
    h, w = 12, 16
    gt = np.full((h, w, 3), 255, dtype=np.uint8)
    gt[2:9, 1:4] = (200, 10, 10)  # H
    gt[2:9, 5:6] = (10, 200, 10)  # i
    gt[2:7, 10:12] = (10, 10, 200)  # !
    gt[8:9, 10:12] = (10, 10, 200)
    (root / "train").mkdir(parents=True, exist_ok=True)
    Image.fromarray(gt, "RGB").save(root / "train" / "sign_GT.bmp")
    write(
        root / "train" / "sign_GT.txt",
        '200 10 10 2 5 1 2 4 9 "H"\n'
        '10 200 10 5 5 5 2 6 9 "i"\n'
        "\n"
        '10 10 200 - - 10 2 12 9 "!"\n',
    )
    image(root / "train" / "images" / "sign.png", w, h, 70)


def all_tasks() -> None:
    """The three task folders side by side, one image annotated for two tasks."""
    root = DATA / "all_tasks"
    write(root / "word_recognition" / "val" / "gt.txt", 'crop.png, "EXIT"\n')
    image(root / "word_recognition" / "val" / "images" / "crop.png", 24, 10)
    write(root / "text_localization" / "val" / "gt_street.txt", "1,1,20,1,20,9,1,9,EXIT\n")
    image(root / "text_localization" / "val" / "images" / "street.jpg", 40, 30)
    gt = np.full((30, 40, 3), 255, dtype=np.uint8)
    gt[1:4, 2:5] = (0, 0, 0)
    (root / "text_segmentation" / "val").mkdir(parents=True, exist_ok=True)
    Image.fromarray(gt, "RGB").save(root / "text_segmentation" / "val" / "street_GT.bmp")
    write(root / "text_segmentation" / "val" / "street_GT.txt", '0 0 0 3 2 2 1 5 4 "E"\n')


if __name__ == "__main__":
    for sample in ("text_localization", "word_recognition", "text_segmentation", "all_tasks"):
        shutil.rmtree(DATA / sample, ignore_errors=True)
    localization()
    recognition()
    segmentation()
    all_tasks()
