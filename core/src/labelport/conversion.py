"""Fitting a dataset to a target format's capabilities, and reporting every loss.

The core does this once for every writer: an annotation kind the target cannot
hold is converted to the nearest kind it can (a polygon to its box, an ellipse to
a polygon) or dropped, and every feature the target lacks (attributes, tracks,
groups, scores, ...) is removed; each step is counted in the :class:`Report`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labelport.geometry import coords
from labelport.plugin import FormatInfo, Report
from labelport.schema import AnnotationBase, BBox, Dataset, Item, Points, Polygon

# For each kind, the kinds it may become, best first, and how to say it.
FALLBACKS: dict[str, list[tuple[str, str]]] = {
    "polygon": [("mask", "rasterised to a mask"), ("bbox", "reduced to its box")],
    "mask": [("polygon", "traced to polygons"), ("bbox", "reduced to its box")],
    "ellipse": [("polygon", "approximated by a 64-point polygon"), ("bbox", "reduced to its box")],
    "cuboid_2d": [("bbox", "reduced to its box")],
    "keypoints": [("points", "kept as points without the skeleton"), ("bbox", "reduced to the box of its visible points")],
    "polyline": [],
    "points": [],
}

_FEATURE_FIELDS: list[tuple[str, str, str]] = [
    # feature, annotation field, what the report calls it
    ("attributes", "attributes", "annotation attributes"),
    ("groups", "group", "annotation groups"),
    ("tracks", "track_id", "track ids"),
    ("z_order", "z_order", "z-order"),
    ("scores", "score", "scores"),
    ("embeddings", "embedding", "embedding vectors"),
]
_EMPTY: dict[str, Any] = {"attributes": {}, "group": None, "track_id": None, "z_order": 0, "score": None, "embedding": None}


def fit_items(dataset: Dataset, info: FormatInfo, report: Report) -> Iterator[Item]:
    """Yield the dataset's items changed only as far as ``info`` requires, counting in ``report``.

    Each new pass over the items restarts the counts, so a writer may iterate twice.
    """
    # a new pass restarts what the core counts; losses a writer recorded itself are kept
    report.items = 0
    report.annotations.clear()
    report.losses.subtract(report.core_losses)
    report.losses = +report.losses
    report.core_losses.clear()
    report.missing_media.clear()
    report = _CoreCounting(report)  # type: ignore[assignment]
    _label_losses(dataset, info, report)
    kinds = info.annotation_types
    features = info.features
    check_rotation = "bbox" in kinds and "rotation" not in features
    check_features = [f for f in _FEATURE_FIELDS if f[0] not in features]
    check_multipart = "polygon" in kinds and "multipart_polygons" not in features
    check_holes = "polygon" in kinds and "polygon_holes" not in features
    for item in dataset:
        changed = False
        out: list[Any] = []
        for ann in item.annotations:
            new = ann
            if ann.outside and "track_outside" not in features:
                # an object marked outside the frame is not in the image: a format that cannot say so
                # would show it as a shape
                report.loss("track frames where the object is outside", "dropped")
                changed = True
                continue
            if ann.type not in kinds:
                new = _fallback(ann, item, info, report)
                if new is None:
                    changed = True
                    continue
            if check_rotation and new.type == "bbox" and new.rotation:
                report.loss("rotated bbox", "replaced by its axis-aligned enclosing box")
                x, y, w, h = coords.polygon_bbox(coords.rotated_box_corners(new.x, new.y, new.w, new.h, new.rotation))
                new = new.model_copy(update={"x": x, "y": y, "w": w, "h": h, "rotation": 0.0})
            if new.type == "polygon" and (check_multipart and len(new.parts) > 1 or check_holes and new.holes):
                new = _simplify_polygon(new, check_multipart, check_holes, report)
            update = {}
            for _feature, field, what in check_features:
                value = getattr(new, field)
                if value != _EMPTY[field] and value is not None:
                    report.loss(what, "dropped")
                    update[field] = _EMPTY[field]
            if update:
                new = new.model_copy(update=update)
            changed |= new is not ann
            out.append(new)
            report.annotations[new.type] += 1
        if item.attributes and "item_attributes" not in features:
            report.loss("item attributes", "dropped")
            item = item.model_copy(update={"attributes": {}})
        if item.subset not in (None, "default") and "subsets" not in features:
            report.loss("subset names", "dropped (all items written to one set)")
        if changed:
            item = item.model_copy(update={"annotations": out})
        report.items += 1
        yield item


class _CoreCounting:
    """The report as the core's own steps see it: each loss is also remembered as the core's."""

    def __init__(self, report: Report):
        self._report = report

    def loss(self, what: str, action: str, count: int = 1) -> None:
        self._report.loss(what, action, count)
        self._report.core_losses[(what, action)] += count

    def __getattr__(self, name: str) -> Any:
        return getattr(self._report, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_report":
            object.__setattr__(self, name, value)
        else:
            setattr(self._report, name, value)


def _fallback(ann: Any, item: Item, info: FormatInfo, report: Report) -> AnnotationBase | None:
    options = FALLBACKS.get(ann.type, [])
    if ann.type in info.fallbacks:
        actions = dict(options)
        options = [(k, actions.get(k, f"converted to {k}")) for k in info.fallbacks[ann.type]]
    for kind, action in options:
        if kind not in info.annotation_types:
            continue
        new = _convert(ann, kind, item)
        if new is not None:
            report.loss(ann.type, action)
            return new
    report.loss(ann.type, "dropped (the format cannot hold it)")
    return None


def _common(ann: AnnotationBase) -> dict[str, Any]:
    return {k: getattr(ann, k) for k in AnnotationBase.model_fields}


def _convert(ann: Any, kind: str, item: Item) -> AnnotationBase | None:
    t = ann.type
    if kind == "bbox":
        if t == "polygon":
            box = coords.polygon_bbox([v for part in ann.parts for v in part])
        elif t == "mask":
            from labelport.geometry.masks import rle_bbox

            box = rle_bbox(ann.rle)
        elif t == "ellipse":
            box = coords.ellipse_bbox(ann.cx, ann.cy, ann.rx, ann.ry, ann.rotation)
        elif t == "cuboid_2d":
            box = coords.polygon_bbox(ann.points)
        elif t == "keypoints":
            visible = [c for k, v in enumerate(ann.visibility) if v for c in ann.points[2 * k : 2 * k + 2]]
            if not visible:
                return None
            box = coords.polygon_bbox(visible)
        else:
            return None
        return BBox(**_common(ann), x=box[0], y=box[1], w=box[2], h=box[3])
    if kind == "polygon":
        if t == "mask":
            from labelport.geometry.masks import mask_to_polygons

            outer, holes = mask_to_polygons(ann.to_array())
            if not outer:
                return None
            return Polygon(**_common(ann), parts=outer, holes=holes)
        if t == "ellipse":
            return Polygon(**_common(ann), parts=[coords.ellipse_polygon(ann.cx, ann.cy, ann.rx, ann.ry, ann.rotation)])
        return None
    if kind == "mask" and t == "polygon":
        media = item.media
        width, height = getattr(media, "width", None), getattr(media, "height", None)
        if not width or not height:
            return None
        from labelport.geometry.masks import polygons_to_rle
        from labelport.schema import Mask

        return Mask(**_common(ann), rle=polygons_to_rle(ann.parts, height, width, ann.holes))
    if kind == "points" and t == "keypoints":
        return Points(**_common(ann), points=ann.points, visibility=ann.visibility)
    return None


def _simplify_polygon(poly: Polygon, multipart: bool, holes: bool, report: Report) -> Polygon:
    update: dict[str, Any] = {}
    if holes and poly.holes:
        report.loss("polygon holes", "dropped (outer boundary kept)")
        update["holes"] = []
    if multipart and len(poly.parts) > 1:
        report.loss("multi-part polygon", "kept its largest part only")
        update["parts"] = [max(poly.parts, key=coords.polygon_area)]
    return poly.model_copy(update=update)


def _label_losses(dataset: Dataset, info: FormatInfo, report: Report) -> None:
    checks = [
        ("label_colors", "label colours", lambda lb: lb.color is not None),
        ("label_hierarchy", "label parents", lambda lb: lb.parent is not None),
        ("label_attributes", "attribute declarations", lambda lb: bool(lb.attributes)),
        ("skeletons", "keypoint skeletons", lambda lb: lb.skeleton is not None),
    ]
    for feature, what, has in checks:
        if feature in info.features:
            continue
        n = sum(1 for lb in dataset.labels if has(lb))
        if n:
            report.loss(what, "dropped", n)
