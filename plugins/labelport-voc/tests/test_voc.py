"""Pascal VOC behaviour: 1-based boxes, lenient reading, lists, parts, actions, segmentation PNGs,
errors with locations, validation and reported losses."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import labelport
from labelport.errors import FormatError, UnsafeInputError
from labelport.schema import BBox, Dataset, Image, Item, Label, Mask, Polygon, Tag

DATA = Path(__file__).parent / "data"


def load(path: Path, **options) -> Dataset:
    return labelport.load(path, format="voc", **options).materialize()


def items(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def boxes(item: Item) -> list[BBox]:
    return [a for a in item.annotations if a.type == "bbox"]


def xml_numbers(path: Path) -> list[str]:
    return re.findall(r"<(?:xmin|ymin|xmax|ymax)>\s*([^<]*?)\s*</", path.read_text())


VOC_XML = """<annotation>
	<filename>{name}.jpg</filename>
	<size><width>40</width><height>30</height><depth>3</depth></size>
	<segmented>0</segmented>
	{objects}
</annotation>
"""


def voc_object(name: str = "cat", box: tuple = (1, 2, 3, 4), extra: str = "") -> str:
    xmin, ymin, xmax, ymax = box
    return (
        f"<object><name>{name}</name>{extra}<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
        f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
    )


def write_voc(root: Path, xmls: dict[str, str], lists: dict[str, str] | None = None, labelmap: str | None = None) -> Path:
    for name, objects in xmls.items():
        path = root / "Annotations" / f"{name}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(VOC_XML.format(name=name, objects=objects))
    for rel, text in (lists or {}).items():
        path = root / "ImageSets" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if labelmap is not None:
        (root / "labelmap.txt").write_text(labelmap)
    return root


# --------------------------------------------------------------------------- coordinates


def test_one_based_inclusive_boxes_become_canonical_pixels() -> None:
    frames = items(load(DATA / "cvat_export"))
    (whole,) = boxes(frames["frame_000001"])
    # xmin=1..xmax=48 on a 48 px wide image covers every pixel: [0, 48)
    assert (whole.x, whole.y, whole.w, whole.h) == (0.0, 0.0, 48.0, 32.0)
    light = next(b for b in boxes(frames["frame_000000"]) if b.label == "traffic light")
    assert (light.x, light.y, light.w, light.h) == (29.5, 0.0, 5.75, 12.0)


def test_writer_writes_one_based_inclusive_pixels(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="a", media=Image(name="a.jpg", width=20, height=10), annotations=[
            BBox(label="cat", x=0, y=0, w=20, h=10),
            BBox(label="dog", x=2.5, y=1.25, w=3, h=0.5),
        ])],
        labels=[Label(name="cat"), Label(name="dog")],
    )
    labelport.save(ds, tmp_path / "out", "voc")
    assert xml_numbers(tmp_path / "out" / "Annotations" / "a.xml") == ["1", "1", "20", "10", "3.5", "2.25", "5.5", "1.75"]


def test_voc_to_voc_keeps_the_numbers_as_written(tmp_path: Path) -> None:
    labelport.save(load(DATA / "loose_xml"), tmp_path / "out", "voc")
    for src, dst in (("IMG_0001", "IMG_0001"), ("scan_02", "scan_02"), ("IMG_0003", "IMG_0003")):
        before = xml_numbers(DATA / "loose_xml" / f"{src}.xml")
        assert xml_numbers(tmp_path / "out" / "Annotations" / f"{dst}.xml") == before
    assert "7.369003690036" in (tmp_path / "out" / "Annotations" / "IMG_0001.xml").read_text()


def test_a_moved_box_is_written_from_its_new_geometry(tmp_path: Path) -> None:
    ds = load(DATA / "loose_xml")
    moved = []
    for item in ds:
        anns = [a.model_copy(update={"x": a.x + 1}) if a.type == "bbox" else a for a in item.annotations]
        moved.append(item.model_copy(update={"annotations": anns}))
    labelport.save(ds.with_items(moved), tmp_path / "out", "voc")
    assert xml_numbers(tmp_path / "out" / "Annotations" / "IMG_0001.xml") == ["11", "7.369003690036", "34.5", "29"]


# --------------------------------------------------------------------------- lenient reading


def test_files_other_tools_write_are_read_leniently() -> None:
    loose = items(load(DATA / "loose_xml"))
    (cat,) = boxes(loose["IMG_0001"])
    assert cat.attributes == {}  # empty <pose/> and <truncated/>, no <difficult>: VOC's defaults
    assert (loose["IMG_0001"].media.width, loose["IMG_0001"].media.height) == (40, 30)  # <height> came first
    # the XML is named after the scan: the image is matched by <filename>
    assert Path(loose["scan_02"].media.path).name == "IMG_0002.jpg"
    assert {b.label: b.attributes for b in boxes(loose["scan_02"])} == {"dog": {}, "cat": {"difficult": True}}
    # <filename> names a missing file: the image with the XML's stem is used, the name is kept
    assert Path(loose["IMG_0003"].media.path).name == "IMG_0003.jpg"
    assert loose["IMG_0003"].media.name == "renamed_later.png"


def test_zero_size_is_unknown_and_read_from_the_image(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    xml = VOC_XML.format(name="a", objects=voc_object()).replace("<width>40</width><height>30</height>", "<width>0</width><height>0</height>")
    (root / "Annotations").mkdir(parents=True)
    (root / "Annotations" / "a.xml").write_text(xml)
    (root / "JPEGImages").mkdir()
    PILImage.new("RGB", (17, 9)).save(root / "JPEGImages" / "a.jpg")
    (item,) = load(root)
    assert (item.media.width, item.media.height) == (17, 9)


def test_a_single_xml_file_is_a_dataset() -> None:
    (item,) = load(DATA / "single.xml")
    assert item.id == "single" and item.media.name == "000005.jpg"
    assert [b.attributes for b in boxes(item)] == [{"pose": "Rear"}, {"truncated": True, "difficult": True}]
    assert item.metadata["voc_owner"] == {"flickrid": "someone", "name": "A. Photographer"}


# --------------------------------------------------------------------------- ImageSets lists


def test_trainval_is_not_read_a_second_time() -> None:
    ds = load(DATA / "devkit")
    assert sorted((i.subset, i.id) for i in ds) == [("train", "2008_000001"), ("train", "2008_000002"), ("val", "2008_000003")]


def test_trainval_that_is_not_train_plus_val_is_a_subset(tmp_path: Path) -> None:
    root = shutil.copytree(DATA / "devkit" / "VOC2012", tmp_path / "voc")
    (root / "ImageSets/Main/trainval.txt").write_text("2008_000001\n2008_000002\n2008_000003\nextra\n")
    assert sorted({i.subset for i in load(root)}) == ["train", "trainval", "val"]


def test_list_comments_and_underscored_subset_names(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "ds", {"a": voc_object(), "b": voc_object()}, {"Main/train_aug.txt": "# augmented\na\n\nb\n"})
    assert sorted((i.subset, i.id) for i in load(root)) == [("train_aug", "a"), ("train_aug", "b")]


def test_class_lists_are_image_labels_and_are_written_back(tmp_path: Path) -> None:
    ds = items(load(DATA / "devkit"))
    tags = {i: sorted((a.label, a.attributes.get("difficult", False)) for a in ds[i].annotations if a.type == "label") for i in ds}
    assert tags == {
        "2008_000001": [("dog", True), ("person", False)],  # dog 0: only difficult dogs
        "2008_000002": [("car", False)],
        "2008_000003": [("dog", False)],
    }
    labelport.save(load(DATA / "devkit"), tmp_path / "out", "voc")
    main = tmp_path / "out" / "ImageSets" / "Main"
    assert (main / "dog_train.txt").read_text() == "2008_000001  0\n2008_000002 -1\n"
    assert (main / "person_train.txt").read_text() == "2008_000001  1\n2008_000002 -1\n"
    assert (main / "train.txt").read_text() == "2008_000001\n2008_000002\n"


# --------------------------------------------------------------------------- person layout and actions


def test_parts_are_boxes_in_their_objects_group(tmp_path: Path) -> None:
    ds = load(DATA / "cvat_export")
    frame = items(ds)["frame_000000"]
    person = next(b for b in boxes(frame) if b.label == "person")
    parts = [b for b in boxes(frame) if b.label in ("head", "hand")]
    assert person.group == 3 and [p.group for p in parts] == [3, 3]
    assert ds.labels["head"].metadata == {"voc_part_of": "person"}
    labelport.save(ds, tmp_path / "out", "voc")
    out = tmp_path / "out"
    assert "person:240,120,240:head,hand:" in (out / "labelmap.txt").read_text().splitlines()
    xml = (out / "Annotations" / "frame_000000.xml").read_text()
    person_xml = xml[xml.index("<name>person</name>") :]
    assert person_xml.index("<part>") < person_xml.index("</object>") and person_xml.count("<part>") == 2
    assert (out / "ImageSets" / "Layout" / "default.txt").read_text() == "frame_000000  3\n"


def test_actions_are_boolean_attributes_declared_on_the_label(tmp_path: Path) -> None:
    ds = load(DATA / "devkit")
    person = boxes(items(ds)["2008_000001"])[0]
    assert {k: person.attributes[k] for k in ("jumping", "phoning", "reading")} == {"jumping": True, "phoning": False, "reading": False}
    assert [(a.name, a.type) for a in ds.labels["person"].attributes] == [("jumping", "bool"), ("phoning", "bool"), ("reading", "bool")]
    labelport.save(ds, tmp_path / "out", "voc")
    out = tmp_path / "out"
    xml = (out / "Annotations" / "2008_000001.xml").read_text()
    assert "<jumping>1</jumping>" in xml and "<phoning>0</phoning>" in xml
    assert "<x>14</x>" in xml  # the action task's reference point
    assert (out / "ImageSets" / "Action" / "jumping_train.txt").read_text() == "2008_000001  1  1\n"
    assert "person:192,128,128:head,foot:jumping,phoning,reading" in (out / "labelmap.txt").read_text()


def test_custom_attributes_keep_their_types(tmp_path: Path) -> None:
    car = boxes(items(load(DATA / "cvat_export"))["frame_000000"])[0]
    assert car.attributes == {"occluded": True, "color": "red", "doors": 4, "parked": True}
    labelport.save(load(DATA / "cvat_export"), tmp_path / "out", "voc")
    again = boxes(items(load(tmp_path / "out"))["frame_000000"])[0]
    assert again.attributes == car.attributes


# --------------------------------------------------------------------------- segmentation


def test_palette_pngs_are_read_by_index_not_colour(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "SegmentationClass").mkdir(parents=True)
    index = np.zeros((6, 8), np.uint8)
    index[1:4, 2:6] = 7  # class 7 is "car"
    im = PILImage.fromarray(index)
    palette = np.random.default_rng(3).integers(0, 256, (256, 3), dtype=np.uint8)  # colours that mean nothing
    im.putpalette(palette.ravel().tolist())
    im.save(root / "SegmentationClass" / "x.png")
    (item,) = load(root)
    (mask,) = item.annotations
    assert (mask.label, mask.semantics, int(mask.to_array().sum())) == ("car", "class", 12)


def test_instances_take_their_class_and_void_survives_a_round_trip(tmp_path: Path) -> None:
    item = items(load(DATA / "devkit"))["2008_000002"]
    masks = {a.label: a for a in item.annotations if a.type == "mask"}
    assert {k: (m.semantics, int(m.to_array().sum())) for k, m in masks.items()} == {"car": ("instance", 48), "bottle": ("instance", 24)}
    labelport.save(load(DATA / "devkit"), tmp_path / "out", "voc")
    for folder in ("SegmentationClass", "SegmentationObject"):
        before = np.asarray(PILImage.open(DATA / "devkit" / "VOC2012" / folder / "2008_000002.png"))
        after = PILImage.open(tmp_path / "out" / folder / "2008_000002.png")
        assert after.mode == "P" and np.array_equal(np.asarray(after), before), folder
    assert (tmp_path / "out" / "ImageSets" / "Segmentation" / "train.txt").read_text() == "2008_000002\n"


def test_colour_masks_map_through_labelmap_colours() -> None:
    street = items(load(DATA / "segmentation_mask"))["street_1"]
    found = sorted((a.label, a.semantics, int(a.to_array().sum())) for a in street.annotations)
    # road is stuff (class pixels outside every instance); two trees and a sign are instances
    assert found == [("road", "class", 192), ("sign", "instance", 9), ("tree", "instance", 80), ("tree", "instance", 80)]


def test_grayscale_index_masks(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    for folder, value in (("SegmentationClass", 12), ("SegmentationObject", 1)):
        (root / folder).mkdir(parents=True)
        arr = np.zeros((5, 5), np.uint8)
        arr[1:3, 1:4] = value
        arr[0, 0] = 255
        PILImage.fromarray(arr, mode="L").save(root / folder / "g.png")
    (item,) = load(root)
    (mask,) = item.annotations
    assert (mask.label, mask.semantics, int(mask.to_array().sum())) == ("dog", "instance", 6)
    assert "voc_void_class" in item.metadata


def test_an_unknown_colour_is_an_error_naming_the_pixel(tmp_path: Path) -> None:
    root = shutil.copytree(DATA / "segmentation_mask", tmp_path / "ds")
    png = root / "SegmentationClass" / "street_2.png"
    rgb = np.asarray(PILImage.open(png)).copy()
    rgb[3, 5] = (1, 2, 3)
    PILImage.fromarray(rgb).save(png)
    with pytest.raises(FormatError, match=r"colour \(1, 2, 3\) at pixel \(5, 3\)") as err:
        load(root)
    assert err.value.file.endswith("street_2.png")


@pytest.mark.parametrize("mode", ["palette", "rgb", "index"])
def test_every_mask_colour_mode_reads_back(tmp_path: Path, mode: str) -> None:
    before = load(DATA / "segmentation_mask")
    labelport.save(before, tmp_path / "out", "voc", mask_colors=mode)
    expected_mode = {"palette": "P", "rgb": "RGB", "index": "L"}[mode]
    assert PILImage.open(tmp_path / "out" / "SegmentationClass" / "street_1.png").mode == expected_mode

    def summary(ds: Dataset) -> list:
        return sorted((i.id, a.label, a.semantics, a.rle.counts) for i in ds for a in i.annotations)

    assert summary(load(tmp_path / "out")) == summary(before)


def polygon_and_stuff() -> Dataset:
    road = np.zeros((20, 30), bool)
    road[15:, :] = True
    return Dataset(
        [Item(id="p", media=Image(name="p.jpg", width=30, height=20), annotations=[
            Polygon(label="cat", parts=[[2, 3, 12, 3, 12, 9, 2, 9]]),
            Mask.from_array(road, label="road", semantics="class"),
        ])],
        labels=[Label(name="cat"), Label(name="road")],
    )


def test_by_default_polygons_become_objects_and_class_masks_are_painted(tmp_path: Path) -> None:
    report = labelport.save(polygon_and_stuff(), tmp_path / "out", "voc")
    assert report.losses == {("polygon", "reduced to its box"): 1}  # exact box; only the class mask is painted
    (item,) = load(tmp_path / "out")
    (box,) = boxes(item)
    assert (box.label, box.x, box.y, box.w, box.h) == ("cat", 2.0, 3.0, 10.0, 6.0)
    (road,) = [a for a in item.annotations if a.type == "mask"]
    assert (road.label, road.semantics, int(road.to_array().sum())) == ("road", "class", 150)
    assert not (tmp_path / "out" / "SegmentationObject").exists()


def test_segmentation_always_paints_every_mask_with_its_object(tmp_path: Path) -> None:
    report = labelport.save(polygon_and_stuff(), tmp_path / "out", "voc", segmentation="always")
    assert not [k for k in report.losses if k[0] == "mask"]
    (item,) = load(tmp_path / "out")
    (box,) = boxes(item)
    cat = next(a for a in item.annotations if a.type == "mask" and a.label == "cat")
    assert (box.x, box.y, box.w, box.h) == (2.0, 3.0, 10.0, 6.0)
    assert cat.semantics == "instance" and cat.metadata["voc_instance"] == 1  # instance 1 is object 1
    labelport.save(polygon_and_stuff(), tmp_path / "nobox", "voc", segmentation="always", mask_boxes=False)
    (item,) = load(tmp_path / "nobox")
    assert sorted(a.type for a in item.annotations) == ["mask", "mask"]


def test_segmentation_never_writes_no_png(tmp_path: Path) -> None:
    report = labelport.save(load(DATA / "devkit"), tmp_path / "out", "voc", segmentation="never")
    assert report.losses[("mask", "dropped, its object's box kept (segmentation='never')")] == 2
    assert not (tmp_path / "out" / "SegmentationClass").exists()
    assert len(boxes(items(load(tmp_path / "out"))["2008_000002"])) == 2  # no box added for the dropped masks


# --------------------------------------------------------------------------- errors with locations


@pytest.mark.parametrize(
    ("obj", "message", "where"),
    [
        ("<object><name>cat</name></object>", "missing <bndbox>", "<object>"),
        (voc_object(box=("abc", 2, 3, 4)), "<xmin> 'abc' is not a number", "<xmin>"),
        (voc_object(box=(1, "nan", 3, 4)), "not a finite number", "<ymin>"),
        ("<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>2</xmax><ymax>2</ymax></bndbox></object>", "without <name>", "<object>"),
        (voc_object(extra="<truncated>maybe</truncated>"), "is not 0 or 1", "<truncated>"),
        (voc_object(box=(1, 2, 3, None)).replace("<ymax>None</ymax>", ""), "missing <ymax>", "<bndbox>"),
    ],
)
def test_bad_objects_raise_format_errors_with_line_and_element(tmp_path: Path, obj: str, message: str, where: str) -> None:
    root = write_voc(tmp_path / "ds", {"a": obj})
    with pytest.raises(FormatError, match=re.escape(message)) as err:
        load(root)
    assert err.value.file.endswith("a.xml")
    assert re.fullmatch(rf"line \d+, {re.escape(where)}", err.value.location or "")


def test_bad_size_is_located(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "ds", {"a": voc_object()})
    xml = root / "Annotations" / "a.xml"
    xml.write_text(xml.read_text().replace("<width>40</width>", "<width>-3</width>"))
    with pytest.raises(FormatError, match="not a non-negative integer") as err:
        load(root)
    assert err.value.location.endswith("<width>")


def test_bad_labelmap_colour_names_the_line(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "ds", {"a": voc_object()}, labelmap="background:0,0,0::\ncat:300,0,0::\n")
    with pytest.raises(FormatError, match="not r,g,b") as err:
        load(root)
    assert (Path(err.value.file).name, err.value.location) == ("labelmap.txt", "line 2")


def test_bad_class_list_flag_names_the_line(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "ds", {"a": voc_object()}, {"Main/train.txt": "a\n", "Main/cat_train.txt": "a 1\na 2\n"})
    with pytest.raises(FormatError, match="-1|0|1") as err:
        load(root)
    assert (Path(err.value.file).name, err.value.location) == ("cat_train.txt", "line 2")


def test_list_ids_cannot_leave_the_dataset(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "ds", {"a": voc_object()}, {"Main/train.txt": "a\n../../secret\n"})
    (tmp_path / "secret.xml").write_text(VOC_XML.format(name="secret", objects=voc_object(name="leak")))
    (tmp_path / "secret.jpg").write_bytes((DATA / "loose_xml" / "IMG_0001.jpg").read_bytes())
    ds = load(root)  # an id is only ever looked up below the dataset's own folders
    assert items(ds)["../../secret"].media is None and items(ds)["../../secret"].annotations == []
    assert "leak" not in ds.labels


# --------------------------------------------------------------------------- validation


def test_validate_reports_format_problems_with_locations(tmp_path: Path) -> None:
    root = write_voc(
        tmp_path / "ds",
        {"a": voc_object(box=(9, 2, 3, 4)) + voc_object(name="dog", box=(0, 0, 5, 5)), "b": voc_object(name="horse", box=(1, 1, 50, 5))},
        {"Main/train.txt": "a\nb\nghost\n"},
        labelmap="background:0,0,0::\ncat:::\ndog:::\n",
    )
    problems = labelport.validate(root, format="voc")

    def has(severity: str, file: str, start: str) -> bool:
        return any(p.severity == severity and Path(p.file).name == file and p.message.startswith(start) and p.location for p in problems)

    assert has("error", "a.xml", "box has xmax < xmin or ymax < ymin")
    assert has("warning", "a.xml", "box starts at (0, 0): VOC pixels are 1-based")
    assert has("error", "b.xml", "label 'horse' is not in labelmap.txt")
    assert has("warning", "b.xml", "box ends at (50, 5), outside the 40x30 image")
    assert has("warning", "train.txt", "'ghost' has no annotation file, mask or image")


# --------------------------------------------------------------------------- losses and safety


def test_what_voc_cannot_hold_is_reported(tmp_path: Path) -> None:
    ds = Dataset(
        [Item(id="a", media=Image(name="a.jpg", width=20, height=10), annotations=[
            Tag(label="cat"), Tag(label="cat"),
            Tag(label="tv/monitor"),
            BBox(label="cat", x=1, y=1, w=2, h=2, group=4),
            Mask.from_array(np.ones((10, 20), bool), label="a:b", attributes={"score": "x"}, metadata={"voc_instance": 1}),
        ])],
        labels=[Label(name="cat"), Label(name="tv/monitor"), Label(name="a:b")],
    )
    report = labelport.save(ds, tmp_path / "out", "voc")
    losses = {what for what, _ in report.losses}
    assert {"repeated image label", "annotation groups", "mask attributes", "label names containing ':' or line breaks",
            "image labels of a label whose name cannot be a file name"} <= losses
    assert not list((tmp_path / "out" / "ImageSets" / "Main").glob("*monitor*"))


def test_the_writer_never_writes_outside_its_target(tmp_path: Path) -> None:
    ds = Dataset([Item(id="../escape", media=Image(name="x.jpg", width=4, height=4))])
    with pytest.raises(UnsafeInputError):
        labelport.save(ds, tmp_path / "out", "voc")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_save_media_copies_images_into_jpegimages(tmp_path: Path) -> None:
    labelport.save(load(DATA / "loose_xml"), tmp_path / "out", "voc", save_media="copy")
    assert sorted(p.name for p in (tmp_path / "out" / "JPEGImages").iterdir()) == ["IMG_0001.jpg", "IMG_0002.jpg", "renamed_later.png"]
    (item,) = [i for i in load(tmp_path / "out") if i.id == "scan_02"]
    assert Path(item.media.path).parent.name == "JPEGImages"


# --------------------------------------------------------------------------- detection


def test_labelme3_xml_is_not_voc(tmp_path: Path) -> None:
    folder = tmp_path / "labelme" / "Annotations" / "set1"
    folder.mkdir(parents=True)
    (folder / "img.xml").write_text(
        "<annotation><filename>img.jpg</filename><folder>set1</folder><object><name>car</name><deleted>0</deleted>"
        "<polygon><pt><x>1</x><y>1</y></pt><pt><x>5</x><y>1</y></pt><pt><x>5</x><y>5</y></pt></polygon></object>"
        "<imagesize><nrows>10</nrows><ncols>10</ncols></imagesize></annotation>"
    )
    assert not [d for d in labelport.detect(tmp_path / "labelme") if d.format == "voc"]
    assert not [d for d in labelport.detect(folder / "img.xml") if d.format == "voc"]


def test_nested_roots_and_segmentation_only_layouts_are_found() -> None:
    devkit = [d for d in labelport.detect(DATA / "devkit") if d.format == "voc"]
    assert devkit and devkit[0].confidence >= 0.9 and "VOC2012" in devkit[0].reason
    seg = [d for d in labelport.detect(DATA / "segmentation_mask") if d.format == "voc"]
    assert seg and seg[0].confidence >= 0.9


def test_a_plain_folder_of_pngs_is_not_voc(tmp_path: Path) -> None:
    (tmp_path / "masks").mkdir()
    PILImage.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "masks" / "a.png")
    assert not [d for d in labelport.detect(tmp_path) if d.format == "voc"]


def test_an_annotations_folder_finds_its_images_beside_it() -> None:
    ds = items(load(DATA / "devkit" / "VOC2012" / "Annotations"))
    assert sorted(ds) == ["2008_000001", "2008_000002", "2008_000003"]
    assert Path(ds["2008_000002"].media.path).parent.name == "JPEGImages"


def test_class_lists_of_subsets_with_underscores(tmp_path: Path) -> None:
    root = write_voc(
        tmp_path / "ds", {"a": voc_object(), "b": voc_object()},
        {"Main/train_aug.txt": "a\nb\n", "Main/traffic_light_train_aug.txt": "a  1\nb -1\n"},
    )
    ds = items(load(root))
    assert {i.subset for i in ds.values()} == {"train_aug"}
    assert [(a.label, a.type) for a in ds["a"].annotations if a.type == "label"] == [("traffic_light", "label")]


def test_subset_names_never_become_paths(tmp_path: Path) -> None:
    ds = Dataset([Item(id="a", subset="../../up", media=Image(name="a.jpg", width=4, height=4))])
    report = labelport.save(ds, tmp_path / "out", "voc")
    assert report.losses[("subset names that are no file name", "path separators replaced by '_'")] == 1
    assert [p.name for p in (tmp_path / "out" / "ImageSets" / "Main").iterdir()] == ["_.._up.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_labelmap_with_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    root = write_voc(tmp_path / "ds", {"a": voc_object(name="cat")})
    (root / "labelmap.txt").write_bytes("\ufeffbackground:0,0,0::\r\ncat:1,2,3::\r\n".encode())
    assert load(root).labels["cat"].color == (1, 2, 3)


def test_segmentation_can_be_left_unread(tmp_path: Path) -> None:
    ds = items(load(DATA / "devkit", read_segmentation=False))
    assert [a.type for a in ds["2008_000002"].annotations if a.type == "mask"] == []
    report = labelport.convert(DATA / "devkit", tmp_path / "out", to="voc", from_="voc", segmentation="never")
    assert report.items == 3 and not (tmp_path / "out" / "SegmentationClass").exists()
