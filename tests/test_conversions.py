"""Every conversion either keeps an annotation or reports what it did with it: no silent drops.

A dataset holding every annotation kind and feature is written to each installed image format
and read back; whatever the target cannot hold must appear in the conversion report."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import labelport
from labelport.schema import (
    BBox,
    Caption,
    Cuboid2D,
    Dataset,
    Ellipse,
    Image,
    Item,
    Keypoints,
    Label,
    Mask,
    Points,
    Polygon,
    Polyline,
    Skeleton,
    Tag,
)

IMAGE_FORMATS = sorted(f.name for f in labelport.formats() if f.can_write and f.can_read and "image" in f.media)
CVAT_DATA = Path(__file__).resolve().parents[1] / "plugins" / "labelport-cvat" / "tests" / "data"


def _everything(tmp_path: Path) -> Dataset:
    items = []
    for k in range(3):
        path = tmp_path / f"img{k}.png"
        PILImage.new("RGB", (120, 90), (10 * k, 20, 30)).save(path)
        mask = np.zeros((90, 120), bool)
        mask[60:80, 10:40] = True
        anns = [
            BBox(label="car", x=10, y=10, w=30, h=20, attributes={"occluded": True}, z_order=1),
            BBox(label="car", x=50, y=10, w=20, h=10, rotation=30),
            Polygon(label="road", parts=[[0, 50, 60, 50, 60, 70, 0, 70], [70, 50, 90, 50, 90, 60]]),
            Polyline(label="lane", points=[0, 80, 60, 85, 110, 88]),
            Points(label="light", points=[100, 5, 105, 6]),
            Keypoints(label="person", points=[80, 20, 85, 40, 90, 60], visibility=[2, 1, 2], group=7),
            BBox(label="person", x=75, y=15, w=20, h=50, group=7),
            Ellipse(label="sign", cx=100, cy=70, rx=8, ry=5),
            Cuboid2D(label="car", points=[float(v) for v in range(10, 26)]),
            Mask.from_array(mask, label="road"),
            Tag(label="daytime"),
            Caption(text="a street"),
            BBox(label="car", x=1, y=1, w=5, h=5, track_id=3, score=0.9),
        ]
        items.append(Item(id=f"img{k}", subset="train" if k else "val", media=Image(name=path.name, path=str(path), width=120, height=90), annotations=anns))
    labels = [Label(name=n) for n in ("car", "road", "lane", "light", "sign", "daytime")]
    labels.append(Label(name="person", skeleton=Skeleton(points=["head", "hip", "foot"], edges=[(0, 1), (1, 2)])))
    return Dataset(items, labels=labels)


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_nothing_is_dropped_silently(fmt, tmp_path):
    source = _everything(tmp_path)
    info = labelport.formats()
    info = next(f for f in info if f.name == fmt)
    report = labelport.save(source, tmp_path / "out", fmt, save_media="copy")
    before = sum(len(i.annotations) for i in source)
    after = sum(len(i.annotations) for i in labelport.load(tmp_path / "out", format=fmt))
    lost = sum(report.losses.values())
    assert before - after <= lost, f"{before - after} annotations missing, {lost} losses reported:\n{report}"
    kinds = {a.type for i in source for a in i.annotations}
    for kind in kinds - info.annotation_types:
        assert any(what == kind for what, _ in report.losses), f"{kind} is not held by {fmt} and not reported:\n{report}"


@pytest.mark.skipif(not {"cvat", "coco"} <= set(IMAGE_FORMATS), reason="needs labelport-cvat and labelport-coco")
def test_cvat_to_coco_reports_polylines_points_and_outside_frames_by_count(tmp_path):
    images = CVAT_DATA / "images_task"
    source = [a for i in labelport.load(images, format="cvat") for a in i.annotations]
    report = labelport.convert(images, tmp_path / "coco", to="coco")
    for kind in ("polyline", "points", "cuboid_2d"):
        lost = sum(c for (what, _), c in report.losses.items() if what == kind)
        assert lost == sum(a.type == kind for a in source) > 0, report
    video = labelport.load(CVAT_DATA / "video_task.xml", format="cvat").materialize()
    outside = sum(a.outside for i in video for a in i.annotations)
    report = labelport.convert(CVAT_DATA / "video_task.xml", tmp_path / "coco-video", to="coco")
    assert outside and report.losses[("track frames where the object is outside", "dropped")] == outside
    back = [a for i in labelport.load(tmp_path / "coco-video", format="coco") for a in i.annotations]
    assert sorted({a.track_id for a in back if a.track_id is not None}) == sorted(
        {a.track_id for i in video for a in i.annotations if a.track_id is not None and not a.outside}
    )
