"""Loaders read small files written in the real formats: NYU .mat (HDF5), Middlebury, folders, PFM."""
import cv2
import h5py
import numpy as np
import pytest
import scipy.io
from dataset_files import write_middlebury_2014, write_nyu, write_rgb_png

from dsr_ros.depth_files import read_pfm, write_pfm
from dsr_ros.train.datasets.folder import PairFolder
from dsr_ros.train.datasets.middlebury import Middlebury, read_calib, size_factor_2005
from dsr_ros.train.datasets.nyu import NYUv2

H, W = 48, 64  # NYU is 480×640: height < width, like here


def _write_nyu(path, n=4):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (n, H, W, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 9.0, (n, H, W)).astype(np.float32)
    depth[:, 0, :5] = 0.0
    write_nyu(path, rgb, depth)
    return rgb, depth


def test_nyu_axis_order_split_and_invalid(tmp_path, monkeypatch):
    path = tmp_path / "nyu_depth_v2_labeled.mat"
    rgb, depth = _write_nyu(path)
    with h5py.File(path) as f:
        assert f["images"].shape == (4, 3, W, H) and f["depths"].shape == (4, W, H)
    monkeypatch.setattr("dsr_ros.train.datasets.nyu.TRAIN_COUNT", 3)
    test = NYUv2(path, "test")
    assert len(test) == 1 and len(NYUv2(path, "train")) == 3
    s = test[0]
    assert s.name == "nyu_0003" and s.rgb.shape == (H, W, 3) and s.depth.shape == (H, W)
    np.testing.assert_allclose(s.rgb, rgb[3] / 255.0, atol=1e-6)
    assert np.isnan(s.depth[0, :5]).all()
    np.testing.assert_array_equal(s.depth[1:], depth[3, 1:])


def test_nyu_split_files(tmp_path):
    path = tmp_path / "nyu.mat"
    _write_nyu(path)
    scipy.io.savemat(tmp_path / "splits.mat", {"trainNdxs": np.array([[1], [3]]), "testNdxs": np.array([[2], [4]])})
    assert NYUv2(path, "test", tmp_path / "splits.mat").indices == [1, 3]
    (tmp_path / "idx.txt").write_text("2\n0\n")
    assert [s.name for s in NYUv2(path, "train", tmp_path / "idx.txt")] == ["nyu_0002", "nyu_0000"]
    (tmp_path / "bad.txt").write_text("7\n")
    with pytest.raises(ValueError, match="outside"):
        NYUv2(path, "train", tmp_path / "bad.txt")
    with pytest.raises(ValueError, match="1000/449"):
        NYUv2(path, "test")


