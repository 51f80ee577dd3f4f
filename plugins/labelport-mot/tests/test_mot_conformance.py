from pathlib import Path

import labelport
from labelport.schema import Dataset
from labelport.testing import FormatConformance, diff_datasets


class TestMotConformance(FormatConformance):
    format_name = "mot"
    samples = Path(__file__).parent / "data_mot"
    # MOT keeps only the visibility/occluded/ignored attributes (others are reported as lost) and
    # the reader adds those three to every ground-truth box
    roundtrip_ignore = frozenset({"attributes"})
    kit_overrides = {
        "test_generated_datasets_round_trip": "MOT items are frames: generated item names become frame "
        "numbers 000001, 000002, ... (a reported loss); the override compares items in order under those ids",
    }

    def test_generated_datasets_round_trip(self, tmp_path: Path) -> None:
        """The kit's generated datasets survive write -> read once items are named by frame number."""
        from hypothesis import HealthCheck, given, settings
        from labelport.testing.strategies import datasets

        counter = iter(range(10**9))

        @settings(
            max_examples=self.generated_examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(datasets(self.info, kinds=self.generated_kinds, integer=self.integer_coordinates))
        def check(ds: Dataset) -> None:
            out = tmp_path / f"gen-{next(counter)}"
            report = labelport.save(ds, out, self.format_name)
            after = labelport.load(out, format=self.format_name).materialize()
            renamed = ds.with_items([item.model_copy(update={"id": f"{k:06d}"}) for k, item in enumerate(ds, 1)])
            assert [i.id for i in after] == [i.id for i in renamed]
            problems = diff_datasets(
                renamed, after, self.info, tolerance=self.tolerance, ignore=set(self.roundtrip_ignore)
            )
            assert not problems, "\n".join(problems)
            assert ("item names", "replaced by frame numbers (MOT items are frames)") in report.losses

        check()
