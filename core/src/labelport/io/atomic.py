"""Atomic output: everything is written beside the target and moved into place at the end."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labelport.errors import TargetExistsError


@contextmanager
def atomic_output(target: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh staging path (not yet created) beside ``target``.

    The caller writes a file or a folder there. On success it replaces ``target``
    (an existing one only with ``overwrite``); on any error the staging data is
    removed and ``target`` is untouched.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise TargetExistsError("exists; pass --overwrite (overwrite=True) to replace it", file=target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        staging = tmp / target.name
        yield staging
        if not staging.exists():
            staging.mkdir()
        _replace(staging, target, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replace(staging: Path, target: Path, tmp: Path) -> None:
    if not target.exists() and not target.is_symlink():
        os.replace(staging, target)
        return
    old = tmp / (target.name + ".old")
    os.replace(target, old)  # same folder, so a rename: the old target is kept until the new one is in
    try:
        os.replace(staging, target)
    except BaseException:
        os.replace(old, target)
        raise


def write_bytes_atomic(path: str | Path, data: bytes, *, overwrite: bool = True) -> None:
    """Write one file atomically."""
    with atomic_output(path, overwrite=overwrite) as staging:
        staging.write_bytes(data)
