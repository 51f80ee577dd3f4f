from pathlib import Path

from labelport.schema import Dataset
from labelport.testing import FormatConformance

FLAGS = {"occluded", "truncated", "is_group_of", "is_depiction", "is_inside"}


class TestOpenImagesConformance(FormatConformance):
    format_name = "open_images"
    samples = Path(__file__).parent / "data"
    image_annotations = ("masks/*",)

    def reduce_generated(self, dataset: Dataset) -> Dataset:
        """What Open Images holds: box flags as the only box attributes, masks without attributes
        of their own kind, and a Confidence of 1 meaning "no score" (ground truth)."""
        items = []
        for item in dataset:
            anns = []
            for a in item.annotations:
                keep = FLAGS if a.type == "bbox" else set()
                update = {"attributes": {k: v for k, v in a.attributes.items() if k in keep}}
                if a.score == 1 or a.type == "mask":
                    update["score"] = None
                anns.append(a.model_copy(update=update))
            items.append(item.model_copy(update={"annotations": anns}))
        return dataset.with_items(items)
