"""Benchmark: Cityscapes PNG maps -> COCO JSON.

Builds a synthetic Cityscapes ``gtFine`` tree (instanceIds, labelIds and color PNGs of
2048x1024, about 45 segments an image, no polygon files so every image is decoded) in a
temporary folder, converts it to COCO and prints the time. Datumaro users report about
7 minutes for 500 such images.

    python bench_cityscapes_to_coco.py [--images 500] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

W, H = 2048, 1024
STUFF = (7, 8, 11, 21, 23)  # road, sidewalk, building, vegetation, sky
THINGS = (24, 25, 26, 27, 33)  # person, rider, car, truck, bicycle


def scene(seed: int) -> np.ndarray:
    """An instanceIds map: stuff bands, then vehicles and people drawn on top."""
    rng = np.random.default_rng(seed)
    im = Image.new("I", (W, H), 0)
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, W, 300), fill=23)
    draw.polygon([(0, 300), (W, 250), (W, 600), (0, 650)], fill=11)
    draw.polygon([(0, 650), (W, 600), (W, H), (0, H)], fill=7)
    draw.polygon([(0, 800), (600, 640), (700, 660), (0, 1000)], fill=8)
    for k in range(8):
        x = int(rng.integers(0, W - 200))
        draw.ellipse((x, 200 + k * 10, x + 200, 450), fill=21)
    count: dict[int, int] = {}
    for _ in range(40):
        cls = int(rng.choice(THINGS))
        x, y = int(rng.integers(0, W - 300)), int(rng.integers(500, H - 150))
        w, h = int(rng.integers(30, 300)), int(rng.integers(40, 150))
        pts = [(x + int(w * a), y + int(h * b)) for a, b in ((0, 0.3), (0.2, 0), (0.8, 0), (1, 0.3), (1, 1), (0, 1))]
        draw.polygon(pts, fill=cls * 1000 + count.get(cls, 0))
        count[cls] = count.get(cls, 0) + 1
    return np.asarray(im, dtype=np.int64)


def build(root: Path, images: int) -> None:
    """Ten distinct scenes, copied to ``images`` files (decoding cost is what is measured)."""
    template = root / "_templates"
    template.mkdir(parents=True)
    colors = np.random.default_rng(0).integers(0, 255, (34, 3), dtype=np.uint8)
    for s in range(10):
        inst = scene(s)
        labels = np.where(inst >= 1000, inst // 1000, inst)
        Image.fromarray(inst.astype(np.uint16)).save(template / f"{s}_instanceIds.png")
        Image.fromarray(labels.astype(np.uint8)).save(template / f"{s}_labelIds.png")
        Image.fromarray(colors[labels]).save(template / f"{s}_color.png")
    for i in range(images):
        city = f"city{i // 100}"
        folder = root / "gtFine" / "train" / city
        folder.mkdir(parents=True, exist_ok=True)
        for kind in ("instanceIds", "labelIds", "color"):
            shutil.copyfile(template / f"{i % 10}_{kind}.png", folder / f"{city}_{i:06d}_000019_gtFine_{kind}.png")
    shutil.rmtree(template)


def main() -> None:
    import labelport

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=500)
    ap.add_argument("--keep", type=Path, help="build the dataset here and keep it")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cityscapes-bench-")) if args.keep is None else args.keep
    try:
        src = work / "cityscapes"
        if not (src / "gtFine").is_dir():
            t = time.perf_counter()
            build(src, args.images)
            print(f"built {args.images} images of {W}x{H} in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        report = labelport.convert(src, work / "coco", "coco", overwrite=True)
        took = time.perf_counter() - t
        size = sum(p.stat().st_size for p in (work / "coco").rglob("*.json")) / 1e6
        print(
            f"cityscapes -> coco: {report.items} images, {sum(report.annotations.values())} masks "
            f"in {took:.1f} s ({took / max(report.items, 1) * 1000:.0f} ms an image), COCO JSON {size:.1f} MB"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
