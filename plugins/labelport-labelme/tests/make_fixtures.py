"""Writes the synthetic samples in ``data/`` (run it to regenerate them: ``python make_fixtures.py``).

They are built from the formats' specifications: the LabelMe tool's JSON keys and shape
types (versions 3.x, 4.x, 5.x) and the LabelMe 3.0 XML of the CSAIL tool in its own layout
and in the CVAT/datumaro one. Images are tiny Pillow drawings.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

DATA = Path(__file__).parent / "data"


def png_bytes(array: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def picture(path: Path, size: tuple[int, int], fmt: str) -> None:
    im = Image.new("RGB", size, (90, 120, 160))
    ImageDraw.Draw(im).rectangle((2, 2, size[0] // 2, size[1] // 2), fill=(200, 80, 40))
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format=fmt)


def dump(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def shape(label, points, shape_type, group_id=None, flags=None, description="", **extra):
    return {"label": label, "points": points, "group_id": group_id, "description": description,
            "shape_type": shape_type, "flags": flags or {}, "mask": None, **extra}


def labelme_samples() -> None:
    root = DATA / "labelme"
    shutil.rmtree(root, ignore_errors=True)

    # LabelMe 5.x: every shape type, groups, flags, descriptions, a mask patch
    street = root / "shapes_v5"
    picture(street / "street.png", (60, 40), "PNG")
    patch = np.array([[0, 1, 1, 0], [1, 1, 1, 1], [0, 1, 1, 0]], dtype=np.uint8)  # 4 wide, 3 high
    mask_shape = shape("puddle", [[30.0, 10.0], [33.0, 12.0]], "mask")
    mask_shape["mask"] = base64.b64encode(png_bytes(patch, "L")).decode("ascii")
    dump(street / "street.json", {
        "version": "5.5.0",
        "flags": {"day": True, "night": False},
        "shapes": [
            shape("car", [[50.0, 30.0], [10.0, 5.0]], "rectangle", group_id=1, flags={"occluded": True}, description="parked"),
            shape("car", [[10.0, 5.0], [50.0, 5.0], [50.0, 30.0], [10.0, 30.0], [12.0, 18.0]], "polygon", group_id=1),
            shape("wheel", [[20.0, 20.0], [23.0, 24.0]], "circle"),
            shape("lane", [[0.0, 39.0], [59.0, 20.0]], "line"),
            shape("lane", [[1.5, 2.5], [20.25, 3.0], [40.0, 10.0]], "linestrip"),
            shape("light", [[5.5, 6.25]], "point"),
            mask_shape,
            shape("sign", [[40.0, 2.0], [48.660254037844386, 7.0], [46.160254037844386, 11.330127018922193], [37.5, 6.330127018922193]], "oriented_rectangle"),
            shape("car", [[2.0, 30.0], [8.0, 36.0]], "rectangle", score=0.75, attributes={"color": "red", "doors": 4}),
        ],
        "imagePath": "street.png",
        "imageData": None,
        "imageHeight": 40,
        "imageWidth": 60,
    })
    (street / "labels.txt").write_text("__ignore__\n_background_\ncar\nwheel\nlane\nlight\npuddle\nsign\n")
    (street / "flags.txt").write_text("day\nnight\n")

    # LabelMe 3.x: no version, no shape_type (= polygon), colours, an embedded image and no size;
    # imagePath is a Windows path leaving the folder (the embedded image is what counts)
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (10, 200, 30)).save(buf, format="PNG")
    dump(root / "legacy_v3.json", {
        "flags": {},
        "shapes": [
            {"label": "leaf", "line_color": None, "fill_color": None, "points": [[1, 1], [14, 2], [8, 10]]},
            {"label": "stem", "line_color": [0, 255, 0, 128], "fill_color": None, "points": [[8, 10], [9, 11], [7, 11]]},
        ],
        "lineColor": [0, 255, 0, 128],
        "fillColor": [255, 0, 0, 128],
        "imagePath": "..\\images\\plant.png",
        "imageData": base64.b64encode(buf.getvalue()).decode("ascii"),
    })

    # LabelMe 4.x in sub-folders, images in a sibling folder, a flags-only file and an unrelated JSON
    nested = root / "nested"
    picture(nested / "images" / "a.jpg", (32, 24), "JPEG")
    picture(nested / "images" / "b.jpg", (32, 24), "JPEG")
    dump(nested / "train" / "a.json", {
        "version": "4.0.0",
        "flags": {},
        "shapes": [
            shape("dog", [[3, 4], [20, 4], [20, 18], [3, 18]], "polygon", group_id=0),
            shape("dog", [[21, 5], [25, 5], [23, 9]], "polygon", group_id=0),
            shape("dog", [[22.5, 10.5], [30, 20]], "rectangle"),
        ],
        "imagePath": "../images/a.jpg",
        "imageData": None,
        "imageHeight": 24,
        "imageWidth": 32,
    })
    dump(nested / "train" / "b.json", {
        "version": "4.0.0",
        "flags": {"indoor": True, "blurry": False},
        "shapes": [],
        "imagePath": "../images/b.jpg",
        "imageData": None,
        "imageHeight": 24,
        "imageWidth": 32,
    })
    dump(nested / "settings.json", {"name": "project", "version": 2})


OBJECT = """  <object>
    <name>{name}</name>
    <deleted>{deleted}</deleted>
    <verified>0</verified>
    <occluded>{occluded}</occluded>
    <attributes>{attributes}</attributes>
    <parts><hasparts>{hasparts}</hasparts><ispartof>{ispartof}</ispartof></parts>
    <date>01-Mar-2021 10:00:00</date>
    <id>{id}</id>{type}
{shape}
  </object>
