from pathlib import Path

from labelport.testing import FormatConformance


class TestNiftiConformance(FormatConformance):
    format_name = "nifti"
    samples = Path(__file__).parent / "data"
