from pathlib import Path

from labelport.testing import FormatConformance


class TestInnotescusConformance(FormatConformance):
    format_name = "innotescus"
    samples = Path(__file__).parent / "data"
