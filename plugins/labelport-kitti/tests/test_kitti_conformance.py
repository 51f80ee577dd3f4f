from pathlib import Path

from labelport.testing import FormatConformance


class TestKittiConformance(FormatConformance):
    format_name = "kitti"
    samples = Path(__file__).parent / "data"
    # KITTI holds a fixed set of attributes (truncated, occluded, alpha, dimensions, location,
    # rotation_y); generated attributes such as {"color": "red"} are reported lost, and
    # test_kitti.py checks that the KITTI attributes themselves round-trip exactly
    roundtrip_ignore = frozenset({"attributes"})
    # a tracking label file lists objects only: a video frame without objects survives through
    # its image (test_kitti.py checks the loss is reported when images are not saved)
    write_options = {"save_media": "copy"}
    # Generated masks overlap, which instance maps (one value per pixel) cannot hold; mask round
    # trips of non-overlapping masks are property-tested in test_kitti.py.
    generated_kinds = (
        "bbox",
    )  # (the instance/, semantic/ and semantic_rgb/ maps share their images' names, so the kit
    # cannot pick them by name: test_kitti.py damages them)
