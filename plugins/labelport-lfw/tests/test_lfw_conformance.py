from pathlib import Path

from labelport.schema import Dataset, Tag
from labelport.testing import FormatConformance


def representable(ds: Dataset) -> Dataset:
    """A generated dataset reduced to what LFW holds: one person per image (its first label)
    as the image label, landmarks labelled with that person, no attributes but the pairs."""
    items = []
    for item in ds:
        labels = [a.label for a in item.annotations if a.label is not None]
        person = labels[0] if labels else None
        anns: list = [Tag(label=person)] if person is not None else []
        anns += [a.model_copy(update={"label": person, "attributes": {}}) for a in item.annotations if a.type == "points"]
        items.append(item.model_copy(update={"annotations": anns}))
    return ds.with_items(items)


class TestLfwConformance(FormatConformance):
    format_name = "lfw"
    samples = Path(__file__).parent / "data"

    def reduce_generated(self, dataset: Dataset) -> Dataset:
        return representable(dataset)

