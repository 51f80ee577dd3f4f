from pathlib import Path

from labelport.testing import FormatConformance


class TestVocConformance(FormatConformance):
    format_name = "voc"
    samples = Path(__file__).parent / "data"
    # The generator puts the same image label on an item several times; a VOC class list holds
    # one flag per image and class, so the writer keeps it once and reports the loss. Image
    # labels are round-tripped by the samples (devkit class lists) and tests/test_voc.py.
    generated_kinds = ("bbox",)
    # SegmentationClass / SegmentationObject PNGs are annotations: fuzz them like the XML
    image_annotations = ("*.png",)
