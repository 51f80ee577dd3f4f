"""Hypothesis strategies for datasets a given format can hold."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from labelport.plugin import FormatInfo
from labelport.schema import (
    BBox,
    Caption,
    Dataset,
    Ellipse,
    Image,
    Item,
    Keypoints,
    Label,
    Mask,
    Points,
    Polygon,
    Polyline,
    Skeleton,
    Tag,
)

LABELS = ("cat", "dog", "person", "traffic light")
SKELETON = Skeleton(points=["head", "left", "right"], edges=[(0, 1), (0, 2)])


@st.composite
def _coord(draw: Any, limit: int, integer: bool) -> float:
    if integer:
        return float(draw(st.integers(0, limit)))
    return round(draw(st.floats(0, limit, allow_nan=False, allow_infinity=False)), 2)


@st.composite
def annotation(draw: Any, kinds: list[str], w: int, h: int, integer: bool, features: frozenset[str]) -> Any:
    kind = draw(st.sampled_from(kinds))
    label = draw(st.sampled_from(LABELS[:3] if kind != "keypoints" else ("person",)))
    common: dict[str, Any] = {"label": label}
    if "attributes" in features:
        common["attributes"] = draw(st.sampled_from([{}, {"occluded": True}, {"color": "red"}]))
    if "scores" in features and draw(st.booleans()):
        common["score"] = round(draw(st.floats(0, 1)), 3)
    if "z_order" in features:
        common["z_order"] = draw(st.integers(0, 3))

    def pt_x() -> float:
        return draw(_coord(w, integer))

    def pt_y() -> float:
        return draw(_coord(h, integer))

    if kind == "bbox":
        x1, x2 = sorted((pt_x(), pt_x()))
        y1, y2 = sorted((pt_y(), pt_y()))
        if x2 - x1 < 1:
            x1, x2 = 0.0, float(w)
        if y2 - y1 < 1:
            y1, y2 = 0.0, float(h)
        return BBox(**common, x=x1, y=y1, w=x2 - x1, h=y2 - y1)
    if kind == "polygon":
        # a triangle with area: two x and two y values that differ
        x1, x2 = sorted((pt_x(), pt_x()))
        y1, y2 = sorted((pt_y(), pt_y()))
        if x2 - x1 < 2:  # keep an area, inside the image
            x1, x2 = (x1, x1 + 2) if x1 + 2 <= w else (x2 - 2, x2)
        if y2 - y1 < 2:
            y1, y2 = (y1, y1 + 2) if y1 + 2 <= h else (y2 - 2, y2)
        return Polygon(**common, parts=[[x1, y1, x2, y1, x2, y2, x1, y2]])
    if kind == "polyline":
        return Polyline(**common, points=[pt_x(), pt_y(), pt_x(), pt_y(), pt_x(), pt_y()])
    if kind == "points":
        return Points(**common, points=[pt_x(), pt_y(), pt_x(), pt_y()])
    if kind == "keypoints":
        vis = [draw(st.sampled_from([1, 2])) for _ in SKELETON.points]
        return Keypoints(**common, points=[v for _ in SKELETON.points for v in (pt_x(), pt_y())], visibility=vis)
    if kind == "ellipse":
        cx, cy = float(w // 2), float(h // 2)
        return Ellipse(**common, cx=cx, cy=cy, rx=float(draw(st.integers(1, w // 2))), ry=float(draw(st.integers(1, h // 2))))
    if kind == "label":
        return Tag(label=label)
    if kind == "mask":
        import numpy as np

        x1, x2 = sorted((int(pt_x()), int(pt_x())))
        y1, y2 = sorted((int(pt_y()), int(pt_y())))
        m = np.zeros((h, w), dtype=bool)
        m[y1 : max(y2, y1 + 1), x1 : max(x2, x1 + 1)] = True
        return Mask.from_array(m, **common)
    if kind == "caption":
        return Caption(text=draw(st.text(alphabet="abcdefgh xyz", min_size=1, max_size=20)).strip() or "a")
    raise AssertionError(kind)


GENERATED_KINDS = ("bbox", "polygon", "polyline", "points", "keypoints", "ellipse", "mask", "label", "caption")


@st.composite
def datasets(
    draw: Any,
    info: FormatInfo,
    *,
    kinds: tuple[str, ...] | None = None,
    integer: bool = False,
    max_items: int = 4,
    max_annotations: int = 5,
) -> Dataset:
    """Small datasets holding only the annotation kinds and features ``info`` declares."""
    usable = [k for k in (kinds or GENERATED_KINDS) if k in info.annotation_types]
    if not usable:
        usable = []
    n = draw(st.integers(1, max_items))
    subsets = ["train", "val"] if "subsets" in info.features else [None]
    items = []
    for i in range(n):
        w, h = draw(st.sampled_from([(64, 48), (320, 240), (640, 480)]))
        anns = []
        if usable:
            anns = draw(st.lists(annotation(usable, w, h, integer, info.features), max_size=max_annotations))
            tags = set()
            for ann in list(anns):  # an image-level label is said once per image
                if ann.type == "label":
                    if ann.label in tags:
                        anns.remove(ann)
                    tags.add(ann.label)
        items.append(
            Item(
                id=f"img_{i:03d}",
                subset=draw(st.sampled_from(subsets)),
                media=Image(name=f"img_{i:03d}.jpg", width=w, height=h),
                annotations=anns,
            )
        )
    labels = [Label(name=n) for n in LABELS[:2]] + [Label(name="person", skeleton=SKELETON if "keypoints" in usable else None)]
    return Dataset(items, labels=labels)
