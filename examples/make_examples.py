"""Regenerate the bundled example dataset: ``python examples/make_examples.py``.

Draws simple scenes (houses, suns, people as stick figures) with Pillow and writes
their COCO annotations, so the example has real images whose annotations match
what is drawn.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).parent / "coco"
W, H = 192, 144
CATEGORIES = [
    {"id": 1, "name": "house", "supercategory": "building"},
    {"id": 2, "name": "sun", "supercategory": "sky"},
    {
        "id": 3,
        "name": "person",
        "supercategory": "human",
        "keypoints": ["head", "hip", "left_foot", "right_foot"],
        "skeleton": [[1, 2], [2, 3], [2, 4]],
    },
]


def scene(rng: random.Random, image_id: int, ann_ids: list[int]) -> tuple[Image.Image, list[dict]]:
    img = Image.new("RGB", (W, H), (135, 190, 235))
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 100, W, H], fill=(90, 160, 80))
    anns = []

    def add(**ann):
        ann_ids[0] += 1
        anns.append({"id": ann_ids[0], "image_id": image_id, "iscrowd": 0, **ann})

    # a house: a box for the walls, a polygon for walls + roof
    x, w, h = rng.randint(10, 90), rng.randint(40, 60), rng.randint(30, 45)
    top = 100 - h
    draw.rectangle([x, top, x + w, 100], fill=(200, 120, 80))
    roof = [x - 5, top, x + w + 5, top, x + w / 2, top - 20]
    draw.polygon(roof, fill=(150, 40, 40))
    outline = [x, 100, x, top, x - 5, top, x + w / 2, top - 20, x + w + 5, top, x + w, top, x + w, 100]
    add(category_id=1, bbox=[x - 5, top - 20, w + 10, h + 20], area=w * h + (w + 10) * 10, segmentation=[outline])
    # the sun: a box
    cx, cy, r = rng.randint(130, 175), rng.randint(15, 35), rng.randint(8, 14)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(250, 220, 60))
    add(category_id=2, bbox=[cx - r, cy - r, 2 * r, 2 * r], area=round(3.14159 * r * r, 1), segmentation=[])
    # a person: keypoints, a box
    px = rng.randint(120, 170)
    head, hip, lf, rf = (px, 70), (px, 92), (px - 6, 108), (px + 6, 108)
    draw.ellipse([px - 4, 62, px + 4, 70], fill=(60, 40, 30))
    draw.line([head, hip], fill=(30, 30, 30), width=2)
    draw.line([hip, lf], fill=(30, 30, 30), width=2)
    draw.line([hip, rf], fill=(30, 30, 30), width=2)
    kps = [*head, 2, *hip, 2, *lf, 2, *rf, 1]
    add(category_id=3, bbox=[px - 8, 60, 16, 50], area=16 * 50, segmentation=[], keypoints=kps, num_keypoints=4)
    return img, anns


def main() -> None:
    rng = random.Random(2026)
    ann_ids = [0]
    for subset, count, first in (("train", 6, 1), ("val", 2, 7)):
        images, anns = [], []
        for image_id in range(first, first + count):
            img, a = scene(rng, image_id, ann_ids)
            name = f"scene_{image_id:03d}.jpg"
            (ROOT / "images" / subset).mkdir(parents=True, exist_ok=True)
            img.save(ROOT / "images" / subset / name, quality=85)
            images.append({"id": image_id, "file_name": name, "width": W, "height": H})
            anns += a
        doc = {
            "info": {"description": "labelport example scenes", "version": "1.0"},
            "licenses": [],
            "categories": CATEGORIES,
            "images": images,
            "annotations": anns,
        }
        (ROOT / "annotations").mkdir(parents=True, exist_ok=True)
        (ROOT / "annotations" / f"instances_{subset}.json").write_text(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
