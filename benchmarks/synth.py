"""Seeded synthetic datasets for the benchmarks: one COCO file with boxes and polygons, and the
same annotations as YOLO (darknet), Pascal VOC and CVAT for images 1.1.

Every dataset folder holds its images as hard links to one small JPEG of the declared size
(640x480): readers that need an image size find a real header, and nothing is decoded.
The YOLO, VOC and CVAT inputs are written from the COCO file by the small writers below,
not by labelport, so that a benchmark input never depends on the code it measures.

    dataset(root, "coco", 100_000) -> (annotation file or folder to read, annotation bytes)
"""

from __future__ import annotations

import collections
import os
import random
import shutil
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import orjson

KINDS = ("coco", "yolo", "voc", "cvat")
WIDTH, HEIGHT = 640, 480


def coco(path: Path, annotations: int, *, per_image: int = 20, polygons: float = 0.5, seed: int = 0) -> Path:
    """Write a COCO instances file with ``annotations`` annotations (boxes, and polygons for a
    ``polygons`` fraction of them) over ``annotations // per_image`` images."""
    rng = random.Random(seed)
    images_n = max(1, annotations // per_image)
    cats = [{"id": i + 1, "name": f"class_{i}", "supercategory": ""} for i in range(80)]
    images = [{"id": i + 1, "file_name": f"{i + 1:08d}.jpg", "width": WIDTH, "height": HEIGHT} for i in range(images_n)]
    anns = []
    for k in range(annotations):
        x, y = rng.uniform(0, 500), rng.uniform(0, 380)
        w, h = rng.uniform(5, 140), rng.uniform(5, 100)
        ann = {
            "id": k + 1, "image_id": k % images_n + 1, "category_id": rng.randint(1, 80),
            "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)], "area": round(w * h, 2), "iscrowd": 0,
            "segmentation": [],
        }
        if rng.random() < polygons:
            ann["segmentation"] = [[round(x, 2), round(y, 2), round(x + w, 2), round(y, 2), round(x + w / 2, 2), round(y + h, 2)]]
        anns.append(ann)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps({"info": {}, "licenses": [], "categories": cats, "images": images, "annotations": anns}))
    return path


def dataset(root: Path, kind: str, annotations: int) -> tuple[Path, int]:
    """The cached synthetic dataset of ``kind`` with ``annotations`` annotations, made when
    missing: the path a reader is given and the size in bytes of its annotation files."""
    folder = root / f"{kind}_{annotations}"
    done = folder / ".complete"
    if not done.exists():
        if folder.exists():
            shutil.rmtree(folder)  # an interrupted generation
        source = None if kind == "coco" else dataset(root, "coco", annotations)[0]
        _WRITERS[kind](folder, annotations, source)
        done.write_text("")
    entry = {
        "coco": folder / "annotations" / "instances_default.json",
        "yolo": folder,
        "voc": folder,
        "cvat": folder / "annotations.xml",
    }[kind]
    return entry, _annotation_bytes(folder, kind)


def _annotation_bytes(folder: Path, kind: str) -> int:
    suffix = {"coco": ".json", "yolo": ".txt", "voc": ".xml", "cvat": ".xml"}[kind]
    total = 0
    for dirpath, _, files in os.walk(folder):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files if f.endswith(suffix))
    return total


class _Images:
    """Hard links to one blank JPEG (one source file per dataset: ext4 allows 65,000 links)."""

    def __init__(self, folder: Path):
        from PIL import Image

        self.blank = folder.parent / f".blank_{folder.name}.jpg"
        if not self.blank.exists():
            Image.new("RGB", (WIDTH, HEIGHT), (127, 127, 127)).save(self.blank, quality=50)

    def put(self, dst: Path) -> None:
        try:
            os.link(self.blank, dst)
        except OSError:
            shutil.copyfile(self.blank, dst)


def _write_coco(folder: Path, annotations: int, _source: Path | None) -> None:
    path = coco(folder / "annotations" / "instances_default.json", annotations)
    doc = orjson.loads(path.read_bytes())
    images = _Images(folder)
    (folder / "images").mkdir()
    for im in doc["images"]:
        images.put(folder / "images" / im["file_name"])


def _by_image(source: Path) -> tuple[dict, list[dict], dict[int, list[dict]]]:
    doc = orjson.loads(source.read_bytes())
    names = {c["id"]: c["name"] for c in doc["categories"]}
    anns: dict[int, list[dict]] = collections.defaultdict(list)
    for a in doc["annotations"]:
        anns[a["image_id"]].append(a)
    return names, doc["images"], anns


