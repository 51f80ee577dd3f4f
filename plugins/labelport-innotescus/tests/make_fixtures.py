"""Build the synthetic Innotescus samples in data/ (the layout and files of the Innotescus JSON export; run once)."""

import json
from pathlib import Path

from PIL import Image

D = Path(__file__).parent / "data"


def dump(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1))


classes = [
    {"id": 1, "name": "vehicle", "parent_id": None},
    {"id": 2, "name": "car", "parent_id": 1},
    {"id": 5, "name": "bus", "parent_id": 1},
    {"id": 7, "name": "road", "parent_id": None},
    {"id": 9, "name": "lane", "parent_id": 7},
]
ann_defs = [
    {"name": "occluded", "type": "boolean"},
    {"name": "quality", "type": "select", "options": ["good", "poor"]},
    {"name": "note", "type": "text"},
]
item_defs = [{"name": "camera", "type": "text"}, {"name": "exposure", "type": "number"}]

# 1. a two-dataset export in the documented layout
e = D / "export"
for ds, names in (("city_train", ["street_01.jpg", "street_02.png"]), ("city_val", ["street_10.jpg"])):
    for n in names:
        (e / "datasets" / ds).mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (40, 80, 120)).save(e / "datasets" / ds / n)
a = e / "annotations" / "city_train"
dump(a / "classes.json", classes)
dump(a / "annotation_metadata_definitions.json", ann_defs)
dump(a / "dataset_item_metadata_definitions.json", item_defs)
dump(
    a / "dataset_items.json",
    [
        {
            "index": 0,
            "name": "street_01.jpg",
            "type": "image",
            "width": 64,
            "height": 48,
            "metadata": {"camera": "north", "exposure": 0.5},
        },
        {
            "index": 1,
            "name": "street_02.png",
            "type": "image",
            "width": 64,
            "height": 48,
            "metadata": {"camera": "south"},
        },
    ],
)
dump(
    a / "annotations.json",
    [
        {
            "id": 101,
            "dataset_item_index": 0,
            "frame_index": None,
            "type": "Box",
            "class_id": 2,
            "instance_id": 1,
            "box": {"x": 4.5, "y": 6, "width": 20, "height": 10.25, "orientation": 0},
            "annotators": ["ana@example.com"],
            "metadata": {"occluded": False, "quality": "good"},
        },
        {
            "id": 102,
            "dataset_item_index": 0,
            "frame_index": None,
            "type": "Box",
            "class_id": 5,
            "instance_id": 2,
            "box": {"x": 30, "y": 8, "width": 24, "height": 12, "orientation": 30},
            "annotators": ["ana@example.com", "ben@example.com"],
            "metadata": {"occluded": True},
        },
        {
            "id": 103,
            "dataset_item_index": 1,
            "frame_index": None,
            "type": "Poly",
            "class_id": 7,
            "instance_id": 3,
            "polygons": [[[0, 40], [63, 40], [63, 47], [0, 47]], [[10, 30], [20, 30], [15, 36]]],
            "is_open": False,
            "annotators": ["ben@example.com"],
            "metadata": {"note": "two patches"},
        },
        {
            "id": 104,
            "dataset_item_index": 1,
            "frame_index": None,
            "type": "Poly",
            "class_id": 9,
            "instance_id": 4,
            "polygons": [[[2, 44.5], [30, 43], [62, 44.5]]],
            "is_open": True,
            "annotators": [],
            "metadata": {},
        },
    ],
)
v = e / "annotations" / "city_val"
dump(v / "classes.json", classes)
dump(v / "annotation_metadata_definitions.json", ann_defs)
dump(v / "dataset_item_metadata_definitions.json", item_defs)
dump(
    v / "dataset_items.json",
    [
        {
            "index": 0,
            "name": "street_10.jpg",
            "type": "image",
            "width": 64,
            "height": 48,
            "metadata": {"camera": "east"},
        },
    ],
)
dump(
    v / "annotations.json",
    [
        {
            "id": 201,
            "dataset_item_index": 0,
            "frame_index": None,
            "type": "Box",
            "class_id": 2,
            "instance_id": 1,
            "box": {"x": 1, "y": 2, "width": 3, "height": 4, "orientation": 0},
            "annotators": ["ana@example.com"],
            "metadata": {},
        },
    ],
)

# 2. a video task exported with the task level in the layout
t = D / "video_export" / "annotations" / "tracking" / "clips"
dump(
    t / "classes.json",
    [{"id": 1, "name": "person", "parent_id": None}, {"id": 2, "name": "bicycle", "parent_id": None}],
)
dump(t / "annotation_metadata_definitions.json", [{"name": "moving", "type": "boolean"}])
dump(t / "dataset_item_metadata_definitions.json", [])
dump(
    t / "dataset_items.json",
    [
        {
            "index": 0,
            "name": "crossing.mp4",
            "type": "video",
            "width": 320,
            "height": 240,
            "frame_count": 50,
            "metadata": {"fps": 25},
        },
    ],
)
dump(
    t / "annotations.json",
    [
        *[
            {
                "id": 300 + f,
                "dataset_item_index": 0,
                "frame_index": f,
                "type": "Box",
                "class_id": 1,
                "instance_id": 11,
                "box": {"x": 10 + 2 * f, "y": 20, "width": 30, "height": 80, "orientation": 0},
                "annotators": ["cam@example.com"],
                "metadata": {"moving": True},
            }
            for f in (0, 1, 2)
        ],
        {
            "id": 310,
            "dataset_item_index": 0,
            "frame_index": 2,
            "type": "Box",
            "class_id": 2,
            "instance_id": 12,
            "box": {"x": 100, "y": 120, "width": 60, "height": 40, "orientation": 0},
            "annotators": ["cam@example.com"],
            "metadata": {"moving": False},
        },
    ],
)
(D / "video_export" / "datasets" / "clips").mkdir(parents=True, exist_ok=True)

# 3. one annotation set on its own (no export layout), no metadata definitions
f = D / "single_set"
(f).mkdir(parents=True, exist_ok=True)
Image.new("RGB", (20, 10), (0, 0, 0)).save(f / "leaf.jpg")
dump(f / "classes.json", [{"id": 3, "name": "plant", "parent_id": None}, {"id": 4, "name": "leaf", "parent_id": 3}])
dump(f / "dataset_items.json", [{"index": 0, "name": "leaf.jpg", "width": 20, "height": 10, "metadata": {}}])
dump(
    f / "annotations.json",
    [
        {
            "dataset_item_index": 0,
            "type": "Poly",
            "class_id": 4,
            "instance_id": 1,
            "polygons": [[[1, 1], [9, 1], [9, 8], [1, 8]]],
            "is_open": False,
            "metadata": {},
        },
    ],
)
print("ok")
