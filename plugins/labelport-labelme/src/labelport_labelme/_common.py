"""Code shared by the two LabelMe formats: binary mask PNGs and image headers."""

from __future__ import annotations

import io
from pathlib import Path

from labelport.errors import FormatError
from labelport.io.media import MediaIndex, find_media

#: largest image (in pixels) a mask is rasterised on; larger sizes are refused as bad input
MAX_MASK_PIXELS = 1 << 28


class FileLookup:
    """Image and mask files below a dataset root, by path relative to it.

    For a folder dataset the folder is listed once, on first use, instead of a dozen stat
    calls per name (annotations often ship without their images); a single annotation file's
    folder is not listed, its names are looked up one by one. Names leaving the root are
    never followed: the listing holds files below it only, and a found file is checked by
    the core (links pointing out are refused)."""

    def __init__(self, root: Path, *, listing: bool):
        self.root = root
        self.listing = listing
        self._index: MediaIndex | None = None

    def find(self, rel: str, *, stem_fallback: bool = True) -> Path | None:
        """The file at ``rel`` (case-insensitive when listed); with ``stem_fallback``, an image
        with the same stem and any image suffix."""
        if not rel:
            return None
        if not self.listing:
            return find_media([self.root], rel, stem_fallback=stem_fallback)
        if self._index is None:
            self._index = MediaIndex(self.root)
        return self._index.find_rel(rel, stem_fallback=stem_fallback)


def join_rel(*parts: str | None) -> str | None:
    """Non-empty parts joined and normalised as a path relative to a root; None when it leaves the root."""
    import posixpath

    rel = posixpath.normpath(posixpath.join(*[p.replace("\\", "/") for p in parts if p] or ["."]))
    if rel == "." or rel == ".." or rel.startswith(("../", "/")):
        return None
    return rel


def image_size_from_bytes(data: bytes, *, file: str | Path, location: str | None = None) -> tuple[int, int]:
    """(width, height) from encoded image bytes, reading the header only."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError, SyntaxError) as exc:
        raise FormatError(f"cannot read the embedded image: {exc}", file=file, location=location) from None
