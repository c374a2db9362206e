"""Scenes v2 (ray cast in perspective) and the sensor models built on them."""
import numpy as np
import pytest

from dsr_ros.train.degrade import degrade, stereo, time_of_flight
from dsr_ros.train.evaluate import ErrorSums, beside_holes, edge_band, thin_structures
from dsr_ros.train.raycast import Pinhole, Primitive, render
from dsr_ros.train.scene_pool import open_pool, pool_folder
from dsr_ros.train.scenes3d import LAYOUTS, MAX_DEPTH_M, MIN_DEPTH_M, Builder, render_scene3d, scene3d_for_seed

CAMERA = Pinhole(100.0, 100.0, 31.5, 23.5, 64, 48)


def test_ray_casting_gives_exact_depth_of_each_primitive():
    sphere = Primitive("ellipsoid", np.array([0, 0, 2.0], np.float32), size=np.full(3, 0.5, np.float32), material=1)
    wall = Primitive("box", np.array([0, 0, 3.5], np.float32), size=np.array([5, 5, 0.5], np.float32), material=2)
    pole = Primitive("capsule", np.array([0.1, -1, 1.0], np.float32), size=np.full(3, 0.05, np.float32),
                     end=np.array([0.1, 1, 1.0], np.float32), material=3)
    out = render(CAMERA, [wall, sphere, pole])
    centre = (23, 31)  # 0.5 px off the optical axis: the sphere surface is a hair behind 1.5 m
    assert out.depth[centre] == pytest.approx(1.5, abs=1e-3) and out.material[centre] == 1
    assert out.depth[0, 0] == pytest.approx(3.0, abs=1e-5) and out.material[0, 0] == 2
    column, slope = 42, (42 - 31.5) / 100  # the ray x = slope * z meets (x - 0.1)² + (z - 1)² = 0.05²
    nearest_root = min(np.roots([slope**2 + 1, -2 * (0.1 * slope + 1), 0.1**2 + 1 - 0.05**2]))
    assert out.depth[5, column] == pytest.approx(nearest_root, abs=1e-5)
    assert out.material[5, column] == 3
    np.testing.assert_allclose(out.normal[0, 0], [0, 0, -1], atol=1e-5)  # the wall faces the camera


def test_inside_of_a_room_is_its_far_wall():
    room = Primitive("room", np.array([0, 0, 2.0], np.float32), size=np.array([10, 10, 3.0], np.float32))
    out = render(CAMERA, [room])
    assert out.depth[23, 31] == pytest.approx(5.0, abs=1e-4)


def test_camera_pitch_down_puts_the_floor_at_the_bottom():
    b = Builder(np.random.default_rng(0))
    b.box((0, -0.05, 5), (10, 0.05, 10), b.material())
    down, up = (render(CAMERA, b.camera_frame(np.array([0, 1.0, 0], np.float32), 0.0, pitch, 0.0)).depth
                for pitch in (-0.4, 0.1))
    assert np.isfinite(down).all() and down[-1].mean() < down[0].mean()  # the floor comes closer at the bottom
    assert np.isinf(up[0]).all() and np.isfinite(up[-1]).all()


def test_scenes_are_seeded_and_in_range():
    a, b, c = scene3d_for_seed(11, 48, 64), scene3d_for_seed(11, 48, 64), scene3d_for_seed(12, 48, 64)
    np.testing.assert_array_equal(a.depth, b.depth)
    np.testing.assert_array_equal(a.rgb, b.rgb)
    assert not np.array_equal(np.nan_to_num(a.depth), np.nan_to_num(c.depth))
    for scene in (a, c):
        valid = scene.depth[np.isfinite(scene.depth)]
        assert valid.min() >= MIN_DEPTH_M and valid.max() <= MAX_DEPTH_M
        assert scene.rgb.shape == (48, 64, 3) and 0 <= scene.rgb.min() and scene.rgb.max() <= 1


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_has_depth_edges_and_mostly_valid_depth(layout):
    scene = render_scene3d(np.random.default_rng(3), 240, 320, layout)
    assert np.isfinite(scene.depth).mean() > 0.25  # a yard is partly sky
    assert edge_band(scene.depth, 1).mean() > 0.01  # objects in front of other things


def _step_scene() -> np.ndarray:
    hr = np.full((64, 64), 4.0, np.float32)
    hr[:, 32:48] = 1.0  # a foreground slab in the middle
    return hr


def test_stereo_shadows_fall_left_of_foreground_edges():
    hr = np.full((64, 256), 4.0, np.float32)
    hr[:, 128:192] = 1.0  # a foreground slab: LR columns 64-95
    lr = stereo(hr, 2, np.random.default_rng(0))
    holes = np.isnan(lr).mean(axis=0)  # per LR column
    assert holes[56:64].max() > 0.8  # just left of the slab
    assert holes[96:].max() < 0.5  # right of it: no shadow, only speckle and dropouts


