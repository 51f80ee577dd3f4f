"""Build the synthetic Nucleus samples in data/ (written from the Nucleus client's payload format; run once)."""

import json
from pathlib import Path

import numpy as np
from PIL import Image

D = Path(__file__).parent / "data"


def jl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


# 1. a folder as the writer makes it: items, annotations, taxonomies, a mask
f = D / "image_folder"
(f / "images").mkdir(parents=True, exist_ok=True)
Image.new("RGB", (32, 24), (90, 120, 30)).save(f / "images" / "street_1.png")
Image.new("RGB", (40, 30), (10, 20, 200)).save(f / "images" / "street_2.png")
jl(
    f / "items.jsonl",
    [
        {
            "reference_id": "street_1",
            "image_url": "images/street_1.png",
            "metadata": {"weather": "sunny", "frame_number": 1},
        },
        {"reference_id": "street_2", "image_url": "images/street_2.png", "metadata": {}, "upload_to_scale": False},
    ],
)
jl(
    f / "annotations.jsonl",
    [
        {
            "label": "car",
            "type": "box",
            "geometry": {"x": 2, "y": 3.5, "width": 10, "height": 6.25},
            "reference_id": "street_1",
            "annotation_id": "car_1",
            "metadata": {"color": "red"},
            "embedding_vector": [0.25, -1.5, 3.0],
            "track_reference_id": "red_car",
        },
        {
            "label": "car",
            "type": "box",
            "geometry": {"x": 14, "y": 4, "width": 8, "height": 8},
            "reference_id": "street_1",
            "metadata": {},
        },
        {
            "label": "road",
            "type": "polygon",
            "geometry": {"vertices": [{"x": 0, "y": 20}, {"x": 31, "y": 20}, {"x": 31, "y": 23}, {"x": 0, "y": 23}]},
            "reference_id": "street_1",
            "annotation_id": "road_1",
            "metadata": {},
        },
        {
            "label": "lane",
            "type": "line",
            "geometry": {"vertices": [{"x": 1, "y": 21.5}, {"x": 16, "y": 21}, {"x": 30, "y": 21.5}]},
            "reference_id": "street_1",
            "metadata": {"dashed": True},
        },
        {
            "label": "person",
            "type": "keypoints",
            "geometry": {
                "keypoints": [
                    {"x": 20, "y": 5, "visible": True},
                    {"x": 18, "y": 9, "visible": False},
                    {"x": None, "y": None, "visible": False},
                ],
                "names": ["head", "left_hand", "right_hand"],
                "skeleton": [[0, 1], [0, 2]],
            },
            "reference_id": "street_2",
            "metadata": {},
        },
        {
            "label": "daytime",
            "type": "category",
            "geometry": {},
            "reference_id": "street_1",
            "taxonomy_name": "time_of_day",
            "metadata": {},
        },
        {
            "labels": ["wet", "crowded"],
            "type": "multicategory",
            "geometry": {},
            "reference_id": "street_2",
            "taxonomy_name": "conditions",
            "metadata": {},
        },
        {
            "type": "mask",
            "mask_url": "masks/street_2_mask.png",
            "annotations": [
                {"label": "sky", "index": 1},
                {"label": "building", "index": 2, "metadata": {"height": "tall"}},
            ],
            "reference_id": "street_2",
            "annotation_id": "street_2_mask",
        },
    ],
)
mask = np.zeros((30, 40), np.uint8)
mask[:10] = 1
mask[12:20, 5:15] = 2
(f / "masks").mkdir(exist_ok=True)
Image.fromarray(mask).save(f / "masks" / "street_2_mask.png")
(f / "taxonomies.json").write_text(
    json.dumps(
        [
            {"taxonomy_name": "time_of_day", "type": "category", "labels": ["daytime", "night"]},
            {"taxonomy_name": "conditions", "type": "category", "labels": ["wet", "dry", "crowded"]},
        ],
        indent=1,
    )
)

# 2. an annotate request body: boxes without ids (ids from the client's rule)
(D / "annotate_request.json").write_text(
    json.dumps(
        {
            "annotations": [
                {
                    "label": "dog",
                    "type": "box",
                    "geometry": {"x": 10, "y": 20, "width": 30.5, "height": 40},
                    "reference_id": "pets_001",
                    "metadata": {},
                },
                {
                    "label": "cat",
                    "type": "box",
                    "geometry": {"x": 0, "y": 0, "width": 5, "height": 5},
                    "reference_id": "pets_002",
                    "metadata": {"sleeping": True},
                },
                {
                    "label": "cat",
                    "type": "polygon",
                    "geometry": {"vertices": [{"x": 1, "y": 1}, {"x": 4, "y": 1}, {"x": 2.5, "y": 4}]},
                    "reference_id": "pets_002",
                    "metadata": {},
                },
            ],
            "update": False,
        },
        indent=1,
    )
)

