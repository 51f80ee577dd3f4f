from pathlib import Path

from labelport.testing import FormatConformance


class TestLabelme3Conformance(FormatConformance):
    format_name = "labelme3"
    samples = Path(__file__).parent / "data" / "labelme3"