def test_stereo_error_grows_with_depth_squared():
    errors = []
    for z in (1.0, 4.0):
        lr = stereo(np.full((128, 128), z, np.float32), 2, np.random.default_rng(1))
        errors.append(np.nanstd(lr - z))
    assert errors[1] > 8 * errors[0]


def test_tof_has_flying_pixels_at_edges_and_noise_growing_with_distance():
    hr = np.full((64, 64), 4.0, np.float32)
    hr[:, 34:50] = 1.0  # edges inside LR pixels 8 and 12
    row = np.nanmedian(time_of_flight(hr, 4, np.random.default_rng(2)), axis=0)
    assert 1.5 < row[8] < 3.5 and 1.5 < row[12] < 3.5  # flying pixels: neither surface
    near, far = (time_of_flight(np.full((256, 256), z, np.float32), 4, np.random.default_rng(3)) for z in (1.0, 3.0))
    assert np.nanstd(far) > 1.5 * np.nanstd(near)


@pytest.mark.parametrize("kind", ["stereo", "tof"])
def test_sensor_models_keep_ground_truth_holes(kind):
    hr = _step_scene()
    hr[:16, :16] = np.nan
    lr = degrade(hr, 4, kind, np.random.default_rng(0))
    assert lr.shape == (16, 16) and np.isnan(lr[:4, :4]).all()


def test_edge_band_surrounds_discontinuities_only():
    band = edge_band(_step_scene(), 3)
    assert band[:, 29:35].all() and band[:, 45:51].all()
    assert not band[:, :28].any() and not band[:, 52:].any()


def test_beside_holes_is_one_lr_pixel_around_unknown_truth_and_is_scored_apart():
    hr = _step_scene()
    hr[20:24, 10:12] = np.nan
    near = beside_holes(hr, 4)
    assert near[16:28, 6:16].all() and near.sum() == 12 * 10  # the hole and 4 px (one LR pixel) around it
    sums = ErrorSums()
    prediction = hr + np.where(near, 0.1, 0.001)  # 100 mm off beside the hole, 1 mm elsewhere
    sums.add(prediction, hr, edge_band(hr), near)
    summary = sums.summary()
    assert summary["hole_rmse"] == pytest.approx(100.0, rel=1e-3)
    assert summary["hole_share"] == pytest.approx(100.0 * (120 - 8) / (hr.size - 8))
    clean = ErrorSums()
    clean.add(_step_scene() + 0.001, _step_scene(), edge_band(_step_scene()), beside_holes(_step_scene(), 4))
    assert clean.summary()["hole_share"] == 0.0 and clean.summary()["rmse"] == pytest.approx(1.0, rel=1e-3)


def test_thin_structures_finds_a_stick_but_not_a_slab_or_a_hole():
    hr = np.full((40, 64), 3.0, np.float32)
    hr[:, 5:7] = 1.0  # a 2-px stick
    hr[:, 20:34] = 1.0  # a 14-px slab
    hr[10:14, 48:50] = np.nan  # a hole in open background: neither it nor its rim is a structure
    thin = thin_structures(hr, 9)
    assert thin[:, 5:7].all() and not thin[:, 20:34].any() and not thin[:, 8:19].any() and not thin[:, 34:].any()


def test_thin_dressing_adds_only_near_thin_structures_to_the_same_scene():
    plain, dressed = (np.stack([scene3d_for_seed(seed, 96, 128, thin).depth for seed in range(40, 46)]) for thin in (0, 0))
    np.testing.assert_array_equal(plain, dressed)  # 0 is the undressed generator, bit for bit
    dressed = np.stack([scene3d_for_seed(seed, 96, 128, 8).depth for seed in range(40, 46)])
    changed = np.isfinite(plain) & np.isfinite(dressed) & (plain != dressed)
    assert changed.mean() > 0.005  # something was added in view ...
    assert (dressed[changed] < plain[changed]).all()  # ... only ever in front of what was there
    share = [np.mean([thin_structures(d, 9).mean() for d in maps]) for maps in (plain, dressed)]
    assert share[1] > 2 * share[0]


def test_a_pool_keys_and_renders_its_thin_dressing(tmp_path):
    pool = open_pool(tmp_path, 3, 64, 7, progress=False, thin_items=6)
    assert pool.folder == pool_folder(tmp_path, 3, 64, 7, 6) != pool_folder(tmp_path, 3, 64, 7)
    for i in range(3):
        np.testing.assert_array_equal(pool[i].depth, scene3d_for_seed(7 + i, 64, 64, 6).depth)
