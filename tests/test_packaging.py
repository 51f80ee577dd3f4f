"""The core plus one plugin, built as wheels and installed into a fresh virtual environment,
is a working tool for that format alone."""

import subprocess
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_core_plus_coco_wheels_give_exactly_coco(tmp_path):
    # a fresh environment with pip (the test runner's own may have none, e.g. made by uv)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    wheels = tmp_path / "wheels"
    for project in (REPO / "core", REPO / "plugins" / "labelport-coco"):
        subprocess.run([str(py), "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(project)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *map(str, sorted(wheels.glob("*.whl")))], check=True)
    out = subprocess.run([str(env_dir / "bin" / "labelport"), "--json", "formats"], capture_output=True, text=True, check=True)
    import json

    assert [f["name"] for f in json.loads(out.stdout)] == ["coco"]
    # and it works: convert the bundled example COCO -> COCO single file
    res = subprocess.run(
        [
            str(env_dir / "bin" / "labelport"),
            "convert",
            str(REPO / "examples" / "coco"),
            str(tmp_path / "out.json"),
            "--to",
            "coco",
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "wrote 8 items as coco" in res.stdout
