from pathlib import Path

from labelport.testing import FormatConformance


class TestLabelmeConformance(FormatConformance):
    format_name = "labelme"
    samples = Path(__file__).parent / "data" / "labelme"
    # LabelMe holds circles, not ellipses (others become polygons with a reported loss), and image
    # flags hold one label once (duplicates in one item are merged): test_labelme.py covers both,
    # the generated round trip uses the kinds that survive exactly.
    generated_kinds = ("bbox", "polygon", "polyline", "points")
