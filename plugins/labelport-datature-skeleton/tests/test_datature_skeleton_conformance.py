from pathlib import Path

from labelport.schema import Dataset, Label, Skeleton
from labelport.testing import FormatConformance
from labelport.testing.strategies import SKELETON


class TestDatatureSkeletonConformance(FormatConformance):
    format_name = "datature_skeleton"
    samples = Path(__file__).parent / "data"
    has_items = False

    def reduce_generated(self, dataset: Dataset) -> Dataset:
        """What a skeleton file holds: skeletons, no items (the kit generates no skeleton for a
        format without keypoints, so the person label gets the kit's)."""
        skeleton = Skeleton(points=SKELETON.points, edges=SKELETON.edges, flip_pairs=[(1, 2)])
        return Dataset([], labels=[Label(name="person", skeleton=skeleton)])
