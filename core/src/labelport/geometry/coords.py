"""Coordinate conventions at format boundaries. The canonical form is float pixels,
top-left origin, boxes as ``x, y, w, h``."""

from __future__ import annotations

import math
from collections.abc import Sequence


def xyxy_to_xywh(x1: float, y1: float, x2: float, y2: float) -> tuple[float, float, float, float]:
    return x1, y1, x2 - x1, y2 - y1


def xywh_to_xyxy(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    return x, y, x + w, y + h


def cxcywh_to_xywh(cx: float, cy: float, w: float, h: float) -> tuple[float, float, float, float]:
    """Centre-based box (YOLO, Create ML) to top-left based."""
    return cx - w / 2, cy - h / 2, w, h


def xywh_to_cxcywh(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    return x + w / 2, y + h / 2, w, h


def normalize(values: Sequence[float], width: float, height: float) -> list[float]:
    """Alternating x, y pixel values divided by the image size."""
    return [v / (width if i % 2 == 0 else height) for i, v in enumerate(values)]


def denormalize(values: Sequence[float], width: float, height: float) -> list[float]:
    """Alternating x, y values in [0, 1] multiplied by the image size."""
    return [v * (width if i % 2 == 0 else height) for i, v in enumerate(values)]


def voc_to_xywh(xmin: float, ymin: float, xmax: float, ymax: float) -> tuple[float, float, float, float]:
    """Pascal VOC's 1-based inclusive pixel box to the canonical box: pixel ``xmin`` covers
    [xmin - 1, xmin), so width = xmax - xmin + 1."""
    return xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1


def xywh_to_voc(x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
    """Inverse of :func:`voc_to_xywh`."""
    return x + 1, y + 1, x + w, y + h


def polygon_bbox(points: Sequence[float]) -> tuple[float, float, float, float]:
    """``x, y, w, h`` of a flat point list."""
    xs, ys = points[0::2], points[1::2]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def polygon_area(points: Sequence[float]) -> float:
    """Shoelace area of one ring (flat point list)."""
    xs, ys = points[0::2], points[1::2]
    n = len(xs)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2


def rotated_box_corners(x: float, y: float, w: float, h: float, rotation: float) -> list[float]:
    """The 4 corners (flat) of a box rotated ``rotation`` degrees clockwise about its centre
    (image coordinates, y down), starting top-left."""
    cx, cy = x + w / 2, y + h / 2
    a = math.radians(rotation)
    cos, sin = math.cos(a), math.sin(a)
    out: list[float] = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        out += [cx + dx * cos - dy * sin, cy + dx * sin + dy * cos]
    return out


def corners_to_rotated_box(points: Sequence[float]) -> tuple[float, float, float, float, float]:
    """Inverse of :func:`rotated_box_corners` for 4 corners in that order:
    ``x, y, w, h, rotation`` (degrees clockwise)."""
    (x0, y0), (x1, y1), (x2, y2) = (points[0], points[1]), (points[2], points[3]), (points[4], points[5])
    w = math.hypot(x1 - x0, y1 - y0)
    h = math.hypot(x2 - x1, y2 - y1)
    rotation = math.degrees(math.atan2(y1 - y0, x1 - x0)) % 360
    cx = (points[0] + points[4]) / 2
    cy = (points[1] + points[5]) / 2
    return cx - w / 2, cy - h / 2, w, h, rotation


def ellipse_polygon(cx: float, cy: float, rx: float, ry: float, rotation: float = 0.0, n: int = 64) -> list[float]:
    """``n`` points (flat) on an ellipse, rotation in degrees clockwise in image space."""
    a = math.radians(rotation)
    ca, sa = math.cos(a), math.sin(a)
    out: list[float] = []
    for i in range(n):
        t = 2 * math.pi * i / n
        dx, dy = rx * math.cos(t), ry * math.sin(t)
        out += [cx + dx * ca - dy * sa, cy + dx * sa + dy * ca]
    return out


def ellipse_bbox(cx: float, cy: float, rx: float, ry: float, rotation: float = 0.0) -> tuple[float, float, float, float]:
    a = math.radians(rotation)
    hw = math.sqrt((rx * math.cos(a)) ** 2 + (ry * math.sin(a)) ** 2)
    hh = math.sqrt((rx * math.sin(a)) ** 2 + (ry * math.cos(a)) ** 2)
    return cx - hw, cy - hh, 2 * hw, 2 * hh
