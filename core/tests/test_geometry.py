import numpy as np
import pytest
from labelport.errors import FormatError
from labelport.geometry import coords, masks
from labelport.schema import RLE, Mask
from pycocotools import mask as coco_mask


def _random_mask(seed, h=37, w=53):
    rng = np.random.default_rng(seed)
    return rng.random((h, w)) > 0.6


@pytest.mark.parametrize("seed", range(5))
def test_rle_matches_pycocotools_and_round_trips(seed):
    m = _random_mask(seed)
    rle = masks.rle_encode(m)
    ref = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
    assert rle.counts == ref["counts"].decode() and rle.size == (37, 53)
    assert np.array_equal(masks.rle_decode(rle), m)
    assert masks.rle_area(rle) == m.sum()


def test_uncompressed_counts_are_column_major_starting_with_zeros():
    m = np.zeros((2, 3), bool)
    m[0, 0] = True  # first pixel set: the zero run is empty
    m[1, 2] = True
    rle = masks.rle_uncompress(masks.rle_encode(m))
    assert rle.counts == [0, 1, 4, 1]
    assert np.array_equal(masks.rle_decode(rle), m)
    assert masks.rle_compress(rle).counts == masks.rle_encode(m).counts


def test_bad_uncompressed_counts_raise_format_error():
    with pytest.raises(FormatError, match="cover 5 pixels"):
        masks.rle_decode(RLE(size=(2, 3), counts=[1, 4]))


def test_cvat_rle_is_row_major_inside_the_box():
    m = np.zeros((6, 8), bool)
    m[2, 3:6] = True
    m[3, 3] = True
    counts, left, top, width, height = masks.cvat_rle_encode(m)
    assert (left, top, width, height) == (3, 2, 3, 2)
    assert counts == [0, 4, 2]  # row-major: 1 1 1 / 1 0 0
    assert np.array_equal(masks.cvat_rle_decode(counts, left, top, width, height, 6, 8), m)


def test_polygon_rasterisation_and_tracing_keep_area():
    rle = masks.polygons_to_rle([[10, 10, 50, 10, 50, 40, 10, 40]], 60, 80)
    area = masks.rle_area(rle)
    assert abs(area - 40 * 30) / (40 * 30) < 0.01
    outer, holes = masks.mask_to_polygons(masks.rle_decode(rle))
    assert len(outer) == 1 and not holes
    assert abs(coords.polygon_area(outer[0]) - area) / area < 0.05


def test_holes_are_subtracted_and_traced():
    rle = masks.polygons_to_rle([[0, 0, 40, 0, 40, 40, 0, 40]], 50, 50, holes=[[10, 10, 30, 10, 30, 30, 10, 30]])
    m = masks.rle_decode(rle)
    assert not m[20, 20] and m[5, 5]
    outer, holes = masks.mask_to_polygons(m)
    assert len(outer) == 1 and len(holes) == 1


def test_mask_model_array_round_trip():
    m = _random_mask(9)
    assert np.array_equal(Mask.from_array(m, label="a").to_array(), m)


def test_index_maps_and_colours():
    index = np.array([[0, 1], [2, 2]], dtype=np.uint8)
    split = masks.index_to_masks(index)
    assert sorted(split) == [1, 2] and split[2].sum() == 2
    assert np.array_equal(masks.masks_to_index(sorted(split.items()), (2, 2)), index)
    cmap = masks.voc_colormap()
    assert cmap[1].tolist() == [128, 0, 0] and cmap[15].tolist() == [192, 128, 128]
    rgb = masks.index_to_rgb(index, {1: (128, 0, 0), 2: (0, 128, 0)})
    assert np.array_equal(masks.rgb_to_index(rgb, {(128, 0, 0): 1, (0, 128, 0): 2}), index)


def test_box_conventions():
    assert coords.voc_to_xywh(1, 1, 10, 20) == (0, 0, 10, 20)
    assert coords.xywh_to_voc(*coords.voc_to_xywh(5, 6, 7, 8)) == (5, 6, 7, 8)
    assert coords.cxcywh_to_xywh(5, 5, 4, 2) == (3, 4, 4, 2)
    assert coords.normalize([50, 25], 100, 50) == [0.5, 0.5]
    assert coords.denormalize([0.5, 0.5], 100, 50) == [50, 25]


def test_rotated_box_corners_round_trip():
    corners = coords.rotated_box_corners(10, 20, 30, 10, 30)
    x, y, w, h, r = coords.corners_to_rotated_box(corners)
    assert np.allclose([x, y, w, h, r], [10, 20, 30, 10, 30])


def test_paint_rles_matches_full_masks_later_over_earlier():
    ms = [_random_mask(s) for s in range(3)]
    index = np.zeros((37, 53), np.uint8)
    masks.paint_rles(index, [(masks.rle_encode(m), k + 1) for k, m in enumerate(ms)])
    assert np.array_equal(index, masks.masks_to_index([(k + 1, m) for k, m in enumerate(ms)], (37, 53)))


def test_short_compressed_rle_is_refused_not_decoded_from_garbage():
    with pytest.raises(FormatError, match="cover 10 pixels"):
        masks.rle_decode(RLE(size=(4, 4), counts="0:"))
    assert (
        masks.string_counts(masks.rle_encode(_random_mask(3)).counts)
        == masks.rle_uncompress(masks.rle_encode(_random_mask(3))).counts
    )


def test_mask_to_polygons_to_mask_is_exact():
    m = np.zeros((40, 50), bool)
    m[5:30, 8:40] = True
    m[12:20, 15:25] = False  # a hole
    m[33:38, 2:6] = True  # a second part
    outer, holes = masks.mask_to_polygons(m)
    assert len(outer) == 2 and len(holes) == 1
    assert all(len(r) <= 16 for r in outer + holes)  # straight runs carry no vertices
    back = masks.rle_decode(masks.polygons_to_rle(outer, 40, 50, holes=holes))
    assert np.array_equal(back, m)
