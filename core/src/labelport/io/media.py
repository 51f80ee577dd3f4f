"""Media files: resolving names inside a dataset root safely, sizes from headers, placing copies."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from labelport.errors import FormatError, UnsafeInputError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jfif", ".pgm", ".ppm")


def _check_name(name: str, file: str | Path | None, location: str | None) -> PurePosixPath:
    norm = name.replace("\\", "/")
    rel = PurePosixPath(norm)
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in rel.parts:
        raise UnsafeInputError(f"path {name!r} points outside the dataset; refused", file=file, location=location)
    return rel


def stays_inside(name: str) -> bool:
    """The name is relative and has no ``..`` part (the string alone is checked)."""
    try:
        _check_name(name, None, None)
    except UnsafeInputError:
        return False
    return True


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
    while existing != root and not os.path.lexists(existing):  # lexists: False for over-long names too
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


def media_roots(*candidates: str | Path | None) -> list[Path]:
    """The candidate folders that exist, each once, in order."""
    out: list[Path] = []
    for c in candidates:
        if c is not None and Path(c) not in out and Path(c).is_dir():
            out.append(Path(c))
    return out


def item_id(name: str, seen: dict[str, str]) -> str:
    """An item id from an image file name: the name without its image suffix, or the full
    name when another file of ``seen`` already has that stem (``a.jpg`` and ``a.png``)."""
    norm = name.replace("\\", "/")
    stem = norm.rsplit(".", 1)[0] if PurePosixPath(norm).suffix.lower() in IMAGE_SUFFIXES else norm
    other = seen.setdefault(stem, norm)
    return stem if other == norm else norm


class FolderListing:
    """Which files exist, folder by folder, each folder listed once (``os.scandir``) when first
    asked: looking up thousands of image names costs one listing per folder, not a dozen
    system calls per name."""

    def __init__(self) -> None:
        self._dirs: dict[str, tuple[set[str], set[str]]] = {}
        self._real: dict[str, str] = {}

    def _entries(self, folder: str) -> tuple[set[str], set[str]]:
        found = self._dirs.get(folder)
        if found is None:
            files: set[str] = set()
            links: set[str] = set()
            try:
                with os.scandir(folder) as it:
                    for entry in it:
                        if entry.is_symlink():
                            links.add(entry.name)
                        if entry.is_file():
                            files.add(entry.name)
            except OSError:
                pass
            found = self._dirs[folder] = (files, links)
        return found

    def is_file(self, path: Path) -> bool:
        folder, name = os.path.split(path)
        return name in self._entries(folder)[0]

    def inside(self, root: Path, path: Path) -> bool:
        """Like the check for links pointing out of ``root``, with the folder's real path cached."""
        folder, name = os.path.split(path)
        if name in self._entries(folder)[1]:
            return _inside(root, path)
        real = self._real.get(folder)
        if real is None:
            real = self._real[folder] = os.path.realpath(folder)
        real_root = self._real.get(str(root))
        if real_root is None:
            real_root = self._real[str(root)] = os.path.realpath(root)
        return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def find_media(
    roots: list[Path],
    name: str,
    stem_fallback: bool = True,
    basename_fallback: bool = False,
    listing: FolderListing | None = None,
) -> Path | None:
    """The file called ``name`` under one of ``roots`` (names leaving a root, or links pointing
    out of it, are never followed); with ``stem_fallback``, a file with the same stem and an
    image suffix; with ``basename_fallback``, the file's base name alone (for the absolute or
    machine-specific paths some tools write). Pass a :class:`FolderListing` when looking up
    many names."""
    if basename_fallback:
        found = find_media(roots, name, stem_fallback, listing=listing)
        base = PurePosixPath(name.replace("\\", "/")).name
        if found is None and base and base != name:
            found = find_media(roots, base, stem_fallback, listing=listing)
        return found
    try:
        rel = _check_name(name, None, None)
    except UnsafeInputError:
        return None
    def candidates(root: Path) -> Iterator[Path]:
        path = root.joinpath(*rel.parts)
        yield path  # the exact name first; the other suffixes only when it is not there
        if stem_fallback:
            base = path.with_suffix("") if path.suffix.lower() in IMAGE_SUFFIXES else path
            for suffix in IMAGE_SUFFIXES:
                for sfx in (suffix, suffix.upper()):
                    yield base.with_name(base.name + sfx)

    for root in roots:
        for cand in candidates(root):
            if listing is not None:
                if listing.is_file(cand) and listing.inside(root, cand):
                    return cand
            elif os.path.isfile(cand) and _inside(root, cand):
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


_FRAME_RE = re.compile(r"(\d+)(?!.*\d)")


_FRAME_NAME_RE = re.compile(r"^(?:frame[_\-]?)?(\d+)$", re.I)


