"""Seeded synthetic datasets for the benchmarks: COCO files with boxes and polygons.

Images are sized but not written (the readers never decode them)."""

from __future__ import annotations

import random
from pathlib import Path

import orjson


def coco(path: Path, annotations: int, *, per_image: int = 20, polygons: float = 0.5, seed: int = 0) -> Path:
    """Write a COCO instances file with ``annotations`` annotations (boxes, and polygons for a
    ``polygons`` fraction of them) over ``annotations // per_image`` images."""
    rng = random.Random(seed)
    images_n = max(1, annotations // per_image)
    cats = [{"id": i + 1, "name": f"class_{i}", "supercategory": ""} for i in range(80)]
    images = [{"id": i + 1, "file_name": f"{i + 1:08d}.jpg", "width": 640, "height": 480} for i in range(images_n)]
    anns = []
    for k in range(annotations):
        x, y = rng.uniform(0, 500), rng.uniform(0, 380)
        w, h = rng.uniform(5, 140), rng.uniform(5, 100)
        ann = {
            "id": k + 1,
            "image_id": k % images_n + 1,
            "category_id": rng.randint(1, 80),
            "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
            "area": round(w * h, 2),
            "iscrowd": 0,
            "segmentation": [],
        }
        if rng.random() < polygons:
            ann["segmentation"] = [[round(x, 2), round(y, 2), round(x + w, 2), round(y, 2), round(x + w / 2, 2), round(y + h, 2)]]
        anns.append(ann)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps({"info": {}, "licenses": [], "categories": cats, "images": images, "annotations": anns}))
    return path
