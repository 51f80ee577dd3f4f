"""Media files: resolving names inside a dataset root safely, sizes from headers, placing copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from labelport.errors import FormatError, UnsafeInputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jfif", ".pgm", ".ppm")


def _check_name(name: str, file: str | Path | None, location: str | None) -> PurePosixPath:
    norm = name.replace("\\", "/")
    rel = PurePosixPath(norm)
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in rel.parts:
        raise UnsafeInputError(f"path {name!r} points outside the dataset; refused", file=file, location=location)
    return rel


def _inside(root: Path, path: Path) -> bool:
    """The real location of ``path`` (links followed) is below the real ``root``."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def safe_join(root: Path, name: str, *, file: str | Path | None = None, location: str | None = None) -> Path:
    """``root / name`` for a name taken from an annotation file; names that leave the root
    (``..``, absolute paths, drive letters, links pointing out) raise UnsafeInputError."""
    path = root.joinpath(*_check_name(name, file, location).parts)
    existing = path
    while existing != root and not (existing.exists() or existing.is_symlink()):
        existing = existing.parent  # the deepest part that exists decides where the name leads
    if not _inside(root, existing):
        raise UnsafeInputError(f"path {name!r} links outside the dataset; refused", file=file, location=location)
    return path


def is_inside(root: Path, name: str) -> bool:
    try:
        safe_join(root, name)
    except UnsafeInputError:
        return False
    return True


def find_media(roots: list[Path], name: str, stem_fallback: bool = True) -> Path | None:
    """The file called ``name`` under one of ``roots`` (names leaving a root, or links pointing
    out of it, are never followed); with ``stem_fallback``, a file with the same stem and an
    image suffix."""
    try:
        rel = _check_name(name, None, None)
    except UnsafeInputError:
        return None
    for root in roots:
        path = root.joinpath(*rel.parts)
        cands = [path]
        if stem_fallback:
            base = path.with_suffix("") if path.suffix.lower() in IMAGE_SUFFIXES else path
            cands += [base.with_name(base.name + sfx) for s in IMAGE_SUFFIXES for sfx in (s, s.upper())]
        for cand in cands:
            if cand.is_file() and _inside(root, cand):
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
