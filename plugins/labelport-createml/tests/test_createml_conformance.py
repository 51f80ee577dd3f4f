from pathlib import Path

from labelport.testing import FormatConformance


class TestCreateMLConformance(FormatConformance):
    format_name = "createml"
    samples = Path(__file__).parent / "data"
