"""Point cloud geometry against hand-computed points, and the create_cloud_xyz32 byte layout."""
import numpy as np
from ros_helpers import FACTORY, TS, header

from dsr_ros.camera import Intrinsics
from dsr_ros.ros.cloud import depth_to_points, points_to_cloud


def test_points_match_hand_computed_pinhole_back_projection():
    metres = np.array([[2.0, 1.0, 0.0], [np.nan, 4.0, 3.0]], dtype=np.float32)
    points = depth_to_points(metres, Intrinsics(fx=2.0, fy=4.0, cx=1.0, cy=0.5))
    # x = (u - cx) z / fx, y = (v - cy) z / fy
    np.testing.assert_allclose(points[0, 0], [-1.0, -0.25, 2.0])
    np.testing.assert_allclose(points[0, 1], [0.0, -0.125, 1.0])
    np.testing.assert_allclose(points[1, 1], [0.0, 0.5, 4.0])
    np.testing.assert_allclose(points[1, 2], [1.5, 0.375, 3.0])
    assert np.isnan(points[0, 2]).all() and np.isnan(points[1, 0]).all()


def test_cloud_layout_is_organised_xyz32():
    points = depth_to_points(np.full((3, 4), 1.5, np.float32), Intrinsics(10.0, 10.0, 1.5, 1.0))
    cloud = points_to_cloud(points, header(3, 4, "cam"), FACTORY)
    assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (3, 4, 12, 48)
    assert [(f.name, f.offset, f.datatype, f.count) for f in cloud.fields] == [
        ("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1)]
    assert cloud.is_bigendian is False and cloud.is_dense is False
    back = TS.deserialize_cdr(TS.serialize_cdr(cloud, "sensor_msgs/msg/PointCloud2"), "sensor_msgs/msg/PointCloud2")
    decoded = np.frombuffer(back.data.tobytes(), dtype="<f4").reshape(3, 4, 3)
    np.testing.assert_array_equal(decoded, points)
    assert back.header.frame_id == "cam"
