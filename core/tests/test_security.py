"""Hostile input is refused cleanly: entity expansion, external entities, zip slip, bombs, links."""

import io
import stat
import tarfile
import zipfile

import pytest
from labelport.errors import FormatError, UnsafeInputError
from labelport.io import archive
from labelport.io.atomic import atomic_output
from labelport.io.media import find_media, safe_join
from labelport.io.xml import parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<annotation><filename>&lol3;</filename></annotation>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<annotation><filename>&xxe;</filename></annotation>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE annotation SYSTEM "http://example.com/evil.dtd">
<annotation/>"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["billion-laughs", "xxe", "external-dtd"])
def test_xml_entities_and_dtds_are_refused(doc):
    with pytest.raises(UnsafeInputError, match="refused"):
        parse_xml(doc, name="evil.xml")


def test_malformed_xml_names_the_line():
    with pytest.raises(FormatError) as err:
        parse_xml(b"<a>\n<b>\n</a>", name="bad.xml")
    assert err.value.file == "bad.xml" and err.value.location.startswith("line ")


def test_plain_xml_parses():
    assert parse_xml(b"<?xml version='1.0'?><!-- c --><annotation><x>1</x></annotation>").findtext("x") == "1"


def _zip(path, entries):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            if isinstance(data, zipfile.ZipInfo):
                zf.writestr(data, name)
            else:
                zf.writestr(name, data)
    return path


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "C:/evil.txt", "a/../../evil.txt", "..\\evil.txt"])
def test_zip_slip_is_refused(tmp_path, name):
    z = _zip(tmp_path / "slip.zip", [(name, b"x")])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(UnsafeInputError, match="outside"):
        archive.extract(z, dest)
    assert not (tmp_path / "evil.txt").exists()


def test_zip_symlink_is_refused(tmp_path):
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    z = _zip(tmp_path / "link.zip", [("/etc/passwd", info)])
    (tmp_path / "d").mkdir()
    with pytest.raises(UnsafeInputError, match="symbolic link"):
        archive.extract(z, tmp_path / "d")


def test_zip_bomb_ratio_is_refused(tmp_path):
    z = _zip(tmp_path / "bomb.zip", [("zeros.bin", b"\0" * (20 * 1024 * 1024))])
    (tmp_path / "d").mkdir()
    with pytest.raises(UnsafeInputError, match="compression ratio"):
        archive.extract(z, tmp_path / "d")


def test_zip_total_size_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 1000)
    z = _zip(tmp_path / "big.zip", [("a", b"x" * 600), ("b", b"y" * 600)])
    (tmp_path / "d").mkdir()
    with pytest.raises(UnsafeInputError, match="size limit"):
        archive.extract(z, tmp_path / "d")


def test_nested_archives_are_not_expanded(tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("inside.txt", "x")
    z = _zip(tmp_path / "outer.zip", [("inner.zip", inner.getvalue())])
    (tmp_path / "d").mkdir()
    archive.extract(z, tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["inner.zip"]


def test_tar_links_and_traversal_are_refused(tmp_path):
    for name, kind in [("../up.txt", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)]:
        path = tmp_path / f"{kind!r}.tar"
        with tarfile.open(path, "w") as tf:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd"
            tf.addfile(info, io.BytesIO(b""))
        (tmp_path / "d").mkdir(exist_ok=True)
        with pytest.raises(UnsafeInputError):
            archive.extract(path, tmp_path / "d")


def test_corrupt_archive_is_a_format_error(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "d").mkdir()
    with pytest.raises(FormatError, match="unreadable archive"):
        archive.extract(bad, tmp_path / "d")


@pytest.mark.parametrize("name", ["../secret.jpg", "/etc/passwd", "a/../../secret.jpg", "C:\\x.jpg"])
def test_paths_from_annotations_never_leave_the_root(tmp_path, name):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"x")
    with pytest.raises(UnsafeInputError):
        safe_join(root, name, file="ann.json", location="images[0].file_name")
    assert find_media([root], name) is None


def test_symlink_out_of_root_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (root / "imgs").symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafeInputError, match="links outside"):
        safe_join(root, "imgs/a.jpg")


def test_failed_write_leaves_previous_target(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_output(target, overwrite=True) as staging:
            staging.mkdir()
            (staging / "new.txt").write_text("partial")
            raise RuntimeError("interrupted")
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
