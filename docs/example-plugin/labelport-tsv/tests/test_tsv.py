from pathlib import Path

import pytest

import labelport
from labelport.errors import FormatError

DATA = Path(__file__).parent / "data"


def test_boxes_are_read_in_pixels():
    items = {i.id: i for i in labelport.load(DATA / "boxes.tsv")}
    car = items["street"].annotations[0]
    assert (car.label, car.x, car.y, car.w, car.h) == ("car", 10, 20.5, 100, 50)
    assert items["empty"].annotations == [] and items["empty"].media.width == 320


def test_bad_number_names_line_and_column(tmp_path):
    bad = tmp_path / "boxes.tsv"
    bad.write_text((DATA / "boxes.tsv").read_text().replace("20.5", "twenty"))
    with pytest.raises(FormatError) as err:
        labelport.load(bad, format="tsv")
    assert err.value.location == "line 2, column 6"