"""


def polygon(points: list[tuple[float, float]], user: str = "annotator") -> str:
    pts = "".join(f"<pt><x>{x}</x><y>{y}</y></pt>" for x, y in points)
    return f"    <polygon><username>{user}</username>{pts}</polygon>"


def obj(id, name, shape, *, deleted=0, occluded="no", attributes="", hasparts="", ispartof="", box=False):
    return OBJECT.format(id=id, name=name, shape=shape, deleted=deleted, occluded=occluded, attributes=attributes,
                         hasparts=hasparts, ispartof=ispartof, type="\n    <type>bounding_box</type>" if box else "")


def rgba_mask(size: tuple[int, int], box: tuple[int, int, int, int], color=(153, 51, 255)) -> bytes:
    w, h = size
    arr = np.zeros((h, w, 4), dtype=np.uint8)
    x0, y0, x1, y1 = box
    arr[y0:y1, x0:x1] = (*color, 153)
    return png_bytes(arr, "RGBA")


def labelme3_samples() -> None:
    root = DATA / "labelme3"
    shutil.rmtree(root, ignore_errors=True)

    # the CSAIL tool's layout: text padded with newlines, <imagesize> after the objects,
    # a deleted object, a box, a two-level part hierarchy, a <segm> mask, escaped attributes
    csail = root / "csail_layout"
    picture(csail / "Images" / "collection1" / "kitchen.jpg", (40, 30), "JPEG")
    (csail / "Masks" / "collection1").mkdir(parents=True)
    (csail / "Masks" / "collection1" / "kitchen_mask_4.png").write_bytes(rgba_mask((40, 30), (5, 20, 15, 28)))
    objects = [
        obj(0, "table", polygon([(2, 10), (38, 10), (38, 25), (2, 25)]), hasparts="1,2",
            attributes='color=brown, legs=4, ratio=0.5, note="7", has\\,comma=a\\=b, wooden'),
        obj(1, "drawer", polygon([(4.5, 12.25), (12, 12), (12, 16), (4, 16)]), ispartof="0", hasparts="3", occluded="yes"),
        obj(2, "leg", polygon([(3, 25), (5, 25), (5, 29), (3, 29)]), ispartof="0", box=True),
        obj(3, "handle", polygon([(7, 13), (9, 13), (8, 14)]), ispartof="1"),
        obj(5, "cup", polygon([(20, 2), (24, 2), (24, 6)]), deleted=1, ispartof="0"),
        obj(4, "rug", """    <segm><username>annotator</username><box><xmin>5</xmin><ymin>20</ymin><xmax>15</xmax><ymax>28</ymax></box>
      <mask>kitchen_mask_4.png</mask></segm>"""),
    ]
    xml = ("<annotation>\n<filename>\nkitchen.jpg\n</filename>\n<folder>\ncollection1\n</folder>\n"
           "<source>\n<sourceImage>\nThe MIT-CSAIL database of objects and scenes\n</sourceImage>\n"
           "<sourceAnnotation>\nLabelMe Webtool\n</sourceAnnotation>\n</source>\n"
           + "".join(objects) + "<imagesize><nrows>30</nrows><ncols>40</ncols></imagesize>\n</annotation>\n")
    (csail / "Annotations" / "collection1").mkdir(parents=True)
    (csail / "Annotations" / "collection1" / "kitchen.xml").write_text(xml)

    # CVAT/datumaro's layout: <subset>/<image>.xml, images beside, masks in <subset>/Masks/
    cvat = root / "cvat_layout"
    picture(cvat / "default" / "img_a.png", (24, 16), "PNG")
    (cvat / "default" / "Masks").mkdir(parents=True)
    (cvat / "default" / "Masks" / "img_a_mask_1.png").write_bytes(rgba_mask((24, 16), (2, 3, 9, 7), (255, 203, 0)))
    xml_a = ("<annotation>\n  <filename>img_a.png</filename>\n  <folder></folder>\n  <source>\n    <sourceImage></sourceImage>\n"
             "    <sourceAnnotation>Datumaro</sourceAnnotation>\n  </source>\n  <imagesize>\n    <nrows>16</nrows>\n    <ncols>24</ncols>\n  </imagesize>\n"
             + obj(0, "person", polygon([(1.5, 1.5), (10.0, 1.5), (10.0, 12.75)], ""), attributes="pose=standing")
             + obj(1, "person", """    <segm><username></username><box><xmin>2.00</xmin><ymin>3.00</ymin><xmax>9.00</xmax><ymax>7.00</ymax></box><mask>img_a_mask_1.png</mask></segm>""")
             + "</annotation>\n")
    (cvat / "default" / "img_a.xml").write_text(xml_a)
    picture(cvat / "val" / "img_b.jpg", (20, 20), "JPEG")
    xml_b = ("<annotation>\n  <filename>img_b.jpg</filename>\n  <folder></folder>\n"
             + obj(0, "car", polygon([(1, 2), (11, 2), (11, 9), (1, 9)]), box=True, hasparts="1")
             + obj(1, "wheel", polygon([(2, 8), (4, 8), (4, 10), (2, 10)]), ispartof="0", occluded="yes")
             + "</annotation>\n")
    (cvat / "val" / "img_b.xml").write_text(xml_b)

    # a single annotation file: no image, no <imagesize>
    (root / "single.xml").write_text(
        "<annotation><filename>street.jpg</filename><folder>city</folder>"
        + obj(7, "building", polygon([(0, 0), (100, 0), (100, 50.5), (0, 50.5)]), attributes="floors=12, name=\"Tower\\, north\"")
        + obj(8, "", polygon([(10, 10), (20, 10), (15, 20)]))
        + "</annotation>\n")


if __name__ == "__main__":
    labelme_samples()
    labelme3_samples()
