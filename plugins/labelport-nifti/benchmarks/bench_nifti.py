"""Benchmark: read and write a 512 x 512 x 200 class-index NIfTI volume holding 10 classes.

    python benchmarks/bench_nifti.py [--size 512] [--slices 200] [--classes 10]

Each phase runs in its own process so that its peak memory (max RSS) is its own.
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


def phase_make(work: Path, size: int, slices: int, classes: int) -> dict:
    import nibabel as nib
    import numpy as np

    rng = np.random.default_rng(3)
    data = np.zeros((size, size, slices), dtype=np.uint8)
    for c in range(1, classes + 1):
        lo = rng.integers(0, [size // 2, size // 2, slices // 2])
        ext = rng.integers([size // 8, size // 8, slices // 8], [size // 3, size // 3, slices // 2])
        data[lo[0] : lo[0] + ext[0], lo[1] : lo[1] + ext[1], lo[2] : lo[2] + ext[2]] = c
    (work / "in").mkdir()
    nib.save(nib.Nifti1Image(data, np.diag([0.7, 0.7, 1.5, 1.0])), str(work / "in" / "case.nii.gz"))
    return {}


def phase_convert(work: Path) -> dict:
    import labelport

    t = time.perf_counter()
    ds = labelport.load(work / "in", format="nifti").materialize()
    read = time.perf_counter() - t
    t = time.perf_counter()
    report = labelport.save(ds, work / "out", "nifti")
    return {
        "read_seconds": read,
        "write_seconds": time.perf_counter() - t,
        "lossless": report.lossless,
        "masks": sum(len(i.annotations) for i in ds),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--slices", type=int, default=200)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--phase", choices=["make", "convert"], help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        out = (
            phase_make(args.workdir, args.size, args.slices, args.classes)
            if args.phase == "make"
            else phase_convert(args.workdir)
        )
        out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps(out))
        return 0
    with tempfile.TemporaryDirectory(prefix="labelport-bench-") as tmp:
        for phase in ("make", "convert"):
            cmd = [
                sys.executable,
                __file__,
                "--phase",
                phase,
                "--workdir",
                tmp,
                "--size",
                str(args.size),
                "--slices",
                str(args.slices),
                "--classes",
                str(args.classes),
            ]
            print(
                phase, subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