def frame_number(name: str, *, strict: bool = False) -> int | None:
    """The frame number in a file name (``frame_000012.png`` -> 12, ``7.jpg`` -> 7). With
    ``strict``, only names that are nothing but a frame number count."""
    stem = PurePosixPath(name.replace("\\", "/")).stem
    m = _FRAME_NAME_RE.match(stem) if strict else _FRAME_RE.search(stem)
    return int(m.group(1)) if m else None


class MediaIndex:
    """The image files below a folder, found by relative path (with or without extension),
    by file name, by stem, or by frame number — the ways annotation platforms match
    uploaded annotations to images already there."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.by_rel: dict[str, Path] = {}
        self.by_name: dict[str, list[Path]] = {}
        self.by_frame: dict[int, list[Path]] = {}
        for dirpath, _dirs, files in os.walk(self.root):
            for f in files:
                if not f.lower().endswith(IMAGE_SUFFIXES):
                    continue
                path = Path(dirpath) / f
                rel = path.relative_to(self.root).as_posix()
                for key in (rel.lower(), rel.rsplit(".", 1)[0].lower()):
                    self.by_rel.setdefault(key, path)
                for key in (f.lower(), f.rsplit(".", 1)[0].lower()):
                    self.by_name.setdefault(key, []).append(path)
                frame = frame_number(f)
                if frame is not None:
                    self.by_frame.setdefault(frame, []).append(path)

    def __len__(self) -> int:
        return len({p for paths in self.by_name.values() for p in paths})

    def find_rel(self, rel: str, *, stem_fallback: bool = True) -> Path | None:
        """The file at the relative path ``rel`` (case-insensitive); with ``stem_fallback``, a
        file of the same relative stem and any image suffix."""
        key = rel.replace("\\", "/").lower()
        found = self.by_rel.get(key)
        if found is not None and not stem_fallback and found.relative_to(self.root).as_posix().lower() != key:
            found = None  # the index also knows files by their stem
        if found is None and stem_fallback:
            base, dot, ext = key.rpartition(".")
            if dot and f".{ext}" in IMAGE_SUFFIXES:
                found = self.by_rel.get(base)
        if found is not None and not _inside(self.root, found):
            return None
        return found

    def find(self, name: str | None = None, *, frame: int | None = None) -> Path | None:
        """The image for ``name`` (a file name or item id, sub-folders allowed), else by ``frame``;
        None when nothing or more than one file matches."""
        if name:
            key = name.replace("\\", "/").lower()
            for k in (key, key.rsplit(".", 1)[0]):
                if k in self.by_rel:
                    return self.by_rel[k]
            base = key.rsplit("/", 1)[-1]
            for k in (base, base.rsplit(".", 1)[0]):
                hits = self.by_name.get(k, [])
                if len(hits) == 1:
                    return hits[0]
        if frame is not None:
            hits = self.by_frame.get(frame, [])
            if len(hits) == 1:
                return hits[0]
        return None


class MediaLookup:
    """Files below several folders, each listed once (a :class:`MediaIndex`) when first needed."""

    def __init__(self, roots: list[Path]):
        self.roots = roots
        self._indexes: dict[Path, MediaIndex] = {}

    def find(self, rel: str, *, stem_fallback: bool = True) -> Path | None:
        """The first file at ``rel`` below one of the roots (see :meth:`MediaIndex.find_rel`)."""
        for root in self.roots:
            index = self._indexes.get(root)
            if index is None:
                index = self._indexes[root] = MediaIndex(root)
            found = index.find_rel(rel, stem_fallback=stem_fallback)
            if found is not None:
                return found
        return None


def keep_item(dataset: object, item: object, options: object) -> bool:
    """For readers: list ``item`` in ``dataset.missing_media`` when its media file was not found,
    and say whether to keep it (``keep_missing_media``; with ``images=`` the core matches media
    after reading, so every item is kept for that)."""
    if getattr(getattr(item, "media", None), "path", None) is not None:
        return True
    dataset.missing_media.append(getattr(item, "id", ""))  # type: ignore[attr-defined]
    return bool(getattr(options, "keep_missing_media", True)) or getattr(options, "images", None) is not None


def export_media(item: object, dest: Path, mode: str, report: object | None = None, *, name: str | None = None) -> Path | None:
    """Place ``item``'s media file at ``dest / name`` (default: the media's own name) by
    ``mode`` (copy, hardlink, symlink; none does nothing) or write its embedded bytes.
    A missing file is listed in ``report.missing_media``. Returns the written path."""
    if mode == "none":
        return None
    media = getattr(item, "media", None)
    src = getattr(media, "path", None)
    data = getattr(media, "data", None)
    filename = name or getattr(media, "name", None) or (Path(src).name if src else None)
    if filename is None:
        filename = f"{getattr(item, 'id', 'item')}.jpg"
    out = safe_join(dest, filename)
    if src and Path(src).is_file():
        place_media(Path(src), out, mode)
        return out
    if data:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        return out
    if report is not None:
        report.missing_media.append(getattr(item, "id", str(filename)))  # type: ignore[attr-defined]
    return None
