from pathlib import Path

from labelport.testing import FormatConformance


class TestTsvConformance(FormatConformance):
    format_name = "tsv"
    samples = Path(__file__).parent / "data"
