"""labelport benchmarks: wall time and peak memory of reads and conversions, each beside a
baseline measured in the same run (orjson or lxml parsing plus a minimal loop writing the same
output) and beside peer tools (globox, labelformat, datumaro) when an interpreter has them.

    python benchmarks/run.py                            # 100k and 1M annotations, every scenario
    python benchmarks/run.py --sizes 100k --scenarios coco-read,coco-to-yolo
    python benchmarks/run.py --peers /path/to/venv/bin/python   # peers installed in another venv

Inputs are seeded synthetic datasets (``synth.py``) cached under ``--data``. Every measurement
runs in a fresh interpreter: imports (and labelport's plugin discovery) happen before the clock
starts; the clock stops when the output is written. Memory is read from ``/proc/self/status``:
``MB`` is the working memory (peak resident set minus the resident set after the imports),
``peak`` the whole resident high-water mark. Prints markdown tables; ``--out FILE`` also
writes them. ``--results FILE`` keeps every measurement (JSON lines) and ``--report FILE...``
prints the tables of saved measurements, so sizes measured in separate runs share one table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import synth  # noqa: E402

PEERS = ("globox", "labelformat", "datumaro")

CHILD = """\
import json, sys, time
from pathlib import Path
src, dst, paths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

def _status(key):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource  # not Linux: ru_maxrss (kB on Linux, bytes on macOS) is the best there is
    scale = 1 if sys.platform.startswith("linux") else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / scale

{setup}
_rss0 = _status("VmRSS")
_t0 = time.perf_counter()
{body}
_elapsed = time.perf_counter() - _t0
_result = {{"seconds": _elapsed, "peak_mb": _status("VmHWM"), "setup_mb": _rss0, "n": globals().get("n")}}
print("\\n@@result " + json.dumps(_result))
"""

LP_SETUP = "import labelport\nlabelport.formats()  # plugin discovery is start-up, not conversion"


def lp_convert(src_fmt: str, to: str, suffix: str = "", **options: str) -> str:
    opts = "".join(f", {k}={v!r}" for k, v in options.items())
    return f"r = labelport.convert(src, dst + {suffix!r}, to={to!r}, from_={src_fmt!r}{opts})\nn = sum(r.annotations.values())"


def lp_read(fmt: str) -> str:
    return f"n = sum(len(i.annotations) for i in labelport.load(src, format={fmt!r}))"


# --------------------------------------------------------------------------- baselines
# The least code doing the same job: orjson or lxml, a dict or two, a loop writing the files.

READ_COCO = "doc = orjson.loads(open(src, 'rb').read())"
GROUP_COCO = textwrap.dedent("""\
    doc = orjson.loads(open(src, 'rb').read())
    imgs = doc['images']
    names = {c['id']: c['name'] for c in doc['categories']}
    anns = collections.defaultdict(list)
    for a in doc['annotations']:
        anns[a['image_id']].append(a)
""")
WRITE_COCO = textwrap.dedent("""\
    cats = [{'id': k + 1, 'name': nm, 'supercategory': ''} for k, nm in enumerate(cat_ids)]
    doc = {'info': {}, 'licenses': [], 'categories': cats, 'images': images, 'annotations': out}
    open(dst + '.json', 'wb').write(orjson.dumps(doc))
    n = len(out)
