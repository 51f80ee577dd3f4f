"""labelport: read, write, detect and validate computer-vision annotation formats."""

from labelport.api import convert, detect, filter, formats, load, merge, remap, save, split, stats, validate
from labelport.errors import FormatError, LabelportError
from labelport.plugin import Detection, FormatInfo, Problem, Report
from labelport.schema import Dataset, Item

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "Detection",
    "FormatError",
    "FormatInfo",
    "Item",
    "LabelportError",
    "Problem",
    "Report",
    "convert",
    "detect",
    "filter",
    "formats",
    "load",
    "merge",
    "remap",
    "save",
    "split",
    "stats",
    "validate",
]
