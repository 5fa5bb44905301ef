import io
import json

import numpy as np
import pytest
import rasterio
from affine import Affine

from qgis_noisyseg.core.errors import UserError
from qgis_noisyseg.core.dataset import class_histogram
from qgis_noisyseg.core.noise import NOISE_KINDS, corrupt_dataset, corrupt_mask, find_objects
from qgis_noisyseg.core.progress import Reporter

NUM_CLASSES = 4  # background + 3 object classes


def synthetic_mask(seed=0, size=128, grid=(6, 5)):
    """Rectangles and disks of classes 1..3, one per grid cell, never touching each other."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((size, size), np.uint8)
    cell_h, cell_w = size // grid[0], size // grid[1]
    rows, cols = np.mgrid[:size, :size]
    for r in range(grid[0]):
        for c in range(grid[1]):
            top, left = r * cell_h + 2, c * cell_w + 2
            h, w = rng.integers(4, cell_h - 3), rng.integers(4, cell_w - 3)
            class_id = rng.integers(1, NUM_CLASSES)
            if rng.random() < 0.5:
                mask[top:top + h, left:left + w] = class_id
            else:
                radius = min(h, w) / 2
                inside = (rows - top - radius) ** 2 + (cols - left - radius) ** 2 <= radius ** 2
                mask[inside] = class_id
    return mask


def single_object(size=64, top=22, left=20, h=14, w=20, class_id=1):
    mask = np.zeros((size, size), np.uint8)
    mask[top:top + h, left:left + w] = class_id
    return mask


def corrupt(mask, rate, kinds, seed=0, **kwargs):
    kwargs.setdefault("num_classes", NUM_CLASSES)
    return corrupt_mask(mask, rate, kinds, np.random.default_rng(seed), **kwargs)


def test_synthetic_mask_has_about_30_separate_objects():
    assert len(find_objects(synthetic_mask())) == 30


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_rate_zero_changes_nothing(kind):
    mask = synthetic_mask()
    out, report = corrupt(mask, 0.0, [kind])
    assert np.array_equal(out, mask)
    assert out is not mask
    assert report.objects == 30 and report.touched == {kind: 0}


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_input_is_never_modified(kind):
    mask = synthetic_mask()
    before = mask.copy()
    out, _ = corrupt(mask, 1.0, [kind])
    assert np.array_equal(mask, before)
    assert not np.array_equal(out, mask)


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 1.0])
def test_remove_lowers_object_count_by_rate(rate):
    for seed in range(4):
        mask = synthetic_mask(seed)
        n = len(find_objects(mask))
        out, report = corrupt(mask, rate, ["remove"], seed=seed)
        assert report.touched["remove"] == round(rate * n)
        assert len(find_objects(out)) == n - round(rate * n)
        assert set(np.unique(out)) <= set(np.unique(mask))  # removed pixels became background


def test_remove_with_ignore_as_unlabeled():
    mask = synthetic_mask()
    out, _ = corrupt(mask, 1.0, ["remove"], unlabeled_value=255)
    assert np.all(out[mask != 0] == 255)
    assert np.all(out[mask == 0] == 0)


@pytest.mark.parametrize("seed", range(6))
def test_shift_keeps_area_and_moves(seed):
    mask = single_object()
    mask[22:26, 20:26] = 0  # not a plain rectangle
    out, report = corrupt(mask, 1.0, ["shift"], seed=seed)
    assert report.touched == {"shift": 1}
    assert np.count_nonzero(out == 1) == np.count_nonzero(mask == 1)
    assert not np.array_equal(out, mask)
    rows, cols = np.nonzero(mask)
    new_rows, new_cols = np.nonzero(out)
    assert abs(new_rows.min() - rows.min()) <= 14 // 2 and abs(new_cols.min() - cols.min()) <= 20 // 2


@pytest.mark.parametrize("seed", range(4))
def test_erode_shrinks_and_dilate_grows(seed):
    mask = single_object(h=30, w=30, top=17, left=17)
    area = np.count_nonzero(mask)
    eroded, _ = corrupt(mask, 1.0, ["erode"], seed=seed)
    dilated, _ = corrupt(mask, 1.0, ["dilate"], seed=seed)
    assert 0 < np.count_nonzero(eroded == 1) < area
    assert np.all(mask[eroded == 1] == 1)
    assert np.count_nonzero(dilated == 1) > area
    assert np.all(dilated[mask == 1] == 1)


def test_erode_can_remove_a_small_object():
    mask = single_object(h=3, w=3)
    out, report = corrupt(mask, 1.0, ["erode"])
    assert report.touched == {"erode": 1}
    assert not out.any()


def test_dilate_paints_over_neighbours():
    mask = single_object(h=20, w=10, left=20, class_id=1)
    mask[22:42, 31:41] = 2  # 1 px away
    for seed in range(4):
        out, report = corrupt(mask, 0.5, ["dilate"], seed=seed)
        assert report.touched == {"dilate": 1}
        grown = 1 if np.count_nonzero(out == 1) > 200 else 2
        assert np.any((mask == 3 - grown) & (out == grown))


@pytest.mark.parametrize("seed", range(6))
def test_rotate_keeps_area(seed):
    mask = single_object(h=10, w=30, top=27, left=17)
    out, report = corrupt(mask, 1.0, ["rotate"], seed=seed)
    assert report.touched == {"rotate": 1}
    assert np.count_nonzero(out == 1) == pytest.approx(300, rel=0.1)
    rows, cols = np.nonzero(out)
    assert rows.mean() == pytest.approx(31.5, abs=1) and cols.mean() == pytest.approx(31.5, abs=1)


def test_flip_changes_class_but_not_footprint():
    mask = synthetic_mask()
    out, report = corrupt(mask, 1.0, ["flip"])
    assert report.touched == {"flip": 30}
    assert np.array_equal(out != 0, mask != 0)
    assert np.all(out[mask != 0] != mask[mask != 0])
    assert set(np.unique(out)) <= {0, 1, 2, 3}


def test_flip_without_another_class_does_nothing():
    mask = single_object()
    out, report = corrupt(mask, 1.0, ["flip"], num_classes=2)
    assert np.array_equal(out, mask)
    assert report.touched == {"flip": 0}


def test_same_seed_same_output_different_seed_different_output():
    mask = synthetic_mask()
    a, report_a = corrupt(mask, 0.5, NOISE_KINDS, seed=7)
    b, report_b = corrupt(mask, 0.5, NOISE_KINDS, seed=7)
    c, _ = corrupt(mask, 0.5, NOISE_KINDS, seed=8)
    assert np.array_equal(a, b) and report_a == report_b
    assert not np.array_equal(a, c)
    assert report_a.objects == 30 and sum(report_a.touched.values()) == 15


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_invalid_pixels_stay_ignore(kind):
    mask = synthetic_mask()
    valid = np.ones(mask.shape, bool)
    valid[:, 100:] = False
    valid[:10, :] = False
    mask[~valid] = 255
    for seed in range(3):
        out, _ = corrupt(mask, 1.0, [kind], seed=seed, valid=valid)
        assert np.all(out[~valid] == 255)


def test_valid_ignore_pixels_stay_unless_painted():
    mask = synthetic_mask()
    mask[60:64, :] = 255  # unlabelled strip inside the image
    out, _ = corrupt(mask, 1.0, ["remove", "flip", "erode"])
    assert np.all(out[60:64, :] == 255)


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), "0.5"])
def test_bad_rate(rate):
    with pytest.raises(UserError, match="rate"):
        corrupt(synthetic_mask(), rate, ["remove"])


def test_unknown_kind_lists_valid_ones():
    with pytest.raises(UserError, match="valid kinds are: remove, shift, erode, dilate, rotate, flip"):
        corrupt(synthetic_mask(), 0.5, ["remove", "warp"])


# --- corrupt_dataset -------------------------------------------------------------------------

TILE = 32
COLORS = {0: (0, 0, 0, 255), 1: (230, 195, 92, 255), 2: (77, 175, 74, 255)}


def write_dataset(root):
    """A two-tile dataset; the second tile's right quarter is outside the image (nodata)."""
    classes = [{"id": 0, "name": "background", "color": "#000000", "values": []},
               {"id": 1, "name": "barley", "color": "#e6c35c", "values": ["1"]},
               {"id": 2, "name": "wheat", "color": "#4daf4a", "values": ["2"]}]
    tiles = []
    for i in range(2):
        tile_id = f"r000000_c{i * TILE:06d}"
        transform = Affine(10, 0, 500000 + i * TILE * 10, 0, -10, 6200000)
        image = np.full((3, TILE, TILE), 100 + i, np.uint8)
        mask = np.zeros((TILE, TILE), np.uint8)
        mask[3:12, 3:14], mask[16:28, 4:10], mask[18:26, 16:29], mask[2:9, 20:30] = 1, 2, 1, 2
        if i == 1:
            image[:, :, 24:] = 0
            mask[:, 24:] = 255
        common = dict(driver="GTiff", width=TILE, height=TILE, crs="EPSG:32632", transform=transform)
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(exist_ok=True)
        with rasterio.open(root / "images" / f"{tile_id}.tif", "w", count=3, dtype="uint8", nodata=0, **common) as dst:
            dst.write(image)
        with rasterio.open(root / "masks" / f"{tile_id}.tif", "w", count=1, dtype="uint8", nodata=255, **common) as dst:
            dst.write(mask, 1)
            dst.write_colormap(1, COLORS)
        tiles.append({"id": tile_id, "image": f"images/{tile_id}.tif", "mask": f"masks/{tile_id}.tif",
                      "window": {"col_off": i * TILE, "row_off": 0, "width": TILE, "height": TILE},
                      "transform": list(transform)[:6], "split": "train", "label_source": "clean",
                      "valid_fraction": 1.0 if i == 0 else 0.75,
                      "labeled_fraction": float(np.mean(mask != 255)), "class_histogram": class_histogram(mask)})
    manifest = {"format": "noisyseg-dataset", "format_version": 1, "crs": "EPSG:32632",
                "resolution": [10.0, 10.0], "tile_size": TILE, "stride": TILE, "ignore_index": 255,
                "unlabeled": "background", "classes": classes, "label_source": "clean", "noise": None,
                "tiles": tiles}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (root / "classes.json").write_text(json.dumps({"classes": classes}), encoding="utf-8")
    return root


