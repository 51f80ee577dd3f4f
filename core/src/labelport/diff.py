"""What differs between two datasets: items added and removed, annotations added, removed
and changed, with geometry matched by IoU — to check a conversion or a re-annotation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labelport.geometry import coords
from labelport.schema import Dataset, Item


def _box(ann: Any) -> tuple[float, float, float, float] | None:
    """The annotation's extent as x1, y1, x2, y2 (None for kinds without one)."""
    t = ann.type
    if t == "bbox":
        if ann.rotation:
            x, y, w, h = coords.polygon_bbox(coords.rotated_box_corners(ann.x, ann.y, ann.w, ann.h, ann.rotation))
            return x, y, x + w, y + h
        return ann.x, ann.y, ann.x + ann.w, ann.y + ann.h
    if t == "polygon":
        x, y, w, h = coords.polygon_bbox([v for p in ann.parts for v in p])
        return x, y, x + w, y + h
    if t in ("polyline", "points", "keypoints", "cuboid_2d") and len(ann.points) >= 2:
        x, y, w, h = coords.polygon_bbox(ann.points)
        return x, y, x + w, y + h
    if t == "ellipse":
        x, y, w, h = coords.ellipse_bbox(ann.cx, ann.cy, ann.rx, ann.ry, ann.rotation)
        return x, y, x + w, y + h
    if t == "mask":
        from labelport.geometry.masks import rle_bbox

        x, y, w, h = rle_bbox(ann.rle)
        return x, y, x + w, y + h
    return None


def iou(a: Any, b: Any) -> float:
    """Intersection over union of two annotations: masks by pixels, else by their extents
    (1.0 for equal kinds without geometry, such as tags and captions)."""
    if a.type == "mask" and b.type == "mask":
        from pycocotools import mask as cm

        from labelport.geometry.masks import _coco_rle

        return float(cm.iou([_coco_rle(a.rle)], [_coco_rle(b.rle)], [0])[0][0])
    ba, bb = _box(a), _box(b)
    if ba is None or bb is None:
        return 1.0 if (ba is None and bb is None and a.geometry() == b.geometry()) else 0.0
    ix = max(0.0, min(ba[2], bb[2]) - max(ba[0], bb[0]))
    iy = max(0.0, min(ba[3], bb[3]) - max(ba[1], bb[1]))
    inter = ix * iy
    union = (ba[2] - ba[0]) * (ba[3] - ba[1]) + (bb[2] - bb[0]) * (bb[3] - bb[1]) - inter
    if union <= 0:  # degenerate extents (points, lines): equal means the same
        return 1.0 if ba == bb else 0.0
    return inter / union


@dataclass
class ItemDiff:
    id: str
    added: list[Any] = field(default_factory=list)
    removed: list[Any] = field(default_factory=list)
    changed: list[tuple[Any, Any, list[str]]] = field(default_factory=list)
    matched: int = 0


@dataclass
class DatasetDiff:
    """The result of :func:`diff`."""

    items_added: list[str] = field(default_factory=list)
    items_removed: list[str] = field(default_factory=list)
    items: list[ItemDiff] = field(default_factory=list)
    labels_added: list[str] = field(default_factory=list)
    labels_removed: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not (self.items_added or self.items_removed or self.labels_added or self.labels_removed or self.items)

    def counts(self) -> dict[str, int]:
        return {
            "items_added": len(self.items_added),
            "items_removed": len(self.items_removed),
            "annotations_added": sum(len(d.added) for d in self.items),
            "annotations_removed": sum(len(d.removed) for d in self.items),
            "annotations_changed": sum(len(d.changed) for d in self.items),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.counts(),
            "labels_added": self.labels_added,
            "labels_removed": self.labels_removed,
            "items": {
                d.id: {
                    "added": [_describe(a) for a in d.added],
                    "removed": [_describe(a) for a in d.removed],
                    "changed": [{"before": _describe(a), "after": _describe(b), "fields": f} for a, b, f in d.changed],
                }
                for d in self.items
            },
        }

    def __str__(self) -> str:
        if self.equal:
            return "no differences"
        c = self.counts()
        lines = [
            f"items: +{c['items_added']} -{c['items_removed']}; annotations: +{c['annotations_added']} "
            f"-{c['annotations_removed']} ~{c['annotations_changed']}"
        ]
        lines += [f"+ item {i}" for i in self.items_added[:20]]
        lines += [f"- item {i}" for i in self.items_removed[:20]]
        for name in self.labels_added:
            lines.append(f"+ label {name}")
        for name in self.labels_removed:
            lines.append(f"- label {name}")
        for d in self.items[:50]:
            lines += [f"  {d.id}: + {_describe(a)}" for a in d.added]
            lines += [f"  {d.id}: - {_describe(a)}" for a in d.removed]
            lines += [f"  {d.id}: ~ {_describe(a)} ({', '.join(f)})" for a, _b, f in d.changed]
        return "\n".join(lines)


