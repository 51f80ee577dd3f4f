from pathlib import Path

from labelport.testing import FormatConformance


class TestYoloKerasConformance(FormatConformance):
    format_name = "yolo_keras"
    samples = Path(__file__).parent / "data" / "yolo_keras"
