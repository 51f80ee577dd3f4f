"""Benchmark: write and read an RT Structure Set of 10 ROIs on a 512 x 512 x 200 CT series.

    python benchmarks/bench_dicom_rt.py [--size 512] [--slices 200] [--rois 10] [--workdir DIR]

Each phase runs in its own process so that its peak memory (max RSS) is its own:
``series`` writes the synthetic CT series (not timed as part of the plugin), ``write`` builds
the masks and saves the structure set with ``series=``, ``read`` loads it back onto the series
and checks every ROI against the source mask (Dice). Prints one line per phase and a summary.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the synthetic DICOM builders


def phantom(shape: tuple[int, int, int], n: int) -> list[tuple[str, np.ndarray]]:
    """``n`` ellipsoids of different sizes, every other one hollow (a hole on each slice)."""
    rng = np.random.default_rng(7)
    out = []
    nx, ny, nz = shape
    for r in range(n):
        radii = np.array([rng.uniform(0.05, 0.18) * nx, rng.uniform(0.05, 0.18) * ny, rng.uniform(0.1, 0.35) * nz])
        centre = np.array([rng.uniform(r_, s - r_) for r_, s in zip(radii + 2, shape, strict=True)])
        lo = np.maximum(np.floor(centre - radii).astype(int), 0)
        hi = np.minimum(np.ceil(centre + radii).astype(int) + 1, shape)
        i, j, k = np.ogrid[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        d = ((i - centre[0]) / radii[0]) ** 2 + ((j - centre[1]) / radii[1]) ** 2 + ((k - centre[2]) / radii[2]) ** 2
        block = d <= 1.0
        if r % 2:
            block &= d >= 0.3
        mask = np.zeros(shape, dtype=bool)
        mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = block
        out.append((f"roi_{r + 1:02d}", mask))
    return out


def phase_series(work: Path, size: int, slices: int) -> dict:
    from rt_builders import make_series

    t = time.perf_counter()
    make_series(
        work / "ct",
        "bench",
        columns=size,
        rows=size,
        slices=slices,
        pixel_spacing=(0.9, 0.7),
        origin=(-180.0, -180.0, -300.0),
        slice_gap=1.5,
    )
    return {"seconds": time.perf_counter() - t}


def phase_write(work: Path, rois: int) -> dict:
    import labelport
    from labelport.schema import Dataset, Item, Label, Volume, VolumeMask
    from labelport_dicom_rt._geometry import dicom_files, read_header, read_slice, series_grids

    t = time.perf_counter()
    grid = series_grids([read_slice(p, read_header(p)) for p in dicom_files(work / "ct", recursive=True)])[0]
    masks = phantom(grid.shape, rois)
    built = time.perf_counter() - t
    vol = Volume(shape=grid.shape, affine=grid.ras_affine().tolist(), spacing=grid.spacing)
    anns = [VolumeMask(id=n + 1, label=name, data=m) for n, (name, m) in enumerate(masks)]
    ds = Dataset([Item(id="bench", media=vol, annotations=anns)], labels=[Label(name=name) for name, _ in masks])
    t = time.perf_counter()
    report = labelport.save(ds, work / "rt", "dicom_rt", overwrite=True, series=work / "ct")
    seconds = time.perf_counter() - t
    contours = sum(1 for _ in (work / "rt").glob("*.dcm"))
    return {
        "seconds": seconds,
        "mask_build_seconds": built,
        "lossless": report.lossless,
        "files": contours,
        "bytes": (work / "rt" / "bench.dcm").stat().st_size,
        "voxels": [int(m.sum()) for _, m in masks],
    }


def phase_read(work: Path, rois: int) -> dict:
    import labelport

    t = time.perf_counter()
    (item,) = labelport.load(work / "rt", format="dicom_rt", series=work / "ct")  # one pass (list() would count first)
    seconds = time.perf_counter() - t
    source = dict(phantom(item.media.shape, rois))
    dice = {}
    for ann in item.annotations:
        a, b = ann.data, source[ann.label]
        dice[ann.label] = round(2.0 * float((a & b).sum()) / float(a.sum() + b.sum()), 6)
    return {
        "seconds": seconds,
        "grid": item.metadata["dicom_rt"]["grid"],
        "shape": list(item.media.shape),
        "min_dice": min(dice.values()),
        "dice": dice,
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--slices", type=int, default=200)
    ap.add_argument("--rois", type=int, default=10)
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--phase", choices=["series", "write", "read"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        work = args.workdir
        if args.phase == "series":
            result = phase_series(work, args.size, args.slices)
        elif args.phase == "write":
            result = phase_write(work, args.rois)
        else:
            result = phase_read(work, args.rois)
        result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory(prefix="labelport-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = {}
        for phase in ("series", "write", "read"):
            cmd = [
                sys.executable,
                __file__,
                "--phase",
                phase,
                "--workdir",
                str(work),
                "--size",
                str(args.size),
                "--slices",
                str(args.slices),
                "--rois",
                str(args.rois),
            ]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            results[phase] = json.loads(out)
            shown = {k: v for k, v in results[phase].items() if k not in ("dice", "voxels")}
            print(f"{phase:6} {json.dumps(shown)}")
        w, r = results["write"], results["read"]
        print(
            f"{args.size}x{args.size}x{args.slices}, {args.rois} ROIs: write {w['seconds']:.1f} s "
            f"(peak {w['max_rss_mb']:.0f} MB, masks included), read {r['seconds']:.1f} s "
            f"(peak {r['max_rss_mb']:.0f} MB), structure set {w['bytes'] / 1e6:.1f} MB, min Dice {r['min_dice']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
