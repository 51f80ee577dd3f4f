"""COCO JSON: instances, keypoints, captions, image labels, panoptic, results files.

Specification: https://cocodataset.org/#format-data and the cocoapi/panopticapi
reference code. Layouts read: a single JSON file; a folder with
``annotations/<task>_<subset>.json`` and ``images/<subset>/``; Roboflow's
``<subset>/_annotations.coco.json``; any folder of COCO JSON files.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from labelport.errors import FormatError
from labelport.geometry import coords
from labelport.geometry.masks import paint_rles, polygons_to_rle, rle_area, rle_bbox, rle_uncompress
from labelport.io.jsonio import JsonReader, dump_json, load_json
from labelport.io.media import IMAGE_SUFFIXES, FolderListing, export_media, find_media, is_inside, media_roots, safe_join
from labelport.plugin import Detection, FormatInfo, OptionsBase, Probe, Problem, ReadOptions, Report, WriteOptions, hookimpl
from labelport.schema import (
    RLE,
    BBox,
    Caption,
    Dataset,
    Image,
    Info,
    Item,
    Keypoints,
    Label,
    Mask,
    Polygon,
    Skeleton,
    Tag,
    VideoFrame,
)

TASKS = ("instances", "person_keypoints", "captions", "labels", "panoptic", "image_info", "stuff")
_TASK_RE = re.compile(rf"^({'|'.join(TASKS)})_(.+)$")
_KNOWN_ANN_KEYS = {
    "id",
    "image_id",
    "category_id",
    "bbox",
    "segmentation",
    "area",
    "iscrowd",
    "keypoints",
    "num_keypoints",
    "caption",
    "score",
    "attributes",
    "track_id",
    "instance_id",
}
_MAX_KEYPOINTS = 10_000  # unnamed skeleton points are numbered; a bound keeps a corrupt index from exhausting memory
_BASIC_ANN_KEYS = {"id", "image_id", "category_id", "bbox", "segmentation", "area", "iscrowd"}
_KNOWN_IMG_KEYS = {"id", "file_name", "width", "height", "attributes", "video_id", "frame_id"}


class CocoWriteOptions(OptionsBase):
    """COCO writer options."""

    #: write the stored ``bbox``/``area`` of read annotations instead of recomputing them
    keep_stored_geometry: bool = True
    #: indent the JSON (larger files, readable by eye)
    indent: bool = False
    #: write panoptic masks (PNG + segments_info) instead of RLE in instances
    panoptic: bool = False


class CocoReadOptions(OptionsBase):
    """COCO reader options."""

    #: treat image ids as frame indices of one video (video COCO)
    video: bool = False


INFO = FormatInfo(
    name="coco",
    title="COCO JSON",
    description="Microsoft COCO: instances, keypoints, captions, image labels, panoptic and results files.",
    extensions=(".json",),
    annotation_types=frozenset({"bbox", "polygon", "mask", "keypoints", "caption", "label"}),
    features=frozenset(
        {
            "annotation_ids",
            "attributes",
            "item_attributes",
            "subsets",
            "scores",
            "label_hierarchy",
            "skeletons",
            "multipart_polygons",
            "polygon_holes",
            "tracks",
            "groups",
        }
    ),
    media=frozenset({"image", "video_frame"}),
    single_file=True,
    read_options=CocoReadOptions,
    write_options=CocoWriteOptions,
    docs_url="https://cocodataset.org/#format-data",
)


# --------------------------------------------------------------------------- format info


@hookimpl
def labelport_format_info() -> FormatInfo:
    return INFO


# --------------------------------------------------------------------------- detect


def _is_coco_keys(keys: set[str]) -> bool:
    return "images" in keys and ("annotations" in keys or "categories" in keys)


def _is_results(keys: set[str]) -> bool:
    """Keys of the objects of a top-level list look like a COCO results file."""
    return (
        "image_id" in keys
        and ("category_id" in keys or "caption" in keys)
        and bool({"bbox", "segmentation", "keypoints", "caption"} & keys)
    )


@hookimpl
def labelport_detect(probe: Probe) -> Detection | None:
    if not probe.is_dir:
        if probe.suffix != ".json":
            return None
        if _is_coco_keys(probe.json_keys()):
            return Detection(format="coco", confidence=0.9, reason="JSON with images/annotations/categories")
        if _is_results(probe.json_list_keys()):
            return Detection(format="coco", confidence=0.7, reason="COCO results list")
        return None
    files = _annotation_files(probe.path, probe)
    if files:
        named = any(_TASK_RE.match(Path(f).stem) or f.endswith("_annotations.coco.json") for f in files)
        return Detection(format="coco", confidence=0.9 if named else 0.8, reason=f"{len(files)} COCO annotation files")
    return None


# --------------------------------------------------------------------------- read


@hookimpl
def labelport_read(source: Path, options: ReadOptions) -> Dataset:
    fmt_opts = options.format_options or CocoReadOptions()
    files = [source] if source.is_file() else [source / f for f in _annotation_files(source)]
    if not files:
        raise FormatError("no COCO annotation files found", file=source)
    root = source.parent if source.is_file() else source
    labels: dict[str, Label] = {}
    info = Info()
    items: dict[tuple[str | None, str], Item] = {}
    order: list[tuple[str | None, str]] = []
    for path in files:
        _read_file(path, root, options, fmt_opts, labels, info, items, order)
    return Dataset([items[k] for k in order], info=info, labels=list(labels.values()))


def _read_file(
    path: Path,
    root: Path,
    options: ReadOptions,
    fmt_opts: CocoReadOptions,
    labels: dict[str, Label],
    info: Info,
    items: dict,
    order: list,
) -> None:
    doc = load_json(path)
    j = JsonReader(path)
    task, subset = _task_subset(path)
    if isinstance(doc, list):
        doc = {"annotations": doc, "images": None, "categories": None}
    elif not isinstance(doc, dict):
        raise j.error("$", "expected a COCO object or a results list")

    cats = _read_categories(j, doc, labels)
    if doc.get("categories") is None:  # a results file: categories are known by id only
        for ann in doc.get("annotations") or []:
            cid = ann.get("category_id") if isinstance(ann, dict) else None
            if isinstance(cid, int) and not isinstance(cid, bool) and cid not in cats:
                cats[cid] = labels.setdefault(str(cid), Label(name=str(cid), id=cid))
    _read_info(j, doc, info)
    media_roots = _media_roots(path, root, subset, options)
    listing = FolderListing()

    images: dict[Any, Item] = {}
    raw_images = doc.get("images")
    if raw_images is not None:
        j.check(raw_images, "images", list)
        for i, img in enumerate(raw_images):
            item = _read_image(j, img, f"images[{i}]", subset, media_roots, fmt_opts, listing)
            key = (item.subset, item.id)
            if key in items:
                item = items[key]  # the same image listed by another task file
            else:
                items[key] = item
                order.append(key)
            images[img["id"]] = item

    raw_anns = doc.get("annotations") or []
    j.check(raw_anns, "annotations", list)
    if task == "panoptic":
        for i, ann in enumerate(raw_anns):
            _read_panoptic(j, ann, f"annotations[{i}]", path, cats, images)
        return
    for i, ann in enumerate(raw_anns):
        where = f"annotations[{i}]"
        if not isinstance(ann, dict):
            raise j.error(where, "expected an object")
        image_id = ann.get("image_id")
        item = images.get(image_id) if isinstance(image_id, (int, str)) and not isinstance(image_id, bool) else None
        if item is None:
            if raw_images is not None:
                raise j.error(f"{where}.image_id", f"image id {image_id!r} is not in images")
            j.check(image_id, f"{where}.image_id", (int, str))
            item = Item(id=str(image_id), subset=subset, metadata={"coco_id": image_id})
            images[image_id] = item
            items[(subset, item.id)] = item
            order.append((subset, item.id))
        item.annotations.extend(_read_annotation(j, ann, where, cats, item))


def _task_subset(path: Path) -> tuple[str | None, str | None]:
    m = _TASK_RE.match(path.stem)
    if m:
        return m.group(1), m.group(2)
    if path.name == "_annotations.coco.json":
        return None, path.parent.name
    return None, None


def _read_categories(j: JsonReader, doc: dict, labels: dict[str, Label]) -> dict[Any, Label]:
    cats: dict[Any, Label] = {}
    raw = doc.get("categories")
    if raw is None:
        return cats
    j.check(raw, "categories", list)
    for i, cat in enumerate(raw):
        where = f"categories[{i}]"
        cid = j.get(cat, "id", where, int)
        name = str(j.get(cat, "name", where, (str, int)))
        parent = j.get(cat, "supercategory", where, str, required=False) or None
        skeleton = None
        kp_names = j.get(cat, "keypoints", where, list, required=False)
        kp_edges = j.get(cat, "skeleton", where, list, required=False)
        if kp_names is not None or kp_edges:
            skeleton = _read_skeleton(j, kp_names or [], kp_edges or [], where)
        label = labels.get(name)
        if label is None:
            extra = {k: v for k, v in cat.items() if k not in ("id", "name", "supercategory", "keypoints", "skeleton")}
            label = Label(
                name=name, id=cid, parent=parent if parent != name else None, skeleton=skeleton,
                metadata={"coco_extra": extra} if extra else {},  # isthing, color (panoptic), ...
            )
            labels[name] = label
        elif skeleton is not None and label.skeleton is None:
            label = labels[name] = label.model_copy(update={"skeleton": skeleton})
        cats[cid] = label
    return cats


def _read_skeleton(j: JsonReader, names: list, edges: list, where: str) -> Skeleton:
    flat = []
    for k, e in enumerate(edges):
        pair = j.numbers(e, f"{where}.skeleton[{k}]", length=2)
        flat.append((int(pair[0]), int(pair[1])))
    # COCO skeleton pairs are 1-based; files that contain a 0 are 0-based (some exporters)
    base = 0 if any(0 in p for p in flat) else 1
    pairs = [(a - base, b - base) for a, b in flat]
    count = max([len(names), *(max(p) + 1 for p in pairs)]) if (names or pairs) else 0
    if (names and count > len(names)) or count > _MAX_KEYPOINTS:
        raise j.error(f"{where}.skeleton", f"skeleton refers to keypoint {count}, beyond the {len(names)} named")
    point_names = [str(n) for n in names] + [str(i + 1) for i in range(len(names), count)]
    if any(min(p) < 0 for p in pairs):
        raise j.error(f"{where}.skeleton", "skeleton index below 1")
    return Skeleton(points=point_names, edges=pairs)


def _read_info(j: JsonReader, doc: dict, info: Info) -> None:
    raw = doc.get("info")
    if isinstance(raw, dict):
        info.description = info.description or (str(raw.get("description")) if raw.get("description") else None)
        info.version = info.version or (str(raw.get("version")) if raw.get("version") else None)
        info.metadata.setdefault("coco_info", raw)
    lic = doc.get("licenses")
    if isinstance(lic, list) and not info.licenses:
        info.licenses = [x for x in lic if isinstance(x, dict)]


def _media_roots(path: Path, root: Path, subset: str | None, options: ReadOptions) -> list[Path]:
    base = path.parent
    cands: list[Path | None] = [options.images]
    top = base.parent if base.name == "annotations" else base
    if subset:
        cands += [top / "images" / subset, top / subset]
    return media_roots(*cands, top / "images", base, top, root / "images", root)


def _read_image(
    j: JsonReader, img: Any, where: str, subset: str | None, roots: list[Path], opts: CocoReadOptions, listing: FolderListing
) -> Item:
    image_id = j.get(img, "id", where, (int, str))
    file_name = str(j.get(img, "file_name", where, (str, int), required=False, default=image_id))
    width = j.get(img, "width", where, int, required=False)
    height = j.get(img, "height", where, int, required=False)
    if (width is not None and width <= 0) or (height is not None and height <= 0):
        raise j.error(where, f"image size {width}x{height} is not positive")
    attrs = j.get(img, "attributes", where, dict, required=False, default={})
    extra = {k: v for k, v in img.items() if k not in _KNOWN_IMG_KEYS}
    found = find_media(roots, file_name, stem_fallback=False, listing=listing) if roots else None
    stem = file_name.rsplit(".", 1)[0] if Path(file_name).suffix.lower() in IMAGE_SUFFIXES else file_name
    meta = {"coco_id": image_id, **({"coco_extra": extra} if extra else {})}
    if opts.video or "frame_id" in img or "video_id" in img:
        frame = img.get("frame_id", image_id)
        media: Any = VideoFrame(
            video=str(img.get("video_id", "video")),
            frame=int(frame) if isinstance(frame, int) else 0,
            name=file_name,
            path=str(found) if found else None,
            width=width,
            height=height,
        )
    else:
        media = Image(name=file_name, path=str(found) if found else None, width=width, height=height)
    return Item(id=stem, subset=subset, media=media, attributes=dict(attrs), metadata=meta)


def _read_annotation(j: JsonReader, ann: dict, where: str, cats: dict[Any, Label], item: Item) -> list[Any]:
    # Hot path for millions of annotations: checks are inlined and a location string is
    # only built when something is wrong.
    common: dict[str, Any] = {}
    ann_id = ann.get("id")
    if ann_id is not None:
        if type(ann_id) is not int and type(ann_id) is not str:
            j.check(ann_id, f"{where}.id", (int, str))
        common["id"] = ann_id
    cat_id = ann.get("category_id")
    if cat_id is not None:
        label = cats.get(cat_id) if type(cat_id) is int or type(cat_id) is str else None
        if label is not None:
            common["label"] = label.name
        elif "caption" not in ann:  # caption files carry a placeholder category (often 0)
            j.check(cat_id, f"{where}.category_id", (int, str))
            raise j.error(f"{where}.category_id", f"category {cat_id!r} is not in categories")
    meta: dict[str, Any] = {}
    if not _KNOWN_ANN_KEYS.issuperset(ann):
        meta["coco_extra"] = {k: v for k, v in ann.items() if k not in _KNOWN_ANN_KEYS}
    if not _BASIC_ANN_KEYS.issuperset(ann) or ann.get("iscrowd"):
        if "score" in ann:
            common["score"] = float(j.check(ann["score"], f"{where}.score", float))
        attrs = ann.get("attributes")
        if attrs is not None:
            common["attributes"] = dict(j.check(attrs, f"{where}.attributes", dict))
        track = ann.get("track_id", ann.get("instance_id"))
        if track is not None:
            common["track_id"] = int(j.check(track, f"{where}.track_id", int))
        iscrowd = ann.get("iscrowd", 0)
        if iscrowd:
            meta["iscrowd"] = int(j.check(iscrowd, f"{where}.iscrowd", int))
    bbox = ann.get("bbox")
    if bbox is not None:
        bbox = j.numbers(bbox, f"{where}.bbox", length=4)
        if bbox[2] < 0 or bbox[3] < 0:
            raise j.error(f"{where}.bbox", f"negative box size {bbox[2]}x{bbox[3]}")
        meta["bbox"] = bbox
    area = ann.get("area")
    if area is not None:
        if type(area) is not float and type(area) is not int:
            j.check(area, f"{where}.area", float)
        meta["area"] = area

    if "caption" in ann:
        text = j.check(ann["caption"], f"{where}.caption", str)
        return [Caption(**common, text=text, metadata=meta)]

    out: list[Any] = []
    shape = _read_segmentation(j, ann.get("segmentation"), f"{where}.segmentation", common, meta, item)
    keypoints = ann.get("keypoints")
    if keypoints is not None:
        kp = j.numbers(keypoints, f"{where}.keypoints")
        if len(kp) % 3:
            raise j.error(f"{where}.keypoints", f"{len(kp)} values; keypoints come in x, y, v triples")
        vis = [int(v) for v in kp[2::3]]
        if any(v not in (0, 1, 2) for v in vis):
            raise j.error(f"{where}.keypoints", "visibility must be 0, 1 or 2")
        pts = [v for k in range(0, len(kp), 3) for v in (float(kp[k]), float(kp[k + 1]))]
        kmeta = {**meta, "num_keypoints": ann.get("num_keypoints")} if "num_keypoints" in ann else meta
        visible = [c for k, v in enumerate(vis) if v for c in pts[2 * k : 2 * k + 2]]
        derived = list(coords.polygon_bbox(visible)) if visible else [0, 0, 0, 0]
        # a box that only encloses the visible keypoints says nothing more: it is not a separate object
        box = bbox if bbox is not None and not np.allclose(bbox, derived) else None
        group = None
        if box is not None or shape is not None:
            group = common["id"] if isinstance(common.get("id"), int) else len(item.annotations) + 1
        out.append(Keypoints(**common, group=group, points=pts, visibility=vis, metadata=kmeta))
        if box is not None:
            out.append(BBox(**{**common, "id": None, "score": None}, group=group, x=box[0], y=box[1], w=box[2], h=box[3]))
        if shape is not None:
            out.append(shape.model_copy(update={"group": group, "id": None, "score": None}))
        return out
    if shape is not None:
        return [shape]
    if bbox is not None:
        # a box's stored bbox is its geometry; its area is kept only where it says something else
        del meta["bbox"]
        if "area" in meta and abs(meta["area"] - bbox[2] * bbox[3]) <= 1e-6 * max(1.0, abs(meta["area"])):
            del meta["area"]
        if meta:
            common["metadata"] = meta
        return [BBox(**common, x=bbox[0], y=bbox[1], w=bbox[2], h=bbox[3])]
    if "label" in common:
        return [Tag(**common, metadata=meta)]
    raise j.error(where, "annotation has no bbox, segmentation, keypoints, caption or category")


def _read_segmentation(j: JsonReader, seg: Any, where: str, common: dict, meta: dict, item: Item) -> Any:
    if seg is None or seg == [] or seg == {}:
        return None
    if isinstance(seg, list):
        for k, p in enumerate(seg):
            j.numbers(p, f"{where}[{k}]")
            if len(p) < 6 or len(p) % 2:
                raise j.error(f"{where}[{k}]", f"polygon of {len(p)} values; need at least 3 x, y pairs")
        return Polygon(**common, parts=seg, metadata=meta)
    if isinstance(seg, dict):
        size = j.numbers(j.get(seg, "size", where, list), f"{where}.size", length=2)
        counts = j.get(seg, "counts", where, (str, list))
        h, w = int(size[0]), int(size[1])
        if not (0 <= h < 1 << 31 and 0 <= w < 1 << 31):
            raise j.error(f"{where}.size", f"mask size {h}x{w} is out of range")
        if isinstance(counts, list):
            j.numbers(counts, f"{where}.counts")
            if any(c < 0 for c in counts) or sum(counts) != h * w:
                raise j.error(f"{where}.counts", f"run lengths sum to {sum(counts)}, expected {h}x{w}")
            counts = [int(c) for c in counts]
            meta = {**meta, "rle_uncompressed": True}
        else:
            try:
                rle_area(RLE(size=(h, w), counts=counts))
            except (FormatError, ValueError, UnicodeEncodeError) as exc:
                raise j.error(f"{where}.counts", f"invalid compressed RLE ({exc})") from None
        return Mask(**common, rle=RLE(size=(h, w), counts=counts), metadata=meta)
    raise j.error(where, f"expected a list of polygons or an RLE object, got {type(seg).__name__}")


def _read_panoptic(j: JsonReader, ann: Any, where: str, path: Path, cats: dict, images: dict) -> None:
    from PIL import Image as PILImage

    if not isinstance(ann, dict):
        raise j.error(where, "expected an object")
    item = images.get(ann.get("image_id"))
    if item is None:
        raise j.error(f"{where}.image_id", f"image id {ann.get('image_id')!r} is not in images")
    png_name = j.get(ann, "file_name", where, str)
    png_dir = path.parent / path.stem
    if not is_inside(png_dir, png_name):
        raise j.error(f"{where}.file_name", f"path {png_name!r} points outside the dataset")
    png = png_dir / png_name
    try:
        with PILImage.open(png) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint32)
    except (OSError, PILImage.DecompressionBombError) as exc:
        raise FormatError(f"cannot read panoptic PNG: {exc}", file=png) from None
    ids = rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]
    for k, seg in enumerate(j.get(ann, "segments_info", where, list)):
        sw = f"{where}.segments_info[{k}]"
        sid = j.get(seg, "id", sw, int)
        cid = j.get(seg, "category_id", sw, int)
        label = cats.get(cid)
        if label is None:
            raise j.error(f"{sw}.category_id", f"category {cid} is not in categories")
        meta = {"panoptic": True}
        if seg.get("iscrowd"):
            meta["iscrowd"] = 1
        item.annotations.append(Mask.from_array(ids == sid, id=sid, label=label.name, metadata=meta))


def _annotation_files(folder: Path, probe: Probe | None = None) -> list[str]:
    """Relative paths of the COCO JSON files in a folder layout."""
    probe = probe or Probe(folder)
    out = []
    for rel in probe.files("**/*.json"):
        if rel.count("/") > 2:
            continue
        if _is_coco_keys(probe.json_keys(rel)) or _is_results(probe.json_list_keys(rel)):
            out.append(rel)
    return out


# --------------------------------------------------------------------------- write


@hookimpl
def labelport_write(dataset: Dataset, target: Path, options: WriteOptions, report: Report) -> bool:
    opts: CocoWriteOptions = options.format_options or CocoWriteOptions()
    single = target.suffix.lower() == ".json"
    cat_ids = _category_ids(dataset)
    docs: dict[tuple[str, str], dict[str, Any]] = {}
    next_ann_id = _IdCounter()
    next_img_id = _IdCounter()

    def doc(task: str, subset: str) -> dict[str, Any]:
        key = ("instances" if single else task, subset)
        if key not in docs:
            docs[key] = {
                "licenses": dataset.info.licenses,
                "info": _info_json(dataset),
                "categories": None,
                "images": [],
                "annotations": [],
            }
        return docs[key]

    images_written: set[tuple[str, str, str]] = set()
    for item in dataset:
        subset = item.subset or "default"
        image = _image_json(item, next_img_id)
        if options.save_media != "none" and not single:
            export_media(item, target / "images" / subset, options.save_media, report)
        if opts.panoptic and not single and any(a.type == "mask" for a in item.annotations):
            panoptic, others = _panoptic_json(item, image, target, subset, cat_ids, next_ann_id, report)
            doc("panoptic", subset)["images"].append(image)
            doc("panoptic", subset)["annotations"].append(panoptic)
            item = item.model_copy(update={"annotations": others})
        tasks_for_item = _write_annotations(item, cat_ids, next_ann_id, report, opts)
        if not tasks_for_item:
            tasks_for_item = {"instances": []}
        for task, anns in tasks_for_item.items():
            d = doc(task, subset)
            if (task, subset, item.id) not in images_written:
                d["images"].append(image)
                images_written.add((task, subset, item.id))
            for a in anns:
                a["image_id"] = image["id"]
            d["annotations"].extend(anns)

    categories = _categories_json(dataset, cat_ids)
    if not docs:
        docs[("instances", "default")] = {
            "licenses": [],
            "info": _info_json(dataset),
            "categories": None,
            "images": [],
            "annotations": [],
        }
    if single:
        if len({s for _, s in docs}) > 1:
            report.loss("subset names", "merged into one file (write to a folder to keep subsets)")
        merged = {
            "licenses": dataset.info.licenses,
            "info": _info_json(dataset),
            "categories": categories,
            "images": [],
            "annotations": [],
        }
        for d in docs.values():
            merged["images"] += d["images"]
            merged["annotations"] += d["annotations"]
        target.write_bytes(dump_json(merged, indent=opts.indent))
        return True
    (target / "annotations").mkdir(parents=True, exist_ok=True)
    for (task, subset), d in sorted(docs.items()):
        d["categories"] = categories if task != "panoptic" else _categories_json(dataset, cat_ids, panoptic=True)
        (target / "annotations" / f"{task}_{subset}.json").write_bytes(dump_json(d, indent=opts.indent))
    return True


def _panoptic_json(
    item: Item, image: dict, target: Path, subset: str, cat_ids: dict[str, int], ids: _IdCounter, report: Report
) -> tuple[dict[str, Any], list[Any]]:
    """The item's masks as a panoptic PNG (segment id = R + 256 G + 256^2 B) and its
    ``segments_info``; returns that annotation and the item's other annotations."""
    from PIL import Image as PILImage

    masks = [a for a in item.annotations if a.type == "mask" and a.label is not None]
    others = [a for a in item.annotations if not (a.type == "mask" and a.label is not None)]
    h, w = masks[0].rle.size
    index = np.zeros((h, w), dtype=np.int64)
    segments = []
    painted: list[tuple[Any, int]] = []
    for ann in masks:
        if tuple(ann.rle.size) != (h, w):
            report.loss("mask", "dropped (its size differs from the image's other masks)")
            continue
        sid = ids.take(ann.id)
        if sid >= 256**3:
            report.loss("mask", "dropped (segment id beyond the 24 bits of a panoptic PNG)")
            continue
        painted.append((ann.rle, sid))
        x, y, bw, bh = rle_bbox(ann.rle)
        segments.append({"id": sid, "category_id": cat_ids[ann.label], "area": rle_area(ann.rle),
                         "bbox": [x, y, bw, bh], "iscrowd": int(ann.metadata.get("iscrowd", 0))})
    paint_rles(index, painted)
    visible = set(np.unique(index).tolist())
    hidden = [s for s in segments if s["id"] not in visible]
    if hidden:
        report.loss("mask", "dropped (wholly covered by later masks in the panoptic PNG)", len(hidden))
    segments = [s for s in segments if s["id"] in visible]
    for seg in segments:  # areas and boxes of what the PNG really shows
        ys, xs = np.nonzero(index == seg["id"])
        seg["area"] = int(len(xs))
        seg["bbox"] = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)]
    rgb = np.stack([index % 256, index // 256 % 256, index // 65536], axis=-1).astype(np.uint8)
    name = PurePosixPath(image["file_name"]).with_suffix(".png").as_posix()
    png = safe_join(target / "annotations" / f"panoptic_{subset}", name)
    png.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(rgb, "RGB").save(png)
    return {"image_id": image["id"], "file_name": name, "segments_info": segments}, others


class _IdCounter:
    """Keeps existing integer ids; gives fresh ones above every id seen."""

    def __init__(self) -> None:
        self.used: set[int] = set()
        self.next = 1

    def take(self, wanted: Any) -> int:
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted not in self.used:
            self.used.add(wanted)
            return wanted
        while self.next in self.used:
            self.next += 1
        self.used.add(self.next)
        return self.next


def _category_ids(dataset: Dataset) -> dict[str, int]:
    ids: dict[str, int] = {}
    used = {lb.id for lb in dataset.labels if isinstance(lb.id, int)}
    for lb in dataset.labels:
        if isinstance(lb.id, int) and lb.id not in ids.values():
            ids[lb.name] = lb.id
    nxt = 1
    for lb in dataset.labels:
        if lb.name not in ids:
            while nxt in used:
                nxt += 1
            ids[lb.name] = nxt
            used.add(nxt)
    return ids


def _categories_json(dataset: Dataset, ids: dict[str, int], panoptic: bool = False) -> list[dict[str, Any]]:
    out = []
    for lb in dataset.labels:
        cat: dict[str, Any] = {"id": ids[lb.name], "name": lb.name, "supercategory": lb.parent or ""}
        if lb.skeleton is not None:
            cat["keypoints"] = lb.skeleton.points
            cat["skeleton"] = [[a + 1, b + 1] for a, b in lb.skeleton.edges]
        cat.update(lb.metadata.get("coco_extra") or {})
        if panoptic:
            cat.setdefault("isthing", 1)
        out.append(cat)
    return out


def _info_json(dataset: Dataset) -> dict[str, Any]:
    info = dict(dataset.info.metadata.get("coco_info") or {})
    if dataset.info.description:
        info["description"] = dataset.info.description
    if dataset.info.version:
        info["version"] = dataset.info.version
    return info


def _image_json(item: Item, ids: _IdCounter) -> dict[str, Any]:
    media = item.media
    name = getattr(media, "name", None) or f"{item.id}.jpg"
    img: dict[str, Any] = {"id": ids.take(item.metadata.get("coco_id")), "file_name": name}
    if getattr(media, "width", None):
        img["width"] = media.width  # type: ignore[union-attr]
        img["height"] = media.height  # type: ignore[union-attr]
    if isinstance(media, VideoFrame):
        img["video_id"] = media.video
        img["frame_id"] = media.frame
    if item.attributes:
        img["attributes"] = item.attributes
    img.update(item.metadata.get("coco_extra") or {})
    return img


def _write_annotations(
    item: Item, cat_ids: dict[str, int], ids: _IdCounter, report: Report, opts: CocoWriteOptions
) -> dict[str, list]:
    tasks: dict[str, list] = defaultdict(list)
    groups: dict[int, list[Any]] = defaultdict(list)
    for ann in item.annotations:
        if ann.group is not None:
            groups[ann.group].append(ann)
    consumed: set[int] = set()
    for members in groups.values():
        kps = [a for a in members if a.type == "keypoints"]
        if not kps:
            report.loss("annotation groups", "dropped (COCO groups only a person's keypoints with its box)", len(members))
            continue
        kp = kps[0]
        box = next((a for a in members if a.type == "bbox"), None)
        shape = next((a for a in members if a.type in ("polygon", "mask")), None)
        obj = _base_json(kp, cat_ids, ids)
        flat: list[float] = []
        for k, v in enumerate(kp.visibility):
            flat += [kp.points[2 * k], kp.points[2 * k + 1], v]
        obj["keypoints"] = flat
        obj["num_keypoints"] = sum(1 for v in kp.visibility if v > 0)
        _put_shape(obj, shape, item, opts)
        if box is not None:
            obj["bbox"] = [box.x, box.y, box.w, box.h]
        elif "bbox" not in obj:
            visible = [c for k, v in enumerate(kp.visibility) if v for c in kp.points[2 * k : 2 * k + 2]]
            obj["bbox"] = list(coords.polygon_bbox(visible)) if visible else [0, 0, 0, 0]
        obj.setdefault("area", obj["bbox"][2] * obj["bbox"][3])
        tasks["person_keypoints"].append(obj)
        consumed.update(id(a) for a in (kp, box, shape) if a is not None)
        for extra in kps[1:]:
            report.loss("keypoints", "dropped (a second skeleton in one group)")
            consumed.add(id(extra))
    for ann in item.annotations:
        if id(ann) in consumed:
            continue
        obj = _base_json(ann, cat_ids, ids)
        if ann.type == "caption":
            obj.pop("category_id", None)
            obj["caption"] = ann.text
            tasks["captions"].append(obj)
        elif ann.type == "label":
            tasks["labels"].append(obj)
        elif ann.type == "bbox":
            obj["bbox"] = [ann.x, ann.y, ann.w, ann.h]
            stored_area = ann.metadata.get("area") if opts.keep_stored_geometry else None
            obj["area"] = stored_area if stored_area is not None else ann.w * ann.h
            obj["segmentation"] = []
            obj["iscrowd"] = ann.metadata.get("iscrowd", 0)
            tasks["instances"].append(obj)
        elif ann.type in ("polygon", "mask"):
            _put_shape(obj, ann, item, opts)
            tasks["instances"].append(obj)
        elif ann.type == "keypoints":
            obj["keypoints"] = [c for k, v in enumerate(ann.visibility) for c in (ann.points[2 * k], ann.points[2 * k + 1], v)]
            obj["num_keypoints"] = sum(1 for v in ann.visibility if v > 0)
            visible = [c for k, v in enumerate(ann.visibility) if v for c in ann.points[2 * k : 2 * k + 2]]
            obj["bbox"] = list(coords.polygon_bbox(visible)) if visible else [0, 0, 0, 0]
            obj["area"] = obj["bbox"][2] * obj["bbox"][3]
            obj["iscrowd"] = 0
            tasks["person_keypoints"].append(obj)
    return tasks


def _base_json(ann: Any, cat_ids: dict[str, int], ids: _IdCounter) -> dict[str, Any]:
    obj: dict[str, Any] = {"id": ids.take(ann.id), "image_id": None}
    if ann.label is not None:
        obj["category_id"] = cat_ids[ann.label]
    if ann.score is not None:
        obj["score"] = ann.score
    if ann.attributes:
        obj["attributes"] = ann.attributes
    if ann.track_id is not None:
        obj["track_id"] = ann.track_id
    obj.update(ann.metadata.get("coco_extra") or {})
    return obj


def _put_shape(obj: dict[str, Any], ann: Any, item: Item, opts: CocoWriteOptions) -> None:
    """segmentation, bbox and area of a polygon or mask (stored values kept when asked)."""
    if ann is None:
        return
    stored_bbox = ann.metadata.get("bbox") if opts.keep_stored_geometry else None
    stored_area = ann.metadata.get("area") if opts.keep_stored_geometry else None
    obj["iscrowd"] = ann.metadata.get("iscrowd", 0)
    if ann.type == "polygon" and ann.holes:
        h, w = getattr(item.media, "height", None), getattr(item.media, "width", None)
        if h and w:
            # COCO polygons cannot have holes; the RLE mask keeps them exactly
            ann = Mask(label=ann.label, rle=polygons_to_rle(ann.parts, h, w, ann.holes))
            stored_bbox = stored_area = None
    if ann.type == "polygon":
        obj["segmentation"] = ann.parts
    else:
        rle = ann.rle
        if ann.metadata.get("rle_uncompressed") or obj["iscrowd"]:
            rle = rle_uncompress(rle)
        obj["segmentation"] = {"size": list(rle.size), "counts": rle.counts}
    # box and area are computed only where none was stored (stored ones are kept as written)
    if stored_bbox is not None:
        obj["bbox"] = list(stored_bbox)
    elif ann.type == "polygon":
        obj["bbox"] = list(coords.polygon_bbox([v for p in ann.parts for v in p]))
    else:
        obj["bbox"] = list(rle_bbox(ann.rle))
    if stored_area is not None:
        obj["area"] = stored_area
    elif ann.type == "polygon":
        obj["area"] = sum(coords.polygon_area(p) for p in ann.parts)
    else:
        obj["area"] = rle_area(ann.rle)


# --------------------------------------------------------------------------- validate


@hookimpl
def labelport_validate(source: Path, options: ReadOptions) -> list[Problem]:
    """Duplicate ids and stored boxes that disagree with their segmentation (warnings)."""
    problems: list[Problem] = []
    files = [source] if source.is_file() else [source / f for f in _annotation_files(source)]
    for path in files:
        doc = load_json(path)
        if not isinstance(doc, dict):
            continue
        seen: set[Any] = set()
        for i, ann in enumerate(doc.get("annotations") or []):
            if not isinstance(ann, dict):
                continue
            aid = ann.get("id")
            if aid is not None and aid in seen:
                problems.append(
                    Problem(message=f"duplicate annotation id {aid}", file=str(path), location=f"annotations[{i}].id")
                )
            seen.add(aid)
        seen_img: set[Any] = set()
        for i, img in enumerate(doc.get("images") or []):
            iid = img.get("id") if isinstance(img, dict) else None
            if iid is not None and iid in seen_img:
                problems.append(Problem(message=f"duplicate image id {iid}", file=str(path), location=f"images[{i}].id"))
            seen_img.add(iid)
    return problems
