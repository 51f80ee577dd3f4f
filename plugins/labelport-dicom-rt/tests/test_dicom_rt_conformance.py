from pathlib import Path

from labelport.testing import FormatConformance


class TestDicomRtConformance(FormatConformance):
    format_name = "dicom_rt"
    samples = Path(__file__).parent / "data"
