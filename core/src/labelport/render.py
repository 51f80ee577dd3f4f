"""Drawing annotations over their images, so people can check a conversion by looking."""

from __future__ import annotations

import colorsys
import hashlib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from labelport.geometry import coords
from labelport.io.media import safe_join
from labelport.schema import Dataset, Item, LabelSet

CANVAS = (96, 96, 96)


def label_color(name: str | None, labels: LabelSet | None = None) -> tuple[int, int, int]:
    """The label's own colour, else a stable bright colour derived from its name."""
    if name and labels is not None:
        label = labels.get(name)
        if label is not None and label.color is not None:
            return tuple(label.color)  # type: ignore[return-value]
    digest = hashlib.md5((name or "").encode()).digest()
    r, g, b = colorsys.hsv_to_rgb(digest[0] / 255, 0.75, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def _base_image(item: Item) -> Image.Image:
    media = item.media
    path = getattr(media, "path", None)
    data = getattr(media, "data", None)
    try:
        if path and Path(path).is_file():
            with Image.open(path) as im:
                return im.convert("RGB")
        if data:
            import io

            with Image.open(io.BytesIO(data)) as im:
                return im.convert("RGB")
    except (OSError, Image.DecompressionBombError):
        pass
    w = getattr(media, "width", None) or 0
    h = getattr(media, "height", None) or 0
    if not (w and h):
        w, h = _extent(item)
    return Image.new("RGB", (max(int(w), 1), max(int(h), 1)), CANVAS)


def _extent(item: Item) -> tuple[int, int]:
    xs, ys = [64.0], [64.0]
    for ann in item.annotations:
        v = ann.__dict__
        if ann.type == "bbox":
            xs.append(v["x"] + v["w"])
            ys.append(v["y"] + v["h"])
        elif ann.type == "polygon":
            for part in ann.parts:
                xs += part[0::2]
                ys += part[1::2]
        elif "points" in v and isinstance(v["points"], list):
            xs += v["points"][0::2]
            ys += v["points"][1::2]
    return int(max(xs) + 8), int(max(ys) + 8)


def render_item(item: Item, labels: LabelSet | None = None, *, line: int | None = None) -> Image.Image:
    """The item's image with every annotation drawn on it."""
    if item.media is not None and item.media.kind == "volume":
        return render_volume(item, labels)
    base = _base_image(item).convert("RGBA")
    width = line or max(1, round(max(base.size) / 300))
    fill = Image.new("RGBA", base.size, (0, 0, 0, 0))
    fdraw = ImageDraw.Draw(fill)
    over = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(over)
    font = ImageFont.load_default()
    for ann in sorted(item.annotations, key=lambda a: a.z_order):
        if ann.outside:
            continue
        color = label_color(ann.label, labels)
        rgba = (*color, 255)
        anchor = None
        t = ann.type
        if t == "bbox":
            pts = coords.rotated_box_corners(ann.x, ann.y, ann.w, ann.h, ann.rotation)
            draw.polygon(_pairs(pts), outline=rgba, width=width)
            anchor = (pts[0], pts[1])
        elif t == "polygon":
            for part in ann.parts:
                fdraw.polygon(_pairs(part), fill=(*color, 70))
                draw.polygon(_pairs(part), outline=rgba, width=width)
            for hole in ann.holes:
                fdraw.polygon(_pairs(hole), fill=(0, 0, 0, 0))
                draw.polygon(_pairs(hole), outline=rgba, width=width)
            if ann.parts:
                anchor = (min(ann.parts[0][0::2]), min(ann.parts[0][1::2]))
        elif t == "polyline":
            draw.line(_pairs(ann.points), fill=rgba, width=width)
            anchor = (ann.points[0], ann.points[1])
        elif t in ("points", "keypoints"):
            vis = ann.visibility or [2] * (len(ann.points) // 2)
            pairs = _pairs(ann.points)
            label = labels.get(ann.label) if labels is not None and ann.label else None
            if t == "keypoints" and label is not None and label.skeleton is not None:
                for a, b in label.skeleton.edges:
                    if a < len(pairs) and b < len(pairs) and vis[a] and vis[b]:
                        draw.line([pairs[a], pairs[b]], fill=rgba, width=width)
            r = 2 * width + 1
            for (x, y), v in zip(pairs, vis):
                if v:
                    draw.ellipse([x - r, y - r, x + r, y + r], fill=rgba if v == 2 else None, outline=rgba, width=width)
            if pairs:
                anchor = pairs[0]
        elif t == "ellipse":
            pts = coords.ellipse_polygon(ann.cx, ann.cy, ann.rx, ann.ry, ann.rotation, n=48)
            draw.polygon(_pairs(pts), outline=rgba, width=width)
            anchor = (ann.cx - ann.rx, ann.cy - ann.ry)
        elif t == "cuboid_2d":
            p = _pairs(ann.points)
            for a, b in ((0, 1), (1, 3), (3, 2), (2, 0), (4, 5), (5, 7), (7, 6), (6, 4), (0, 4), (1, 5), (2, 6), (3, 7)):
                draw.line([p[a], p[b]], fill=rgba, width=width)
            anchor = p[0]
        elif t == "mask":
            m = ann.to_array()
            if m.shape[::-1] == base.size:
                layer = np.zeros((*m.shape, 4), dtype=np.uint8)
                layer[m] = (*color, 110)
                fill = Image.alpha_composite(fill, Image.fromarray(layer, "RGBA"))
                fdraw = ImageDraw.Draw(fill)
                ys, xs = np.nonzero(m)
                if len(xs):
                    anchor = (float(xs.min()), float(ys.min()))
        if anchor is not None:
            text = ann.label or ""
            if ann.track_id is not None:
                text += f" #{ann.track_id}"
            if text:
                x, y = anchor
                box = draw.textbbox((x, y - 11), text, font=font)
                draw.rectangle(box, fill=(*color, 200))
                draw.text((x, y - 11), text, fill=(0, 0, 0, 255), font=font)
    tags = [a.label for a in item.annotations if a.type == "label" and a.label]
    captions = [a.text for a in item.annotations if a.type == "caption"]
    if tags or captions:
        draw.text(
            (4, 4),
            " | ".join([*tags, *captions])[:120],
            fill=(255, 255, 255, 255),
            font=font,
            stroke_width=1,
            stroke_fill=(0, 0, 0, 255),
        )
    return Image.alpha_composite(Image.alpha_composite(base, fill), over).convert("RGB")


def render_volume(item: Item, labels: LabelSet | None = None, *, slices: int = 16) -> Image.Image:
    """A montage of the slices (last axis) that hold masks, with each ROI's outline in its colour."""
    masks = [a for a in item.annotations if a.type == "volume_mask"]
    shape = getattr(item.media, "shape", None) or (masks[0].data.shape if masks else (64, 64, 1))
    nz = shape[2] if len(shape) > 2 else 1
    used = sorted({int(z) for a in masks for z in np.nonzero(a.data.any(axis=(0, 1)))[0]}) or list(range(nz))
    chosen = [used[int(i * (len(used) - 1) / max(slices - 1, 1))] for i in range(min(slices, len(used)))]
    chosen = sorted(set(chosen))
    w, h = int(shape[0]), int(shape[1])
    cols = math.ceil(math.sqrt(len(chosen)))
    rows = math.ceil(len(chosen) / cols)
    sheet = Image.new("RGB", (cols * h, rows * w), (0, 0, 0))
    for k, z in enumerate(chosen):
        tile = np.zeros((w, h, 3), dtype=np.uint8)
        for ann in masks:
            m = ann.data[:, :, z]
            edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
            tile[edge] = label_color(ann.label, labels)
        img = Image.fromarray(np.rot90(tile))  # x to the right, y up: the radiological habit
        ImageDraw.Draw(img).text((2, 2), f"z={z}", fill=(255, 255, 255))
        sheet.paste(img, ((k % cols) * h, (k // cols) * w))
    return sheet


def _pairs(flat: list[float]) -> list[tuple[float, float]]:
    return list(zip(flat[0::2], flat[1::2]))


def contact_sheet(images: Iterable[tuple[str, Image.Image]], *, thumb: int = 256, columns: int = 4) -> Image.Image:
    """Thumbnails in a grid with their names."""
    tiles = []
    for name, img in images:
        t = img.copy()
        t.thumbnail((thumb, thumb))
        tiles.append((name, t))
    rows = max(1, math.ceil(len(tiles) / columns))
    sheet = Image.new("RGB", (columns * (thumb + 8), rows * (thumb + 22)), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    for k, (name, t) in enumerate(tiles):
        x, y = (k % columns) * (thumb + 8) + 4, (k // columns) * (thumb + 22) + 4
        sheet.paste(t, (x, y))
        draw.text((x, y + t.height + 2), name[:40], fill=(230, 230, 230))
    return sheet


def render_dataset(dataset: Dataset, out: Path, *, limit: int | None = None, sheet: int = 16) -> list[Path]:
    """One PNG per item (``<subset>/<item id>.png``) and ``contact_sheet.png`` of the first ``sheet``."""
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    thumbs: list[tuple[str, Any]] = []
    for n, item in enumerate(dataset):
        if limit is not None and n >= limit:
            break
        img = render_item(item, dataset.labels)
        path = safe_join(out, f"{item.subset or 'default'}/{item.id}.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path)
        written.append(path)
        if len(thumbs) < sheet:
            thumbs.append((item.id, img))
    if thumbs:
        contact_sheet(thumbs).save(out / "contact_sheet.png")
    return written