def _write_yolo(folder: Path, _annotations: int, source: Path) -> None:
    """Darknet layout as CVAT exports it: obj.data, obj.names, train.txt, obj_train_data/."""
    names, imgs, anns = _by_image(source)
    index = {cid: k for k, cid in enumerate(names)}
    data = folder / "obj_train_data"
    data.mkdir(parents=True)
    images = _Images(folder)
    listing = []
    for im in imgs:
        stem = im["file_name"].rsplit(".", 1)[0]
        W, H = im["width"], im["height"]
        rows = []
        for a in anns[im["id"]]:
            x, y, w, h = a["bbox"]
            rows.append(f"{index[a['category_id']]} {(x + w / 2) / W:.6f} {(y + h / 2) / H:.6f} {w / W:.6f} {h / H:.6f}\n")
        (data / f"{stem}.txt").write_text("".join(rows))
        images.put(data / im["file_name"])
        listing.append(f"data/obj_train_data/{im['file_name']}\n")
    (folder / "train.txt").write_text("".join(listing))
    (folder / "obj.names").write_text("".join(f"{n}\n" for n in names.values()))
    settings = f"classes = {len(names)}\ntrain = data/train.txt\nnames = data/obj.names\nbackup = backup/\n"
    (folder / "obj.data").write_text(settings)


def _write_voc(folder: Path, _annotations: int, source: Path) -> None:
    """Annotations/*.xml with integer 1-based pixel boxes, ImageSets/Main/train.txt, JPEGImages/, labelmap.txt."""
    names, imgs, anns = _by_image(source)
    (folder / "Annotations").mkdir(parents=True)
    (folder / "ImageSets" / "Main").mkdir(parents=True)
    (folder / "JPEGImages").mkdir()
    images = _Images(folder)
    stems = []
    for im in imgs:
        stem = im["file_name"].rsplit(".", 1)[0]
        objects = []
        for a in anns[im["id"]]:
            x, y, w, h = a["bbox"]
            objects.append(
                f"  <object>\n    <name>{escape(names[a['category_id']])}</name>\n    <pose>Unspecified</pose>\n"
                f"    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <bndbox>\n"
                f"      <xmin>{round(x) + 1}</xmin>\n      <ymin>{round(y) + 1}</ymin>\n"
                f"      <xmax>{max(round(x + w), round(x) + 1)}</xmax>\n      <ymax>{max(round(y + h), round(y) + 1)}</ymax>\n"
                "    </bndbox>\n  </object>\n"
            )
        (folder / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation>\n  <folder>JPEGImages</folder>\n  <filename>{escape(im['file_name'])}</filename>\n"
            f"  <size>\n    <width>{im['width']}</width>\n    <height>{im['height']}</height>\n    <depth>3</depth>\n  </size>\n"
            f"  <segmented>0</segmented>\n{''.join(objects)}</annotation>\n"
        )
        images.put(folder / "JPEGImages" / im["file_name"])
        stems.append(stem + "\n")
    (folder / "ImageSets" / "Main" / "train.txt").write_text("".join(stems))
    # CVAT's and Datumaro's class list; without it Datumaro refuses classes outside VOC's 20
    (folder / "labelmap.txt").write_text("# label:color_rgb:parts:actions\n" + "".join(f"{n}:::\n" for n in names.values()))


def _write_cvat(folder: Path, _annotations: int, source: Path) -> None:
    """CVAT for images 1.1: polygons where COCO has one, boxes otherwise; images/ beside it."""
    names, imgs, anns = _by_image(source)
    (folder / "images").mkdir(parents=True)
    images = _Images(folder)
    with open(folder / "annotations.xml", "w", encoding="utf-8") as out:
        labels = "".join(f"<label><name>{escape(n)}</name><attributes></attributes></label>" for n in names.values())
        out.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
            f"  <meta><task><id>1</id><name>synthetic</name><size>{len(imgs)}</size><mode>annotation</mode>"
            f"<labels>{labels}</labels></task></meta>\n"
        )
        for k, im in enumerate(imgs):
            out.write(f'  <image id="{k}" name={quoteattr(im["file_name"])} width="{im["width"]}" height="{im["height"]}">\n')
            for a in anns[im["id"]]:
                label = quoteattr(names[a["category_id"]])
                if a["segmentation"]:
                    p = a["segmentation"][0]
                    pts = ";".join(f"{p[i]:.2f},{p[i + 1]:.2f}" for i in range(0, len(p), 2))
                    out.write(f'    <polygon label={label} occluded="0" source="manual" points="{pts}" z_order="0"></polygon>\n')
                else:
                    x, y, w, h = a["bbox"]
                    out.write(
                        f'    <box label={label} occluded="0" source="manual" xtl="{x:.2f}" ytl="{y:.2f}" '
                        f'xbr="{x + w:.2f}" ybr="{y + h:.2f}" z_order="0"></box>\n'
                    )
            out.write("  </image>\n")
            images.put(folder / "images" / im["file_name"])
        out.write("</annotations>\n")


_WRITERS = {"coco": _write_coco, "yolo": _write_yolo, "voc": _write_voc, "cvat": _write_cvat}
