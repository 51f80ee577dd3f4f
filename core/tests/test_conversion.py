from labelport.conversion import fit_items
from labelport.plugin import FormatInfo, Report
from labelport.schema import BBox, Dataset, Ellipse, Image, Item, Keypoints, Label, Polygon

BOXES_ONLY = FormatInfo(name="boxes", title="boxes", annotation_types=frozenset({"bbox"}))


def _ds(*anns, **item):
    return Dataset([Item(id="a", media=Image(width=100, height=50), annotations=list(anns), **item)], labels=[Label(name="x")])


def test_polygon_reduced_to_its_box_and_reported():
    report = Report("boxes")
    items = list(fit_items(_ds(Polygon(label="x", parts=[[10, 5, 30, 5, 20, 25]])), BOXES_ONLY, report))
    box = items[0].annotations[0]
    assert (box.type, box.x, box.y, box.w, box.h, box.label) == ("bbox", 10, 5, 20, 20, "x")
    assert report.losses == {("polygon", "reduced to its box"): 1}


def test_polygon_becomes_mask_when_target_holds_masks():
    info = FormatInfo(name="m", title="m", annotation_types=frozenset({"mask", "bbox"}))
    report = Report("m")
    ann = list(fit_items(_ds(Polygon(label="x", parts=[[0, 0, 10, 0, 10, 10, 0, 10]])), info, report))[0].annotations[0]
    assert ann.type == "mask" and ann.to_array().sum() == 100


def test_rotated_box_becomes_enclosing_box_when_rotation_unsupported():
    report = Report("boxes")
    ann = list(fit_items(_ds(BBox(x=0, y=0, w=10, h=10, rotation=45)), BOXES_ONLY, report))[0].annotations[0]
    assert ann.rotation == 0 and abs(ann.w - 14.142) < 1e-3 and abs(ann.x - (5 - 7.071)) < 1e-3
    assert report.losses[("rotated bbox", "replaced by its axis-aligned enclosing box")] == 1


def test_features_dropped_are_counted():
    report = Report("boxes")
    anns = [BBox(x=0, y=0, w=1, h=1, attributes={"a": 1}, track_id=3, group=1, score=0.5)] * 2
    out = list(fit_items(_ds(*anns, attributes={"k": "v"}, subset="train"), BOXES_ONLY, report))[0]
    assert all(a.attributes == {} and a.track_id is None and a.group is None and a.score is None for a in out.annotations)
    assert report.losses[("annotation attributes", "dropped")] == 2
    assert report.losses[("track ids", "dropped")] == 2
    assert report.losses[("scores", "dropped")] == 2
    assert report.losses[("item attributes", "dropped")] == 1
    assert report.losses[("subset names", "dropped (all items written to one set)")] == 1


def test_unconvertible_kind_dropped():
    report = Report("boxes")
    out = list(fit_items(_ds(Keypoints(points=[1, 2], visibility=[0])), BOXES_ONLY, report))[0]
    assert out.annotations == []  # no visible point: not even a box is left
    assert report.losses == {("keypoints", "dropped (the format cannot hold it)"): 1}


def test_ellipse_to_polygon_stays_inside_its_box():
    info = FormatInfo(name="p", title="p", annotation_types=frozenset({"polygon"}))
    ann = list(fit_items(_ds(Ellipse(cx=50, cy=25, rx=20, ry=10)), info, Report("p")))[0].annotations[0]
    xs, ys = ann.parts[0][0::2], ann.parts[0][1::2]
    assert abs(min(xs) - 30) < 1e-6 and abs(max(ys) - 35) < 0.1


def test_second_pass_restarts_counts():
    ds = _ds(Polygon(label="x", parts=[[0, 0, 1, 0, 1, 1]]))
    report = Report("boxes")
    list(fit_items(ds, BOXES_ONLY, report))
    list(fit_items(ds, BOXES_ONLY, report))
    assert report.items == 1 and sum(report.losses.values()) == 1


def test_untouched_items_are_not_copied():
    ds = _ds(BBox(x=0, y=0, w=1, h=1))
    original = next(iter(ds))
    assert next(fit_items(ds, BOXES_ONLY, Report("boxes"))) is original


def test_format_can_prefer_its_own_fallbacks():
    holds_masks = FormatInfo(name="v", title="v", annotation_types=frozenset({"bbox", "mask"}), fallbacks={"polygon": ("bbox",)})
    report = Report("v")
    ann = list(fit_items(_ds(Polygon(label="x", parts=[[0, 0, 10, 0, 10, 10]])), holds_masks, report))[0].annotations[0]
    assert ann.type == "bbox" and report.losses == {("polygon", "reduced to its box"): 1}


def test_mask_traced_to_polygons_and_keypoints_to_their_box():
    import numpy as np
    from labelport.schema import Mask

    polys = FormatInfo(name="p", title="p", annotation_types=frozenset({"polygon", "bbox"}))
    m = np.zeros((50, 100), bool)
    m[10:20, 10:30] = True
    report = Report("p")
    out = list(
        fit_items(_ds(Mask.from_array(m, label="x"), Keypoints(points=[1, 2, 9, 7, 50, 50], visibility=[2, 1, 0])), polys, report)
    )[0]
    poly, box = out.annotations
    assert poly.type == "polygon" and len(poly.parts) == 1
    assert (box.type, box.x, box.y, box.w, box.h) == ("bbox", 1, 2, 8, 5)
    assert report.losses == {("mask", "traced to polygons"): 1, ("keypoints", "reduced to the box of its visible points"): 1}
