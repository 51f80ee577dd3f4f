import json

import pytest
from labelport import cli
from labelport.registry import Registry


@pytest.fixture(autouse=True)
def toy_registry(monkeypatch, registry):
    import labelport.registry as reg_mod

    monkeypatch.setattr(reg_mod, "_default", registry)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_formats(capsys):
    code, out, _ = run(capsys, "formats")
    assert code == 0 and out.startswith("toy")


def test_convert_prints_report_and_refuses_clobber(capsys, tmp_path, sample_dataset):
    import labelport

    labelport.save(sample_dataset, tmp_path / "src", "toy")
    code, out, _ = run(capsys, "convert", str(tmp_path / "src"), str(tmp_path / "dst"), "--to", "toy")
    assert code == 0 and "wrote 4 items as toy" in out
    code, _, err = run(capsys, "convert", str(tmp_path / "src"), str(tmp_path / "dst"), "--to", "toy")
    assert code == 2 and err.count("\n") == 1 and "exists" in err and "Traceback" not in err
    code, _, _ = run(capsys, "convert", str(tmp_path / "src"), str(tmp_path / "dst"), "--to", "toy", "--overwrite")
    assert code == 0


def test_strict_lossy_conversion_exits_1(capsys, tmp_path, sample_dataset):
    import labelport
    from labelport.schema import Dataset, Label

    lossless = Dataset(
        [i.model_copy(update={"annotations": i.annotations[:1]}) for i in sample_dataset], labels=[Label(name="cat")]
    )
    labelport.save(lossless, tmp_path / "src", "toy")
    code, _, _ = run(capsys, "convert", str(tmp_path / "src"), str(tmp_path / "dst"), "--to", "toy", "--strict")
    assert code == 0
    src2 = tmp_path / "src2"
    src2.mkdir()
    items = [i.model_dump(mode="json") for i in sample_dataset]  # polylines: toy cannot hold them
    (src2 / "dataset.toy.json").write_text(json.dumps({"labels": [{"name": "cat"}, {"name": "dog"}], "items": items}))
    code, _, err = run(capsys, "convert", str(src2), str(tmp_path / "dst2"), "--to", "toy", "--strict")
    assert code == 1 and "polyline" in err and not (tmp_path / "dst2").exists()


def test_bad_input_is_one_line_exit_2(capsys, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "dataset.toy.json").write_text("{oops")
    code, _, err = run(capsys, "info", str(tmp_path / "d"))
    assert code == 2 and "dataset.toy.json:line 1 column 2" in err and err.count("\n") == 1


def test_validate_exit_codes_and_json(capsys, tmp_path, sample_dataset):
    import labelport

    labelport.save(sample_dataset, tmp_path / "ok", "toy")
    code, out, _ = run(capsys, "validate", str(tmp_path / "ok"))
    assert code == 0 and "no problems" in out
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "dataset.toy.json").write_text("[")
    code, out, _ = run(capsys, "--json", "validate", str(tmp_path / "bad"))
    assert code == 1 and json.loads(out)[0]["severity"] == "error"


def test_info_counts(capsys, tmp_path, sample_dataset):
    import labelport

    labelport.save(sample_dataset, tmp_path / "ok", "toy")
    code, out, _ = run(capsys, "--json", "info", str(tmp_path / "ok"))
    data = json.loads(out)
    assert code == 0 and data["items"] == 4 and data["by_type"] == {"bbox": 4, "polygon": 4}
    assert data["subsets"] == {"val": 2, "train": 2}


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["convert"])
    assert exc.value.code == 2


def test_debug_shows_traceback(capsys, tmp_path):
    code, _, err = run(capsys, "--debug", "info", str(tmp_path / "absent"))
    assert code == 2 and "Traceback" in err


def test_registry_fixture_is_isolated():
    assert isinstance(Registry(load_entry_points=False), Registry)
