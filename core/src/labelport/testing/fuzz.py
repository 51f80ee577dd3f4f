"""Fuzz every reader with mutated copies of sample datasets; count the outcomes.

    python -m labelport.testing.fuzz plugins/labelport-coco/tests/data --format coco --cases 100000

A case is: copy one sample, apply one seeded mutation (truncation, flipped bytes, JSON keys
deleted or types swapped, inserted tokens) to one of its annotation files, then read it and
iterate every item. Outcomes: ``ok`` (read), ``refused`` (a LabelportError, as it must be)
and ``crash`` (any other exception: a bug). Exit status 1 when anything crashed.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

import labelport
from labelport.errors import LabelportError
from labelport.testing import _annotation_files, _consume, mutate


def fuzz(
    samples: Path, format: str, cases: int, seed: int = 0, *, show: int = 5, image_annotations: tuple[str, ...] = ()
) -> Counter[str]:
    rng = random.Random(seed)
    entries = sorted(p for p in samples.iterdir() if not p.name.startswith((".", "_")))
    outcomes: Counter[str] = Counter()
    crashes_shown = 0
    with tempfile.TemporaryDirectory(prefix="labelport-fuzz-") as tmp:
        originals = {e: _annotation_files(e, image_annotations) for e in entries}
        for case in range(cases):
            sample = rng.choice(entries)
            files = originals[sample]
            if not files:
                continue
            work = Path(tmp) / "case" / sample.name
            if sample.is_dir():
                shutil.copytree(sample, work)
            else:
                work.parent.mkdir(parents=True)
                shutil.copy2(sample, work)
            target = rng.choice(files)
            victim = work if work.is_file() else work / target.relative_to(sample)
            victim.write_bytes(mutate(victim.read_bytes(), rng))
            try:
                _consume(labelport.load(work, format=format))
                outcomes["ok"] += 1
            except LabelportError:
                outcomes["refused"] += 1
            except RecursionError:
                outcomes["crash"] += 1
            except Exception:  # noqa: BLE001 - counting crashes is the point
                outcomes["crash"] += 1
                if crashes_shown < show:
                    crashes_shown += 1
                    print(f"crash in case {case} ({sample.name}, {target.name}):", file=sys.stderr)
                    traceback.print_exc(limit=-4)
            shutil.rmtree(Path(tmp) / "case", ignore_errors=True)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("samples", type=Path, help="a folder of sample datasets (one entry each)")
    ap.add_argument("--format", required=True)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--image-annotations",
        action="append",
        default=[],
        metavar="GLOB",
        help="image files that are annotations (mask PNGs) to mutate too, e.g. '*.png'",
    )
    ap.add_argument("--memory-limit", type=float, default=4.0, help="GiB of address space; a bomb becomes a counted crash")
    args = ap.parse_args(argv)
    import resource

    limit = int(args.memory_limit * 1024**3)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    start = time.perf_counter()
    out = fuzz(args.samples, args.format, args.cases, args.seed, image_annotations=tuple(args.image_annotations))
    total = sum(out.values())
    print(
        f"{args.format}: {total} cases, {out['ok']} read, {out['refused']} refused cleanly, "
        f"{out['crash']} crashes in {time.perf_counter() - start:.0f} s"
    )
    return 1 if out["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
