"""Writes the synthetic samples in tests/data from the KITTI devkit readmes and the CVAT
KITTI export layout. Run it from this folder: ``python _make_samples.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data"


def image(path: Path, w: int, h: int, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 200 - shade // 2, 90)).save(path)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def object_sample() -> None:
    """The object benchmark: training/ with label_2 (ground truth and a results file with a
    16th score column, an empty file), testing/ with images only."""
    root = DATA / "a_object"
    write(
        root / "training/label_2/000000.txt",
        "Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59\n"
        "Pedestrian 0.31 2 0.21 10.50 20.25 40.00 90.75 1.72 0.55 0.80 -8.20 1.60 12.40 -0.37\n"
        "Cyclist 1.00 3 -10 600 150 630.5 199.5 -1 -1 -1 -1000 -1000 -1000 -10\n"
        "DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10\n",
    )
    write(
        root / "training/label_2/000001.txt",
        "Car -1 -1 -10 100.00 120.00 180.25 160.50 -1 -1 -1 -1000 -1000 -1000 -10 0.93\n"
        "Van -1 -1 -10 300 100 420 180 -1 -1 -1 -1000 -1000 -1000 -10 0.4125\n",
    )
    write(root / "training/label_2/000002.txt", "")
    for n in range(3):
        image(root / f"training/image_2/{n:06d}.png", 700, 220, 30 * n)
    image(root / "testing/image_2/000100.png", 700, 220, 150)


def segmentation_cvat_sample() -> None:
    """The CVAT export: label_colors.txt (background first), labels.txt, default/ with
    label_2, instance (class * 256 + instance), semantic and semantic_rgb maps."""
    root = DATA / "b_segmentation_cvat"
    classes = [("background", (0, 0, 0)), ("car", (250, 50, 83)), ("road", (61, 61, 245)), ("person", (255, 204, 51))]
    write(root / "label_colors.txt", "".join(f"{r} {g} {b} {name}\n" for name, (r, g, b) in classes))
    write(root / "labels.txt", "background\ncar\nroad\nperson\n")
    ids = np.zeros((8, 12), dtype=np.int64)
    inst = np.zeros((8, 12), dtype=np.int64)
    ids[4:8, :] = 2
    inst[4:8, :] = 2 << 8  # road as a whole (instance 0)
    for k, (y0, y1, x0, x1) in enumerate([(3, 7, 1, 4), (3, 7, 6, 10)], 1):
        ids[y0:y1, x0:x1] = 1
        inst[y0:y1, x0:x1] = (1 << 8) + k  # car instances 1 and 2
    ids[0:3, 10:12] = 3
    inst[0:3, 10:12] = (3 << 8) + 1
    folder = root / "default"
    for sub in ("instance", "semantic", "semantic_rgb"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    Image.fromarray(inst.astype(np.uint16)).save(folder / "instance/frame_000.png")
    Image.fromarray(ids.astype(np.uint8)).save(folder / "semantic/frame_000.png")
    rgb = np.zeros((8, 12, 3), dtype=np.uint8)
    for i, (_name, color) in enumerate(classes):
        rgb[ids == i] = color
    Image.fromarray(rgb).save(folder / "semantic_rgb/frame_000.png")
    write(
        folder / "label_2/frame_000.txt",
        "car 0.0 0 -1 1 3 4 7 -1 -1 -1 -1 -1 -1 -1 1.0\ncar 0.0 1 -1 6 3 10 7 -1 -1 -1 -1 -1 -1 -1 1.0\n",
    )
    image(folder / "image_2/frame_000.png", 12, 8, 70)


def tracking_sample() -> None:
    """The tracking benchmark: 17 columns (frame, track id first), DontCare with track -1,
    a frame with no objects (its image only)."""
    root = DATA / "c_tracking"
    write(
        root / "training/label_02/0000.txt",
        "0 0 Van 0 0 -1.79 296.74 161.75 455.23 292.25 2.00 1.82 4.43 -4.55 1.65 13.42 -2.11\n"
        "0 1 Pedestrian 0 2 -0.38 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01\n"
        "0 -1 DontCare -1 -1 -10 53.42 163.79 115.21 198.12 -1 -1 -1 -1000 -1000 -1000 -10\n"
        "2 0 Van 1 1 -1.80 290.50 160.00 452.00 290.00 2.00 1.82 4.43 -4.60 1.65 13.10 -2.12\n",
    )
    for frame in range(3):
        image(root / f"training/image_02/0000/{frame:06d}.png", 900, 320, 40 * frame)


def semantics_sample() -> None:
    """The semantics benchmark without a colour table: Cityscapes ids in semantic/, colours
    in semantic_rgb/ for another image."""
    root = DATA / "d_semantics"
    ids = np.full((6, 10), 7, dtype=np.uint8)  # road
    ids[:2] = 23  # sky
    ids[2:5, 3:6] = 26  # car
    ids[5, 9] = 0  # unlabeled
    (root / "training/semantic").mkdir(parents=True)
    Image.fromarray(ids).save(root / "training/semantic/000000_10.png")
    colors = {7: (128, 64, 128), 23: (70, 130, 180), 26: (0, 0, 142), 0: (0, 0, 0)}
    rgb = np.zeros((6, 10, 3), dtype=np.uint8)
    for cid, color in colors.items():
        rgb[ids == cid] = color
    (root / "training/semantic_rgb").mkdir(parents=True)
    Image.fromarray(rgb[:, ::-1].copy()).save(root / "training/semantic_rgb/000001_10.png")
    image(root / "training/image_2/000000_10.png", 10, 6, 20)
    image(root / "training/image_2/000001_10.png", 10, 6, 120)


if __name__ == "__main__":
    shutil.rmtree(DATA, ignore_errors=True)
    object_sample()
    segmentation_cvat_sample()
    tracking_sample()
    semantics_sample()
