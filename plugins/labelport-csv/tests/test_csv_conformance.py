from pathlib import Path

from labelport.testing import FormatConformance


class TestCsvConformance(FormatConformance):
    format_name = "csv"
    samples = Path(__file__).parent / "data"
