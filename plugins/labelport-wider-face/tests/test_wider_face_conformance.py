from pathlib import Path

from labelport.testing import FormatConformance


class TestWiderFaceConformance(FormatConformance):
    format_name = "wider_face"
    samples = Path(__file__).parent / "data"
    # WIDER holds six integer flags per face (blur, expression, illumination, invalid,
    # occlusion, pose); generated attributes such as {"color": "red"} are reported lost, and
    # test_wider_face.py checks that the six flags round-trip exactly
    roundtrip_ignore = frozenset({"attributes"})
    # an image is in one event folder, so it holds one image label; generated items carry up to
    # three, which cannot round-trip: test_wider_face.py checks the event label and the loss
    generated_kinds = ("bbox",)
