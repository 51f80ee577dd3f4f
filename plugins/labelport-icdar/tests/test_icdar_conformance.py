from pathlib import Path

from labelport.schema import Dataset, Mask
from labelport.testing import FormatConformance


class TestIcdarConformance(FormatConformance):
    format_name = "icdar"
    samples = Path(__file__).parent / "data"
    image_annotations = ("*_GT.bmp",)

    def reduce_generated(self, dataset: Dataset) -> Dataset:
        """What ICDAR holds: no classes, no attributes but the transcription, and character masks
        that do not overlap (one colour per pixel of the GT image: a later mask covers an earlier one)."""
        items = []
        for item in dataset:
            anns: list = [a.model_copy(update={"label": None, "attributes": {}}) for a in item.annotations]
            covered = None
            for k in reversed([k for k, a in enumerate(anns) if a.type == "mask"]):
                arr = anns[k].to_array()
                if covered is None:
                    covered = arr.copy()
                else:
                    arr = arr & ~covered
                    covered |= arr
                anns[k] = Mask.from_array(arr) if arr.any() else None
            items.append(item.model_copy(update={"annotations": [a for a in anns if a is not None]}))
        return dataset.with_items(items)
