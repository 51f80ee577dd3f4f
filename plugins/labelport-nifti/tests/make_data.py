"""Regenerate the synthetic samples in ``tests/data`` (run by hand: ``python tests/make_data.py``).

Each sample is written from the NIfTI-1/NIfTI-2 header definitions with nibabel; the tests
read them as they are committed, nothing is generated at test time.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np

DATA = Path(__file__).parent / "data"

#: world (RAS mm) position of the single "marker" voxel written into both abdomen cases
MARKER_RAS = (6.0, -2.0, 0.0)


def abdomen(folder: Path) -> None:
    """Two class-index cases of one study: RAS uint8 (gzip) and LAS big-endian int16 (plain)."""
    folder.mkdir()
    labels = [
        {"id": 0, "name": "background"},
        {"id": 1, "name": "liver", "color": [220, 80, 60]},
        {"id": 2, "name": "spleen", "color": [60, 200, 90]},
        {"id": 5, "name": "kidney"},
        {"id": 7, "name": "marker"},
    ]
    (folder / "labels.json").write_text(json.dumps(labels, indent=2))

    # case_001: RAS+, 2 x 1.5 x 3 mm voxels, origin (-10, -8, -6); sform code 2 (aligned), qform code 1
    ras = np.array([[2.0, 0, 0, -10.0], [0, 1.5, 0, -8.0], [0, 0, 3.0, -6.0], [0, 0, 0, 1]])
    data = np.zeros((12, 10, 6), dtype=np.uint8)
    data[2:7, 3:8, 1:4] = 1  # liver: 5 x 5 x 3 = 75 voxels
    data[8:11, 1:4, 2:5] = 2  # spleen: 3 x 3 x 3 = 27
    data[4, 4, 2] = 0  # a hole in the liver
    _put_marker(data, ras)
    img = nib.Nifti1Image(data, ras)
    scanner = ras.copy()
    scanner[:3, 3] += [100.0, 0.0, 0.0]  # the qform differs: a reader must prefer the sform (code > 0)
    img.set_qform(scanner, code=1)
    img.set_sform(ras, code=2)
    img.header["intent_code"] = 1002
    img.header["descrip"] = b"synthetic abdomen, RAS"
    nib.save(img, str(folder / "case_001.nii.gz"))

    # case_002: LAS (x axis flipped), big-endian int16, classes 5 and 2, sform only
    las = np.array([[-2.0, 0, 0, 12.0], [0, 2.0, 0, -10.0], [0, 0, 2.5, -5.0], [0, 0, 0, 1]])
    data = np.zeros((9, 8, 7), dtype=np.int16)
    data[1:4, 1:3, 1:6] = 5  # kidney: 3 x 2 x 5 = 30
    data[5:8, 4:7, 0:2] = 2  # spleen: 3 x 3 x 2 = 18
    _put_marker(data, las)
    img = nib.Nifti1Image(data, las, header=nib.Nifti1Header(endianness=">"))
    img.set_data_dtype(np.dtype(">i2"))
    img.set_qform(np.diag([3.0, 3.0, 3.0, 1.0]), code=1)
    img.header["qform_code"] = 0  # a stale qform of unknown meaning: ignored
    img.set_sform(las, code=1)
    nib.save(img, str(folder / "case_002.nii"))


def _put_marker(data: np.ndarray, affine: np.ndarray) -> None:
    ijk = np.linalg.solve(affine, [*MARKER_RAS, 1.0])[:3]
    assert np.allclose(ijk, np.round(ijk)), ijk
    i, j, k = (int(round(v)) for v in ijk)
    data[i, j, k] = 7


def onehot(path: Path) -> None:
    """A 4-D one-hot volume: channel 0 background, classes 1 and 2 overlap, channel 3 empty."""
    shape = (8, 7, 5)
    onehot = np.zeros((*shape, 4), dtype=np.uint8)
    onehot[1:5, 1:5, 1:4, 1] = 1  # 4 x 4 x 3 = 48
    onehot[3:7, 2:6, 2:5, 2] = 1  # 4 x 4 x 3 = 48; overlap with 1: x 3..4, y 2..4, z 2..3 = 2 x 3 x 2 = 12
    onehot[..., 0] = ~onehot[..., 1:].any(axis=-1)
    affine = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 2.0, 0], [0, 0, 0, 1]])
    img = nib.Nifti1Image(onehot, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, str(path))


def nifti2_float(path: Path) -> None:
    """A NIfTI-2 float32 class-index volume (whole numbers), qform only, oblique qform."""
    theta = np.deg2rad(20)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([0.8, 0.8, 1.2])
    affine[:3, 3] = [-3.0, 4.0, 1.0]
    data = np.zeros((6, 6, 4), dtype=np.float32)
    data[1:3, 1:4, 0:2] = 3.0  # 2 x 3 x 2 = 12
    data[4, 4, 3] = 9.0
    img = nib.Nifti2Image(data, affine)
    img.set_sform(np.diag([5.0, 5.0, 5.0, 1.0]), code=1)
    img.header["sform_code"] = 0  # sform code 0: the qform (an oblique rotation) applies
    img.set_qform(affine, code=1)
    nib.save(img, str(path))


def main() -> None:
    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir()
    abdomen(DATA / "abdomen")
    onehot(DATA / "onehot_overlap.nii.gz")
    nifti2_float(DATA / "nifti2_float.nii.gz")


if __name__ == "__main__":
    main()
