import zipfile

import labelport
import pytest
from labelport.errors import (
    AmbiguousFormatError,
    DetectionError,
    FormatError,
    LossyConversionError,
    OptionsError,
    TargetExistsError,
    UnknownFormatError,
)
from labelport.plugin import Detection, FormatInfo, hookimpl
from labelport.registry import Registry


def test_formats_lists_registered_plugin(registry):
    infos = labelport.formats(registry=registry)
    assert [i.name for i in infos] == ["toy"]
    assert infos[0].can_read and infos[0].can_write


def test_save_then_load_round_trips(registry, sample_dataset, tmp_path):
    report = labelport.save(sample_dataset, tmp_path / "out", "toy", registry=registry)
    assert report.items == 4
    ds = labelport.load(tmp_path / "out", registry=registry)
    assert ds.format == "toy"
    items = list(ds)
    assert [i.id for i in items] == ["img0", "img1", "img2", "img3"]
    assert items[1].annotations[0].type == "bbox" and items[1].annotations[0].attributes == {"occluded": True}


def test_lossy_save_reports_each_loss_by_kind_and_count(registry, sample_dataset, tmp_path):
    report = labelport.save(sample_dataset, tmp_path / "out", "toy", registry=registry)
    losses = {(w, a): c for (w, a), c in report.losses.items()}
    assert losses[("polyline", "dropped (the format cannot hold it)")] == 4
    assert losses[("label colours", "dropped")] == 1
    assert "4 x polyline" in str(report)
    assert report.annotations == {"bbox": 4, "polygon": 4}


def test_strict_refuses_lossy_conversion_and_writes_nothing(registry, sample_dataset, tmp_path):
    with pytest.raises(LossyConversionError):
        labelport.save(sample_dataset, tmp_path / "out", "toy", strict=True, registry=registry)
    assert list(tmp_path.iterdir()) == []


