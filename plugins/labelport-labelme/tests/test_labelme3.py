"""LabelMe 3.0 XML specifics: layouts, parts and groups, masks, attributes text, errors, validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

import labelport
from labelport.errors import FormatError
from labelport.geometry.masks import rle_area, rle_bbox
from labelport.io.xml import parse_xml
from labelport.plugin import Report
from labelport.schema import BBox, Dataset, Image, Item, Label, Mask, Polygon
from labelport_labelme.labelme3 import format_attributes, parse_attributes

DATA = Path(__file__).parent / "data" / "labelme3"


def xml_doc(*objects: str, head: str = "<filename>a.jpg</filename><folder></folder>") -> str:
    return f"<annotation>{head}{''.join(objects)}</annotation>"


def xml_object(oid: int, name: str = "thing", shape: str = "", extra: str = "") -> str:
    shape = shape or "<polygon><username>u</username><pt><x>1</x><y>1</y></pt><pt><x>5</x><y>1</y></pt><pt><x>3</x><y>4</y></pt></polygon>"
    return f"<object><name>{name}</name><deleted>0</deleted><id>{oid}</id>{extra}{shape}</object>"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def kitchen() -> Item:
    return next(iter(labelport.load(DATA / "csail_layout", format="labelme3")))


# ----------------------------------------------------------------------------- reading


def test_csail_layout_subset_media_and_padded_text(kitchen: Item) -> None:
    assert (kitchen.subset, kitchen.id) == ("collection1", "kitchen")
    assert kitchen.media.name == "kitchen.jpg"  # "\nkitchen.jpg\n" in the file
    assert Path(kitchen.media.path) == DATA / "csail_layout" / "Images" / "collection1" / "kitchen.jpg"
    assert (kitchen.media.width, kitchen.media.height) == (40, 30)  # <imagesize> after the objects


def test_deleted_objects_are_skipped(kitchen: Item) -> None:
    assert [a.id for a in kitchen.annotations] == [0, 1, 2, 3, 4]
    assert "cup" not in {a.label for a in kitchen.annotations}


def test_parts_hierarchy_becomes_one_group(kitchen: Item) -> None:
    groups = {a.label: a.group for a in kitchen.annotations}
    # table has drawer and leg; drawer has handle; the deleted cup's link is ignored
    assert groups == {"table": 1, "drawer": 1, "leg": 1, "handle": 1, "rug": None}


def test_bounding_box_type_reads_as_a_box(kitchen: Item) -> None:
    (leg,) = [a for a in kitchen.annotations if a.label == "leg"]
    assert isinstance(leg, BBox)
    assert (leg.x, leg.y, leg.w, leg.h) == (3.0, 25.0, 2.0, 4.0)


def test_polygon_points_and_attributes(kitchen: Item) -> None:
    table, drawer = kitchen.annotations[:2]
    assert isinstance(table, Polygon) and table.parts == [[2.0, 10.0, 38.0, 10.0, 38.0, 25.0, 2.0, 25.0]]
    assert drawer.parts == [[4.5, 12.25, 12.0, 12.0, 12.0, 16.0, 4.0, 16.0]]
    assert table.attributes == {"color": "brown", "legs": 4, "ratio": 0.5, "note": "7", "has,comma": "a=b", "wooden": True}
    assert drawer.attributes == {"occluded": True}
    assert table.metadata["labelme_username"] == "annotator"


def test_full_image_rgba_mask_is_read_from_its_alpha(kitchen: Item) -> None:
    (rug,) = [a for a in kitchen.annotations if a.type == "mask"]
    assert rle_bbox(rug.rle) == (5.0, 20.0, 10.0, 8.0)
    assert rle_area(rug.rle) == 80


def test_mask_cut_to_its_box_is_placed_at_the_box(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "Masks").mkdir(parents=True)
    patch = np.zeros((3, 4, 4), dtype=np.uint8)
    patch[1:, 1:] = (10, 20, 30, 255)
    PILImage.fromarray(patch, "RGBA").save(root / "Masks" / "a_mask_0.png")
    segm = "<segm><box><xmin>6</xmin><ymin>2</ymin><xmax>10</xmax><ymax>5</ymax></box><mask>a_mask_0.png</mask></segm>"
    write(root / "a.xml", xml_doc(xml_object(0, shape=segm), head="<filename>a.jpg</filename><imagesize><nrows>10</nrows><ncols>12</ncols></imagesize>"))
    (item,) = labelport.load(root, format="labelme3")
    assert rle_bbox(item.annotations[0].rle) == (7.0, 3.0, 3.0, 2.0)


def test_cvat_layout_subsets_and_default(tmp_path: Path) -> None:
    items = {(i.subset, i.id): i for i in labelport.load(DATA / "cvat_layout", format="labelme3")}
    assert set(items) == {(None, "img_a"), ("val", "img_b")}
    img_b = items[("val", "img_b")]
    assert (img_b.media.width, img_b.media.height) == (20, 20)  # no <imagesize>: read from the image header
    assert [a.group for a in img_b.annotations] == [1, 1]
    mask = next(a for a in items[(None, "img_a")].annotations if a.type == "mask")
    assert rle_bbox(mask.rle) == (2.0, 3.0, 7.0, 4.0)


def test_single_file_with_escaped_comma_and_no_label() -> None:
    (item,) = labelport.load(DATA / "single.xml", format="labelme3")
    assert item.id == "single" and item.media.width is None
    building, unnamed = item.annotations
    assert building.attributes == {"floors": 12, "name": "Tower, north"}
    assert unnamed.label is None


# ----------------------------------------------------------------------------- attributes text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("a1", {"a1": True}),
        ("gfd lkj lkj hi", {"gfd lkj lkj hi": True}),
        ("x=1, y=2.5, z=true, w=False", {"x": 1, "y": 2.5, "z": True, "w": False}),
        ('n="12", m=1.50, k=007', {"n": "12", "m": "1.50", "k": "007"}),
        ("a\\=b=c\\,d, e=f=g", {"a=b": "c,d", "e": "f=g"}),
        ('q="say \\"hi\\""', {"q": 'say "hi"'}),
        (" , ,x= spaced ,", {"x": "spaced"}),
    ],
)
def test_parse_attributes(text: str, expected: dict) -> None:
    assert parse_attributes(text) == expected


_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.dictionaries(_texts.filter(lambda s: s.strip() == s and s), st.one_of(
    _texts, st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
), max_size=5))
def test_attribute_text_round_trips(attrs: dict) -> None:
    report = Report("labelme3")
    assert parse_attributes(format_attributes(attrs, report)) == attrs
    assert report.lossless


def test_non_text_attribute_values_are_reported() -> None:
    report = Report("labelme3")
    assert parse_attributes(format_attributes({"tags": ["a", "b"]}, report)) == {"tags": "['a', 'b']"}
    assert report.losses[("non-text attribute values", "written as text")] == 1


# ----------------------------------------------------------------------------- writing


def test_samples_keep_ids_groups_and_masks_through_a_round_trip(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "csail_layout", format="labelme3")
    out = tmp_path / "out"
    labelport.save(ds, out, "labelme3")
    assert (out / "collection1" / "kitchen.xml").is_file()
    assert (out / "collection1" / "Masks" / "kitchen_mask_4.png").is_file()
    root = parse_xml(out / "collection1" / "kitchen.xml")
    parts = {o.findtext("id"): (o.findtext("parts/hasparts"), o.findtext("parts/ispartof")) for o in root.findall("object")}
    assert parts == {"0": ("1,2,3", ""), "1": ("", "0"), "2": ("", "0"), "3": ("", "0"), "4": ("", "")}
    (after,) = labelport.load(out, format="labelme3")
    assert [(a.id, a.type, a.label, a.group) for a in after.annotations] == [
        (a.id, a.type, a.label, a.group) for a in next(iter(ds)).annotations
    ]


def test_csail_layout_is_written_on_request(tmp_path: Path) -> None:
    ds = labelport.load(DATA / "cvat_layout", format="labelme3")
    out = tmp_path / "out"
    labelport.save(ds, out, "labelme3", csail=True, save_media="copy")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "Annotations/default/img_a.xml", "Annotations/val/img_b.xml", "Images/default/img_a.png",
        "Images/val/img_b.jpg", "Masks/default/img_a_mask_1.png",
    ]
    root = parse_xml(out / "Annotations" / "val" / "img_b.xml")
    assert root.findtext("folder") == "val"
    assert {(i.subset, i.id) for i in labelport.load(out, format="labelme3")} == {(None, "img_a"), ("val", "img_b")}


def test_writer_assigns_free_object_ids_and_reports_lone_groups(tmp_path: Path) -> None:
    ds = Dataset([Item(id="a", media=Image(name="a.jpg", width=20, height=20), annotations=[
        Polygon(id=1, label="x", parts=[[0, 0, 4, 0, 4, 4]]),
        Polygon(id="uuid-1", label="x", parts=[[1, 1, 5, 1, 5, 5]]),
        Polygon(id=1, label="x", parts=[[2, 2, 6, 2, 6, 6]], group=7),
        BBox(label="y", x=1.5, y=2.25, w=3, h=4),
    ])], labels=[Label(name="x"), Label(name="y")])
    out = tmp_path / "out"
    report = labelport.save(ds, out, "labelme3")
    (item,) = labelport.load(out, format="labelme3")
    assert [a.id for a in item.annotations] == [1, 0, 2, 3]
    assert report.losses[("annotation groups", "dropped (a group of one object has no parts to link)")] == 1
    box = item.annotations[3]
    assert (box.x, box.y, box.w, box.h) == (1.5, 2.25, 3.0, 4.0)
    text = (out / "default" / "a.xml").read_text()
    assert "<x>1.5</x>" in text and "<y>6.25</y>" in text and "<type>bounding_box</type>" in text


def test_mask_png_is_full_image_and_coloured_by_label(tmp_path: Path) -> None:
    array = np.zeros((6, 9), dtype=bool)
    array[1:3, 2:7] = True
    ds = Dataset([Item(id="m", annotations=[Mask.from_array(array, label="road")])], labels=[Label(name="road", color=(1, 2, 3))])
    out = tmp_path / "out"
    labelport.save(ds, out, "labelme3")
    png = np.asarray(PILImage.open(out / "default" / "Masks" / "m_mask_0.png"))
    assert png.shape == (6, 9, 4)
    assert (png[..., 3] > 0).tolist() == array.tolist()
    assert tuple(png[1, 2, :3]) == (1, 2, 3)
    (item,) = labelport.load(out, format="labelme3")
    assert (item.media.width, item.media.height) == (9, 6)  # <imagesize> from the mask's grid
    assert (item.annotations[0].to_array() == array).all()


# ----------------------------------------------------------------------------- errors and validation


@pytest.mark.parametrize(
    ("xml", "message", "line"),
    [
        ("<annotation>\n<object><id>0</id>\n<polygon><pt><x>a</x><y>1</y></pt></polygon></object></annotation>", "<x> must be a number", 3),
        ("<annotation>\n<object>\n<id>zero</id><polygon><pt><x>1</x><y>1</y></pt></polygon></object></annotation>", "<id> must be an integer", 3),
        ("<annotation>\n<object><id>0</id>\n<polygon></polygon></object></annotation>", "without points", 3),
        ("<annotation><object><id>0</id><parts>\n<hasparts>1;2</hasparts></parts><polygon><pt><x>1</x><y>1</y></pt></polygon></object></annotation>", "object ids", 2),
        ("<annotation>\n<object><id>0</id><segm>\n<mask>gone.png</mask></segm></object></annotation>", "not found", 3),
        ("<annotation><imagesize>\n<nrows>-4</nrows><ncols>3</ncols></imagesize></annotation>", "positive", 1),
        ("<annotations>\n</annotations>", "expected <annotation>", 1),
        ("<annotation><object><id>0</id>\n<polygon><pt><x>nan</x><y>1</y></pt></polygon></object></annotation>", "not finite", 2),
    ],
)
def test_bad_files_raise_located_errors(tmp_path: Path, xml: str, message: str, line: int) -> None:
    path = write(tmp_path / "a.xml", xml)
    with pytest.raises(FormatError, match=message) as info:
        labelport.load(path, format="labelme3")
    assert info.value.file == str(path)
    assert info.value.location.startswith(f"line {line}")


def test_validate_flags_duplicate_ids_dangling_parts_and_empty_objects(tmp_path: Path) -> None:
    path = write(tmp_path / "a.xml", xml_doc(
        xml_object(0, extra="<parts><hasparts>9</hasparts></parts>"),
        xml_object(0),
        "<object><name>ghost</name><id>2</id></object>",
        xml_object(3, extra="<type>bounding_box</type>"),
    ))
    problems = labelport.validate(path, format="labelme3")
    found = {(p.severity, p.message) for p in problems}
    assert ("error", "object id 0 is used twice") in found
    assert ("warning", "parts name object 9, which does not exist") in found
    assert ("warning", "object has neither <polygon> nor <segm>: skipped") in found
    assert ("warning", "a bounding_box has 4 corners, this one 3") in found
    assert all(p.file == str(path) and p.location for p in problems)


def test_samples_validate_clean() -> None:
    for sample in ("csail_layout", "cvat_layout", "single.xml"):
        assert labelport.validate(DATA / sample, format="labelme3") == []


# ----------------------------------------------------------------------------- detection


def test_pascal_voc_is_not_taken_for_labelme3(tmp_path: Path) -> None:
    voc = write(tmp_path / "voc" / "Annotations" / "a.xml", (
        "<annotation><folder>VOC2007</folder><filename>a.jpg</filename><size><width>5</width><height>5</height>"
        "<depth>3</depth></size><segmented>0</segmented><object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin>"
        "<xmax>3</xmax><ymax>3</ymax></bndbox></object></annotation>"))
    assert all(d.format != "labelme3" for d in labelport.detect(voc))
    assert all(d.format != "labelme3" for d in labelport.detect(tmp_path / "voc"))


def test_detection_of_files_and_layouts(tmp_path: Path) -> None:
    assert labelport.detect(DATA / "single.xml")[0].format == "labelme3"
    assert labelport.detect(DATA / "csail_layout")[0].confidence >= 0.9
    empty = write(tmp_path / "e.xml", "<annotation><filename>x.jpg</filename><imagesize><nrows>2</nrows><ncols>2</ncols></imagesize></annotation>")
    (found,) = [d for d in labelport.detect(empty) if d.format == "labelme3"]
    assert 0.5 < found.confidence < 0.9  # no objects: likely, not certain
    shutil.copy(DATA / "single.xml", tmp_path / "copy.xml")
    assert labelport.detect(tmp_path)[0].format == "labelme3"
