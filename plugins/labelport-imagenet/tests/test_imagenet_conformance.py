from pathlib import Path

from labelport.testing import FormatConformance


class TestImagenetConformance(FormatConformance):
    format_name = "imagenet"
    samples = Path(__file__).parent / "data"
