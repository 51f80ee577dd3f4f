import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import toyformat  # noqa: E402
from labelport.registry import Registry  # noqa: E402
from labelport.schema import BBox, Dataset, Image, Item, Label, Polygon, Polyline  # noqa: E402


@pytest.fixture
def registry():
    reg = Registry(load_entry_points=False)
    reg.register(toyformat, name="toy")
    return reg


@pytest.fixture
def sample_dataset():
    items = [
        Item(
            id=f"img{i}",
            subset="train" if i % 2 else "val",
            media=Image(name=f"img{i}.jpg", width=100, height=80),
            annotations=[
                BBox(label="cat", x=1, y=2, w=10, h=20, attributes={"occluded": True}),
                Polygon(label="dog", parts=[[0, 0, 10, 0, 10, 10]]),
                Polyline(label="dog", points=[0, 0, 5, 5]),
            ],
        )
        for i in range(4)
    ]
    return Dataset(items, labels=[Label(name="cat", color=(255, 0, 0)), Label(name="dog")])
