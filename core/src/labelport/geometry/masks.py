"""Mask codecs: COCO RLE (via pycocotools), CVAT's row-major in-box RLE, polygons <-> masks,
class-index maps <-> instance masks, colour maps."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np
from pycocotools import mask as _coco

from labelport.errors import FormatError, MissingDependencyError
from labelport.schema import RLE


def rle_encode(mask: np.ndarray) -> RLE:
    """COCO compressed RLE of a 2D mask (any non-zero pixel is set)."""
    m = np.asfortranarray(np.asarray(mask, dtype=np.uint8) != 0, dtype=np.uint8)
    enc = _coco.encode(m)
    return RLE.made(size=(int(enc["size"][0]), int(enc["size"][1])), counts=enc["counts"].decode("ascii"))


def rle_encode_many(masks: np.ndarray) -> list[RLE]:
    """Encode a stack of masks shaped (n, h, w) in one call."""
    stack = np.asfortranarray(np.moveaxis(np.asarray(masks, dtype=np.uint8) != 0, 0, -1).astype(np.uint8))
    return [RLE.made(size=tuple(e["size"]), counts=e["counts"].decode("ascii")) for e in _coco.encode(stack)]


def string_counts(counts: str) -> list[int]:
    """The run lengths in COCO's compressed RLE string (its 6-bit LEB128-like code, deltas
    after the second run), decoded with numpy. Used to check a string before pycocotools
    decodes it: pycocotools fills runs that fall short of the mask with uninitialised memory."""
    c = np.frombuffer(counts.encode("ascii", "replace"), dtype=np.uint8).astype(np.int64) - 48
    if c.size == 0:
        return []
    if c.min() < 0 or c.max() > 63:
        raise FormatError("invalid character in compressed RLE")
    ends = np.flatnonzero((c & 0x20) == 0)  # a value ends at a character without the "more" bit
    if ends.size == 0 or ends[-1] != c.size - 1:
        raise FormatError("truncated compressed RLE string")
    starts = np.concatenate(([0], ends[:-1] + 1))
    width = ends - starts + 1
    if width.max() > 12:
        raise FormatError("compressed RLE value too long")
    shift = 5 * (np.arange(c.size) - np.repeat(starts, width))
    x = np.add.reduceat((c & 0x1F) << shift, starts)
    negative = (c[ends] & 0x10) != 0
    x[negative] -= np.left_shift(1, 5 * width[negative])  # sign extension of the last character
    x[1::2] = np.cumsum(x[1::2])  # runs from the fourth on are stored as differences
    x[2::2] = np.cumsum(x[2::2])  # to the run two before
    return x.tolist()


@functools.lru_cache(maxsize=8192)
def _checked_string(counts: str, h: int, w: int) -> bytes:
    """The string as bytes once its runs are known to cover exactly h x w pixels (cached:
    a mask's area, box and pixels are often asked for in turn)."""
    runs_ = string_counts(counts)
    total = sum(runs_)
    if total != h * w or any(c < 0 for c in runs_):
        raise FormatError(f"RLE runs cover {total} pixels, expected {h}x{w} = {h * w}")
    return counts.encode("ascii")


def _coco_rle(rle: RLE) -> dict:
    h, w = rle.size
    if rle.trusted and isinstance(rle.counts, str):
        return {"size": [h, w], "counts": rle.counts.encode("ascii")}
    if isinstance(rle.counts, list):
        total = sum(rle.counts)
        if total != h * w or any(c < 0 for c in rle.counts):
            raise FormatError(f"RLE runs cover {total} pixels, expected {h}x{w} = {h * w}")
        return _coco.frPyObjects({"size": [h, w], "counts": rle.counts}, h, w)
    return {"size": [h, w], "counts": _checked_string(rle.counts, h, w)}


def rle_check(rle: RLE) -> RLE:
    """``rle`` if its runs cover exactly its size, else FormatError (check RLEs read from files
    once, before anything decodes them)."""
    _coco_rle(rle)
    return rle


def paint_rles(index: np.ndarray, masks: Iterable[tuple[RLE, int]]) -> np.ndarray:
    """Paint ``(rle, value)`` pairs into the (h, w) array ``index`` in place, later over earlier,
    touching only each mask's runs (no full-image array per mask)."""
    h, w = index.shape
    flat = index.T.reshape(-1)  # column-major order is the runs' order
    for rle, value in masks:
        if tuple(rle.size) != (h, w):
            raise FormatError(f"mask size {rle.size[1]}x{rle.size[0]} differs from {w}x{h}")
        counts = np.asarray(
            rle.counts if isinstance(rle.counts, list) else string_counts(_checked_string(rle.counts, h, w).decode()),
            dtype=np.int64,
        )
        ends = np.cumsum(counts)
        starts = ends - counts
        for s, e in zip(starts[1::2].tolist(), ends[1::2].tolist()):
            flat[s:e] = value
    index[...] = flat.reshape(w, h).T
    return index


def rle_decode(rle: RLE) -> np.ndarray:
    """A boolean (h, w) array from COCO RLE (compressed or uncompressed counts)."""
    try:
        return _coco.decode(_coco_rle(rle)).astype(bool)
    except (ValueError, TypeError) as exc:
        raise FormatError(f"invalid RLE: {exc}") from None


def rle_compress(rle: RLE) -> RLE:
    """Uncompressed counts to the compressed string form (same mask)."""
    if isinstance(rle.counts, str):
        return rle
    enc = _coco_rle(rle)
    return RLE.made(size=rle.size, counts=enc["counts"].decode("ascii"))


def rle_uncompress(rle: RLE) -> RLE:
    """The counts as a list of ints (COCO's ``iscrowd`` ground-truth form)."""
    if isinstance(rle.counts, list):
        return rle
    flat = rle_decode(rle).ravel(order="F")
    return RLE(size=rle.size, counts=runs(flat))


def runs(flat: np.ndarray) -> list[int]:
    """Alternating run lengths of a flat 0/1 array, starting with a run of zeros."""
    flat = np.asarray(flat, dtype=bool)
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    lengths = np.diff(bounds).tolist()
    return ([0] + lengths) if flat[0] else lengths


def rle_area(rle: RLE) -> int:
    return int(_coco.area(_coco_rle(rle)))


def rle_bbox(rle: RLE) -> tuple[float, float, float, float]:
    """``x, y, w, h`` of the set pixels."""
    x, y, w, h = _coco.toBbox(_coco_rle(rle)).tolist()
    return x, y, w, h


def polygons_to_rle(parts: Sequence[Sequence[float]], height: int, width: int, holes: Sequence[Sequence[float]] = ()) -> RLE:
    """Rasterise polygon rings the way COCO does (union of the parts, minus holes)."""
    rings = [list(map(float, p)) for p in parts if len(p) >= 6]
    if not rings:
        return rle_encode(np.zeros((height, width), dtype=bool))
    merged = _coco.merge(_coco.frPyObjects(rings, height, width))
    if holes:
        hole_rings = [list(map(float, p)) for p in holes if len(p) >= 6]
        if hole_rings:
            m = _coco.decode(merged).astype(bool)
            m &= ~_coco.decode(_coco.merge(_coco.frPyObjects(hole_rings, height, width))).astype(bool)
            return rle_encode(m)
    return RLE.made(size=(height, width), counts=merged["counts"].decode("ascii"))


def mask_to_polygons(mask: np.ndarray, tolerance: float = 0.0) -> tuple[list[list[float]], list[list[float]]]:
    """Outer rings and holes of a binary mask, as flat point lists in canonical coordinates
    (pixel ``i`` spans ``[i, i + 1)``), so :func:`polygons_to_rle` gives the mask back.
    Vertices where a ring runs straight on are dropped (the same polygon, far fewer points);
    ``tolerance`` (pixels) further simplifies the rings (Douglas-Peucker)."""
    try:
        from skimage import measure
    except ImportError:
        raise MissingDependencyError("mask to polygon needs scikit-image: pip install scikit-image") from None
    m = np.pad(np.asarray(mask, dtype=bool), 1)
    outer: list[list[float]] = []
    holes: list[list[float]] = []
    for contour in measure.find_contours(m.astype(np.uint8), 0.5):
        ring = drop_collinear(contour[:-1])  # the closing point repeats the first
        if tolerance > 0 and len(ring) > 3:
            ring = measure.approximate_polygon(np.vstack([ring, ring[:1]]), tolerance)[:-1]
        if len(ring) < 3:
            continue
        # contours run between pixel centres at integer indices; canonical centres are at i + 0.5,
        # and the padding shifted everything by one
        ys, xs = ring[:, 0] - 0.5, ring[:, 1] - 0.5
        # with x, y = column, row: outer boundaries come out with positive signed area, holes negative
        signed = float(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2
        flat = np.column_stack((xs, ys)).ravel().round(2).tolist()
        (outer if signed > 0 else holes).append(flat)
    return outer, holes


def drop_collinear(ring: np.ndarray) -> np.ndarray:
    """The (n, 2) ring without the vertices where it runs straight on; traced pixel boundaries
    have a vertex at every pixel edge."""
    before, after = ring - np.roll(ring, 1, axis=0), np.roll(ring, -1, axis=0) - ring
    turns = np.abs(before[:, 0] * after[:, 1] - before[:, 1] * after[:, 0]) > 1e-9
    return ring[turns] if turns.sum() >= 3 else ring


def cvat_rle_decode(
    counts: Sequence[int], left: int, top: int, width: int, height: int, image_height: int, image_width: int
) -> np.ndarray:
    """CVAT's mask RLE: row-major runs inside the ``left, top, width, height`` box, starting
    with a run of zeros; returns a full-image boolean mask."""
    total = sum(counts)
    if total != width * height:
        raise FormatError(f"mask RLE covers {total} pixels, its box {width}x{height}")
    flat = np.repeat(np.arange(len(counts)) % 2 == 1, counts)
    # the box may run past the image (or start before it): only the overlap is kept
    return paste(flat.reshape(height, width), left, top, image_height, image_width)


def cvat_rle_encode(mask: np.ndarray) -> tuple[list[int], int, int, int, int]:
    """``counts, left, top, width, height`` of a mask in CVAT's row-major in-box RLE."""
    m = np.asarray(mask, dtype=bool)
    ys, xs = np.nonzero(m)
    if len(xs) == 0:
        return [0], 0, 0, 0, 0
    left, top, right, bottom = int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
    box = m[top : bottom + 1, left : right + 1]
    return runs(box.ravel()), left, top, right - left + 1, bottom - top + 1


def index_to_masks(index: np.ndarray, ignore: Sequence[int] = (0,)) -> dict[int, np.ndarray]:
    """Split a class- or instance-index map into one boolean mask per value."""
    values = np.unique(index)
    return {int(v): index == v for v in values if int(v) not in ignore}


def masks_to_index(
    masks: Sequence[tuple[int, np.ndarray]], shape: tuple[int, int], dtype: type = np.uint8, background: int = 0
) -> np.ndarray:
    """Paint ``(value, mask)`` pairs into one index map, later pairs over earlier ones."""
    out = np.full(shape, background, dtype=dtype)
    for value, mask in masks:
        out[np.asarray(mask, dtype=bool)] = value
    return out


def decode_mask_image(data: bytes, *, file: str | None = None, location: str | None = None) -> np.ndarray:
    """A boolean (h, w) mask from PNG (or any Pillow-readable) bytes: set where alpha > 0 when
    the image has transparency, else where the value (any channel) is non-zero."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if "A" in im.getbands() or (im.mode == "P" and "transparency" in im.info):
                return np.asarray(im.convert("RGBA"))[..., 3] > 0
            if im.mode in ("1", "L", "P", "I", "I;16", "F"):
                return np.asarray(im) != 0
            return np.asarray(im.convert("RGB")).any(axis=2)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError, SyntaxError) as exc:
        raise FormatError(f"cannot decode mask image: {exc}", file=file, location=location) from None


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes of a boolean mask (1-bit), a uint8 grey (h, w) or an RGB/RGBA array."""
    import io

    from PIL import Image

    arr = np.asarray(array)
    im = Image.fromarray(arr.astype(np.uint8) * 255).convert("1") if arr.dtype == bool else Image.fromarray(arr.astype(np.uint8))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def paste(patch: np.ndarray, left: int, top: int, height: int, width: int) -> np.ndarray:
    """A (height, width) boolean mask with ``patch`` placed at ``left, top`` (clipped to the image)."""
    out = np.zeros((height, width), dtype=bool)
    ph, pw = patch.shape[:2]
    y0, y1 = max(top, 0), min(top + ph, height)
    x0, x1 = max(left, 0), min(left + pw, width)
    if y0 < y1 and x0 < x1:
        out[y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]
    return out


def crop(mask: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """The tight patch around the set pixels and its ``left, top``; None for an empty mask."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    left, top = int(xs.min()), int(ys.min())
    return mask[top : int(ys.max()) + 1, left : int(xs.max()) + 1], left, top


def voc_colormap(n: int = 256) -> np.ndarray:
    """The Pascal VOC palette: (n, 3) uint8, colour of class i from the bits of i."""
    cmap = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


def rgb_to_index(rgb: np.ndarray, colors: dict[tuple[int, int, int], int], unknown: int = 0) -> np.ndarray:
    """An (h, w, 3) colour-coded image to an index map through a colour table."""
    rgb = np.asarray(rgb, dtype=np.uint8)
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    out = np.full(packed.shape, unknown, dtype=np.int32)
    for (r, g, b), idx in colors.items():
        out[packed == ((r << 16) | (g << 8) | b)] = idx
    return out


def index_to_rgb(index: np.ndarray, colors: dict[int, tuple[int, int, int]]) -> np.ndarray:
    """An index map to an (h, w, 3) colour-coded image."""
    lut = np.zeros((max([*colors, int(index.max(initial=0))]) + 1, 3), dtype=np.uint8)
    for idx, rgb in colors.items():
        lut[idx] = rgb
    return lut[index]
