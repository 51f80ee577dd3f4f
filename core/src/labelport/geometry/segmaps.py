"""Segmentation maps on disk, shared by the mask-based formats: index and colour PNGs,
``label_colors.txt`` colour tables, index map -> per-value COCO RLE, and the Cityscapes
label table (which the KITTI segmentation benchmark uses too)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from labelport.errors import FormatError
from labelport.geometry.masks import rle_compress, voc_colormap
from labelport.schema import RLE

Color = tuple[int, int, int]


class ClassEntry(NamedTuple):
    """One row of a colour table: the class name and its colour (None when not given)."""

    name: str
    color: Color | None


# --------------------------------------------------------------------------- PNG maps


def read_map(path: Path) -> np.ndarray:
    """The pixels of a mask PNG: ``(h, w)`` integers for grey, 16-bit and palette images
    (a palette image gives its indices), ``(h, w, 3)`` uint8 for colour images."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            mode = im.mode
            if mode in ("RGB", "RGBA", "RGBX", "CMYK", "YCbCr"):
                return np.asarray(im.convert("RGB"), dtype=np.uint8)
            if mode == "LA":
                im = im.convert("L")
            elif mode == "PA":
                im = im.convert("P")
            elif mode not in ("P", "L", "1", "I", "I;16", "I;16L", "I;16B"):
                raise FormatError(f"unsupported PNG mode {mode} for a mask", file=path)
            return np.asarray(im).astype(np.int64 if mode == "I" else np.int32, copy=False)
    except FormatError:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        zlib.error,
        UnidentifiedImageError,
        Image.DecompressionBombError,
    ) as exc:
        raise FormatError(f"cannot read mask image: {exc}", file=path) from None


def write_index_png(path: Path, index: np.ndarray, palette: Sequence[Color | None] | None = None, *, bits: int = 8) -> None:
    """Save an index map: 8-bit (a palette image when ``palette`` is given) or, when a value
    needs it or ``bits=16``, 16-bit grey."""
    from PIL import Image

    top = int(index.max(initial=0))
    path.parent.mkdir(parents=True, exist_ok=True)
    if top < 256 and bits == 8:
        data = np.ascontiguousarray(index, dtype=np.uint8)
        if palette is None:
            im = Image.fromarray(data)
        else:
            im = Image.frombytes("P", (data.shape[1], data.shape[0]), data.tobytes())
            flat = [0] * 768
            for i, rgb in enumerate(palette[:256]):
                if rgb is not None:
                    flat[3 * i : 3 * i + 3] = list(rgb)
            im.putpalette(flat)
        im.save(path, format="PNG")
    elif top < 65536:
        Image.fromarray(np.ascontiguousarray(index, dtype=np.uint16)).save(path, format="PNG")
    else:
        raise ValueError(f"index value {top} does not fit a 16-bit PNG")


def write_rgb_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(path, format="PNG")


# --------------------------------------------------------------------------- index maps <-> RLE


def index_to_rles(index: np.ndarray, skip: Iterable[int] = ()) -> dict[int, RLE]:
    """One COCO RLE per distinct value of an index map, from a single pass over its runs
    (much faster than one full-image comparison and encoding per value)."""
    index = np.asarray(index)
    h, w = index.shape
    flat = index.ravel(order="F")
    n = flat.size
    if n == 0:
        return {}
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [n]))
    values = flat[starts]
    order = np.argsort(values, kind="stable")
    cuts = np.flatnonzero(np.diff(values[order])) + 1
    skipped = {int(v) for v in skip}
    out: dict[int, RLE] = {}
    for group in np.split(order, cuts):
        value = int(values[group[0]])
        if value in skipped:
            continue
        s, e = starts[group], ends[group]
        counts = np.empty(2 * len(s) + 1, dtype=np.int64)
        counts[0:-1:2] = s - np.concatenate(([0], e[:-1]))  # zeros before each run
        counts[1::2] = e - s
        counts[-1] = n - e[-1]
        out[value] = rle_compress(RLE(size=(h, w), counts=counts.tolist()))
    return out


