import sys
from pathlib import Path

# the synthetic-DICOM builders beside the tests (rt_builders.py) are imported by name
sys.path.insert(0, str(Path(__file__).parent))
