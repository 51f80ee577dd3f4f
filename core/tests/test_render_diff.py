import json

import labelport
import numpy as np
import pytest
from labelport import cli
from labelport.diff import diff, iou
from labelport.render import label_color, render_dataset, render_item
from labelport.schema import BBox, Dataset, Image, Item, Keypoints, Label, Mask, Polygon, Skeleton, Volume, VolumeMask
from PIL import Image as PILImage


def _item(tmp_path):
    path = tmp_path / "black.png"
    PILImage.new("RGB", (100, 80), (0, 0, 0)).save(path)
    mask = np.zeros((80, 100), bool)
    mask[60:70, 60:90] = True
    return Item(
        id="a",
        media=Image(name="black.png", path=str(path), width=100, height=80),
        annotations=[
            BBox(label="box", x=10, y=10, w=20, h=20),
            Polygon(label="poly", parts=[[50, 5, 90, 5, 90, 45, 50, 45]]),
            Mask.from_array(mask, label="mask"),
            Keypoints(label="person", points=[5, 60, 5, 75], visibility=[2, 2], track_id=3),
        ],
    )


LABELS = [
    Label(name="box", color=(255, 0, 0)),
    Label(name="poly", color=(0, 255, 0)),
    Label(name="mask", color=(0, 0, 255)),
    Label(name="person", color=(255, 255, 0), skeleton=Skeleton(points=["a", "b"], edges=[(0, 1)])),
]


def test_render_draws_each_kind_where_it_is(tmp_path):
    ds = Dataset([_item(tmp_path)], labels=LABELS)
    px = np.asarray(render_item(next(iter(ds)), ds.labels))
    assert tuple(px[20, 10]) == (255, 0, 0)  # the box's left edge, in its label colour
    assert tuple(px[40, 20]) == (0, 0, 0)  # outside every shape the image shows through
    inside = px[25, 70]  # the polygon is filled translucently
    assert inside[1] > 40 and inside[0] < 20 and inside[1] < 255
    assert px[65, 75][2] > 60 and px[65, 75][0] < 20  # the mask, translucent blue
    assert tuple(px[68, 5]) == (255, 255, 0)  # the skeleton edge between the keypoints


def test_render_dataset_writes_pngs_and_contact_sheet(tmp_path):
    ds = Dataset([_item(tmp_path), Item(id="b", subset="val", media=Image(width=30, height=20))], labels=LABELS)
    written = render_dataset(ds, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["default/a.png", "val/b.png"]
    with PILImage.open(tmp_path / "out" / "val" / "b.png") as im:
        assert im.size == (30, 20)  # no image file: a canvas of the media size
    assert (tmp_path / "out" / "contact_sheet.png").is_file()


def test_render_volume_outlines_rois():
    data = np.zeros((20, 20, 5), bool)
    data[5:15, 5:15, 2] = True
    item = Item(id="v", media=Volume(shape=(20, 20, 5)), annotations=[VolumeMask(label="liver", data=data)])
    px = np.asarray(render_item(item))
    color = np.array(label_color("liver"))
    assert (px == color).all(axis=2).sum() > 20  # the ROI outline is drawn


def test_label_colour_is_stable_and_prefers_the_label():
    assert label_color("cat") == label_color("cat") != label_color("dog")


def test_iou_of_boxes_and_masks():
    a, b = BBox(x=0, y=0, w=10, h=10), BBox(x=5, y=0, w=10, h=10)
    assert iou(a, b) == pytest.approx(50 / 150)
    m = np.zeros((10, 10), bool)
    m[:5] = True
    assert iou(Mask.from_array(m), Mask.from_array(m)) == 1.0


def test_diff_finds_added_removed_changed():
    a = Dataset(
        [
            Item(id="x", annotations=[BBox(label="cat", x=0, y=0, w=10, h=10), BBox(label="dog", x=50, y=50, w=5, h=5)]),
            Item(id="gone"),
        ],
        labels=[Label(name="cat"), Label(name="dog")],
    )
    b = Dataset(
        [
            Item(
                id="x",
                annotations=[
                    BBox(label="cat", x=1, y=0, w=10, h=10, attributes={"occluded": True}),
                    BBox(label="bird", x=0, y=0, w=3, h=3),
                ],
            ),
            Item(id="new"),
        ],
        labels=[Label(name="cat"), Label(name="bird")],
    )
    d = diff(a, b)
    assert d.counts() == {
        "items_added": 1,
        "items_removed": 1,
        "annotations_added": 1,
        "annotations_removed": 1,
        "annotations_changed": 1,
    }
    assert d.items[0].changed[0][2] == ["attributes", "x"]
    assert d.labels_added == ["bird"] and d.labels_removed == ["dog"]
    assert diff(a, a).equal


def test_diff_tolerates_rounding():
    a = Dataset([Item(id="x", annotations=[BBox(label="c", x=0, y=0, w=10, h=10)])])
    b = Dataset([Item(id="x", annotations=[BBox(label="c", x=0.2, y=0, w=10, h=10)])])
    assert diff(a, b).equal and not diff(a, b, tolerance=0.1).equal


@pytest.fixture
def toy_cli(monkeypatch, registry):
    import labelport.registry as reg_mod

    monkeypatch.setattr(reg_mod, "_default", registry)


def test_cli_render_and_diff(toy_cli, tmp_path, capsys):
    ds = Dataset([_item(tmp_path)], labels=LABELS[:2])
    ds = ds.with_items([i.model_copy(update={"annotations": i.annotations[:2]}) for i in ds])
    labelport.save(ds, tmp_path / "a", "toy")
    assert cli.main(["render", str(tmp_path / "a"), "-o", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "default" / "a.png").is_file()
    assert cli.main(["diff", str(tmp_path / "a"), str(tmp_path / "a")]) == 0
    moved = ds.with_items([i.model_copy(update={"annotations": i.annotations[:1]}) for i in ds])
    labelport.save(moved, tmp_path / "b", "toy")
    capsys.readouterr()
    assert cli.main(["--json", "diff", str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert json.loads(capsys.readouterr().out)["annotations_removed"] == 1


def test_cli_info_plot(toy_cli, tmp_path):
    pytest.importorskip("matplotlib", reason="the chart needs the [plot] extra")
    labelport.save(Dataset([_item(tmp_path)], labels=LABELS), tmp_path / "a", "toy")
    assert cli.main(["info", str(tmp_path / "a"), "--plot", str(tmp_path / "chart.png")]) == 0
    with PILImage.open(tmp_path / "chart.png") as im:
        assert im.size[0] > 500
