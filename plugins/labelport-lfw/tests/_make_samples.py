"""Writes the synthetic samples in tests/data from the LFW README (pairs.txt, people.txt,
lfw/<name>/<name>_<nnnn>.jpg) and the datumaro/CVAT layout with landmarks.txt.
Run it from this folder: ``python _make_samples.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

DATA = Path(__file__).parent / "data"


def image(path: Path, w: int = 25, h: int = 25, shade: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 120, 200 - shade)).save(path)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def release_sample() -> None:
    """The release: pairs.txt with two sets of one matched and one mismatched pair, people.txt
    in two sets, images in lfw/<name>/."""
    root = DATA / "a_release"
    write(
        root / "pairs.txt",
        "2\t1\nAda_Lovelace\t1\t2\nAda_Lovelace\t1\tAlan_Turing\t1\nAlan_Turing\t1\t3\nGrace_Hopper\t1\tAlan_Turing\t2\n",
    )
    write(root / "people.txt", "2\n2\nAda_Lovelace\t2\nGrace_Hopper\t1\n1\nAlan_Turing\t3\n")
    for i, name in enumerate(
        [
            "Ada_Lovelace_0001",
            "Ada_Lovelace_0002",
            "Alan_Turing_0001",
            "Alan_Turing_0002",
            "Alan_Turing_0003",
            "Grace_Hopper_0001",
        ]
    ):
        person = name.rsplit("_", 1)[0]
        image(root / "lfw" / person / f"{name}.jpg", shade=25 * i)


def export_sample() -> None:
    """As datumaro and CVAT exchange it: <subset>/annotations with landmarks.txt, a one-name
    row for an image without pairs, a mismatched pair whose second image has no person."""
    root = DATA / "b_export"
    ann = root / "test" / "annotations"
    write(ann / "pairs.txt", "1\t1\nname1\t1\t2\nname0\t1\t-\tstranger\nname0/name0_0002\n")
    write(ann / "people.txt", "2\nname0\t2\nname1\t2\n")
    write(
        ann / "landmarks.txt",
        "name0/name0_0001.jpg\t1.5\t4\t3\t3.25\t2\t2\t1\t0\t3\t0\nname1/name1_0002.jpg\t0\t5\t3\t5\t2\t2\t1\t0\t3\t0\n",
    )
    for i, rel in enumerate(
        ["name0/name0_0001.jpg", "name0/name0_0002.jpg", "name1/name1_0001.jpg", "name1/name1_0002.jpg", "stranger.jpg"]
    ):
        image(root / "test" / "images" / rel, 8, 8, 40 * i)


if __name__ == "__main__":
    for sample in ("a_release", "b_export"):
        shutil.rmtree(DATA / sample, ignore_errors=True)
    release_sample()
    export_sample()