""")

BASELINES: dict[str, tuple[str, str]] = {  # name: (setup, body)
    "coco-read": ("import orjson", READ_COCO + "\nn = len(doc['annotations'])"),
    "coco-to-coco": (
        "import orjson", READ_COCO + "\nopen(dst + '.json', 'wb').write(orjson.dumps(doc))\nn = len(doc['annotations'])"
    ),
    "coco-to-yolo": ("import orjson, os, collections", GROUP_COCO + textwrap.dedent("""\
        cls = {cid: k for k, cid in enumerate(names)}
        os.makedirs(dst + '/obj_train_data')
        listing, sizes = [], []
        n = 0
        for im in imgs:
            W, H = im['width'], im['height']
            rows = []
            for a in anns[im['id']]:
                x, y, w, h = a['bbox']
                rows.append(f"{cls[a['category_id']]} {(x + w / 2) / W:.6f} {(y + h / 2) / H:.6f} {w / W:.6f} {h / H:.6f}\\n")
            n += len(rows)
            stem = im['file_name'].rsplit('.', 1)[0]
            open(f"{dst}/obj_train_data/{stem}.txt", 'w').write(''.join(rows))
            listing.append(f"data/obj_train_data/{im['file_name']}\\n")
            sizes.append(f"obj_train_data/{im['file_name']} {H} {W}\\n")
        open(dst + '/train.txt', 'w').write(''.join(listing))
        open(dst + '/images.meta', 'w').write(''.join(sizes))  # image sizes, as labelport's writer keeps them
        open(dst + '/obj.names', 'w').write(''.join(nm + '\\n' for nm in names.values()))
        settings = f"classes = {len(names)}\\ntrain = data/train.txt\\nnames = data/obj.names\\nbackup = backup/\\n"
        open(dst + '/obj.data', 'w').write(settings)
    """)),
    "coco-to-voc": ("import orjson, os, collections\nfrom lxml import etree", GROUP_COCO + textwrap.dedent("""\
        os.makedirs(dst + '/Annotations')
        os.makedirs(dst + '/ImageSets/Main')
        E = etree.SubElement
        stems = []
        n = 0
        for im in imgs:
            root = etree.Element('annotation')
            E(root, 'filename').text = im['file_name']
            size = E(root, 'size')
            E(size, 'width').text = str(im['width'])
            E(size, 'height').text = str(im['height'])
            E(size, 'depth').text = '3'
            for a in anns[im['id']]:
                x, y, w, h = a['bbox']
                obj = E(root, 'object')
                E(obj, 'name').text = names[a['category_id']]
                E(obj, 'difficult').text = '0'
                box = E(obj, 'bndbox')
                for tag, v in (('xmin', x + 1), ('ymin', y + 1), ('xmax', x + w), ('ymax', y + h)):
                    E(box, tag).text = f"{v:.2f}"
                n += 1
            stem = im['file_name'].rsplit('.', 1)[0]
            etree.ElementTree(root).write(f"{dst}/Annotations/{stem}.xml", pretty_print=True)
            stems.append(stem + '\\n')
        open(dst + '/ImageSets/Main/default.txt', 'w').write(''.join(stems))
    """)),
    "coco-to-cvat": ("import orjson, os, collections\nfrom lxml import etree", GROUP_COCO + textwrap.dedent("""\
        os.makedirs(dst)
        n = 0
        with etree.xmlfile(dst + '/annotations.xml', encoding='utf-8') as xf:
            xf.write_declaration()
            with xf.element('annotations'):
                meta = etree.Element('meta')
                labels = etree.SubElement(etree.SubElement(meta, 'task'), 'labels')
                for nm in names.values():
                    etree.SubElement(etree.SubElement(labels, 'label'), 'name').text = nm
                xf.write(meta)
                for k, im in enumerate(imgs):
                    el = etree.Element('image', id=str(k), name=im['file_name'], width=str(im['width']), height=str(im['height']))
                    for a in anns[im['id']]:
                        seg = a['segmentation']
                        if seg:
                            p = seg[0]
                            pts = ';'.join(f"{p[i]:.2f},{p[i + 1]:.2f}" for i in range(0, len(p), 2))
                            etree.SubElement(el, 'polygon', label=names[a['category_id']], occluded='0', points=pts, z_order='0')
                        else:
                            x, y, w, h = a['bbox']
                            etree.SubElement(el, 'box', label=names[a['category_id']], occluded='0', xtl=f"{x:.2f}",
                                             ytl=f"{y:.2f}", xbr=f"{x + w:.2f}", ybr=f"{y + h:.2f}", z_order='0')
                        n += 1
                    xf.write(el)
    """)),
    "coco-to-masks": ("import orjson, os, collections\nimport numpy as np\nfrom PIL import Image\n"
                      "from pycocotools import mask as cm", GROUP_COCO + textwrap.dedent("""\
        os.makedirs(dst + '/class_masks')
        os.makedirs(dst + '/instance_masks')
        n = 0
        for im in imgs:
            H, W = im['height'], im['width']
            cls = np.zeros((H, W), np.uint8)
            inst = np.zeros((H, W), np.uint8)
            k = 0
            for a in anns[im['id']]:
                if not a['segmentation']:
                    continue
                m = cm.decode(cm.merge(cm.frPyObjects(a['segmentation'], H, W))).astype(bool)
                k += 1
                cls[m] = a['category_id']
                inst[m] = k
            n += k
            stem = im['file_name'].rsplit('.', 1)[0]
            Image.fromarray(cls).save(f"{dst}/class_masks/{stem}.png")
            if k:
                Image.fromarray(inst).save(f"{dst}/instance_masks/{stem}.png")
        open(dst + '/classes.txt', 'w').write(''.join(f"{cid} {nm}\\n" for cid, nm in names.items()))
    """)),
    "yolo-read": ("from PIL import Image", textwrap.dedent("""\
        root = Path(src)
        n = 0
        for line in open(root / 'train.txt'):
            image = root / line.strip()[5:]
            W, H = Image.open(image).size
            for row in open(image.with_suffix('.txt')):
                c, cx, cy, w, h = row.split()
                box = (int(c), (float(cx) - float(w) / 2) * W, (float(cy) - float(h) / 2) * H, float(w) * W, float(h) * H)
                n += 1
    """)),
    "voc-read": ("from lxml import etree", textwrap.dedent("""\
        root = Path(src)
        n = 0
        for stem in open(root / 'ImageSets/Main/train.txt').read().split():
            doc = etree.parse(str(root / 'Annotations' / (stem + '.xml'))).getroot()
            for obj in doc.iter('object'):
                b = obj.find('bndbox')
                x0, y0, x1, y1 = (float(b.findtext(t)) for t in ('xmin', 'ymin', 'xmax', 'ymax'))
                box = (obj.findtext('name'), x0 - 1, y0 - 1, x1 - x0 + 1, y1 - y0 + 1)
                n += 1
    """)),
    "yolo-to-coco": ("import orjson\nfrom PIL import Image", textwrap.dedent("""\
        root = Path(src)
        cat_ids = [nm.strip() for nm in open(root / 'obj.names') if nm.strip()]
        images, out = [], []
        for line in open(root / 'train.txt'):
            image = root / line.strip()[5:]
            W, H = Image.open(image).size
            iid = len(images) + 1
            images.append({'id': iid, 'file_name': image.name, 'width': W, 'height': H})
            for row in open(image.with_suffix('.txt')):
                c, cx, cy, w, h = row.split()
                w, h = float(w) * W, float(h) * H
                box = [float(cx) * W - w / 2, float(cy) * H - h / 2, w, h]
                out.append({'id': len(out) + 1, 'image_id': iid, 'category_id': int(c) + 1, 'bbox': box, 'area': w * h,
                            'iscrowd': 0, 'segmentation': []})
    """) + WRITE_COCO),
    "voc-to-coco": ("import orjson\nfrom lxml import etree", textwrap.dedent("""\
        root = Path(src)
        cat_ids = {}
        images, out = [], []
        for stem in open(root / 'ImageSets/Main/train.txt').read().split():
            doc = etree.parse(str(root / 'Annotations' / (stem + '.xml'))).getroot()
            iid = len(images) + 1
            images.append({'id': iid, 'file_name': doc.findtext('filename'), 'width': int(doc.findtext('size/width')),
                           'height': int(doc.findtext('size/height'))})
            for obj in doc.iter('object'):
                b = obj.find('bndbox')
                x0, y0, x1, y1 = (float(b.findtext(t)) for t in ('xmin', 'ymin', 'xmax', 'ymax'))
                w, h = x1 - x0 + 1, y1 - y0 + 1
                cid = cat_ids.setdefault(obj.findtext('name'), len(cat_ids) + 1)
                out.append({'id': len(out) + 1, 'image_id': iid, 'category_id': cid, 'bbox': [x0 - 1, y0 - 1, w, h],
                            'area': w * h, 'iscrowd': 0, 'segmentation': []})
    """) + WRITE_COCO),
    "cvat-to-coco": ("import orjson\nfrom lxml import etree", textwrap.dedent("""\
        cat_ids = {}
        images, out = [], []
        for _, el in etree.iterparse(src, tag=('label', 'image')):
            if el.tag == 'label':
                cat_ids.setdefault(el.findtext('name'), len(cat_ids) + 1)
                continue
            iid = len(images) + 1
            W, H = int(el.get('width')), int(el.get('height'))
            images.append({'id': iid, 'file_name': el.get('name'), 'width': W, 'height': H})
            for s in el:
                cid = cat_ids.setdefault(s.get('label'), len(cat_ids) + 1)
                if s.tag == 'box':
                    x0, y0, x1, y1 = (float(s.get(t)) for t in ('xtl', 'ytl', 'xbr', 'ybr'))
                    ann = {'bbox': [x0, y0, x1 - x0, y1 - y0], 'area': (x1 - x0) * (y1 - y0), 'segmentation': []}
                else:
                    p = [float(v) for xy in s.get('points').split(';') for v in xy.split(',')]
                    xs, ys = p[0::2], p[1::2]
                    area = abs(sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))) / 2
                    ann = {'bbox': [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)], 'area': area, 'segmentation': [p]}
                out.append({'id': len(out) + 1, 'image_id': iid, 'category_id': cid, 'iscrowd': 0, **ann})
            el.clear()
    """) + WRITE_COCO),
}

# --------------------------------------------------------------------------- peers
# Each peer's own API for the same job (boxes only where the tool reads or writes only boxes).

GB_IDS = "ids = {nm: k for k, nm in enumerate(sorted(a._labels(), key=lambda s: int(s.rsplit('_', 1)[-1])))}"
LF_COCO = (
    "from labelformat.formats.coco import COCOObjectDetectionInput, COCOObjectDetectionOutput\n"
    "i = COCOObjectDetectionInput(Path(src))"
)
LF_TO_COCO = "COCOObjectDetectionOutput(Path(dst + '.json')).save(i)"
LF_NAMES = "','.join(f'class_{k}' for k in range(80))"
DM_COCO = "d = dm.Dataset.import_from(src, 'coco_instances')"
GB_YOLO = "a = globox.AnnotationSet.from_yolo_darknet(Path(src) / 'obj_train_data', image_folder=Path(src) / 'obj_train_data')\n"
DM_COUNT = "n = sum(len(it.annotations) for it in d)"

PEER_SETUP = {
    "globox": "import globox",
    "labelformat": "import labelformat.formats",
    "datumaro": "import logging\nlogging.disable(logging.WARNING)\nimport datumaro as dm",
}

PEER_BODIES: dict[str, dict[str, str]] = {
    "coco-read": {
        "globox": "a = globox.AnnotationSet.from_coco(src)\nn = sum(len(x.boxes) for x in a)",
        "labelformat": LF_COCO + "\nn = sum(len(lb.objects) for lb in i.get_labels())",
        "datumaro": DM_COCO + "\n" + DM_COUNT,
    },
    "coco-to-coco": {
        "globox": "globox.AnnotationSet.from_coco(src).save_coco(dst + '.json', auto_ids=True)",
        "labelformat": LF_COCO + "\n" + LF_TO_COCO,
        "datumaro": DM_COCO + "\nd.export(dst, 'coco_instances', save_media=False)",
    },
    "coco-to-yolo": {
        "globox": "a = globox.AnnotationSet.from_coco(src)\n" + GB_IDS + "\na.save_yolo_darknet(dst, label_to_id=ids)",
        "labelformat": LF_COCO + "\nfrom labelformat.formats.yolov8 import YOLOv8ObjectDetectionOutput\n"
        "YOLOv8ObjectDetectionOutput(output_file=Path(dst) / 'data.yaml', output_split='train').save(i)",
        "datumaro": DM_COCO + "\nd.export(dst, 'yolo', save_media=False)",
    },
    "coco-to-voc": {
        "globox": "globox.AnnotationSet.from_coco(src).save_pascal_voc(dst)",
        "labelformat": LF_COCO + "\nfrom labelformat.formats.pascalvoc import PascalVOCObjectDetectionOutput\n"
        "PascalVOCObjectDetectionOutput(Path(dst)).save(i)",
        "datumaro": DM_COCO + "\nd.export(dst, 'voc_detection', save_media=False)",
    },
    "coco-to-cvat": {
        "globox": "globox.AnnotationSet.from_coco(src).save_cvat(dst + '.xml')",
        "labelformat": LF_COCO + "\nfrom labelformat.formats.cvat import CVATObjectDetectionOutput\n"
        "CVATObjectDetectionOutput(Path(dst)).save(i)",
        "datumaro": DM_COCO + "\nd.export(dst, 'cvat', save_media=False)",
    },
    "coco-to-masks": {
        # Datumaro paints masks only: its polygons_to_masks transform comes first
        "datumaro": DM_COCO + "\nd = d.transform('polygons_to_masks')\nd.export(dst, 'voc_segmentation', save_media=False)",
    },
    "yolo-read": {
        "globox": GB_YOLO + "n = sum(len(x.boxes) for x in a)",
        "labelformat": "from labelformat.formats.yolov8 import YOLOv8ObjectDetectionInput\n"
        "i = YOLOv8ObjectDetectionInput(Path(paths['yolo_ultralytics']) / 'data.yaml', 'train')\n"
        "n = sum(len(lb.objects) for lb in i.get_labels())",
        "datumaro": "d = dm.Dataset.import_from(src, 'yolo')\n" + DM_COUNT,
    },
    "voc-read": {
        "globox": "a = globox.AnnotationSet.from_pascal_voc(Path(src) / 'Annotations')\nn = sum(len(x.boxes) for x in a)",
        "labelformat": "from labelformat.formats.pascalvoc import PascalVOCObjectDetectionInput\n"
        f"i = PascalVOCObjectDetectionInput(Path(src) / 'Annotations', {LF_NAMES})\n"
        "n = sum(len(lb.objects) for lb in i.get_labels())",
        "datumaro": "d = dm.Dataset.import_from(src, 'voc_detection')\n" + DM_COUNT,
    },
    "yolo-to-coco": {
        "globox": GB_YOLO + "a.save_coco(dst + '.json', auto_ids=True)",
        "labelformat": "from labelformat.formats.yolov8 import YOLOv8ObjectDetectionInput\n"
        "from labelformat.formats.coco import COCOObjectDetectionOutput\n"
        "i = YOLOv8ObjectDetectionInput(Path(paths['yolo_ultralytics']) / 'data.yaml', 'train')\n" + LF_TO_COCO,
        "datumaro": "d = dm.Dataset.import_from(src, 'yolo')\nd.export(dst, 'coco_instances', save_media=False)",
    },
    "voc-to-coco": {
        "globox": "globox.AnnotationSet.from_pascal_voc(Path(src) / 'Annotations').save_coco(dst + '.json', auto_ids=True)",
        "labelformat": "from labelformat.formats.pascalvoc import PascalVOCObjectDetectionInput\n"
        "from labelformat.formats.coco import COCOObjectDetectionOutput\n"
        f"i = PascalVOCObjectDetectionInput(Path(src) / 'Annotations', {LF_NAMES})\n" + LF_TO_COCO,
        "datumaro": "d = dm.Dataset.import_from(src, 'voc_detection')\nd.export(dst, 'coco_instances', save_media=False)",
    },
    "cvat-to-coco": {
        "globox": "globox.AnnotationSet.from_cvat(src).save_coco(dst + '.json', auto_ids=True)",
        "labelformat": "from labelformat.formats.cvat import CVATObjectDetectionInput\n"
        "from labelformat.formats.coco import COCOObjectDetectionOutput\ni = CVATObjectDetectionInput(Path(src))\n" + LF_TO_COCO,
        "datumaro": "d = dm.Dataset.import_from(src, 'cvat')\nd.export(dst, 'coco_instances', save_media=False)",
    },
}


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    """One job: which synthetic input it reads, what labelport runs, and its targets.

    ``memory`` bounds labelport's working memory over the size of the COCO JSON involved (the
    input, or the output of an X->COCO conversion); ``scale`` bounds the peak memory at the
    largest size over the peak at the smallest (formats read file by file should stream)."""

    name: str
    source: str
    labelport: str
    time: float
    memory: float | None = None
    scale: float | None = None
    needs: tuple[str, ...] = field(default=())
    note: str = ""

    @property
    def json_side(self) -> str | None:
        if self.source == "coco":
            return "input"
        return "output" if self.name.endswith("-to-coco") else None


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        # issue 2: read within 2x, write within 2x, memory <= 3x
        Scenario("coco-read", "coco", lp_read("coco"), time=2.0, memory=3.0, needs=("coco",)),
        Scenario("coco-to-coco", "coco", lp_convert("coco", "coco", ".json"), time=2.0, memory=3.0, needs=("coco",)),
        # issue 10: conversions within 1.5x; JSON memory <= 2x its size; per-file reads flat in size
        Scenario("coco-to-yolo", "coco", lp_convert("coco", "yolo"), time=1.5, memory=2.0, needs=("coco", "yolo")),
        Scenario("coco-to-voc", "coco", lp_convert("coco", "voc"), time=1.5, memory=2.0, needs=("coco", "voc")),
        Scenario("coco-to-cvat", "coco", lp_convert("coco", "cvat"), time=1.5, memory=2.0, needs=("coco", "cvat")),
        Scenario("yolo-to-coco", "yolo", lp_convert("yolo", "coco", ".json"), time=1.5, memory=2.0, needs=("yolo", "coco")),
        Scenario("voc-to-coco", "voc", lp_convert("voc", "coco", ".json"), time=1.5, memory=2.0, needs=("voc", "coco")),
        Scenario("cvat-to-coco", "cvat", lp_convert("cvat", "coco", ".json"), time=1.5, memory=2.0, needs=("cvat", "coco")),
        Scenario(
            "coco-to-masks", "coco", lp_convert("coco", "masks"), time=1.5, memory=2.0, needs=("coco", "masks"),
            note="COCO polygons rasterised (COCO's rule) to class and instance PNG maps; boxes are dropped",
        ),
        Scenario("yolo-read", "yolo", lp_read("yolo"), time=2.0, scale=1.3, needs=("yolo",)),
        Scenario("voc-read", "voc", lp_read("voc"), time=2.0, scale=1.3, needs=("voc",)),
    ]
}


# --------------------------------------------------------------------------- measuring


def measure(python: str, setup: str, body: str, src: Path, dst: Path, paths: dict[str, str], timeout: float) -> dict:
    """Run one job in a fresh interpreter: seconds, peak and start-up MB, what it counted (n),
    and the bytes it wrote."""
    code = CHILD.format(setup=setup.strip(), body=textwrap.dedent(body).strip())
    try:
        out = subprocess.run(
            [python, "-c", code, str(src), str(dst), json.dumps(paths)], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("@@result ")]
    if out.returncode != 0 or not lines:
        tail = [ln for ln in out.stderr.strip().splitlines() if ln.strip()]
        return {"error": tail[-1][:120] if tail else f"exit {out.returncode}"}
    result = json.loads(lines[-1][len("@@result "):])
    result["out_bytes"] = tree_bytes(dst.parent, dst.name)
    return result


def tree_bytes(parent: Path, stem: str) -> int:
    """Bytes of everything a job wrote at ``parent/stem`` (a folder, or files ``stem.*``)."""
    total = 0
    for p in parent.iterdir():
        if p.name != stem and not p.name.startswith(stem + "."):
            continue
        if p.is_file():
            total += p.stat().st_size
        else:
            for dirpath, _, files in os.walk(p):
                total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


def best(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return runs[0]
    fastest = min(ok, key=lambda r: r["seconds"])
    return {**fastest, "peak_mb": min(r["peak_mb"] for r in ok)}


def working_mb(r: dict) -> float:
    return max(r["peak_mb"] - r["setup_mb"], 0.0)


def installed_formats() -> set[str]:
    try:
        import labelport

        return {f.name for f in labelport.formats()}
    except Exception:
        return set()


def installed_peers(python: str | None) -> set[str]:
    if not python:
        return set()
    probe = f"import importlib.util, json; print(json.dumps([p for p in {list(PEERS)!r} if importlib.util.find_spec(p)]))"
    try:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
        return set(json.loads(out.stdout.strip().splitlines()[-1]))
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return set()


def parse_size(text: str) -> int:
    text = text.lower().strip()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * mult)


def label(n: int) -> str:
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return f"{n:,}"


def inputs(data: Path, n: int, kind: str) -> tuple[Path, int, dict[str, str]]:
    """The synthetic input of ``kind`` at size ``n``, its annotation bytes, and extra views of
    it that peers need (an Ultralytics-style data.yaml over the darknet folder)."""
    src, size = synth.dataset(data, kind, n)
    paths: dict[str, str] = {}
    if kind == "yolo":
        view = data / f"yolo_{n}_ultralytics"
        if not (view / "data.yaml").exists():
            view.mkdir(parents=True, exist_ok=True)
            for sub in ("images", "labels"):  # labelformat finds labels by replacing images/ with labels/
                if not (view / sub).exists():
                    os.symlink((src / "obj_train_data").resolve(), view / sub)
            names = "".join(f"  {k}: {nm.strip()}\n" for k, nm in enumerate((src / "obj.names").read_text().splitlines()))
            (view / "data.yaml").write_text(f"path: .\ntrain: images\nnames:\n{names}")
        paths["yolo_ultralytics"] = str(view)
    return src, size, paths


# --------------------------------------------------------------------------- tables


def fmt_peer(r: dict | None) -> str:
    if r is None:
        return "-"
    if "error" in r:
        return "error: " + clean(r["error"])[:90]
    return f"{secs(r['seconds'])} s / {working_mb(r):.0f} MB"


def clean(message: str) -> str:
    """An error message for a table cell: no absolute paths (they name this machine), no pipes."""
    return re.sub(r"(?<![\w.])/[^\s:,'\"]+", "<path>", message).replace("|", "/")


def secs(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def verdicts(sc: Scenario, ratio: float, mem_ratio: float | None) -> tuple[str, str]:
    targets, met = [f"time <= {sc.time:g}x"], ["time " + ("ok" if ratio <= sc.time else "over")]
    if sc.memory is not None and mem_ratio is not None:
        targets.append(f"memory <= {sc.memory:g}x JSON")
        met.append("memory " + ("ok" if mem_ratio <= sc.memory else "over"))
    if sc.scale is not None:
        targets.append(f"peak {sc.scale:g}x across sizes")
    return ", ".join(targets), ", ".join(met)


def render(records: list[dict]) -> str:
    """The markdown tables of measured records (one per scenario and size)."""
    peer_cols = [p for p in PEERS if any(p in r["results"] for r in records)]
    head = ["scenario", "annotations", "labelport s", "baseline s", "time ratio", "labelport MB", "baseline MB",
            "memory ratio", "JSON MB", "memory / JSON", *[f"{p} (s / MB)" for p in peer_cols], "targets", "met"]
    rows = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    empty = [""] * (len(head) - 3)
    peaks: dict[tuple[str, int], tuple[float, float]] = {}
    for rec in records:
        name, n = rec["scenario"], rec["annotations"]
        if "skipped" in rec:
            rows.append("| " + " | ".join([name, f"{n:,}", f"skipped: {rec['skipped']}", *empty]) + " |")
            continue
        sc, res = SCENARIOS[name], rec["results"]
        mine, base = res["labelport"], res["baseline"]
        if "error" in mine or "error" in base:
            err = "error: " + clean(mine.get("error") or base.get("error") or "")
            rows.append("| " + " | ".join([name, f"{n:,}", err, *empty]) + " |")
            continue
        peaks[(name, n)] = (mine["peak_mb"], base["peak_mb"])
        ratio = mine["seconds"] / base["seconds"] if base["seconds"] else float("inf")
        json_bytes = {"input": rec["input_bytes"], "output": mine["out_bytes"]}.get(sc.json_side or "", 0)
        mem_ratio = working_mb(mine) / (json_bytes / 1e6) if json_bytes else None
        targets, met = verdicts(sc, ratio, mem_ratio)
        if mine.get("n") != base.get("n"):
            met += f" (counted {mine.get('n')} vs baseline {base.get('n')})"
        cells = [
            name, f"{n:,}", secs(mine["seconds"]), secs(base["seconds"]), f"{ratio:.2f}x",
            f"{working_mb(mine):.0f}", f"{working_mb(base):.0f}",
            f"{working_mb(mine) / working_mb(base):.2f}x" if working_mb(base) >= 1 else "-",
            f"{json_bytes / 1e6:.1f}" if json_bytes else "-", f"{mem_ratio:.2f}x" if mem_ratio is not None else "-",
            *[fmt_peer(res.get(p)) for p in peer_cols], targets, met,
        ]
        rows.append("| " + " | ".join(cells) + " |")
    tables = ["\n".join(rows)]
    sizes = sorted({n for _, n in peaks})
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        scale = [
            f"| scenario | labelport peak MB at {label(lo)} | at {label(hi)} | ratio | baseline ratio | target |",
            "|---|---|---|---|---|---|",
        ]
        for name in dict.fromkeys(r["scenario"] for r in records):
            if (name, lo) not in peaks or (name, hi) not in peaks:
                continue
            (m_lo, b_lo), (m_hi, b_hi) = peaks[(name, lo)], peaks[(name, hi)]
            target = SCENARIOS[name].scale
            verdict = "-" if target is None else f"<= {target:g}x: " + ("ok" if m_hi / m_lo <= target else "over")
            scale.append(f"| {name} | {m_lo:.0f} | {m_hi:.0f} | {m_hi / m_lo:.2f}x | {b_hi / b_lo:.2f}x | {verdict} |")
        tables.append("\n".join(scale))
    return "\n\n".join(tables)


def run_one(name: str, n: int, args: argparse.Namespace, have: set[str], peer_cols: list[str]) -> dict:
    """Measure one scenario at one size: baseline, labelport, then each installed peer."""
    sc = SCENARIOS[name]
    record: dict = {"scenario": name, "annotations": n}
    missing = set(sc.needs) - have
    if missing:
        return {**record, "skipped": f"{', '.join(sorted(missing))} not installed"}
    src, in_bytes, paths = inputs(args.data, n, sc.source)
    record["input_bytes"] = in_bytes
    jobs = [("baseline", sys.executable, *BASELINES[name], args.timeout),
            ("labelport", sys.executable, LP_SETUP, sc.labelport, args.timeout)]
    jobs += [(p, args.peers, PEER_SETUP[p], PEER_BODIES[name][p], args.peer_timeout)
             for p in peer_cols if p in PEER_BODIES.get(name, {})]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=args.data, prefix="run-") as tmp:
        for who, python, setup, body, timeout in jobs:
            runs = []
            for k in range(args.repeat):
                runs.append(measure(python, setup, body, src, Path(tmp) / f"{who}-{k}", paths, timeout))
                for p in Path(tmp).iterdir():  # free the disk between runs
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            results[who] = best(runs)
    return {**record, "results": results}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k,1M", help="annotation counts, e.g. 2k,100k,1M (default 100k,1M)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated (default: all)")
    ap.add_argument("--data", type=Path, default=Path(__file__).parent / ".data", help="where synthetic inputs are cached")
    ap.add_argument("--peers", default=os.environ.get("LABELPORT_BENCH_PEERS", sys.executable),
                    help="a Python interpreter with globox/labelformat/datumaro installed (default: this one)")
    ap.add_argument("--peer-tools", default=",".join(PEERS), help="which peers to run when installed (default: all)")
    ap.add_argument("--no-peers", action="store_true", help="skip the peer tools")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the fastest is kept")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds before a labelport or baseline run is abandoned")
    ap.add_argument("--peer-timeout", type=float, default=900, help="seconds before a peer run is abandoned")
    ap.add_argument("--results", type=Path, help="append every measurement to this JSON-lines file")
    ap.add_argument("--report", type=Path, nargs="+", help="print the tables of saved --results files; measure nothing")
    ap.add_argument("--out", type=Path, help="also write the tables to this file")
    args = ap.parse_args(argv)

    if args.report:
        # later records of a scenario and size add to (and override) earlier ones, e.g. a peer re-run
        merged: dict[tuple[str, int], dict] = {}
        for f in args.report:
            for line in f.read_text().splitlines():
                if line.strip():
                    rec = json.loads(line)
                    key = (rec["scenario"], rec["annotations"])
                    if key in merged and "results" in merged[key] and "results" in rec:
                        rec = {**rec, "results": {**merged[key]["results"], **rec["results"]}}
                    merged[key] = rec
        records = sorted(merged.values(), key=lambda r: (r["annotations"], list(SCENARIOS).index(r["scenario"])))
    else:
        names = [s.strip() for s in args.scenarios.split(",") if s.strip()]
        unknown = [s for s in names if s not in SCENARIOS]
        if unknown:
            ap.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        have = installed_formats()
        wanted = {p.strip() for p in args.peer_tools.split(",")}
        peers = set() if args.no_peers else installed_peers(args.peers) & wanted
        peer_cols = [p for p in PEERS if p in peers]
        args.data.mkdir(parents=True, exist_ok=True)
        args.data = args.data.resolve()
        records = []
        for n in (parse_size(s) for s in args.sizes.split(",")):
            for name in names:
                records.append(run_one(name, n, args, have, peer_cols))
                if args.results:
                    with args.results.open("a") as f:
                        f.write(json.dumps(records[-1]) + "\n")
                print(render(records[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    text = render(records)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
