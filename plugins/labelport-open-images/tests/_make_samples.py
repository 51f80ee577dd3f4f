"""Writes the synthetic samples in tests/data from the Open Images download page's file
descriptions and the annotations/ + images/ + masks/ layout CVAT and datumaro exchange.
Run it from this folder: ``python _make_samples.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).parent / "data"
IMAGE_HEADER = (
    "ImageID,Subset,OriginalURL,OriginalLandingURL,License,AuthorProfileURL,Author,Title,"
    "OriginalSize,OriginalMD5,Thumbnail300KURL,Rotation\n"
)
BOX_HEADER = "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside"
LABEL_HEADER = "ImageID,Source,LabelName,Confidence\n"
MASK_HEADER = "MaskPath,ImageID,LabelName,BoxID,BoxXMin,BoxXMax,BoxYMin,BoxYMax,PredictedIoU,Clicks\n"


def image(path: Path, w: int, h: int, shade: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (shade, 120, 200 - shade)).save(path)


def mask(path: Path, w: int, h: int, box: tuple[int, int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    m = np.zeros((h, w), dtype=np.uint8)
    x1, y1, x2, y2 = box
    m[y1:y2, x1:x2] = 255
    Image.fromarray(m).convert("1").save(path)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def export_layout() -> None:
    """annotations/ with subset-prefixed files, a headerless class list, images.meta, a two-level
    class tree, a negative image label, unknown (-1) flags, a mask outlining its box."""
    root = DATA / "export"
    ann = root / "annotations"
    write(ann / "class-descriptions.csv", "/m/01g317,Person\n/m/04yx4,Man\n/m/0k4j,Car\n/m/01yrx,Cat\n")
    tree = {"LabelName": "/m/0bl9f", "Subcategory": [{"LabelName": "/m/01g317", "Subcategory": [{"LabelName": "/m/04yx4"}]}]}
    write(ann / "bbox_labels_600_hierarchy.json", json.dumps(tree, indent=2))
    write(ann / "images.meta", "0a1b 40 64\n0c2d 30 20\n")
    write(ann / "train-image_ids_and_rotation.csv", IMAGE_HEADER + "0a1b,train,,,,,Ann,Street,,,,0\n0c2d,train,,,,,,,,,,90\n")
    write(ann / "validation-image_ids_and_rotation.csv", IMAGE_HEADER + "0e3f,validation,,,,,,,,,,\n")
    write(
        ann / "train-annotations-bbox.csv",
        BOX_HEADER + "\n"
        "0a1b,xclick,/m/04yx4,1,0.25,0.5,0.125,0.875,1,0,0,-1,-1\n"
        "0a1b,xclick,/m/0k4j,1,0.5,1,0.5,1,0,1,1,0,0\n"
        "0c2d,activemil,/m/01yrx,1,0.1,0.6,0.2,0.9,-1,-1,-1,-1,-1\n",
    )
    labels = "0a1b,verification,/m/04yx4,1\n0a1b,verification,/m/01yrx,0\n"  # the second: verified absent
    write(ann / "train-annotations-human-imagelabels.csv", LABEL_HEADER + labels)
    write(ann / "validation-annotations-human-imagelabels.csv", LABEL_HEADER + "0e3f,crowdsource-verification,/m/0k4j,1\n")
    seg = "0a1b_m04yx4_7f3a21c0.png,0a1b,/m/04yx4,7f3a21c0,0.25,0.5,0.125,0.875,0.81,0.3 0.4 1;0.31 0.6 0\n"
    write(ann / "train-annotations-object-segmentation.csv", MASK_HEADER + seg)
    mask(root / "masks" / "train" / "0a1b_m04yx4_7f3a21c0.png", 64, 40, (16, 5, 32, 35))
    image(root / "images" / "train" / "0a1b.jpg", 64, 40)
    image(root / "images" / "train" / "0c2d.jpg", 20, 30, 30)
    image(root / "images" / "validation" / "0e3f.jpg", 16, 16, 160)


def release_layout() -> None:
    """The files as the Open Images site names them, beside images/ and masks/ (no annotations/
    folder, no images.meta): oidv6- prefixes, a class list with a header, the combined image list,
    extra XClick columns, boxable image labels and a mask stored at half the image's resolution."""
    root = DATA / "release"
    write(root / "oidv6-class-descriptions.csv", "LabelName,DisplayName\n/m/0cmf2,Airplane\n/m/0dzct,\"Human face, front\"\n")
    write(root / "image_ids_and_rotation.csv", IMAGE_HEADER + "f00d,train,,,,,,,,,,0\nbeef,test,,,,,,,,,,\n")
    write(
        root / "oidv6-train-annotations-bbox.csv",
        BOX_HEADER + ",XClick1X,XClick2X,XClick3X,XClick4X,XClick1Y,XClick2Y,XClick3Y,XClick4Y\n"
        "f00d,xclick,/m/0cmf2,1,0.1,0.9,0.25,0.75,0,0,0,0,0,0.1,0.5,0.9,0.5,0.5,0.25,0.5,0.75\n",
    )
    write(root / "test-annotations-human-imagelabels-boxable.csv", LABEL_HEADER + "beef,verification,/m/0dzct,1\n")
    seg = "f00d_m0cmf2_00000001.png,f00d,/m/0cmf2,00000001,0.1,0.9,0.25,0.75,,\n"
    write(root / "train-annotations-object-segmentation.csv", MASK_HEADER + seg)
    mask(root / "masks" / "f00d_m0cmf2_00000001.png", 20, 10, (2, 2, 18, 8))
    image(root / "images" / "train" / "f00d.jpg", 40, 20)
    image(root / "images" / "test" / "beef.png", 12, 12, 10)


if __name__ == "__main__":
    for sample in ("export", "release"):
        shutil.rmtree(DATA / sample, ignore_errors=True)
    export_layout()
    release_layout()
