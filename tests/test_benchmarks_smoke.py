"""The benchmark runner works end to end on a tiny size: it makes its synthetic inputs, runs
labelport and the baseline of each scenario, and prints a table with the ratios and verdicts."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "benchmarks" / "run.py"


def _installed(*names):
    import labelport

    have = {f.name for f in labelport.formats()}
    return all(n in have for n in names)


@pytest.mark.skipif(not _installed("coco", "yolo"), reason="needs the coco and yolo plugins")
def test_runner_prints_rows_with_ratios(tmp_path):
    out_file = tmp_path / "table.md"
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--sizes", "2k", "--scenarios", "coco-read,yolo-to-coco",
         "--data", str(tmp_path / "data"), "--no-peers", "--out", str(out_file)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:5] == ["scenario", "annotations", "labelport s", "baseline s", "time ratio"]
    rows = {}
    for ln in lines[2:]:
        cells = dict(zip(header, (c.strip() for c in ln.strip("|").split("|")), strict=True))
        rows[cells["scenario"]] = cells
    assert set(rows) == {"coco-read", "yolo-to-coco"}
    for name, cells in rows.items():
        assert cells["annotations"] == "2,000"
        lp, base = float(cells["labelport s"]), float(cells["baseline s"])
        ratio = float(cells["time ratio"].rstrip("x"))
        assert lp > 0 and base >= 0 and ratio > 0
        if base >= 0.05:  # below that the printed (2-decimal) times are too coarse to recompute the ratio
            assert ratio == pytest.approx(lp / base, rel=0.15), name
        mem = float(cells["memory / JSON"].rstrip("x"))
        json_mb = float(cells["JSON MB"])
        assert json_mb > 0.1 and mem >= 0
        assert re.fullmatch(r"time (ok|over), memory (ok|over)", cells["met"]), cells["met"]
    # the two sides counted the same annotations, or the verdict says so
    assert "counted" not in rows["yolo-to-coco"]["met"]
    assert out_file.read_text().strip() == "\n".join(lines).strip()


def test_runner_rejects_unknown_scenarios(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(RUNNER), "--sizes", "2k", "--scenarios", "nope", "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0 and "unknown scenario" in proc.stderr
