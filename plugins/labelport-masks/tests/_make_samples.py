"""Regenerate the synthetic samples in ``data/`` (written from the layouts the plugin documents).

    python tests/_make_samples.py

Each sample is small (a few images of 16x12 pixels) so the conformance kit's fuzzing stays fast.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data"
H, W = 12, 16


def png(path: Path, arr: np.ndarray, mode: str | None = None, palette: list[int] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "P":
        im = Image.frombytes("P", (arr.shape[1], arr.shape[0]), arr.astype(np.uint8).tobytes())
        im.putpalette(palette or [v for i in range(256) for v in (i * 7 % 256, i * 13 % 256, i * 29 % 256)])
    else:
        im = Image.fromarray(arr)
    im.save(path)


def photo(path: Path, seed: int, size: tuple[int, int] = (W, H)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def blank(dtype: type = np.uint8) -> np.ndarray:
    return np.zeros((H, W), dtype=dtype)


def aggregated(root: Path) -> None:
    """Aggregated class masks: 8-bit grayscale and palette PNGs, names-only classes.txt."""
    (root / "classes.txt").parent.mkdir(parents=True)
    (root / "classes.txt").write_text("background\ncat\ndog\ntraffic light\n")
    a = blank()
    a[1:5, 2:7] = 1  # cat
    a[6:11, 8:15] = 2  # dog
    a[0, 0] = 3  # a single pixel of traffic light
    png(root / "class_masks" / "img_001.png", a)
    b = blank()
    b[3:9, 3:13] = 3
    b[4:6, 4:6] = 1
    png(root / "class_masks" / "img_002.png", b, mode="P")
    png(root / "class_masks" / "empty.png", blank())
    photo(root / "images" / "img_001.jpg", 1)
    photo(root / "images" / "img_002.png", 2)


def explicit_16bit(root: Path) -> None:
    """``<value> <name>`` classes with values beyond 255 (16-bit PNG) and a nested item id."""
    root.mkdir(parents=True)
    (root / "classes.txt").write_text("0: unlabeled\n7: road\n300: sidewalk\n1024: sign\n")
    a = blank(np.uint16)
    a[:6, :] = 7
    a[6:, :8] = 300
    a[8:10, 10:14] = 1024
    png(root / "class_masks" / "city" / "frame_a.png", a)
    photo(root / "images" / "city" / "frame_a.jpg", 3)


def instances(root: Path) -> None:
    """Instance masks with their class masks: two cars, one person and a stuff class (road)."""
    root.mkdir(parents=True)
    (root / "classes.txt").write_text("background\nroad\ncar\nperson\n")
    cls = blank()
    inst = blank()
    cls[8:, :] = 1  # road, no instances
    cls[1:4, 1:5] = 2
    inst[1:4, 1:5] = 1
    cls[1:4, 8:12] = 2
    inst[1:4, 8:12] = 2
    cls[4:8, 13:15] = 3
    inst[4:8, 13:15] = 5
    png(root / "class_masks" / "street.png", cls)
    png(root / "instance_masks" / "street.png", inst)
    photo(root / "images" / "street.jpg", 4)


def individual(root: Path) -> None:
    """Individual masks: one binary PNG per class or per instance; class names from file names."""
    m1 = blank()
    m1[2:6, 2:6] = 255
    png(root / "individual_masks" / "img_001" / "sky.png", m1)
    m2 = blank()
    m2[7:10, 1:4] = 255
    png(root / "individual_masks" / "img_001" / "tree_1.png", m2)
    m3 = blank()
    m3[7:10, 9:13] = 1  # a 0/1 mask is as good as 0/255
    png(root / "individual_masks" / "img_001" / "tree_2.png", m3)
    m4 = blank()
    m4[0:3, 10:16] = 255
    png(root / "individual_masks" / "img_002" / "traffic%20sign_1.png", m4)
    photo(root / "images" / "img_001.png", 5)


def video(root: Path) -> None:
    """The video layout: <video>/frames and <video>/masks, one instance tracked over two frames."""
    root.mkdir(parents=True)
    (root / "classes.txt").write_text("background\nball\nfield\n")
    for k in range(3):
        cls = blank()
        inst = blank()
        cls[9:, :] = 2
        cls[2:5, 2 + 3 * k : 5 + 3 * k] = 1
        inst[2:5, 2 + 3 * k : 5 + 3 * k] = 1
        png(root / "clip_a" / "masks" / f"frame_{k:06d}.png", cls)
        png(root / "clip_a" / "instance_masks" / f"frame_{k:06d}.png", inst)
        photo(root / "clip_a" / "frames" / f"frame_{k:06d}.jpg", 10 + k)
    cls = blank()
    cls[5:, 5:] = 2
    png(root / "clip_b" / "masks" / "00000.png", cls)


def subsets(root: Path) -> None:
    """Subset folders each holding class masks; one classes.txt at the root."""
    root.mkdir(parents=True)
    (root / "classes.txt").write_text("background\nleaf\nstem\n")
    for subset, seed in (("train", 20), ("val", 21)):
        a = blank()
        a[2:10, 3:9] = 1
        a[10:, 5:7] = 2
        png(root / subset / "class_masks" / f"plant_{seed}.png", a)
        photo(root / subset / "images" / f"plant_{seed}.jpg", seed)


def main() -> None:
    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir()
    aggregated(DATA / "aggregated")
    explicit_16bit(DATA / "explicit_16bit")
    instances(DATA / "instances")
    individual(DATA / "individual")
    video(DATA / "video")
    subsets(DATA / "subsets")


if __name__ == "__main__":
    main()
