from pathlib import Path

from labelport.schema import Dataset, Points, Tag
from labelport.testing import FormatConformance


def representable(ds: Dataset) -> Dataset:
    """A generated dataset reduced to what VGGFace2 holds: one identity per image (the first
    label), one box and one set of five landmarks labelled with it, the id under the identity."""
    items = []
    for item in ds:
        boxes = [a for a in item.annotations if a.type == "bbox"]
        points = [a for a in item.annotations if a.type == "points"]
        labels = [a.label for a in item.annotations if a.label is not None]
        identity = labels[0] if labels else None
        anns: list = []
        if boxes:
            anns.append(boxes[0].model_copy(update={"label": identity}))
        if points:
            five = (points[0].points * 5)[:10]  # the generator draws two points: cycle them to five
            anns.append(Points(label=identity, points=five))
        if not anns and identity is not None:
            anns.append(Tag(label=identity))
        new_id = f"{identity}/{item.id}" if identity else item.id
        items.append(item.model_copy(update={"id": new_id, "annotations": anns}))
    return ds.with_items(items)


class TestVggFace2Conformance(FormatConformance):
    format_name = "vgg_face2"
    samples = Path(__file__).parent / "data"

    def reduce_generated(self, dataset: Dataset) -> Dataset:
        return representable(dataset)

