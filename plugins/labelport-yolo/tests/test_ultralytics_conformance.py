from pathlib import Path

from labelport.testing import FormatConformance


class TestUltralyticsConformance(FormatConformance):
    format_name = "ultralytics"
    samples = Path(__file__).parent / "data" / "ultralytics"
    # full precision: the kit matches annotations by sorted coordinates, which rounding to
    # 6 decimals (the default, tested in the format's own tests) could reorder
    write_options = {"decimals": None}
    # an Ultralytics dataset has one task: boxes and polygons share one (segment); keypoints
    # (pose) and image labels (classify) cannot join them, so the generated datasets mix only
    # the first two. Pose, oriented boxes and classification round-trip through the samples.
    generated_kinds = ("bbox", "polygon")
