"""Regenerate the synthetic samples in ``tests/data`` (run by hand: ``python tests/make_data.py``).

Every sample is a consistent CT series plus RT Structure Set written with pydicom from the
DICOM geometry rules (see ``rt_builders``); the tests read them as committed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from rt_builders import make_series, make_structure_set

DATA = Path(__file__).parent / "data"


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    a, b, c = np.deg2rad([yaw, pitch, roll])
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rx = np.array([[1, 0, 0], [0, np.cos(c), -np.sin(c)], [0, np.sin(c), np.cos(c)]])
    return rz @ ry @ rx


def axial_nonsquare(folder: Path) -> None:
    """Axial 16 x 12 x 4 series, PixelSpacing [0.8, 0.5] (rows 0.8 mm apart, columns 0.5 mm),
    instance numbers running against slice position; a ROI with a hole, a POINT, an empty ROI."""
    s = make_series(
        folder,
        "axial",
        columns=16,
        rows=12,
        slices=4,
        pixel_spacing=(0.8, 0.5),
        origin=(-4.0, -5.0, 10.0),
        slice_gap=2.5,
        reverse_instance_numbers=True,
    )
    tumour = [
        ("CLOSED_PLANAR", s.ring(1, [(1.5, 1.5), (9.5, 1.5), (9.5, 8.5), (1.5, 8.5)]), 1),  # i 2..9, j 2..8
        ("CLOSED_PLANAR", s.ring(1, [(4.5, 3.5), (6.5, 3.5), (6.5, 5.5), (4.5, 5.5)]), 1),  # hole i 5..6, j 4..5
        ("CLOSED_PLANAR", s.ring(2, [(2.5, 2.5), (7.5, 2.5), (7.5, 6.5), (2.5, 6.5)]), 2),  # i 3..7, j 3..6
    ]
    marker = [("POINT", s.patient(12, 3, 3)[None], 3)]
    make_structure_set(
        folder / "RS_axial.dcm",
        s,
        [
            {"number": 3, "name": "tumour", "color": (255, 0, 0), "interpreted": "GTV", "contours": tumour},
            {"number": 7, "name": "marker", "color": (0, 0, 255), "interpreted": "MARKER", "contours": marker},
            {"number": 9, "name": "planned", "contours": []},
        ],
        name="axial",
    )


def oblique_xor(folder: Path) -> None:
    """Oblique 10 x 8 x 3 series, PixelSpacing [1.2, 0.7]: a CLOSEDPLANAR_XOR ring and an OPEN_PLANAR wire."""
    r = rotation(30, 15, -20)
    s = make_series(
        folder,
        "oblique",
        columns=10,
        rows=8,
        slices=3,
        pixel_spacing=(1.2, 0.7),
        row_dir=tuple(r[:, 0]),
        col_dir=tuple(r[:, 1]),
        origin=(100.0, -50.0, 20.0),
        slice_gap=3.0,
    )
    ring = [
        ("CLOSEDPLANAR_XOR", s.ring(1, [(0.5, 0.5), (8.5, 0.5), (8.5, 6.5), (0.5, 6.5)]), 1),  # i 1..8, j 1..6
        ("CLOSEDPLANAR_XOR", s.ring(1, [(2.5, 2.5), (5.5, 2.5), (5.5, 4.5), (2.5, 4.5)]), 1),  # hole i 3..5, j 3..4
    ]
    wire = [("OPEN_PLANAR", np.array([s.patient(1, 1, 0), s.patient(7, 1, 0), s.patient(7, 5, 0)]), 0)]
    make_structure_set(
        folder / "RS_oblique.dcm",
        s,
        [
            {"number": 1, "name": "ring", "color": (10, 200, 10), "contours": ring},
            {"number": 2, "name": "wire", "color": (200, 200, 0), "interpreted": "CONTROL", "contours": wire},
        ],
        name="oblique",
    )


def rtstruct_only(path: Path) -> None:
    """A structure set alone (no preamble, no file meta, implicit VR) whose series is absent."""

    def rect(x0: float, x1: float, y0: float, y1: float, z: float) -> np.ndarray:
        return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]])

    body = [
        ("CLOSED_PLANAR", rect(-20, 20, -10, 10, 0.0), None),
        ("CLOSED_PLANAR", rect(-20, 20, -10, 10, 5.0), None),
        ("CLOSED_PLANAR", rect(-5, 5, -3, 3, 5.0), None),  # a hole on the middle plane
        ("CLOSED_PLANAR", rect(-20, 20, -10, 10, 10.0), None),
    ]
    make_structure_set(
        path,
        None,
        [
            {"number": 1, "name": "body", "color": (220, 160, 120), "interpreted": "EXTERNAL", "contours": body},
            {
                "number": 2,
                "name": "iso",
                "color": (255, 64, 255),
                "interpreted": "ISOCENTER",
                "contours": [("POINT", np.array([[0.0, 0.0, 5.0]]), None)],
            },
        ],
        name="alone",
        file_meta=False,
    )


def main() -> None:
    if DATA.exists():
        shutil.rmtree(DATA)
    DATA.mkdir()
    axial_nonsquare(DATA / "axial_nonsquare")
    oblique_xor(DATA / "oblique_xor")
    rtstruct_only(DATA / "rtstruct_only.dcm")


if __name__ == "__main__":
    main()