def read_mask(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.profile, ds.colormap(1)


def test_corrupt_dataset_writes_noisy_copy(tmp_path):
    src = write_dataset(tmp_path / "clean")
    stream = io.StringIO()
    result = corrupt_dataset(src, tmp_path / "noisy", 1.0, NOISE_KINDS, 3, False, Reporter(json_lines=True, stream=stream))
    out = tmp_path / "noisy"
    assert result["dataset"] == str(out)
    assert result["objects"] == 8 and sum(result["touched"].values()) == 8

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["noise"] == {"kinds": list(NOISE_KINDS), "rate": 1.0, "seed": 3, "source": str(src.resolve()),
                                 "objects": 8, "touched": result["touched"]}
    assert manifest["label_source"] == "noisy"
    assert (out / "classes.json").read_bytes() == (src / "classes.json").read_bytes()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["stage"], e["done"], e["total"]) for e in events] == [("corrupt", 1, 2), ("corrupt", 2, 2)]

    for tile in manifest["tiles"]:
        assert tile["label_source"] == "noisy"
        assert (out / tile["image"]).read_bytes() == (src / tile["image"]).read_bytes()
        noisy, profile, colormap = read_mask(out / tile["mask"])
        clean, clean_profile, _ = read_mask(src / tile["mask"])
        assert profile["transform"] == clean_profile["transform"] and profile["crs"] == clean_profile["crs"]
        assert profile["nodata"] == 255 and colormap[1] == COLORS[1]
        assert tile["class_histogram"] == class_histogram(noisy)
        assert tile["labeled_fraction"] == pytest.approx(np.mean(noisy != 255))
    noisy, _, _ = read_mask(out / manifest["tiles"][1]["mask"])
    assert np.all(noisy[:, 24:] == 255)

    again = corrupt_dataset(src, tmp_path / "again", 1.0, NOISE_KINDS, 3, False, None)
    assert again["touched"] == result["touched"]
    for tile in manifest["tiles"]:
        assert np.array_equal(read_mask(out / tile["mask"])[0], read_mask(tmp_path / "again" / tile["mask"])[0])


