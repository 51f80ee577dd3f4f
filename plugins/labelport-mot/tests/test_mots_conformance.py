from pathlib import Path

import labelport
import numpy as np
from labelport.schema import Dataset, Item, Mask
from labelport.testing import FormatConformance, diff_datasets


class TestMotsConformance(FormatConformance):
    format_name = "mots"
    samples = Path(__file__).parent / "data_mots"
    kit_overrides = {
        "test_generated_datasets_round_trip": "a MOTS frame holds one object id per pixel and every object has "
        "an instance (track) number: generated masks overlap and have no track id, so the override compares "
        "with what MOTS can hold (later masks over earlier ones, instance numbers given) and checks the "
        "overlaps are reported",
    }

    def corrupt(self, sample: Path) -> None:
        """The PNG encoding keeps its annotations in images, which the kit's default leaves
        alone: cut the first instance PNG (or the largest txt file) in half."""
        pngs = sorted(sample.rglob("instances/**/*.png"))
        files = pngs or sorted(sample.rglob("*.txt"), key=lambda p: -p.stat().st_size)
        data = files[0].read_bytes()
        files[0].write_bytes(data[: len(data) // 2])

    def test_generated_datasets_round_trip(self, tmp_path: Path) -> None:
        """The kit's generated datasets, as MOTS can hold them, survive write -> read."""
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
            expected = ds.with_items([_as_mots_holds(item) for item in ds])
            problems = diff_datasets(expected, after, self.info, tolerance=self.tolerance)
            assert not problems, "\n".join(problems)
            overlapping = any(_overlaps(item) for item in ds)
            assert overlapping == any(what == "overlapping mask pixels" for what, _ in report.losses)

        check()


def _as_mots_holds(item: Item) -> Item:
    """Masks painted in order (later over earlier); a mask without a track gets the next
    instance number of its class (1, 2, ...), as the writer numbers them."""
    masks = [a for a in item.annotations if a.type == "mask"]
    numbers: dict[str | None, int] = {}
    tracks = []
    for m in masks:
        numbers[m.label] = numbers.get(m.label, 0) + 1
        tracks.append(m.track_id if m.track_id is not None else numbers[m.label])
    covered = np.zeros(masks[0].rle.size, bool) if masks else None
    kept: list[Mask] = []
    for m, track in reversed(list(zip(masks, tracks, strict=True))):
        pixels = m.to_array()
        visible = pixels & ~covered
        covered |= pixels
        if visible.any():
            kept.append(Mask.from_array(visible, label=m.label, track_id=track))
    return item.model_copy(update={"annotations": kept[::-1]})


def _overlaps(item: Item) -> bool:
    masks = [a.to_array() for a in item.annotations if a.type == "mask"]
    return any(np.any(a & b) for i, a in enumerate(masks) for b in masks[i + 1 :])
