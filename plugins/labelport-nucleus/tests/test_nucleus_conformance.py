from pathlib import Path

from labelport.testing import FormatConformance
from labelport.testing.strategies import GENERATED_KINDS


class TestNucleusConformance(FormatConformance):
    format_name = "nucleus"
    samples = Path(__file__).parent / "data"
    # Generated masks may overlap, and a Nucleus segmentation holds one index per pixel: the writer
    # reports that loss (tested in test_nucleus.py); masks round-trip through the samples instead.
    generated_kinds = tuple(k for k in GENERATED_KINDS if k != "mask")
    # the segmentation PNGs are annotations too: truncate and mutate them like the JSON files
    image_annotations = ("*_mask.png",)
