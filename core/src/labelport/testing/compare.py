"""Comparing datasets up to what a format can hold, with a coordinate tolerance."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from labelport.plugin import FormatInfo
from labelport.schema import Dataset

_FEATURE_FIELDS = {
    "annotation_ids": "id",
    "attributes": "attributes",
    "groups": "group",
    "tracks": "track_id",
    "z_order": "z_order",
    "scores": "score",
}


def _vector(ann: Any) -> list[float]:
    """The annotation's geometry as a flat list of numbers."""
    if ann.type == "mask":
        from labelport.geometry.masks import rle_area, rle_bbox

        return [*rle_bbox(ann.rle), float(rle_area(ann.rle))]
    if ann.type == "volume_mask":
        return [float(v) for v in ann.data.shape] + [float(ann.data.sum())]
    out: list[float] = []
    for key, value in ann.geometry().items():
        if key in ("names", "text", "taxonomy"):
            continue
        _flatten(value, out)
    return out


def _flatten(value: Any, out: list[float]) -> None:
    if isinstance(value, bool):
        out.append(float(value))
    elif isinstance(value, (int, float)):
        out.append(float(value))
    elif isinstance(value, (list, tuple)):
        for v in value:
            _flatten(v, out)
    elif hasattr(value, "model_dump"):
        _flatten(list(value.model_dump().values()), out)


def _signature(ann: Any, info: FormatInfo, ignore: set[str]) -> tuple:
    extra = []
    for feature, field in _FEATURE_FIELDS.items():
        if feature in info.features and feature not in ignore:
            value = getattr(ann, field)
            extra.append((field, repr(value) if not isinstance(value, dict) else repr(sorted(value.items()))))
    text = getattr(ann, "text", None)
    return (ann.type, ann.label, text, tuple(extra))


def diff_datasets(
    a: Dataset, b: Dataset, info: FormatInfo, *, tolerance: float = 1e-6, ignore: set[str] = frozenset()
) -> list[str]:
    """Differences between ``a`` and ``b`` in what ``info``'s format can hold; empty when equal."""
    problems: list[str] = []
    subsets = "subsets" in info.features and "subsets" not in ignore

    def key(item: Any) -> tuple:
        return ((item.subset or "default") if subsets else "", item.id)

    # labels are compared where annotations use them (formats store a skeleton with its keypoints,
    # a colour with its masks); an unused label may legitimately vanish
    used = {(ann.label, ann.type) for item in a for ann in item.annotations}
    used_labels = {label for label, _ in used}
    for la in a.labels:
        if la.name not in used_labels:
            continue
        lb = b.labels.get(la.name)
        if lb is None:
            problems.append(f"label {la.name!r} is missing after the round trip")
            continue
        if "label_hierarchy" in info.features and "label_hierarchy" not in ignore and la.parent != lb.parent:
            problems.append(f"label {la.name!r}: parent {la.parent!r} became {lb.parent!r}")
        if "skeletons" in info.features and "skeletons" not in ignore and la.skeleton is not None and (la.name, "keypoints") in used:
            sa, sb = la.skeleton, lb.skeleton
            if sb is None or sa.points != sb.points or sorted(map(sorted, sa.edges)) != sorted(map(sorted, sb.edges)):
                problems.append(f"label {la.name!r}: skeleton {sa} became {sb}")
        if "label_colors" in info.features and "label_colors" not in ignore and la.color is not None and la.color != lb.color:
            problems.append(f"label {la.name!r}: colour {la.color} became {lb.color}")
    items_a = {key(i): i for i in a}
    if any(ann.id is None for item in items_a.values() for ann in item.annotations):
        ignore = {*ignore, "annotation_ids"}  # ids assigned by the writer cannot match absent ones
    items_b = {key(i): i for i in b}
    if set(items_a) != set(items_b):
        only_a = sorted(set(items_a) - set(items_b))[:5]
        only_b = sorted(set(items_b) - set(items_a))[:5]
        problems.append(f"items differ: only before {only_a}, only after {only_b}")
    for k in sorted(set(items_a) & set(items_b)):
        ia, ib = items_a[k], items_b[k]
        wa, wb = getattr(ia.media, "width", None), getattr(ib.media, "width", None)
        ha, hb = getattr(ia.media, "height", None), getattr(ib.media, "height", None)
        if wa and wb and (wa, ha) != (wb, hb):
            problems.append(f"item {k[1]}: image size {wa}x{ha} became {wb}x{hb}")
        groups_a: dict[tuple, list[list[float]]] = defaultdict(list)
        groups_b: dict[tuple, list[list[float]]] = defaultdict(list)
        for ann in ia.annotations:
            if ann.type in info.annotation_types:
                groups_a[_signature(ann, info, ignore)].append(_vector(ann))
        for ann in ib.annotations:
            groups_b[_signature(ann, info, ignore)].append(_vector(ann))
        for sig in sorted(set(groups_a) | set(groups_b), key=repr):
            va, vb = sorted(groups_a.get(sig, [])), sorted(groups_b.get(sig, []))
            if len(va) != len(vb):
                problems.append(f"item {k[1]}: {len(va)} x {sig[:2]} became {len(vb)}")
                continue
            for x, y in _pair_nearest(va, vb):
                if len(x) != len(y) or not np.allclose(x, y, atol=tolerance, rtol=0):
                    problems.append(f"item {k[1]}: {sig[0]} {sig[1]!r} geometry {_short(x)} became {_short(y)}")
        if len(problems) > 20:
            break
    return problems


def _pair_nearest(va: list[list[float]], vb: list[list[float]]) -> list[tuple[list[float], list[float]]]:
    """Pair each geometry with its nearest unpaired counterpart (largest coordinate difference),
    so rounding that reorders near-equal shapes does not look like a change."""
    left = list(vb)
    pairs = []
    for x in va:
        best = min(
            range(len(left)),
            key=lambda j: _distance(x, left[j]),
        )
        pairs.append((x, left.pop(best)))
    return pairs


def _distance(x: list[float], y: list[float]) -> float:
    if len(x) != len(y):
        return float("inf")
    return float(np.max(np.abs(np.subtract(x, y)))) if x else 0.0


def _short(v: list[float]) -> str:
    text = "[" + ", ".join(f"{x:g}" for x in v[:8]) + (", ..." if len(v) > 8 else "") + "]"
    return text
