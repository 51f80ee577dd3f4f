"""Writes the synthetic samples in tests/data from the Cityscapes specification.

Run it from this folder: ``python _make_samples.py``. The PNG maps are drawn the way the
reference ``json2instanceImg``/``json2labelImg`` scripts draw them (Pillow ImageDraw,
objects in file order), independently of the plugin's own rasteriser.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DATA = Path(__file__).parent / "data"
IDS = {
    "unlabeled": 0,
    "road": 7,
    "sidewalk": 8,
    "building": 11,
    "sky": 23,
    "person": 24,
    "rider": 25,
    "car": 26,
    "bicycle": 33,
    "license plate": -1,
}
INSTANCES = {"person", "rider", "car", "bicycle"}
COLORS = {
    0: (0, 0, 0),
    7: (128, 64, 128),
    8: (244, 35, 232),
    11: (70, 70, 70),
    23: (70, 130, 180),
    24: (220, 20, 60),
    25: (255, 0, 0),
    26: (0, 0, 142),
    33: (119, 11, 32),
}


def image(path: Path, w: int, h: int, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, shade // 2, 255 - shade)).save(path)


def draw_maps(doc: dict) -> tuple[np.ndarray, np.ndarray]:
    """labelIds and instanceIds of a polygon document, as the reference scripts draw them."""
    size = (doc["imgWidth"], doc["imgHeight"])
    labels, instances = Image.new("I", size, 0), Image.new("I", size, 0)
    dl, di = ImageDraw.Draw(labels), ImageDraw.Draw(instances)
    count: dict[str, int] = {}
    for obj in doc["objects"]:
        if obj.get("deleted"):
            continue
        name, group = obj["label"], False
        if name not in IDS and name.endswith("group"):
            name, group = name[:-5], True
        cid = IDS[name]
        if cid < 0:
            continue
        value = cid
        if name in INSTANCES and not group:
            value = cid * 1000 + count.get(name, 0)
            count[name] = count.get(name, 0) + 1
        pts = [tuple(p) for p in obj["polygon"]]
        dl.polygon(pts, fill=cid)
        di.polygon(pts, fill=value)
    return np.asarray(labels, dtype=np.int64), np.asarray(instances, dtype=np.int64)


def save_maps(base: Path, labels: np.ndarray, instances: np.ndarray) -> None:
    base.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(labels.astype(np.uint8)).save(f"{base}_gtFine_labelIds.png")
    Image.fromarray(instances.astype(np.uint16)).save(f"{base}_gtFine_instanceIds.png")
    rgb = np.zeros((*labels.shape, 3), dtype=np.uint8)
    for cid, color in COLORS.items():
        rgb[labels == cid] = color
    Image.fromarray(rgb).save(f"{base}_gtFine_color.png")


def polygons_sample() -> None:
    """Official layout with polygon files (read as polygons) and their derived maps."""
    root = DATA / "a_polygons"
    docs = {
        ("train", "aachen", "aachen_000000_000019"): {
            "imgHeight": 12,
            "imgWidth": 16,
            "objects": [
                {
                    "label": "building",
                    "polygon": [[0, 0], [15, 0], [15, 6], [0, 6]],
                    "date": "01-Jan-2015 10:00:00",
                    "user": "a",
                    "verified": 1,
                },
                {"label": "road", "polygon": [[0, 6], [15, 6], [15, 11], [0, 11]]},
                {"label": "car", "polygon": [[2, 7], [6, 7], [6, 10], [2, 10]]},
                {"label": "car", "polygon": [[8, 7], [12, 7], [12, 10], [8, 10]]},
                {"label": "cargroup", "polygon": [[13, 8], [15, 8], [15, 10], [13, 10]]},
                {"label": "license plate", "polygon": [[3, 9], [5, 9], [5, 10], [3, 10]]},
                {"label": "person", "polygon": [[0, 0], [1, 0], [1, 1]], "deleted": 1},
            ],
        },
        ("val", "bremen", "bremen_000001_000019"): {
            "imgHeight": 12,
            "imgWidth": 16,
            "objects": [
                {"label": "sky", "polygon": [[0, 0], [15, 0], [15, 5], [0, 5]]},
                {"label": "person", "polygon": [[4.5, 3.25], [7.5, 3.25], [7.5, 11], [4.5, 11]]},
            ],
        },
    }
    for (subset, city, stem), doc in docs.items():
        base = root / "gtFine" / subset / city / stem
        base.parent.mkdir(parents=True, exist_ok=True)
        (base.parent / f"{stem}_gtFine_polygons.json").write_text(json.dumps(doc, indent=4))
        save_maps(base, *draw_maps(doc))
        image(root / "leftImg8bit" / subset / city / f"{stem}_leftImg8bit.png", 16, 12, 40)
    # an image without annotations is still an item
    image(root / "leftImg8bit" / "test" / "berlin" / "berlin_000000_000001_leftImg8bit.png", 16, 12, 90)


def maps_sample() -> None:
    """Only PNG maps (as tools that export masks write them): 16-bit instanceIds."""
    root = DATA / "b_instance_maps"
    labels = np.zeros((10, 12), dtype=np.int64)
    instances = np.zeros((10, 12), dtype=np.int64)
    labels[0:4, :] = 23
    instances[0:4, :] = 23  # sky: no instances
    labels[4:10, :] = 7
    instances[4:10, :] = 7
    for value, (y0, y1, x0, x1) in {
        24000: (3, 9, 1, 3),
        24001: (3, 9, 4, 6),
        25000: (2, 9, 8, 10),
        33: (7, 10, 7, 11),
    }.items():
        cid = value // 1000 if value >= 1000 else value
        labels[y0:y1, x0:x1] = cid
        instances[y0:y1, x0:x1] = value
    labels[9, 0] = instances[9, 0] = 0  # one unlabeled pixel
    save_maps(root / "gtFine" / "val" / "frankfurt" / "frankfurt_000000_000294", labels, instances)
    image(root / "leftImg8bit" / "val" / "frankfurt" / "frankfurt_000000_000294_leftImg8bit.png", 12, 10, 120)
    # an image with only trainIds (19 classes, 255 = ignored)
    train = np.full((4, 6), 255, dtype=np.uint8)
    train[:2, :] = 10  # sky
    train[2:, :3] = 0  # road
    path = root / "gtFine" / "val" / "frankfurt" / "frankfurt_000000_000576_gtFine_labelTrainIds.png"
    Image.fromarray(train).save(path)


def custom_table_sample() -> None:
    """A custom class table (tabs and runs of spaces) with labelIds and a colour-only image."""
    root = DATA / "c_custom_table"
    root.mkdir(parents=True, exist_ok=True)
    (root / "label_colors.txt").write_text(
        "# custom classes of an inspection project\n128   0 0\tcrack\n0 0 0\t\tbackground\n0 128 0 \t patch area\n"
    )
    ids = np.zeros((6, 8), dtype=np.uint8)
    ids[1:3, 1:5] = 1  # crack (index 1: the black class moves to index 0)
    ids[4:6, 2:8] = 2  # patch area
    base = root / "gtFine" / "default" / "site" / "site_000001_000001"
    base.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(ids).save(f"{base}_gtFine_labelIds.png")
    rgb = np.zeros((6, 8, 3), dtype=np.uint8)
    rgb[ids == 1] = (128, 0, 0)
    rgb[ids == 2] = (0, 128, 0)
    Image.fromarray(rgb).save(root / "gtFine" / "default" / "site" / "site_000001_000002_gtFine_color.png")


if __name__ == "__main__":
    shutil.rmtree(DATA, ignore_errors=True)
    polygons_sample()
    maps_sample()
    custom_table_sample()