def test_corrupt_dataset_refuses_existing_output_unless_overwrite(tmp_path):
    src = write_dataset(tmp_path / "clean")
    corrupt_dataset(src, tmp_path / "noisy", 0.5, ["remove"], 0, False, None)
    with pytest.raises(UserError, match="already exists"):
        corrupt_dataset(src, tmp_path / "noisy", 0.5, ["remove"], 0, False, None)
    corrupt_dataset(src, tmp_path / "noisy", 0.5, ["flip"], 0, True, None)
    manifest = json.loads((tmp_path / "noisy" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["noise"]["kinds"] == ["flip"]


def test_corrupt_dataset_leaves_nothing_on_failure(tmp_path):
    src = write_dataset(tmp_path / "clean")
    with pytest.raises(UserError, match="unknown noise kind 'warp'"):
        corrupt_dataset(src, tmp_path / "noisy", 0.5, ["warp"], 0, False, None)
    with pytest.raises(UserError, match="rate"):
        corrupt_dataset(src, tmp_path / "noisy", 2.0, ["remove"], 0, False, None)
    (src / "masks" / "r000000_c000032.tif").write_bytes(b"II*\0 damaged")  # fails half-way, after the first tile
    with pytest.raises(UserError, match=r"masks/r000000_c000032.tif is damaged"):
        corrupt_dataset(src, tmp_path / "noisy", 0.5, ["remove"], 0, False, None)
    (src / "masks" / "r000000_c000032.tif").unlink()  # a missing tile is refused before any work
    with pytest.raises(UserError, match=r"masks/r000000_c000032.tif is missing \(tile r000000_c000032\)"):
        corrupt_dataset(src, tmp_path / "noisy", 0.5, ["remove"], 0, False, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean"]


def test_corrupt_dataset_needs_a_manifest(tmp_path):
    with pytest.raises(UserError, match=r"is not a noisyseg dataset \(no manifest.json\)"):
        corrupt_dataset(tmp_path, tmp_path / "noisy", 0.5, ["remove"], 0, False, None)
    assert not (tmp_path / "noisy").exists()
