"""Mask codec benchmark: labelport's ``labelport.geometry.masks`` against pycocotools, same run.

    python benchmarks/masks.py                           # 10,000 masks of 1024x1024, 100k polygons
    python benchmarks/masks.py --masks 1000 --size 512 --polygons 10000

Measures COCO RLE encoding and decoding of binary masks and rasterising COCO polygons to RLE.
Each baseline is the least pycocotools code doing the same job from the same input (a C-order
uint8 mask as numpy and Pillow produce it; the RLE dict; the polygon as a flat list), the way
the cocoapi's own ``annToRLE``/``encode`` callers write it. labelport and baseline run in
alternating blocks so that load from other processes falls on both alike. Prints a markdown
table of seconds per side and their ratio (target: at most 1.5x pycocotools).
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
from labelport.geometry.masks import polygons_to_rle, rle_decode, rle_encode
from labelport.schema import RLE
from pycocotools import mask as coco

TARGET = 1.5


def make_masks(count: int, size: int, seed: int) -> list[np.ndarray]:
    """``count`` distinct masks of ``size`` x ``size``: a few filled ellipses and boxes each,
    so the run-length structure is that of real object masks rather than noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    out = []
    for _ in range(count):
        m = np.zeros((size, size), dtype=bool)
        for _ in range(int(rng.integers(1, 5))):
            cx, cy = rng.uniform(0, size, 2)
            rx, ry = rng.uniform(size / 40, size / 4, 2)
            if rng.random() < 0.5:
                m |= ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
            else:
                m[int(max(cy - ry, 0)) : int(cy + ry), int(max(cx - rx, 0)) : int(cx + rx)] = True
        out.append(m.astype(np.uint8))
    return out


def make_polygons(count: int, size: int, seed: int) -> list[list[float]]:
    """``count`` star-shaped polygons of 6 to 40 vertices inside a ``size`` x ``size`` image."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.randint(6, 40)
        cx, cy = rng.uniform(0, size), rng.uniform(0, size)
        r = rng.uniform(4, size / 6)
        pts: list[float] = []
        for k in range(n):
            a = 2 * math.pi * k / n
            rr = r * rng.uniform(0.5, 1.0)
            pts += [min(max(cx + rr * math.cos(a), 0.0), size), min(max(cy + rr * math.sin(a), 0.0), size)]
        out.append(pts)
    return out


def alternate(n: int, block: int, ours: Callable[[int], object], theirs: Callable[[int], object]) -> tuple[float, float]:
    """Run ``ours(i)`` and ``theirs(i)`` for i in 0..n-1 in alternating blocks; total seconds of each."""
    t_ours = t_theirs = 0.0
    gc.disable()  # collections triggered by one side would be billed to the other
    try:
        for start in range(0, n, block):
            stop = min(start + block, n)
            t0 = time.perf_counter()
            for i in range(start, stop):
                ours(i)
            t1 = time.perf_counter()
            for i in range(start, stop):
                theirs(i)
            t2 = time.perf_counter()
            t_ours += t1 - t0
            t_theirs += t2 - t1
            gc.collect()
    finally:
        gc.enable()
    return t_ours, t_theirs


def check_same(masks: Sequence[np.ndarray], polygons: Sequence[list[float]], size: int) -> None:
    """The two sides compute the same thing (else the timing compares nothing)."""
    for m in masks[:8]:
        ours = rle_encode(m)
        theirs = coco.encode(np.asfortranarray(m))
        assert ours.counts == theirs["counts"].decode("ascii"), "encode differs"
        assert np.array_equal(rle_decode(ours), coco.decode(theirs).astype(bool)), "decode differs"
    for p in polygons[:100]:
        ours = polygons_to_rle([p], size, size)
        theirs = coco.merge(coco.frPyObjects([p], size, size))
        assert ours.counts == theirs["counts"].decode("ascii"), "polygon rasterisation differs"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--masks", type=int, default=10_000, help="masks to encode and decode (default 10000)")
    ap.add_argument("--size", type=int, default=1024, help="mask side in pixels (default 1024)")
    ap.add_argument("--polygons", type=int, default=100_000, help="polygons to rasterise (default 100000)")
    ap.add_argument("--distinct", type=int, default=32, help="base masks drawn, then varied per call (default 32)")
    ap.add_argument("--block", type=int, default=250, help="calls per alternating block (default 250)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    size = args.size
    masks = make_masks(min(args.distinct, args.masks), size, args.seed)
    polygons = make_polygons(args.polygons, size, args.seed)
    check_same(masks, polygons, size)
    k = len(masks)
    rows: list[tuple[str, float, float]] = []

    # Every call gets a distinct mask (one pixel of a base mask flipped), so no cache along the
    # way can answer a repeated input: each RLE is encoded and decoded once, as in a conversion.
    flips = [(i // k % size, i // k // size % size) for i in range(args.masks)]
    ours_rle: list[RLE] = []
    coco_rle: list[dict] = []

    def flipped(i: int, encode: Callable[[np.ndarray], object], out: list) -> None:
        m = masks[i % k]
        y, x = flips[i]
        m[y, x] ^= 1
        out.append(encode(m))
        m[y, x] ^= 1

    enc = alternate(
        args.masks,
        args.block,
        lambda i: flipped(i, rle_encode, ours_rle),
        lambda i: flipped(i, lambda m: coco.encode(np.asfortranarray(m)), coco_rle),
    )
    rows.append((f"encode {args.masks:,} masks {size}x{size} to compressed RLE", *enc))
    dec = alternate(
        args.masks,
        args.block,
        lambda i: rle_decode(ours_rle[i]),
        lambda i: coco.decode(coco_rle[i]),
    )
    rows.append((f"decode {args.masks:,} compressed RLEs {size}x{size} to arrays", *dec))
    poly = alternate(
        args.polygons,
        args.block * 20,
        lambda i: polygons_to_rle([polygons[i]], size, size),
        lambda i: coco.merge(coco.frPyObjects([polygons[i]], size, size)),
    )
    rows.append((f"rasterise {args.polygons:,} polygons to RLE ({size}x{size})", *poly))

    print(f"| operation | labelport (s) | pycocotools (s) | ratio | target <= {TARGET}x |")
    print("|---|---:|---:|---:|:---:|")
    worst = 0.0
    for name, ours, theirs in rows:
        ratio = ours / theirs if theirs else float("inf")
        worst = max(worst, ratio)
        print(f"| {name} | {ours:.2f} | {theirs:.2f} | {ratio:.2f}x | {'ok' if ratio <= TARGET else 'over'} |")
    per = [(n, o / max(args.masks if "masks" in n or "RLEs" in n else args.polygons, 1) * 1e6) for n, o, _ in rows]
    print()
    print("per call (labelport): " + "; ".join(f"{n.split()[0]} {us:.0f} us" for n, us in per))
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
