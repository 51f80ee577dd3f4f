"""Writes the synthetic samples in tests/data from the ImageNet download layout and the
class index lists trained on it. Run it from this folder: ``python _make_samples.py``."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

DATA = Path(__file__).parent / "data"


def image(path: Path, w: int = 8, h: int = 6, shade: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 120, 200 - shade)).save(path)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def lists_sample() -> None:
    """train.txt / val.txt rows ``<image> <class index>...`` (several indices, none, a quoted
    name with a space), synsets.txt of WordNet ids and synset_words.txt with descriptions."""
    root = DATA / "a_lists"
    wnids = [
        ("n01440764", "tench, Tinca tinca"),
        ("n01443537", "goldfish, Carassius auratus"),
        ("n01484850", "great white shark"),
    ]
    write(root / "synsets.txt", "".join(f"{w}\n" for w, _ in wnids))
    write(root / "synset_words.txt", "".join(f"{w} {d}\n" for w, d in wnids))
    write(
        root / "train.txt",
        "n01440764/n01440764_10026.JPEG 0\n"
        "n01443537/n01443537_2.JPEG 1\n"
        "mixed/two_fish.JPEG 0 1\n"
        '"holiday photo".JPEG 2\n'
        "unlabelled.JPEG\n",
    )
    write(root / "val.txt", "ILSVRC2012_val_00000001.JPEG 2\nILSVRC2012_val_00000002.JPEG 0\n")
    for i, name in enumerate(
        [
            "n01440764/n01440764_10026.JPEG",
            "n01443537/n01443537_2.JPEG",
            "mixed/two_fish.JPEG",
            "holiday photo.JPEG",
            "unlabelled.JPEG",
            "ILSVRC2012_val_00000001.JPEG",
            "ILSVRC2012_val_00000002.JPEG",
        ]
    ):
        image(root / "images" / name, 8 + i, 6, 20 * i)


def folders_sample() -> None:
    """Class folders: two classes, a nested sub-class, an image without a class at the root
    and one in no_label/."""
    root = DATA / "b_class_folders"
    image(root / "cat" / "cat_001.jpg", 10, 8, 10)
    image(root / "cat" / "cat_002.png", 10, 8, 30)
    image(root / "dog" / "dog_001.jpg", 12, 8, 50)
    image(root / "dog" / "puppy" / "dog_001.jpg", 12, 8, 70)
    image(root / "loose.jpg", 9, 9, 90)
    image(root / "no_label" / "unknown.jpg", 9, 9, 110)


if __name__ == "__main__":
    for sample in ("a_lists", "b_class_folders"):
        shutil.rmtree(DATA / sample, ignore_errors=True)
    lists_sample()
    folders_sample()
