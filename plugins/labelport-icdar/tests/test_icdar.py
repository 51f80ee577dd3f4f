"""ICDAR behaviour: ICDAR 2015 quadrilaterals and ICDAR 2013 boxes, transcriptions with commas,
quotes and byte-order marks, character masks by colour, the task layouts, errors with locations,
validation and reported losses."""

from __future__ import annotations

from pathlib import Path

import labelport
import numpy as np
import pytest
from labelport.errors import FormatError
from labelport.schema import BBox, Caption, Dataset, Image, Item, Mask, Polygon
from PIL import Image as PILImage

DATA = Path(__file__).parent / "data"


def load(path: Path, **options) -> Dataset:
    return labelport.load(path, format="icdar", **options).materialize()


def items(ds: Dataset) -> dict[str, Item]:
    return {item.id: item for item in ds}


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def gt_image(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(rgb.astype(np.uint8), "RGB").save(path)


def texts(item: Item) -> list:
    return [a.attributes.get("text") for a in item.annotations]


# --------------------------------------------------------------------------- reading


def test_icdar2015_lines_keep_commas_bom_and_dont_care() -> None:
    img1 = items(load(DATA / "text_localization"))["img_1"]
    assert img1.subset == "train"
    assert texts(img1) == ["Stop, look", "###", "12"]  # split after the 8th comma only; a numeric text stays text
    first = img1.annotations[0]
    assert isinstance(first, Polygon)
    assert first.parts == [[10.0, 12.0, 50.0, 12.0, 50.0, 30.0, 10.0, 30.0]]  # the BOM did not spoil x1
    assert img1.annotations[2].parts[0][:4] == [5.5, 40.0, 30.25, 40.0]
    assert (img1.media.width, img1.media.height) == (100, 60)


def test_icdar2013_boxes_are_corners_in_spaces_or_commas() -> None:
    ds = items(load(DATA / "text_localization"))
    carpark, quoted = ds["img_2"].annotations
    assert isinstance(carpark, BBox)
    assert (carpark.x, carpark.y, carpark.w, carpark.h) == (3.0, 4.0, 37.0, 16.0)
    assert quoted.attributes["text"] == 'say "hi"'
    (scene,) = ds["scene"].annotations
    assert (scene.x, scene.y, scene.w, scene.h, scene.attributes["text"]) == (38.0, 43.0, 54.0, 18.0, "Tiredness")
    assert ds["blank"].annotations == [] and ds["blank"].subset == "test"


def test_word_recognition_captions_and_image_names() -> None:
    ds = items(load(DATA / "word_recognition"))
    assert [(i, [a.text for a in it.annotations]) for i, it in ds.items()] == [
        ("word_1", ["PROPER"]), ("word_2", ["Genaxis Theatre"]), ("word_3", ["a,b"])
    ]
    assert ds["word_2"].media.name == "word_2.png" and ds["word_2"].media.path.endswith("word_2.png")
    assert (ds["word_2"].media.width, ds["word_2"].media.height) == (44, 12)


def test_segmentation_masks_follow_the_colours_and_words_become_groups() -> None:
    (sign,) = load(DATA / "text_segmentation")
    h, i, bang = sign.annotations
    assert [a.attributes["text"] for a in (h, i, bang)] == ["H", "i", "!"]
    expected = np.zeros((12, 16), dtype=bool)
    expected[2:9, 1:4] = True
    assert np.array_equal(h.to_array(), expected)
    assert int(bang.to_array().sum()) == 2 * 5 + 2  # both parts of "!"
    assert h.group == i.group is not None and bang.group is None  # "Hi" is a word; "!" alone
    assert h.metadata["icdar_color"] == [200, 10, 10] and h.metadata["icdar_center"] == [2, 5]
    assert "icdar_center" not in bang.metadata  # written as "- -": unknown


def test_mmocr_layout_gt_folder_beside_imgs(tmp_path: Path) -> None:
    write(tmp_path / "gt" / "gt_img_7.txt", "\ufeff1,2,3,2,3,4,1,4,A\n")
    PILImage.new("RGB", (9, 7)).save(write(tmp_path / "imgs" / "img_7.jpg", b""))
    (item,) = load(tmp_path)
    assert item.subset is None  # gt/ names no subset
    assert item.media.path.endswith("imgs/img_7.jpg") and item.media.width == 9


def test_single_localisation_file_reads_and_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path / "gt_img_3.txt", "0,0,4,0,4,4,0,4,Hello\n")
    assert labelport.detect(path)[0].format == "icdar"
    (item,) = load(path)
    assert item.id == "img_3" and texts(item) == ["Hello"]


