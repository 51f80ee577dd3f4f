"""What MOT and MOTS share: MOTChallenge sequence folders (``seqinfo.ini``, ``img1/``),
``labels.txt`` files, frame-numbered images and the writer's sequence bookkeeping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from labelport.errors import FormatError
from labelport.io.media import IMAGE_SUFFIXES, frame_number, image_size, is_inside
from labelport.schema import Item

#: seqinfo.ini keys in MOTChallenge's spelling (the file is read case-insensitively)
SEQINFO_KEYS = ("name", "imDir", "frameRate", "seqLength", "imWidth", "imHeight", "imExt")
_INT_KEYS = {"framerate", "seqlength", "imwidth", "imheight"}
#: sequences longer than this are refused: every frame becomes an item (hours of video at 30 fps)
MAX_FRAMES = 1_000_000
#: masks larger than this are refused: decoding one would take gigabytes (PIL's bomb limit, doubled)
MAX_MASK_PIXELS = 2 * 89_478_485


def read_text(path: Path) -> str:
    """A text file as str; undecodable bytes are a FormatError, not a UnicodeDecodeError."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", file=path) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text (byte {exc.start})", file=path) from None


def read_labels_file(path: Path) -> list[str]:
    """``labels.txt``: one label name a line, in class order (class k is line k)."""
    return [line.strip() for line in read_text(path).splitlines() if line.strip()]


def read_seqinfo(path: Path) -> dict[str, Any]:
    """``seqinfo.ini`` as a dict with lower-case keys; numeric keys as ints. Partial files
    (only name and seqLength, as some toolkits ship) are accepted."""
    fields: dict[str, Any] = {}
    for n, line in enumerate(read_text(path).splitlines(), 1):
        line = line.strip()
        if not line or line.startswith((";", "#", "[")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise FormatError("expected key=value", file=path, location=f"line {n}")
        key, value = key.strip().lower(), value.strip()
        if key in _INT_KEYS:
            try:
                fields[key] = int(value)
            except ValueError:
                raise FormatError(f"{key} must be an integer, got {value!r}", file=path, location=f"line {n}") from None
            if fields[key] < 0:
                raise FormatError(f"{key} must not be negative", file=path, location=f"line {n}")
            if key == "seqlength" and fields[key] > MAX_FRAMES:
                raise FormatError(
                    f"seqLength {fields[key]} is past the {MAX_FRAMES} frames labelport reads",
                    file=path,
                    location=f"line {n}",
                )
        else:
            fields[key] = value
    return fields


def write_seqinfo(path: Path, fields: dict[str, Any]) -> None:
    lines = ["[Sequence]"]
    for key in SEQINFO_KEYS:
        value = fields.get(key.lower())
        if value is not None:
            lines.append(f"{key}={value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def frame_images(folder: Path) -> dict[int, Path]:
    """Images of a frame folder by frame number (``000001.jpg`` is frame 1)."""
    out: dict[int, Path] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        frame = frame_number(p.name, strict=True) if p.suffix.lower() in IMAGE_SUFFIXES else None
        if frame is not None and p.is_file():
            out.setdefault(frame, p)
    return out


def image_dims(path: Path | None) -> tuple[int | None, int | None]:
    """(width, height) from an image header, or Nones when there is no image."""
    if path is None:
        return None, None
    w, h = image_size(path)
    return w, h


def frame_id(prefix: str, frame: int) -> str:
    """An item id for a frame: the frame number as MOTChallenge names its images."""
    return f"{prefix}{frame:06d}"


def number(text: str, file: Path, line: int, what: str) -> float:
    """A finite number from a text field, or a located FormatError."""
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{what} is not a number: {text!r}", file=file, location=f"line {line}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise FormatError(f"{what} is not finite", file=file, location=f"line {line}")
    return value


def integer(text: str, file: Path, line: int, what: str) -> int:
    value = number(text, file, line, what)
    if value != int(value):
        raise FormatError(f"{what} must be a whole number, got {text!r}", file=file, location=f"line {line}")
    return int(value)


class SequenceKeys:
    """Chooses the folder of each written item's sequence: the folder it was read from
    (``item.metadata['mot_seq']``), else the dataset root for the first video met and a
    folder named after each further video."""

    def __init__(self, target: Path):
        self.target = target
        self.videos: dict[str | None, str] = {}

    def key(self, item: Item) -> str:
        rel = item.metadata.get("mot_seq")
        if isinstance(rel, str) and (rel == "" or is_inside(self.target, rel)):
            return rel
        video = getattr(item.media, "video", None)
        if video not in self.videos:
            if not self.videos:
                self.videos[video] = ""
            else:
                name = re.sub(r"[^\w.\-]+", "_", str(video)).strip("._") or f"sequence_{len(self.videos)}"
                while name in self.videos.values():
                    name += "_"
                self.videos[video] = name
        return self.videos[video]


class FrameNumbers:
    """Frame numbers of one written sequence: the item's own when it has one, else the next free."""

    def __init__(self) -> None:
        self.used: set[int] = set()
        self.last = 0

    def take(self, wanted: int | None) -> tuple[int, bool]:
        """The frame for an item and whether it is the one wanted."""
        if wanted is not None and wanted >= 1 and wanted not in self.used:
            frame, exact = wanted, True
        else:
            frame, exact = max(self.used, default=0) + 1, wanted is None
        self.used.add(frame)
        self.last = max(self.last, frame)
        return frame, exact


def wanted_frame(item: Item, base: int) -> int | None:
    """The frame number an item asks for in a file whose first frame is ``base``."""
    media = item.media
    if getattr(media, "kind", None) == "video_frame":
        return media.frame + base  # type: ignore[union-attr]
    meta = item.metadata.get("mot_frame")
    if isinstance(meta, int) and not isinstance(meta, bool):
        return meta
    return None


