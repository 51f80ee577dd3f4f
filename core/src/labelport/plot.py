"""A chart of a dataset's make-up: counts per label and per subset, and box sizes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from labelport.diff import _box
from labelport.errors import MissingDependencyError
from labelport.schema import Dataset


def plot_stats(dataset: Dataset, path: str | Path) -> Path:
    """Write a PNG with three panels: annotations per label, items per subset, box width/height."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("charts need matplotlib: pip install 'labelport[plot]'") from None
    per_label: Counter[str] = Counter()
    per_subset: Counter[str] = Counter()
    widths: list[float] = []
    heights: list[float] = []
    for item in dataset:
        per_subset[item.subset or "default"] += 1
        for ann in item.annotations:
            per_label[ann.label or "(none)"] += 1
            box = _box(ann)
            if box is not None:
                widths.append(box[2] - box[0])
                heights.append(box[3] - box[1])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    labels = per_label.most_common(30)
    axes[0].barh([k for k, _ in labels][::-1], [v for _, v in labels][::-1], color="#4c72b0")
    axes[0].set_title("annotations per label")
    axes[1].bar(list(per_subset), list(per_subset.values()), color="#55a868")
    axes[1].set_title("items per subset")
    if widths:
        axes[2].scatter(widths, heights, s=4, alpha=0.4, color="#c44e52")
    axes[2].set_xlabel("width (px)")
    axes[2].set_ylabel("height (px)")
    axes[2].set_title("box sizes")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
