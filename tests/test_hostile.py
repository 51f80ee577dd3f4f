"""A corpus of hostile inputs, tried against every installed format: each is refused with
labelport's own error (or read harmlessly), never followed outside the dataset, never a crash."""

import zipfile

import labelport
import pytest
from labelport.errors import LabelportError, UnsafeInputError

FORMATS = sorted(f.name for f in labelport.formats() if f.can_read)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<annotations><version>1.1</version><meta/><image id="0" name="&lol3;" width="1" height="1"/></annotations>"""
XXE = """<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<annotation><filename>&x;</filename><size><width>1</width><height>1</height></size></annotation>"""


def _xml_corpus(tmp_path):
    out = []
    for name, text in (("laughs", BILLION_LAUGHS), ("xxe", XXE)):
        folder = tmp_path / name
        for sub in ("", "Annotations"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            (folder / sub / "annotations.xml").write_text(text)
        out += [folder, folder / "annotations.xml"]
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_xml_bombs_are_refused_or_ignored(fmt, tmp_path):
    for path in _xml_corpus(tmp_path):
        try:
            for item in labelport.load(path, format=fmt):
                for ann in item.annotations:
                    assert "root:" not in str(ann.model_dump())  # /etc/passwd never leaks in
                assert "lol" * 50 not in str(item.model_dump())
        except LabelportError:
            pass


@pytest.mark.parametrize("fmt", FORMATS)
def test_zip_slip_and_bomb_refused_for_every_format(fmt, tmp_path):
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../../escaped.txt", "x")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.json", b" " * (50 * 1024 * 1024))
    for archive in (slip, bomb):
        with pytest.raises(UnsafeInputError):
            labelport.load(archive, format=fmt)
    assert not (tmp_path.parent / "escaped.txt").exists()


@pytest.mark.skipif("coco" not in FORMATS, reason="labelport-coco is not installed")
def test_coco_file_name_traversal_is_never_followed(tmp_path):
    secret = tmp_path / "secret.jpg"
    from PIL import Image

    Image.new("RGB", (2, 2)).save(secret)
    ds_dir = tmp_path / "ds"
    ds_dir.mkdir()
    doc = '{"images": [{"id": 1, "file_name": "../secret.jpg", "width": 2, "height": 2}], "annotations": [], "categories": []}'
    (ds_dir / "instances_default.json").write_text(doc)
    items = list(labelport.load(ds_dir, format="coco"))
    assert items[0].media.path is None
    problems = labelport.validate(ds_dir, format="coco")
    assert any("outside the dataset" in p.message for p in problems)
    with pytest.raises(UnsafeInputError):
        labelport.convert(ds_dir, tmp_path / "out", to="coco", save_media="copy")
    assert not (tmp_path / "out").exists()