def paint(shapes: Iterable[tuple[int, np.ndarray]], shape: tuple[int, int], background: int = 0) -> tuple[np.ndarray, int]:
    """Paint ``(value, mask)`` pairs in order (later over earlier) into an index map;
    also returns how many pairs covered pixels an earlier pair had painted."""
    out = np.full(shape, background, dtype=np.int64)
    covered = np.zeros(shape, dtype=bool)
    overlaps = 0
    for value, mask in shapes:
        m = np.asarray(mask, dtype=bool)
        if m.shape != shape:
            raise ValueError(f"mask of {m.shape[1]}x{m.shape[0]} pixels on a {shape[1]}x{shape[0]} image")
        if (covered & m).any():
            overlaps += 1
        out[m] = value
        covered |= m
    return out, overlaps


def colorize(index: np.ndarray, colors: Sequence[Color | None]) -> np.ndarray:
    """An index map painted with a colour table (values without a colour are black)."""
    lut = np.zeros((max(len(colors), int(index.max(initial=0)) + 1), 3), dtype=np.uint8)
    for i, rgb in enumerate(colors):
        if rgb is not None:
            lut[i] = rgb
    return lut[index]


def decolorize(rgb: np.ndarray, colors: Sequence[Color | None], *, file: Path) -> np.ndarray:
    """A colour-coded map back to class indices; the first class of a colour wins, and a
    colour that no class has is an error naming the first pixel that has it."""
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    table: dict[int, int] = {}
    for i, c in enumerate(colors):
        if c is not None:
            table.setdefault((c[0] << 16) | (c[1] << 8) | c[2], i)
    uniq, inverse = np.unique(packed, return_inverse=True)
    lut = np.empty(len(uniq), dtype=np.int64)
    for k, v in enumerate(uniq.tolist()):
        if v not in table:
            raise FormatError(
                f"colour ({v >> 16}, {(v >> 8) & 255}, {v & 255}) is not in the label colour table",
                file=file,
                location=pixel_of(packed, v),
            )
        lut[k] = table[v]
    return lut[inverse.reshape(packed.shape)]


def pixel_of(index: np.ndarray, value: int) -> str:
    """``pixel x=.., y=..`` of the first pixel holding ``value`` (for error locations)."""
    y, x = (int(a[0]) for a in np.nonzero(index == value))
    return f"pixel x={x}, y={y}"


# --------------------------------------------------------------------------- colour tables