def test_existing_target_needs_overwrite(registry, sample_dataset, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep")
    with pytest.raises(TargetExistsError):
        labelport.save(sample_dataset, tmp_path / "out", "toy", registry=registry)
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep"


def test_unknown_option_is_a_clear_error(registry, sample_dataset, tmp_path):
    with pytest.raises(OptionsError, match="indnt"):
        labelport.save(sample_dataset, tmp_path / "o", "toy", indnt=True, registry=registry)
    with pytest.raises(OptionsError, match="save_media"):
        labelport.save(sample_dataset, tmp_path / "o", "toy", save_media="teleport", registry=registry)


def test_plugin_options_reach_the_writer(registry, sample_dataset, tmp_path):
    labelport.save(sample_dataset, tmp_path / "o", "toy", indent=True, registry=registry)
    assert b"\n  " in (tmp_path / "o" / "dataset.toy.json").read_bytes()


def test_unknown_format_names_installed_ones(registry):
    with pytest.raises(UnknownFormatError, match="installed: toy"):
        registry.info("nope")


def test_zip_output_and_input(registry, sample_dataset, tmp_path):
    labelport.save(sample_dataset, tmp_path / "out.zip", "toy", name="export", registry=registry)
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert zf.namelist() == ["export/dataset.toy.json"]
    ds = labelport.load(tmp_path / "out.zip", registry=registry)
    assert ds.count() == 4


def test_password_protected_zip(registry, sample_dataset, tmp_path):
    labelport.save(sample_dataset, tmp_path / "secret.zip", "toy", password="s3cret", registry=registry)
    with zipfile.ZipFile(tmp_path / "secret.zip") as zf:
        assert zf.infolist()[0].flag_bits & 0x1  # encrypted
    with pytest.raises(FormatError, match="password"):
        labelport.load(tmp_path / "secret.zip", registry=registry)
    assert labelport.load(tmp_path / "secret.zip", password="s3cret", registry=registry).count() == 4


def test_convert_routes_options(registry, sample_dataset, tmp_path):
    labelport.save(sample_dataset, tmp_path / "a", "toy", registry=registry)
    report = labelport.convert(tmp_path / "a", tmp_path / "b", to="toy", indent=True, registry=registry)
    assert report.items == 4 and (tmp_path / "b" / "dataset.toy.json").exists()


def test_detect_nothing_raises_listing_installed(registry, tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    assert labelport.detect(tmp_path / "x.txt", registry=registry) == []
    with pytest.raises(DetectionError, match="installed: toy"):
        labelport.load(tmp_path / "x.txt", registry=registry)


def test_missing_input_is_a_format_error(registry, tmp_path):
    with pytest.raises(FormatError, match="no such file"):
        labelport.load(tmp_path / "absent", registry=registry)


class _Twin:
    def __init__(self, name):
        self.name = name

    @hookimpl
    def labelport_format_info(self):
        return FormatInfo(name=self.name, title=self.name)

    @hookimpl
    def labelport_detect(self, probe):
        return Detection(format=self.name, confidence=0.5)


def test_tie_raises_ambiguity_naming_candidates(tmp_path):
    reg = Registry(load_entry_points=False)
    reg.register(_Twin("a"))
    reg.register(_Twin("b"))
    with pytest.raises(AmbiguousFormatError) as err:
        labelport.load(tmp_path, registry=reg)
    assert err.value.candidates == ["a", "b"]


def test_disabled_plugins_are_not_registered():
    reg = Registry(load_entry_points=False, disabled={"a"})
    reg.register(_Twin("a"))
    reg.register(_Twin("b"))
    assert [f.name for f in reg.formats()] == ["b"]


def test_disable_environment_variable(monkeypatch):
    monkeypatch.setenv("LABELPORT_DISABLE_PLUGINS", "a, c")
    assert Registry(load_entry_points=False).disabled == {"a", "c"}


def test_validate_reports_generic_problems(registry, tmp_path):
    from labelport.schema import BBox, Dataset, Image, Item, Label, Polygon

    ds = Dataset(
        [
            Item(
                id="x",
                media=Image(width=10, height=10),
                annotations=[
                    BBox(label="cat", x=5, y=5, w=50, h=5),
                    Polygon(label="cat", parts=[[0, 0, 1, 1]]),
                    BBox(label="ghost", x=0, y=0, w=1, h=1),
                ],
            )
        ],
        labels=[Label(name="cat")],
    )
    labelport.save(ds, tmp_path / "v", "toy", registry=registry)
    problems = labelport.validate(tmp_path / "v", registry=registry)
    text = "\n".join(map(str, problems))
    assert "extends outside the 10x10 image" in text
    assert "polygon part 0 has 2 points" in text
    assert "'ghost' is not declared" in text
    assert all(p.location.startswith("item x, annotation") for p in problems)


def test_validate_reports_read_errors_with_location(registry, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "dataset.toy.json").write_text('{"items": [}')
    problems = labelport.validate(tmp_path / "d", registry=registry)
    assert len(problems) == 1 and problems[0].severity == "error"
    assert problems[0].location == "line 1 column 12"


def test_api_does_not_import_cli_dependencies(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys, labelport; labelport.formats(); "
        "print(sorted(m for m in ('rich', 'matplotlib', 'argparse_cli') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_writer_losses_survive_a_second_pass(registry, tmp_path):
    from labelport.conversion import fit_items
    from labelport.plugin import Report
    from labelport.schema import Dataset, Item, Polyline

    report = Report("toy")
    report.loss("writer thing", "dropped", 3)
    ds = Dataset([Item(id="a", annotations=[Polyline(points=[0, 0, 1, 1])])])
    info = registry.info("toy")
    list(fit_items(ds, info, report))
    list(fit_items(ds, info, report))
    assert report.losses == {("writer thing", "dropped"): 3, ("polyline", "dropped (the format cannot hold it)"): 1}
