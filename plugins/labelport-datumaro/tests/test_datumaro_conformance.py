from pathlib import Path

from labelport.testing import FormatConformance


class TestDatumaroConformance(FormatConformance):
    format_name = "datumaro"
    samples = Path(__file__).parent / "data"
