from pathlib import Path

from labelport.testing import FormatConformance


class TestCocoConformance(FormatConformance):
    format_name = "coco"
    samples = Path(__file__).parent / "data"
