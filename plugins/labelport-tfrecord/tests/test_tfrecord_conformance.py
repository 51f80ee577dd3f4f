from pathlib import Path

from labelport.geometry import coords
from labelport.geometry.masks import rle_bbox
from labelport.schema import BBox, Dataset, Label, Skeleton
from labelport.testing import FormatConformance

HELD = ("difficult", "truncated", "is_crowd", "group_of", "view")


class TestTfrecordConformance(FormatConformance):
    format_name = "tfrecord"
    samples = Path(__file__).parent / "data"
    # boxes and keypoints are stored as normalised float32: 2^-24 of a 640 px side is 4e-5 px
    tolerance = 1e-4

    def reduce_generated(self, dataset: Dataset) -> Dataset:
        """What the Object Detection API holds: every object has a box (a lone mask or keypoints
        get the box around them, in one group), box flags as the only attributes, keypoint names
        but no skeleton edges in the label map."""
        items = []
        for item in dataset:
            anns: list = []
            objects = 0
            for a in item.annotations:
                a = a.model_copy(update={"attributes": {k: v for k, v in a.attributes.items() if k in HELD and v}})
                if a.type == "label":
                    anns.append(a)
                    continue
                objects += 1
                if a.type == "bbox":
                    anns.append(a)
                    continue
                if a.type == "mask":
                    x, y, w, h = rle_bbox(a.rle)
                else:
                    visible = [c for k, v in enumerate(a.visibility) if v for c in a.points[2 * k : 2 * k + 2]]
                    x, y, w, h = coords.polygon_bbox(visible)
                box = BBox(label=a.label, x=x, y=y, w=w, h=h, group=objects)
                anns += [box, a.model_copy(update={"group": objects, "attributes": {}})]
            items.append(item.model_copy(update={"annotations": anns}))
        labels = [
            lb.model_copy(update={"skeleton": Skeleton(points=lb.skeleton.points)}) if lb.skeleton else lb
            for lb in dataset.labels
        ]
        return Dataset(items, labels=[Label.model_validate(lb.model_dump()) for lb in labels])
