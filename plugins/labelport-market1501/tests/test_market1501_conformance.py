from pathlib import Path

from labelport.schema import Dataset, Label, Tag
from labelport.testing import FormatConformance


def representable(ds: Dataset) -> Dataset:
    """A generated dataset reduced to what Market-1501 holds: one person per image, named by a
    number (the generator's label names become 1, 2, 3, ...)."""
    numbers = {name: str(i) for i, name in enumerate(ds.labels.names(), 1)}
    items = []
    for item in ds:
        labels = [a.label for a in item.annotations if a.type == "label" and a.label is not None]
        person = numbers.setdefault(labels[0], str(len(numbers) + 1)) if labels else None
        items.append(item.model_copy(update={"annotations": [Tag(label=person)] if person else []}))
    out = ds.with_items(items)
    out.labels = type(ds.labels)(Label(name=n) for n in numbers.values())
    return out


class TestMarket1501Conformance(FormatConformance):
    format_name = "market1501"
    samples = Path(__file__).parent / "data"

    def reduce_generated(self, dataset: Dataset) -> Dataset:
        return representable(dataset)

