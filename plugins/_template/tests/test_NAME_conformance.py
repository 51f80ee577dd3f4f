from pathlib import Path

from labelport.testing import FormatConformance


class TestNAMEConformance(FormatConformance):
    format_name = "NAME"
    samples = Path(__file__).parent / "data"  # one sample dataset per entry, written from the spec
