"""CSV specifics: the four layouts, coordinate conversion and inference, layout choice on
write, located errors and reported losses."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image as PILImage

import labelport
from labelport.errors import FormatError
from labelport.plugin import Probe
from labelport.schema import BBox, Dataset, Image, Item, Label, Polygon, Tag

import labelport_csv as plugin

DATA = Path(__file__).parent / "data"


def _csv(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _items(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def _boxes(item: Item) -> list[tuple]:
    return [(a.label, a.x, a.y, a.w, a.h) for a in item.annotations if a.type == "bbox"]


def _dataset(*anns: object, width: int | None = 100, height: int | None = 50, name: str = "a.jpg") -> Dataset:
    labels = sorted({a.label for a in anns if a.label})  # type: ignore[attr-defined]
    item = Item(id=Path(name).stem, media=Image(name=name, width=width, height=height), annotations=list(anns))
    return Dataset([item], labels=[Label(name=n) for n in labels])


# --------------------------------------------------------------------------- reading the layouts


def test_four_corners_become_x_y_w_h() -> None:
    items = _items(labelport.load(DATA / "four_corners.csv"))
    assert _boxes(items["street_01"]) == [("car", 10.0, 20.0, 100.0, 200.0), ("person", 300.5, 40.25, 40.5, 99.75)]
    assert items["empty_road"].annotations == []
    assert items["street_02"].media.name == "street_02.jpg"


def test_width_height_layout_keeps_sizes() -> None:
    items = _items(labelport.load(DATA / "width_height.csv"))
    assert _boxes(items["birds/b1"]) == [("sparrow", 5.0, 6.0, 20.0, 10.0), ("sparrow", 30.5, 2.0, 4.5, 8.0)]


def test_classification_rows_are_image_labels() -> None:
    ds = labelport.load(DATA / "classification.csv")
    items = _items(ds)
    assert [(a.type, a.label) for a in items["cat_01"].annotations] == [("label", "cat"), ("label", "indoor")]
    assert items["unlabelled"].annotations == []
    assert ds.labels.names() == ["cat", "indoor", "dog"]


def test_innotescus_multipart_polygons_and_sizes() -> None:
    items = _items(labelport.load(DATA / "innotescus_segmentation.csv"))
    leaf = items["leaf_1"]
    assert (leaf.media.width, leaf.media.height) == (200, 100)
    first, second = leaf.annotations
    assert first.parts == [[10.0, 10.0, 60.0, 12.0, 40.0, 50.0]]
    assert second.parts == [[100.0, 10.0, 150.0, 10.0, 150.0, 60.0, 100.0, 60.0], [160.0, 70.0, 190.0, 70.0, 175.0, 95.0]]
    assert second.metadata["innotescus_task_type"] == "Instance Segmentation"


def test_innotescus_boxes_keep_their_rotation() -> None:
    items = _items(labelport.load(DATA / "innotescus_detection.csv"))
    ship, buoy = items["ship_1"].annotations
    assert (ship.x, ship.y, ship.w, ship.h, ship.rotation) == (100.0, 50.0, 200.0, 100.0, 30.0)
    assert (buoy.x, buoy.y, buoy.w, buoy.h, buoy.rotation) == (400.0, 300.0, 20.0, 20.0, 0.0)
    assert items["harbour"].annotations == []


def test_innotescus_unquoted_coordinates_and_unknown_task(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", "image name,width,height,task type,class,coordinates,rotation\n"
                "a.jpg,10,10,Mystery,x,[[1,1],[5,1],[5,5]],0\n"
                "a.jpg,10,10,,y,[[1,2],[3,4]],\n"
                "a.jpg,10,10,Image Classification,sunny,,\n")
    (item,) = labelport.load(path)
    poly, box, tag = item.annotations
    assert poly.type == "polygon" and poly.parts == [[1.0, 1.0, 5.0, 1.0, 5.0, 5.0]]
    assert box.type == "bbox" and (box.x, box.y, box.w, box.h) == (1.0, 2.0, 2.0, 2.0)
    assert (tag.type, tag.label) == ("label", "sunny")


def test_tensorflow_csv_sizes_come_from_the_table() -> None:
    items = {(i.subset, i.id): i for i in labelport.load(DATA / "roboflow_tfod")}
    p2 = items[("train", "p2")]
    assert (p2.media.width, p2.media.height) == (416, 320)
    assert _boxes(p2) == [("helmet", 0.0, 0.0, 416.0, 320.0)]
    assert ("valid", "p3") in items


def test_semicolon_tables_and_swapped_corners(tmp_path: Path) -> None:
    path = _csv(tmp_path / "s.csv", "filename;xmin;ymin;xmax;ymax;label\nimg.jpg;50;40;10;20;cat\n")
    (item,) = labelport.load(path)
    assert _boxes(item) == [("cat", 10.0, 20.0, 40.0, 20.0)]
    problems = labelport.validate(path, format="csv")
    assert any("swapped" in p.message and p.location == "line 2" for p in problems)


def test_header_less_table_needs_the_layout(tmp_path: Path) -> None:
    path = _csv(tmp_path / "plain.csv", "img.jpg,1,2,3,4,cat\n")
    with pytest.raises(FormatError, match="unrecognised header"):
        labelport.load(path, format="csv")
    (item,) = labelport.load(path, format="csv", input_layout="width_height")
    assert _boxes(item) == [("cat", 1.0, 2.0, 3.0, 4.0)]


# --------------------------------------------------------------------------- normalised coordinates


def test_normalised_values_are_inferred_from_known_sizes() -> None:
    ds = labelport.load(DATA / "normalized")
    items = _items(ds)
    assert _boxes(items["a"]) == [("apple", 16.0, 16.0, 32.0, 16.0)]
    assert _boxes(items["b"]) == [("pear", 0.0, 0.0, 8.0, 4.0), ("apple", 8.0, 8.0, 8.0, 8.0)]
    assert ds.info.metadata["csv"]["coordinates"] == {"annotations.csv": "normalized"}
    notes = [p for p in labelport.validate(DATA / "normalized", format="csv") if "normalised" in p.message]
    assert notes and notes[0].severity == "warning"


def test_unit_values_without_sizes_stay_pixels_with_a_note(tmp_path: Path) -> None:
    path = _csv(tmp_path / "u.csv", "filename,xmin,ymin,xmax,ymax,label\nnone.jpg,0.1,0.1,0.5,0.5,x\n")
    ds = labelport.load(path)
    (item,) = ds
    assert _boxes(item) == [("x", 0.1, 0.1, 0.4, 0.4)]
    assert "read as pixels" in ds.info.metadata["csv"]["notes"][0]


def test_the_coordinates_option_forces_either_reading() -> None:
    (a, _b) = labelport.load(DATA / "normalized", coordinates="pixel")
    assert _boxes(a) == [("apple", 0.25, 0.5, 0.5, 0.5)]
    big = labelport.load(DATA / "roboflow_tfod", coordinates="normalized")
    p2 = {i.id: i for i in big}["p2"]
    assert _boxes(p2) == [("helmet", 0.0, 0.0, 416.0 * 416, 320.0 * 320)]


def test_forced_normalised_without_sizes_names_the_images(tmp_path: Path) -> None:
    path = _csv(tmp_path / "n.csv", "filename,xmin,ymin,xmax,ymax,label\nlost1.jpg,0,0,1,1,x\nlost2.jpg,0,0,1,1,x\n")
    with pytest.raises(FormatError, match=r"no size for 2 images: lost1.jpg, lost2.jpg"):
        labelport.load(path, coordinates="normalized")


def test_tfod_table_with_normalised_values_uses_its_size_columns(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", "filename,width,height,class,xmin,ymin,xmax,ymax\nq.jpg,200,100,a,0.1,0.2,0.5,1\n")
    (item,) = labelport.load(path)
    assert _boxes(item) == [("a", 20.0, 20.0, 80.0, 80.0)]


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("anns", "header"),
    [
        ((BBox(label="a", x=1, y=2, w=3, h=4),), "filename,xmin,ymin,xmax,ymax,label"),
        ((BBox(label="a", x=1, y=2, w=3, h=4), Tag(label="day")), "filename,xmin,ymin,xmax,ymax,label"),
        ((Tag(label="day"),), "filename,label"),
        ((Polygon(label="p", parts=[[0, 0, 4, 0, 4, 4]]), BBox(label="a", x=1, y=2, w=3, h=4)), "image name,width,height,task type,class,coordinates,rotation"),
        ((BBox(label="a", x=1, y=2, w=3, h=4, rotation=15),), "image name,width,height,task type,class,coordinates,rotation"),
    ],
)
def test_auto_layout_is_the_simplest_that_holds_the_dataset(tmp_path: Path, anns: tuple, header: str) -> None:
    report = labelport.save(_dataset(*anns), tmp_path / "o.csv", "csv")
    assert (tmp_path / "o.csv").read_text().splitlines()[0] == header
    assert report.lossless
    (item,) = labelport.load(tmp_path / "o.csv", format="csv")
    assert sorted(a.type for a in item.annotations) == sorted(a.type for a in anns)


def test_corner_values_written_exactly(tmp_path: Path) -> None:
    labelport.save(_dataset(BBox(label="car", x=10, y=20.5, w=100, h=0.1), Tag(label="night")), tmp_path / "o.csv", "csv")
    assert (tmp_path / "o.csv").read_text().splitlines()[1:] == ["a.jpg,10,20.5,110,20.6,car", "a.jpg,,,,,night"]


def test_the_layout_read_is_the_layout_written(tmp_path: Path) -> None:
    labelport.save(labelport.load(DATA / "width_height.csv"), tmp_path / "o.csv", "csv")
    assert (tmp_path / "o.csv").read_text() == (DATA / "width_height.csv").read_text()


def test_innotescus_written_as_unrotated_corners_plus_rotation(tmp_path: Path) -> None:
    ds = _dataset(BBox(label="ship", x=10, y=20, w=30, h=40, rotation=30), Polygon(label="p", parts=[[0, 0, 4, 0, 4, 4], [5, 5, 6, 5, 6, 6]]))
    labelport.save(ds, tmp_path / "o.csv", "csv")
    lines = (tmp_path / "o.csv").read_text().splitlines()
    assert lines[1] == 'a.jpg,100,50,Object Detection,ship,"[[10,20],[40,20],[40,60],[10,60]]",30'
    assert lines[2] == 'a.jpg,100,50,Instance Segmentation,p,"[[[0,0],[4,0],[4,4]],[[5,5],[6,5],[6,6]]]",0'


def test_forced_box_layout_reports_what_it_reduces(tmp_path: Path) -> None:
    ds = _dataset(Polygon(label="p", parts=[[0, 0, 10, 0, 10, 20]]), BBox(label="r", x=10, y=10, w=10, h=4, rotation=90))
    report = labelport.save(ds, tmp_path / "o.csv", "csv", output_layout="corners")
    assert report.losses[("polygon", "reduced to its box")] == 1
    assert report.losses[("rotated bbox", "replaced by its axis-aligned enclosing box")] == 1
    (item,) = labelport.load(tmp_path / "o.csv")
    assert _boxes(item)[0] == ("p", 0.0, 0.0, 10.0, 20.0)
    assert _boxes(item)[1] == pytest.approx(("r", 13.0, 7.0, 4.0, 10.0))


def test_forced_classification_drops_shapes_with_a_loss(tmp_path: Path) -> None:
    report = labelport.save(_dataset(BBox(label="a", x=0, y=0, w=1, h=1), Tag(label="t")), tmp_path / "o.csv", "csv", output_layout="classification")
    assert report.losses[("bbox", "dropped (a classification table holds image labels only)")] == 1
    assert (tmp_path / "o.csv").read_text().splitlines() == ["filename,label", "a.jpg,t"]


def test_normalised_output_round_trips(tmp_path: Path) -> None:
    ds = _dataset(BBox(label="a", x=10, y=5, w=50, h=25), Polygon(label="p", parts=[[0, 0, 100, 0, 100, 50]]))
    report = labelport.save(ds, tmp_path / "o.csv", "csv", normalized=True)
    assert 'a.jpg,100,50,Object Detection,a,"[[0.1,0.1],[0.6,0.1],[0.6,0.6],[0.1,0.6]]",0' in (tmp_path / "o.csv").read_text()
    assert report.notes
    (item,) = labelport.load(tmp_path / "o.csv")
    assert _boxes(item) == [("a", 10.0, 5.0, 50.0, 25.0)]


def test_normalised_output_needs_sizes(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="image size of item 'a'"):
        labelport.save(_dataset(BBox(label="a", x=1, y=1, w=1, h=1), width=None, height=None), tmp_path / "o.csv", "csv", normalized=True)
    assert not (tmp_path / "o.csv").exists()


def test_decimals_option_rounds(tmp_path: Path) -> None:
    labelport.save(_dataset(BBox(label="a", x=1 / 3, y=2, w=1, h=1)), tmp_path / "o.csv", "csv", decimals=2)
    assert (tmp_path / "o.csv").read_text().splitlines()[1] == "a.jpg,0.33,2,1.33,3,a"


def test_subsets_are_one_table_each(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "roboflow_tfod")
    labelport.save(ds, tmp_path / "out", "csv")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["train.csv", "valid.csv"]
    assert sorted((i.subset, i.id) for i in labelport.load(tmp_path / "out")) == [("train", "p1"), ("train", "p2"), ("valid", "p3")]
    report = labelport.save(ds, tmp_path / "one.csv", "csv")
    assert ("subset names", "merged into one file (write to a folder to keep subsets)") in report.losses


def test_labels_with_delimiters_survive(tmp_path: Path) -> None:
    labelport.save(_dataset(BBox(label='big, "red" car', x=0, y=0, w=2, h=2)), tmp_path / "o.csv", "csv")
    (item,) = labelport.load(tmp_path / "o.csv")
    assert item.annotations[0].label == 'big, "red" car'


def test_media_copies_are_found_again(tmp_path: Path) -> None:
    report = labelport.save(labelport.load(DATA / "normalized"), tmp_path / "out", "csv", save_media="copy")
    assert not report.missing_media and (tmp_path / "out" / "images" / "a.png").is_file()
    # pixel values now, read back as pixels whatever the sizes
    assert _boxes(_items(labelport.load(tmp_path / "out"))["a"]) == [("apple", 16.0, 16.0, 32.0, 16.0)]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "location", "message"),
    [
        ("filename,xmin,ymin,xmax,ymax,label\na.jpg,1,2,3,4,x\nb.jpg,one,2,3,4,x\n", "line 3, column 'xmin'", "expected a number, got 'one'"),
        ("filename,xmin,ymin,xmax,ymax,label\na.jpg,1,2,3,x\n", "line 2", "expected 6 columns"),
        ("filename,xmin,ymin,xmax,ymax,label\na.jpg,1,nan,3,4,x\n", "line 2, column 'ymin'", "not finite"),
        ("filename,xmin,ymin,xmax,ymax,label\na.jpg,1,,3,4,x\n", "line 2", "incomplete box: ymin empty"),
        ("filename,xmin,ymin,width,height,label\na.jpg,1,1,-3,4,x\n", "line 2", "negative box size"),
        ("filename,xmin,ymin,xmax,ymax,label\n,1,1,3,4,x\n", "line 2, column 'filename'", "empty file name"),
        ("image name,width,height,task type,class,coordinates,rotation\na.jpg,9,9,Segmentation,x,\"[[1,2],[3\",0\n",
         "line 2, column 'coordinates'", "not a [[x, y], ...] list"),
        ("image name,width,height,task type,class,coordinates,rotation\na.jpg,9,9,Segmentation,x,\"[[1,2],[3,4]]\",0\n",
         "line 2, column 'coordinates'", "at least 3 are needed"),
        ("image name,width,height,task type,class,coordinates,rotation\na.jpg,9,9,Segmentation,x,\"[[1,2],[3,\"\"a\"\"],[5,6]]\",0\n",
         "line 2, column 'coordinates'[1][1]", "expected a number"),
        ("image name,width,height,task type,class,coordinates,rotation\na.jpg,0,9,Segmentation,x,,0\n", "line 2", "not positive"),
    ],
)
def test_bad_rows_raise_located_errors(tmp_path: Path, text: str, location: str, message: str) -> None:
    path = _csv(tmp_path / "bad.csv", text)
    with pytest.raises(FormatError) as err:
        labelport.load(path, format="csv")
    assert err.value.location == location and message in err.value.message, str(err.value)
    assert err.value.file == str(path)
    assert any(p.location == location for p in labelport.validate(path, format="csv"))


def test_text_that_is_not_utf8_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"filename,label\na.jpg,ok\nb.jpg,caf\xe9\n")
    with pytest.raises(FormatError) as err:
        labelport.load(path, format="csv")
    assert err.value.location == "line 3"


def test_image_sizes_that_disagree_are_errors(tmp_path: Path) -> None:
    path = _csv(tmp_path / "s.csv", "image name,width,height,task type,class,coordinates,rotation\n"
                "a.jpg,10,10,Object Detection,x,\"[[1,1],[2,2]]\",0\na.jpg,12,10,Object Detection,x,\"[[1,1],[3,3]]\",0\n")
    errors = [p for p in labelport.validate(path, format="csv") if p.severity == "error"]
    assert [(p.location, "differs" in p.message) for p in errors] == [("line 3", True)]


def test_names_leaving_the_dataset_are_never_followed(tmp_path: Path) -> None:
    PILImage.new("RGB", (4, 4)).save(tmp_path / "secret.png")
    path = _csv(tmp_path / "ds" / "a.csv", "filename,label\n../secret.png,x\n")
    (item,) = labelport.load(path)
    assert item.media.path is None


# --------------------------------------------------------------------------- detection


def test_exact_headers_outrank_aliases_and_text_files(tmp_path: Path) -> None:
    exact = plugin.labelport_detect(probe=Probe(DATA / "four_corners.csv"))
    tfod = plugin.labelport_detect(probe=Probe(DATA / "roboflow_tfod" / "train" / "_annotations.csv"))
    txt = plugin.labelport_detect(probe=Probe(_csv(tmp_path / "boxes.txt", (DATA / "four_corners.csv").read_text())))
    classes = plugin.labelport_detect(probe=Probe(DATA / "classification.csv"))
    assert exact.confidence >= 0.9 > tfod.confidence > txt.confidence
    assert classes.confidence <= 0.6


@pytest.mark.parametrize(
    "header",
    [
        "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded",  # Open Images boxes
        "ImageID,Source,LabelName,Confidence",  # Open Images image labels
        "NAME_ID,X,Y,W,H",  # VGGFace2 boxes
        "filename, label_0, label_1",  # Roboflow multi-class one-hot table
        "city,population",
        "x,y,width,height",
    ],
)
def test_other_tables_are_not_claimed(tmp_path: Path, header: str) -> None:
    path = _csv(tmp_path / "t.csv", header + "\nsome,1,2,3,4,5,6,7,8\n")
    assert plugin.labelport_detect(probe=Probe(path)) is None


def test_normalised_output_does_not_need_sizes_for_image_labels(tmp_path: Path) -> None:
    labelport.save(_dataset(Tag(label="t"), width=None, height=None), tmp_path / "o.csv", "csv", normalized=True, output_layout="corners")
    assert (tmp_path / "o.csv").read_text().splitlines()[1] == "a.jpg,,,,,t"