def test_other_formats_text_files_are_not_claimed(tmp_path: Path) -> None:
    plugin_detect = __import__("labelport_icdar").labelport_detect
    from labelport.plugin import Probe

    wider_gt = tmp_path / "wider" / "wider_face_split" / "wider_face_train_bbx_gt.txt"
    wider = write(wider_gt, "0--Parade/0_1.jpg\n1\n1 2 3 4 0 0 0 0 0 0\n")
    mot = write(tmp_path / "mot" / "seq" / "gt" / "gt.txt", "1,1,10,20,30,40,1,1,1\n")
    assert plugin_detect(probe=Probe(wider.parent.parent)) is None
    assert plugin_detect(probe=Probe(mot.parent.parent.parent)) is None


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ('1,2,3,4,"ok"\n1,2,3,4,oops\n', "line 2", "quoted transcription"),
        ("1,1,2,2,3,3,4,4,a\nnot a region\n", "line 2", "expected"),
        ('5 5 1 1 "swapped"\n', "line 1", "swapped"),
        (b"1,1,2,2,3,3,4,4,a\n1,1,2,2\x00", "line 2", "binary"),
        (b"1,1,2,2,3,3,4,4,caf\xe9\n", "line 1", "UTF-8"),
    ],
)
def test_bad_localisation_lines_raise_with_file_and_line(tmp_path: Path, content, line: str, message: str) -> None:
    path = write(tmp_path / "train" / "gt_a.txt", content)
    with pytest.raises(FormatError, match=message) as info:
        load(tmp_path)
    assert info.value.file == str(path) and info.value.location == line


def test_segmentation_without_its_mask_image_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "train" / "x_GT.txt", '0 0 0 1 1 0 0 2 2 "a"\n')
    with pytest.raises(FormatError, match="missing") as info:
        load(tmp_path)
    assert info.value.file == str(path)


def test_bad_colour_is_located(tmp_path: Path) -> None:
    write(tmp_path / "train" / "x_GT.txt", '0 0 0 1 1 0 0 2 2 "a"\n300 0 0 1 1 0 0 2 2 "b"\n')
    gt_image(tmp_path / "train" / "x_GT.bmp", np.zeros((3, 3, 3)))
    with pytest.raises(FormatError, match="0..255") as info:
        load(tmp_path)
    assert info.value.location == "line 2"


# --------------------------------------------------------------------------- validation


def test_validate_warns_about_orientation_and_stray_colours(tmp_path: Path) -> None:
    write(tmp_path / "loc" / "gt_a.txt", "0,0,0,4,4,4,4,0,ccw\n0,0,4,0,4,4,0,4,cw\n")
    seg = tmp_path / "seg" / "train"
    write(seg / "b_GT.txt", '10 10 10 1 1 0 0 1 1 "a"\n10 10 10 1 1 0 0 1 1 "b"\n20 20 20 1 1 0 0 1 1 "c"\n')
    rgb = np.full((3, 3, 3), 255)
    rgb[0, 0] = 10
    rgb[2, 2] = (1, 2, 3)
    gt_image(seg / "b_GT.bmp", rgb)
    loc = labelport.validate(tmp_path / "loc", format="icdar")
    assert [(p.severity, p.location) for p in loc if "clockwise" in p.message] == [("warning", "line 1")]
    found = {(p.location, p.message.split(" ")[0]) for p in labelport.validate(tmp_path / "seg", format="icdar")}
    assert ("line 2", "colour") in found  # used twice
    assert ("line 3", "no") in found  # no pixel has it
    assert any("1 pixels have colours no line lists" in p.message for p in labelport.validate(tmp_path / "seg", format="icdar"))


