from pathlib import Path

from labelport.testing import FormatConformance


class TestMasksConformance(FormatConformance):
    format_name = "masks"
    samples = Path(__file__).parent / "data"
    # Generated masks overlap; only the individual layout (one PNG per mask) keeps overlapping
    # pixels, the aggregated layouts report them as a loss. The default layout's round trips
    # are tested in test_masks.py.
    write_options = {"mask_layout": "individual"}
    # the mask PNGs are this format's annotations: truncate and mutate them too
    image_annotations = ("*.png",)

    def corrupt(self, sample: Path) -> None:
        """Cut the largest mask PNG short: the masks, not classes.txt, are this format's content."""
        target = max(sample.rglob("*_masks/**/*.png"), key=lambda p: p.stat().st_size)
        data = target.read_bytes()
        target.write_bytes(data[: len(data) // 2])