# 3. an export: rows of item + annotations by type
(D / "export_rows.json").write_text(
    json.dumps(
        [
            {
                "item": {
                    "reference_id": "frame_a",
                    "original_image_url": "s3://bucket/path/frame_a.jpg",
                    "metadata": {"camera": "front"},
                },
                "box": [
                    {
                        "label": "truck",
                        "geometry": {"x": 100, "y": 50, "width": 200, "height": 120},
                        "annotation_id": "t1",
                        "metadata": {},
                    }
                ],
                "polygon": [],
                "line": [],
                "cuboid": [],
                "keypoints": [],
                "category": [{"label": "highway", "taxonomy_name": "road_type", "annotation_id": "c1", "metadata": {}}],
                "multicategory": [],
                "segmentation": None,
            },
            {
                "item": {
                    "reference_id": "frame_b",
                    "original_image_url": "s3://bucket/path/frame_b.jpg",
                    "metadata": {},
                },
                "box": [],
                "polygon": [
                    {
                        "label": "sign",
                        "geometry": {"vertices": [{"x": 5, "y": 5}, {"x": 9, "y": 5}, {"x": 7, "y": 1}]},
                        "annotation_id": "s1",
                        "metadata": {},
                    }
                ],
                "line": [],
                "cuboid": [],
                "keypoints": [],
                "category": [],
                "multicategory": [],
                "segmentation": None,
            },
        ],
        indent=1,
    )
)

# 4. a video scene given as frames, objects tracked across them, a scene category
v = D / "video_scene"
(v / "frames").mkdir(parents=True, exist_ok=True)
for k in range(3):
    Image.new("RGB", (16, 12), (k * 60, 0, 0)).save(v / "frames" / f"{k:03d}.png")
jl(
    v / "scenes.jsonl",
    [
        {
            "reference_id": "drive_1",
            "frame_rate": 10,
            "metadata": {"city": "Lyon"},
            "frames": [
                {"reference_id": f"drive_1_{k}", "url": f"frames/{k:03d}.png", "type": "image", "metadata": {"t": k}}
                for k in range(3)
            ],
        },
    ],
)
jl(
    v / "annotations.jsonl",
    [
        *[
            {
                "label": "bike",
                "type": "box",
                "geometry": {"x": 1 + k, "y": 2, "width": 4, "height": 3},
                "reference_id": f"drive_1_{k}",
                "track_reference_id": "bike_a",
                "metadata": {},
            }
            for k in range(3)
        ],
        {
            "label": "car",
            "type": "box",
            "geometry": {"x": 8, "y": 6, "width": 5, "height": 4},
            "reference_id": "drive_1_1",
            "track_reference_id": "7",
            "metadata": {},
        },
        {
            "label": "rainy",
            "type": "category",
            "geometry": {},
            "reference_id": "drive_1",
            "taxonomy_name": "weather",
            "metadata": {},
        },
    ],
)

# 5. a point cloud item and its cuboids in one JSON Lines file
jl(
    D / "lidar.jsonl",
    [
        {"reference_id": "sweep_0", "pointcloud_url": "s3://bucket/lidar/sweep_0.json", "metadata": {}},
        {
            "label": "car",
            "type": "cuboid",
            "geometry": {
                "position": {"x": 10.5, "y": -2, "z": 0.8},
                "dimensions": {"x": 4.2, "y": 1.8, "z": 1.5},
                "yaw": 0.5,
            },
            "reference_id": "sweep_0",
            "annotation_id": "cub_1",
            "metadata": {"moving": True},
            "track_reference_id": "car_1",
        },
        {
            "label": "pedestrian",
            "type": "cuboid",
            "geometry": {
                "position": {"x": 3, "y": 4, "z": 0.9},
                "dimensions": {"x": 0.6, "y": 0.6, "z": 1.8},
                "yaw": 0,
            },
            "reference_id": "sweep_0",
            "metadata": {},
        },
    ],
)
print("ok")
