from pathlib import Path

from labelport.testing import FormatConformance


class TestCvatConformance(FormatConformance):
    format_name = "cvat"
    samples = Path(__file__).parent / "data"