def _describe(ann: Any) -> str:
    return f"{ann.type} {ann.label!r}" + (f" id={ann.id}" if ann.id is not None else "")


_COMPARED = ("attributes", "group", "track_id", "z_order", "score", "keyframe", "outside")


def diff(a: Dataset, b: Dataset, *, iou_threshold: float = 0.5, tolerance: float = 0.5) -> DatasetDiff:
    """Differences from ``a`` to ``b``. Items match by subset and id; annotations of the same
    kind and label match greedily by IoU (at least ``iou_threshold``); a matched pair differs
    when its geometry moves by more than ``tolerance`` pixels or another field changes."""
    out = DatasetDiff()
    la, lb = set(a.labels.names()), set(b.labels.names())
    out.labels_added, out.labels_removed = sorted(lb - la), sorted(la - lb)
    items_a: dict[tuple[str, str], Item] = {((i.subset or "default"), i.id): i for i in a}
    items_b: dict[tuple[str, str], Item] = {((i.subset or "default"), i.id): i for i in b}
    out.items_added = [k[1] for k in items_b if k not in items_a]
    out.items_removed = [k[1] for k in items_a if k not in items_b]
    for key in items_a.keys() & items_b.keys():
        d = _diff_item(items_a[key], items_b[key], iou_threshold, tolerance)
        if d.added or d.removed or d.changed:
            out.items.append(d)
    out.items.sort(key=lambda d: d.id)
    return out


def _diff_item(ia: Item, ib: Item, threshold: float, tolerance: float) -> ItemDiff:
    d = ItemDiff(ia.id)
    left = list(ia.annotations)
    right = list(ib.annotations)
    pairs = []
    for i, x in enumerate(left):
        for j, y in enumerate(right):
            if x.type == y.type and x.label == y.label:
                score = iou(x, y)
                if score >= threshold:
                    pairs.append((score, i, j))
    pairs.sort(key=lambda p: -p[0])
    used_l: set[int] = set()
    used_r: set[int] = set()
    for _score, i, j in pairs:
        if i in used_l or j in used_r:
            continue
        used_l.add(i)
        used_r.add(j)
        d.matched += 1
        fields = _changed_fields(left[i], right[j], tolerance)
        if fields:
            d.changed.append((left[i], right[j], fields))
    d.removed = [x for i, x in enumerate(left) if i not in used_l]
    d.added = [y for j, y in enumerate(right) if j not in used_r]
    return d


def _changed_fields(x: Any, y: Any, tolerance: float) -> list[str]:
    fields = [f for f in _COMPARED if getattr(x, f) != getattr(y, f)]
    gx, gy = x.geometry(), y.geometry()
    for key in gx.keys() | gy.keys():
        vx, vy = gx.get(key), gy.get(key)
        if vx == vy:
            continue
        nx, ny = _numbers(vx), _numbers(vy)
        if nx is not None and ny is not None and len(nx) == len(ny) and all(abs(p - q) <= tolerance for p, q in zip(nx, ny)):
            continue
        fields.append(key)
    return sorted(fields)


def _numbers(value: Any) -> list[float] | None:
    out: list[float] = []
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, bool):
            out.append(float(v))
        elif isinstance(v, (int, float)):
            out.append(float(v))
        elif isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        else:
            return None
    return out
