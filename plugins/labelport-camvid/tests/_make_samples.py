"""Writes the synthetic samples in tests/data from the CamVid release and the SegNet layout.

Run it from this folder: ``python _make_samples.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data"

# a part of the release's label_colors.txt, in its own order and spacing (Void is not first)
TABLE = (
    "64 128 64\tAnimal\n"
    "128 0 0\t\tBuilding\n"
    "64 0 128\tCar\n"
    "128 64 128\tRoad\n"
    "128 128 128\tSky\n"
    "0 0 0\t\tVoid\n"
    "64 192 0\tWall\n"
)
# class index = table order with the black class (Void) moved first
INDEX = {"Void": 0, "Animal": 1, "Building": 2, "Car": 3, "Road": 4, "Sky": 5, "Wall": 6}
COLORS = {
    "Void": (0, 0, 0),
    "Animal": (64, 128, 64),
    "Building": (128, 0, 0),
    "Car": (64, 0, 128),
    "Road": (128, 64, 128),
    "Sky": (128, 128, 128),
    "Wall": (64, 192, 0),
}


def image(path: Path, w: int, h: int, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 255 - shade, shade // 3)).save(path)


def scene(w: int, h: int, car: tuple[int, int, int, int]) -> np.ndarray:
    """Class names per pixel: sky on top, road below, a car, one void pixel."""
    names = np.full((h, w), "Road", dtype=object)
    names[: h // 3] = "Sky"
    x0, y0, x1, y1 = car
    names[y0:y1, x0:x1] = "Car"
    names[h - 1, w - 1] = "Void"
    return names


def segnet_sample() -> None:
    """SegNet lists: leading slashes, the author's folders, quoted paths, an image-only line."""
    root = DATA / "a_segnet"
    root.mkdir(parents=True)
    (root / "label_colors.txt").write_text(TABLE)
    rows = {
        "train": ["0001TP_006690", "0001TP_006720"],
        "val": ["0016E5_07959"],
        "test": ["Seq05VD f00000"],
    }
    for k, (subset, names) in enumerate(rows.items()):
        lines = []
        for n, name in enumerate(names):
            image(root / subset / f"{name}.png", 9, 6, 30 * (k + n))
            index = np.vectorize(INDEX.get)(scene(9, 6, (1 + n, 2, 4 + n, 5))).astype(np.uint8)
            mask = root / f"{subset}annot" / f"{name}.png"
            mask.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(index).save(mask)
            if " " in name:
                lines.append(f'"/{subset}/{name}.png" "/{subset}annot/{name}.png"')
            elif subset == "val":  # the path as SegNet's tutorial wrote it on its author's machine
                lines.append(f"/SegNet/CamVid/{subset}/{name}.png /SegNet/CamVid/{subset}annot/{name}.png")
            else:
                lines.append(f"/{subset}/{name}.png /{subset}annot/{name}.png")
        if subset == "train":
            image(root / "train" / "0001TP_006750.png", 9, 6, 200)
            lines.append("/train/0001TP_006750.png")  # an image without labels
        (root / f"{subset}.txt").write_text("\n".join(lines) + "\n")


def release_sample() -> None:
    """The original release: colour-coded *_L.png labels beside the raw frames."""
    root = DATA / "b_release"
    root.mkdir(parents=True)
    (root / "label_colors.txt").write_text(TABLE.replace("\t\t", "   "))  # runs of spaces instead of tabs
    for n, name in enumerate(["0006R0_f02610", "0006R0_f02640"]):
        image(root / "701_StillsRaw_full" / f"{name}.png", 10, 7, 60 + 40 * n)
        names = scene(10, 7, (2 + 3 * n, 3, 6 + 3 * n, 6))
        names[0, 0:2] = "Building"
        rgb = np.zeros((7, 10, 3), dtype=np.uint8)
        for cls, color in COLORS.items():
            rgb[names == cls] = color
        path = root / "LabeledApproved_full" / f"{name}_L.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path)


def annot_folders_sample() -> None:
    """<subset>/ and <subset>annot/ folders without lists or table: the 32-class default,
    colour-coded masks."""
    root = DATA / "c_annot_folders"
    full = {"Void": (0, 0, 0), "Pedestrian": (64, 64, 0), "Sidewalk": (0, 0, 192), "Tree": (128, 128, 0)}
    names = np.full((5, 8), "Sidewalk", dtype=object)
    names[:2] = "Tree"
    names[1:5, 3:5] = "Pedestrian"
    names[4, 0] = "Void"
    rgb = np.zeros((5, 8, 3), dtype=np.uint8)
    for cls, color in full.items():
        rgb[names == cls] = color
    (root / "trainannot").mkdir(parents=True)
    Image.fromarray(rgb).save(root / "trainannot" / "0001TP_007000.png")
    image(root / "train" / "0001TP_007000.png", 8, 5, 10)


if __name__ == "__main__":
    shutil.rmtree(DATA, ignore_errors=True)
    segnet_sample()
    release_sample()
    annot_folders_sample()
