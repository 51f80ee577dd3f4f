import labelport
import pytest
from labelport.parallel import _round_robin, pmap


def _square(x):
    return x * x


def test_pmap_keeps_order_and_matches_serial():
    data = list(range(500))
    assert list(pmap(_square, data, workers=2, chunksize=7)) == [x * x for x in data]
    assert list(pmap(_square, data, workers=1)) == [x * x for x in data]


def test_round_robin_restores_order():
    items = list(range(10))
    parts = [[i for i in items if i % 3 == k] for k in range(3)]
    assert [i for group in _round_robin(parts) for i in group] == items


def test_dask_conversion_equals_local(sample_dataset, tmp_path, monkeypatch, registry):
    distributed = pytest.importorskip("distributed", reason="needs the [dask] extra")
    import labelport.registry as reg_mod

    monkeypatch.setattr(reg_mod, "_default", registry)
    labelport.save(sample_dataset, tmp_path / "src", "toy")
    local = labelport.convert(tmp_path / "src", tmp_path / "local", to="toy")
    from labelport.parallel import convert_on_dask

    with distributed.Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as client:
        report = convert_on_dask(tmp_path / "src", tmp_path / "dask", "toy", client=client, shards=3)
    assert report.items == local.items == 4
    a = (tmp_path / "local" / "dataset.toy.json").read_bytes()
    b = (tmp_path / "dask" / "dataset.toy.json").read_bytes()
    assert a == b