# --------------------------------------------------------------------------- writing


def dataset(*anns, subset: str | None = "train", item_id: str = "img_1", size=(40, 30)) -> Dataset:
    media = Image(name=f"{item_id}.jpg", width=size[0], height=size[1])
    return Dataset([Item(id=item_id, subset=subset, media=media, annotations=list(anns))])


def test_writer_writes_icdar2015_quads_and_icdar2013_boxes(tmp_path: Path) -> None:
    ds = dataset(
        Polygon(parts=[[1, 2, 10.5, 2, 10.5, 8, 1, 8]], attributes={"text": "Stop, look"}),
        Polygon(parts=[[0, 0, 4, 0, 4, 4, 0, 4]], attributes={"text": "###"}),
        BBox(x=3, y=4, w=37, h=16, attributes={"text": 'say "hi"'}),
        BBox(x=0, y=0, w=1, h=1),
        Polygon(parts=[[0, 0, 4, 0, 4, 4, 0, 4]], attributes={"text": ' "padded" '}),
    )
    report = labelport.save(ds, tmp_path / "out", "icdar")
    assert report.lossless
    text = (tmp_path / "out" / "train" / "gt_img_1.txt").read_text()
    assert text.splitlines() == [
        "1,2,10.5,2,10.5,8,1,8,Stop, look",
        "0,0,4,0,4,4,0,4,###",
        '3 4 40 20 "say \\"hi\\""',
        "0 0 1 1",
        '0,0,4,0,4,4,0,4," \\"padded\\" "',
    ]
    back = load(tmp_path / "out")
    assert texts(next(iter(back))) == ["Stop, look", "###", 'say "hi"', None, ' "padded" ']


def test_labels_other_attributes_and_odd_polygons_are_reported(tmp_path: Path) -> None:
    ds = dataset(
        Polygon(label="sign", parts=[[0, 0, 6, 0, 6, 3, 3, 5, 0, 3]], attributes={"text": "x", "legible": True}),
    )
    report = labelport.save(ds, tmp_path / "out", "icdar")
    losses = {what: action for (what, action) in report.losses}
    assert losses["annotation labels"].startswith("dropped")
    assert losses["annotation attributes other than the transcription"] == "dropped"
    assert losses["polygon without exactly 4 corners"] == "written as its bounding box corners"
    (poly,) = next(iter(load(tmp_path / "out"))).annotations
    assert poly.parts == [[0.0, 0.0, 6.0, 0.0, 6.0, 5.0, 0.0, 5.0]] and poly.label is None


def test_writer_paints_characters_and_separates_words(tmp_path: Path) -> None:
    def square(x: int, y: int) -> np.ndarray:
        m = np.zeros((10, 12), dtype=bool)
        m[y : y + 2, x : x + 2] = True
        return m

    ds = dataset(
        Mask.from_array(square(0, 0), group=4, attributes={"text": "O"}, metadata={"icdar_color": [9, 8, 7]}),
        Mask.from_array(square(3, 0), attributes={"text": " "}),
        Mask.from_array(square(6, 0), group=4, attributes={"text": "K"}),
        size=(12, 10),
    )
    report = labelport.save(ds, tmp_path / "out", "icdar")
    assert report.lossless
    lines = (tmp_path / "out" / "train" / "img_1_GT.txt").read_text().split("\n")
    assert lines[0] == '9 8 7 1 1 0 0 2 2 "O"'  # its own colour, centroid, box corners
    assert lines[1].endswith('6 0 8 2 "K"')  # the word's characters together
    assert lines[2] == "" and lines[3].startswith("#") and lines[3].endswith('" "')  # a space char, as datumaro marks it
    rgb = np.asarray(PILImage.open(tmp_path / "out" / "train" / "img_1_GT.bmp").convert("RGB"))
    assert tuple(rgb[0, 0]) == (9, 8, 7) and tuple(rgb[5, 5]) == (255, 255, 255)
    o, k, space = next(iter(load(tmp_path / "out"))).annotations
    assert o.group == k.group is not None and space.group is None
    assert np.array_equal(k.to_array(), square(6, 0)) and space.attributes["text"] == " "


