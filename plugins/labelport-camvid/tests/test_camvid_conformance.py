from pathlib import Path

from labelport.testing import FormatConformance


class TestCamvidConformance(FormatConformance):
    format_name = "camvid"
    samples = Path(__file__).parent / "data"
    # A CamVid mask holds one class per pixel: the generator's masks overlap and repeat labels,
    # which the writer reports as merged/overwritten. Generated items here carry no annotations
    # (ids, subsets and image sizes are compared); mask round trips are property-tested with
    # non-overlapping class maps in test_camvid.py.
    generated_kinds = ("caption",)
    # the release layout's colour-coded labels are annotations too (SegNet masks share their
    # images' names and cannot be told apart by name)
    image_annotations = ("*_L.png",)