def read_label_colors(path: Path) -> list[ClassEntry]:
    """``label_colors.txt``: one class a line, ``R G B name`` separated by any whitespace
    (tabs or runs of spaces), or a bare name; ``#`` starts a comment line."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", file=path) from None
    entries: list[ClassEntry] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "\x00" in line:
            raise FormatError("NUL byte in the line", file=path, location=f"line {lineno}")
        tokens = line.split()
        numeric = [t.lstrip("-").isdigit() for t in tokens[:3]]
        if len(tokens) >= 4 and all(numeric):
            rgb = tuple(int(t) for t in tokens[:3])
            if any(c < 0 or c > 255 for c in rgb):
                raise FormatError(f"colour {rgb} is outside 0..255", file=path, location=f"line {lineno}")
            name = " ".join(tokens[3:])
            color: Color | None = rgb  # type: ignore[assignment]
        elif not any(numeric):
            name, color = line, None
        else:
            raise FormatError(f"expected 'R G B name', got {line!r}", file=path, location=f"line {lineno}")
        if name in seen:
            raise FormatError(f"class {name!r} is listed twice", file=path, location=f"line {lineno}")
        seen.add(name)
        entries.append(ClassEntry(name, color))
    if not entries:
        raise FormatError("the colour table lists no classes", file=path)
    return entries


def background_first(entries: list[ClassEntry]) -> list[ClassEntry]:
    """Class index order of a colour table: the first black (0, 0, 0) class moves to
    index 0 (it is the background that unpainted pixels have), the rest keep file order."""
    for i, e in enumerate(entries):
        if e.color == (0, 0, 0):
            return [e, *entries[:i], *entries[i + 1 :]]
    return list(entries)


def write_label_colors(path: Path, entries: Sequence[ClassEntry]) -> None:
    lines = [f"{c[0]} {c[1]} {c[2]}\t{name}" if c is not None else name for name, c in entries]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def fill_colors(entries: Sequence[ClassEntry]) -> list[ClassEntry]:
    """Give classes without a colour one from the Pascal VOC palette that no other class uses."""
    used = {e.color for e in entries if e.color is not None}
    palette = [tuple(int(v) for v in c) for c in voc_colormap(1024)[1:]]
    out = []
    k = 0
    for e in entries:
        if e.color is None:
            while palette[k] in used:
                k += 1
            e = ClassEntry(e.name, palette[k])  # type: ignore[arg-type]
            used.add(e.color)
        out.append(e)
    return out


# --------------------------------------------------------------------------- the Cityscapes label table


class CityscapesClass(NamedTuple):
    name: str
    id: int
    train_id: int
    category: str
    has_instances: bool
    ignore_in_eval: bool
    color: Color


#: The Cityscapes label table (cityscapesScripts ``helpers/labels.py``); the KITTI semantic and
#: instance segmentation benchmark uses the same ids.
CITYSCAPES_CLASSES: tuple[CityscapesClass, ...] = tuple(
    CityscapesClass(*row)
    for row in (
        ("unlabeled", 0, 255, "void", False, True, (0, 0, 0)),
        ("ego vehicle", 1, 255, "void", False, True, (0, 0, 0)),
        ("rectification border", 2, 255, "void", False, True, (0, 0, 0)),
        ("out of roi", 3, 255, "void", False, True, (0, 0, 0)),
        ("static", 4, 255, "void", False, True, (0, 0, 0)),
        ("dynamic", 5, 255, "void", False, True, (111, 74, 0)),
        ("ground", 6, 255, "void", False, True, (81, 0, 81)),
        ("road", 7, 0, "flat", False, False, (128, 64, 128)),
        ("sidewalk", 8, 1, "flat", False, False, (244, 35, 232)),
        ("parking", 9, 255, "flat", False, True, (250, 170, 160)),
        ("rail track", 10, 255, "flat", False, True, (230, 150, 140)),
        ("building", 11, 2, "construction", False, False, (70, 70, 70)),
        ("wall", 12, 3, "construction", False, False, (102, 102, 156)),
        ("fence", 13, 4, "construction", False, False, (190, 153, 153)),
        ("guard rail", 14, 255, "construction", False, True, (180, 165, 180)),
        ("bridge", 15, 255, "construction", False, True, (150, 100, 100)),
        ("tunnel", 16, 255, "construction", False, True, (150, 120, 90)),
        ("pole", 17, 5, "object", False, False, (153, 153, 153)),
        ("polegroup", 18, 255, "object", False, True, (153, 153, 153)),
        ("traffic light", 19, 6, "object", False, False, (250, 170, 30)),
        ("traffic sign", 20, 7, "object", False, False, (220, 220, 0)),
        ("vegetation", 21, 8, "nature", False, False, (107, 142, 35)),
        ("terrain", 22, 9, "nature", False, False, (152, 251, 152)),
        ("sky", 23, 10, "sky", False, False, (70, 130, 180)),
        ("person", 24, 11, "human", True, False, (220, 20, 60)),
        ("rider", 25, 12, "human", True, False, (255, 0, 0)),
        ("car", 26, 13, "vehicle", True, False, (0, 0, 142)),
        ("truck", 27, 14, "vehicle", True, False, (0, 0, 70)),
        ("bus", 28, 15, "vehicle", True, False, (0, 60, 100)),
        ("caravan", 29, 255, "vehicle", True, True, (0, 0, 90)),
        ("trailer", 30, 255, "vehicle", True, True, (0, 0, 110)),
        ("train", 31, 16, "vehicle", True, False, (0, 80, 100)),
        ("motorcycle", 32, 17, "vehicle", True, False, (0, 0, 230)),
        ("bicycle", 33, 18, "vehicle", True, False, (119, 11, 32)),
        ("license plate", -1, -1, "vehicle", False, True, (0, 0, 142)),
    )
)
