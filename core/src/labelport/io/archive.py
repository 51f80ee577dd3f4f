"""Safe archives: extraction that refuses zip slip, links and bombs; zip output with AES."""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from labelport.errors import FormatError, LabelportError, UnsafeInputError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
#: total uncompressed bytes an archive may expand to (override with LABELPORT_MAX_ARCHIVE_BYTES)
MAX_TOTAL_BYTES = int(os.environ.get("LABELPORT_MAX_ARCHIVE_BYTES", 64 * 1024**3))
#: the largest compression ratio accepted for a member larger than 1 MiB
MAX_RATIO = 200
MAX_MEMBERS = 1_000_000


def is_archive(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and any(name.endswith(s) for s in ARCHIVE_SUFFIXES)


def check_member_name(name: str, archive: Path) -> PurePosixPath:
    """The member's relative path, or UnsafeInputError for absolute paths, drive letters and ``..``."""
    norm = name.replace("\\", "/")
    rel = PurePosixPath(norm)
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or ".." in rel.parts:
        raise UnsafeInputError(f"archive entry {name!r} points outside the archive; refused", file=archive)
    return rel


def extract(archive: Path, dest: Path, *, password: str | None = None) -> Path:
    """Extract ``archive`` into the existing folder ``dest`` safely and return ``dest``.

    Nested archives are extracted as files, never expanded.
    """
    import pyzipper

    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            _extract_zip(archive, dest, password)
        else:
            _extract_tar(archive, dest)
    except LabelportError:
        raise
    except (zipfile.BadZipFile, pyzipper.BadZipFile, tarfile.TarError, EOFError, OSError, RuntimeError, ValueError) as exc:
        msg = str(exc)
        if "password" in msg.lower() or "encrypted" in msg.lower() or "Bad password" in msg:
            raise FormatError("encrypted archive: wrong or missing password (--password)", file=archive) from None
        raise FormatError(f"unreadable archive: {msg}", file=archive) from None
    return dest


def _extract_zip(archive: Path, dest: Path, password: str | None) -> None:
    import pyzipper

    with pyzipper.AESZipFile(archive) as zf:
        if password is not None:
            zf.setpassword(password.encode())
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise UnsafeInputError(f"archive holds {len(members)} entries; refused", file=archive)
        total = 0
        for info in members:
            rel = check_member_name(info.filename, archive)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeInputError(f"archive entry {info.filename!r} is a symbolic link; refused", file=archive)
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise UnsafeInputError("archive expands beyond the size limit (zip bomb?); refused", file=archive)
            if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise UnsafeInputError(
                    f"archive entry {info.filename!r} has compression ratio above {MAX_RATIO} (zip bomb?); refused",
                    file=archive,
                )
            if info.flag_bits & 0x1 and password is None:
                raise FormatError("encrypted archive: pass the password (--password)", file=archive)
            out = dest.joinpath(*rel.parts)
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(out, "wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size:  # a lying header
                        raise UnsafeInputError(f"archive entry {info.filename!r} is larger than declared", file=archive)
                    dst.write(chunk)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tf:
        total = 0
        for member in tf:
            rel = check_member_name(member.name, archive)
            if member.issym() or member.islnk() or member.isdev():
                raise UnsafeInputError(f"archive entry {member.name!r} is a link or device; refused", file=archive)
            total += member.size
            if total > MAX_TOTAL_BYTES:
                raise UnsafeInputError("archive expands beyond the size limit; refused", file=archive)
            out = dest.joinpath(*rel.parts)
            if member.isdir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isfile():
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(member)
            if src is None:
                continue
            with src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


class ExtractedArchive:
    """An archive extracted into a temporary folder, removed when this object is collected."""

    def __init__(self, archive: Path, password: str | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="labelport-")
        self.root = extract(archive, Path(self._tmp.name), password=password)

    def dataset_root(self) -> Path:
        """The folder holding the dataset: the single top folder when the archive has one."""
        entries = [p for p in self.root.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
        if len(entries) == 1 and entries[0].is_dir():
            return entries[0]
        if len(entries) == 1 and entries[0].is_file():
            return entries[0]
        return self.root

    def cleanup(self) -> None:
        self._tmp.cleanup()


def write_zip(folder: Path, zip_path: Path, *, password: str | None = None, top: str | None = None) -> None:
    """Zip ``folder``'s contents into ``zip_path``; with ``password``, AES-256 encrypted
    (readable by 7-Zip and other WinZip-AES tools). ``top`` puts everything under one folder."""
    import pyzipper

    kwargs = {"encryption": pyzipper.WZ_AES} if password else {}
    with pyzipper.AESZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, **kwargs) as zf:
        if password:
            zf.setpassword(password.encode())
            zf.setencryption(pyzipper.WZ_AES, nbits=256)
        for path in sorted(folder.rglob("*")):
            if not path.is_file():  # media symlinks are stored as the files they point to
                continue
            rel = path.relative_to(folder).as_posix()
            zf.write(path, f"{top}/{rel}" if top else rel)