def test_overlapping_character_masks_are_reported(tmp_path: Path) -> None:
    a = np.zeros((4, 4), dtype=bool)
    a[:2, :2] = True
    b = np.zeros((4, 4), dtype=bool)
    b[1:3, 1:3] = True
    report = labelport.save(dataset(Mask.from_array(a), Mask.from_array(b), size=(4, 4)), tmp_path / "out", "icdar")
    assert ("overlapping mask pixels", "painted over by the later character") in report.losses
    first, second = next(iter(load(tmp_path / "out"))).annotations
    assert int(first.to_array().sum()) == 3 and int(second.to_array().sum()) == 4


def test_several_tasks_get_task_folders_one_task_the_subset_layout(tmp_path: Path) -> None:
    mixed = Dataset([
        Item(id="w1", subset="train", annotations=[Caption(text="EXIT")]),
        Item(id="s1", subset="train", annotations=[BBox(x=1, y=1, w=2, h=2)]),
    ])
    labelport.save(mixed, tmp_path / "mixed", "icdar")
    assert (tmp_path / "mixed" / "word_recognition" / "train" / "gt.txt").read_text() == 'w1.png, "EXIT"\n'
    assert (tmp_path / "mixed" / "text_localization" / "train" / "gt_s1.txt").is_file()
    assert set(items(load(tmp_path / "mixed"))) == {"w1", "s1"}
    labelport.save(Dataset([mixed._items[1]]), tmp_path / "single", "icdar")
    single = tmp_path / "single"
    assert sorted(p.relative_to(single).as_posix() for p in single.rglob("*")) == ["train", "train/gt_s1.txt"]


def test_names_the_flat_layout_cannot_tell_apart_keep_task_folders(tmp_path: Path) -> None:
    # gt_x_GT.txt would read as localisation; the task folder keeps it a segmentation file
    m = np.zeros((3, 3), dtype=bool)
    m[1, 1] = True
    labelport.save(dataset(Mask.from_array(m, attributes={"text": "a"}), item_id="gt_x", size=(3, 3)), tmp_path / "out", "icdar")
    assert (tmp_path / "out" / "text_segmentation" / "train" / "gt_x_GT.txt").is_file()
    (item,) = load(tmp_path / "out")
    assert item.id == "gt_x" and item.annotations[0].type == "mask"


def test_save_media_places_images_under_the_subset(tmp_path: Path) -> None:
    ds = load(DATA / "word_recognition")
    labelport.save(ds, tmp_path / "out", "icdar", save_media="copy")
    assert sorted(p.name for p in (tmp_path / "out" / "train" / "images").iterdir()) == ["word_1.png", "word_2.png", "word_3.png"]
    back = items(load(tmp_path / "out"))
    assert back["word_2"].media.width == 44 and back["word_3"].annotations[0].text == "a,b"


def test_commas_in_word_image_names_are_replaced_and_reported(tmp_path: Path) -> None:
    ds = Dataset([Item(id="a,b", annotations=[Caption(text="x")])])
    report = labelport.save(ds, tmp_path / "out", "icdar")
    assert ("commas and quotes in word image names", "replaced by _") in report.losses
    assert (tmp_path / "out" / "default" / "gt.txt").read_text() == 'a_b.png, "x"\n'


def test_line_breaks_in_transcriptions_are_reported(tmp_path: Path) -> None:
    report = labelport.save(dataset(BBox(x=0, y=0, w=1, h=1, attributes={"text": "two\nlines"})), tmp_path / "out", "icdar")
    assert ("line breaks in transcriptions", "replaced by spaces") in report.losses
    assert texts(next(iter(load(tmp_path / "out")))) == ["two lines"]
