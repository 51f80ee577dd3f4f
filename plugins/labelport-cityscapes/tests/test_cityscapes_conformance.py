from pathlib import Path

from labelport.testing import FormatConformance


class TestCityscapesConformance(FormatConformance):
    format_name = "cityscapes"
    samples = Path(__file__).parent / "data"
    # Polygon files keep generated polygons exactly. Generated masks overlap and repeat labels,
    # which one id per pixel cannot hold (the writer reports those pixels as lost); mask round
    # trips of non-overlapping masks are property-tested in test_cityscapes.py.
    generated_kinds = ("polygon",)
    # the PNG maps are annotations too: fuzz and truncate them like the polygon files
    image_annotations = ("*_gtFine_*.png", "*_gtCoarse_*.png")
