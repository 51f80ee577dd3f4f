"""Media files: resolving names inside a dataset root safely, sizes from headers, placing copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from labelport.errors import FormatError, UnsafeInputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jfif", ".pgm", ".ppm")


def safe_join(root: Path, name: str, *, file: str | Path | None = None, location: str | None = None) -> Path:
    """``root / name`` for a name taken from an annotation file; names that leave the root
    (``..``, absolute paths, drive letters, links pointing out) raise UnsafeInputError."""
    norm = name.replace("\\", "/")
    rel = PurePosixPath(norm)
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in rel.parts:
        raise UnsafeInputError(f"path {name!r} points outside the dataset; refused", file=file, location=location)
    path = root.joinpath(*rel.parts)
    if path.is_symlink() or any(p.is_symlink() for p in path.parents if root in p.parents):
        try:
            path.resolve().relative_to(root.resolve())
        except ValueError:
            raise UnsafeInputError(f"path {name!r} links outside the dataset; refused", file=file, location=location) from None
    return path


def is_inside(root: Path, name: str) -> bool:
    try:
        safe_join(root, name)
    except UnsafeInputError:
        return False
    return True


def find_media(roots: list[Path], name: str, stem_fallback: bool = True) -> Path | None:
    """The file called ``name`` under one of ``roots`` (names leaving a root are never followed);
    with ``stem_fallback``, a file with the same stem and an image suffix."""
    for root in roots:
        if not is_inside(root, name):
            continue
        path = safe_join(root, name)
        if path.is_file():
            return path
        if stem_fallback:
            base = path.with_suffix("") if path.suffix.lower() in IMAGE_SUFFIXES else path
            for suffix in IMAGE_SUFFIXES:
                for cand in (base.with_name(base.name + suffix), base.with_name(base.name + suffix.upper())):
                    if cand.is_file():
                        return cand
    return None


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) read from the image header without decoding the pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise FormatError(f"cannot read image size: {exc}", file=path) from None


def place_media(src: Path, dst: Path, mode: str) -> None:
    """Put ``src`` at ``dst`` by copy, hard link (falls back to copy across devices) or symlink."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if mode == "symlink":
        os.symlink(src.resolve(), dst)
    elif mode == "hardlink":
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
    else:
        shutil.copy2(src, dst)