def test_nyu_rejects_other_files(tmp_path):
    with h5py.File(tmp_path / "x.mat", "w") as f:
        f["images"] = np.zeros((2, 3, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="depths"):
        NYUv2(tmp_path / "x.mat")


@pytest.mark.parametrize("little", [True, False])
def test_pfm_round_trip_both_byte_orders(tmp_path, little):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    a[0, 0] = np.inf
    write_pfm(tmp_path / "a.pfm", a, little_endian=little)
    raw = (tmp_path / "a.pfm").read_bytes()
    assert raw.startswith(b"Pf\n4 3\n" + (b"-1.0\n" if little else b"1.0\n"))
    # rows stored bottom-up: the first value in the file is the bottom-left pixel
    body = np.frombuffer(raw[-48:], dtype="<f4" if little else ">f4")
    assert body[0] == a[2, 0]
    np.testing.assert_array_equal(read_pfm(tmp_path / "a.pfm"), a)
    colour = np.random.default_rng(0).random((2, 3, 3)).astype(np.float32)
    write_pfm(tmp_path / "c.pfm", colour, little_endian=little)
    np.testing.assert_array_equal(read_pfm(tmp_path / "c.pfm"), colour)


def test_pfm_rejects_truncated(tmp_path):
    write_pfm(tmp_path / "a.pfm", np.ones((3, 4), np.float32))
    (tmp_path / "a.pfm").write_bytes((tmp_path / "a.pfm").read_bytes()[:-4])
    with pytest.raises(ValueError, match="header says 4x3x1"):
        read_pfm(tmp_path / "a.pfm")


def test_middlebury_2005_third_and_full_size(tmp_path):
    third = tmp_path / "Art"
    third.mkdir()
    disp = np.full((370, 10), 50, np.uint8)
    disp[0, 0] = 0
    cv2.imwrite(str(third / "disp1.png"), disp)
    write_rgb_png(third / "view1.png", 370, 10)
    full = tmp_path / "Books"
    full.mkdir()
    cv2.imwrite(str(full / "disp1.png"), np.full((1110, 4), 100, np.uint8))
    write_rgb_png(full / "view1.png", 1110, 4)
    (full / "dmin.txt").write_text("200\n")
    (tmp_path / "notes").mkdir()
    data = Middlebury(tmp_path)
    assert len(data) == 2
    art, books = data[0], data[1]
    assert art.name == "Art" and np.isnan(art.depth[0, 0]) and np.isnan(art.disparity[0, 0])
    assert np.allclose(art.rgb[1, 1], [1.0, 0.0, 0.0])
    assert art.depth[1, 1] == pytest.approx(3740 / 3 * 160 / 50 / 1000)
    assert books.disparity[0, 0] == 300 and books.depth[0, 0] == pytest.approx(3740 * 160 / 300 / 1000)
    assert [s.name for s in Middlebury(tmp_path, scenes=["Books"])] == ["Books"]
    (full / "dmin.txt").unlink()
    with pytest.raises(FileNotFoundError, match="dmin.txt"):
        data[1]


def test_middlebury_2005_rejects_unknown_size():
    with pytest.raises(ValueError, match="Third"):
        size_factor_2005(480)


def test_middlebury_2014_depth_from_calib(tmp_path):
    scene = tmp_path / "Adirondack-perfect"
    disp = np.full((5, 6), 100.0, np.float32)
    disp[4, 5] = np.inf
    write_middlebury_2014(scene, disp)
    assert read_calib(scene / "calib.txt") == {"focal": 3997.684, "baseline": 193.001, "doffs": 131.111}
    s = Middlebury(tmp_path)[0]
    assert np.isnan(s.depth[4, 5]) and np.isnan(s.disparity[4, 5])
    assert s.depth[0, 0] == pytest.approx(193.001 * 3997.684 / (100 + 131.111) / 1000, rel=1e-6)
    assert s.rgb.shape == (5, 6, 3) and s.depth.dtype == np.float32


def test_middlebury_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no scene"):
        Middlebury(tmp_path)
    (tmp_path / "A").mkdir()
    write_pfm(tmp_path / "A" / "disp0.pfm", np.ones((2, 2), np.float32))
    with pytest.raises(FileNotFoundError, match="Nope"):
        Middlebury(tmp_path, scenes=["Nope"])


def test_pair_folder_png_and_npy(tmp_path):
    (tmp_path / "rgb").mkdir()
    (tmp_path / "depth").mkdir()
    write_rgb_png(tmp_path / "rgb" / "a.png", 6, 8)
    write_rgb_png(tmp_path / "rgb" / "b.png", 6, 8)
    mm = np.full((6, 8), 1500, np.uint16)
    mm[0, 0] = 0
    cv2.imwrite(str(tmp_path / "depth" / "a.png"), mm)
    metres = np.full((6, 8), 2.25, np.float32)
    metres[1, 1] = np.inf
    np.save(tmp_path / "depth" / "b.npy", metres)
    a, b = PairFolder(tmp_path)
    assert a.name == "a" and a.depth[1, 1] == pytest.approx(1.5) and np.isnan(a.depth[0, 0])
    assert b.depth[0, 0] == pytest.approx(2.25) and np.isnan(b.depth[1, 1])
    cv2.imwrite(str(tmp_path / "depth" / "a.png"), mm.astype(np.uint8))
    with pytest.raises(ValueError, match="16-bit"):
        PairFolder(tmp_path)[0]
    write_rgb_png(tmp_path / "rgb" / "c.png", 6, 8)
    with pytest.raises(ValueError, match="unpaired"):
        PairFolder(tmp_path)


def test_pair_folder_rejects_misaligned(tmp_path):
    (tmp_path / "rgb").mkdir()
    (tmp_path / "depth").mkdir()
    write_rgb_png(tmp_path / "rgb" / "a.png", 6, 8)
    np.save(tmp_path / "depth" / "a.npy", np.ones((6, 7), np.float32))
    with pytest.raises(ValueError, match="8x6 but depth is 7x6"):
        PairFolder(tmp_path)[0]
