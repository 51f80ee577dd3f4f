from pathlib import Path

from labelport.testing import FormatConformance


class TestYoloConformance(FormatConformance):
    format_name = "yolo"
    samples = Path(__file__).parent / "data" / "yolo"
    # full precision: the kit matches annotations by sorted coordinates, which rounding to
    # 6 decimals (the default, tested in the format's own tests) could reorder
    write_options = {"decimals": None}
