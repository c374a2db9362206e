"""Upsample a RealSense depth stream: `ros2 launch dsr_ros realsense_upsample.launch.py`.

Feeds `/camera/depth/image_rect_raw` (16UC1) and `/camera/depth/camera_info` to upsample_node and
publishes `/camera/depth_upsampled/...`. For depth aligned to colour pass both
depth_topic:=/aligned_depth_to_color/image_raw and info_topic:=/aligned_depth_to_color/camera_info.
realsense-ros 4.x puts the driver in a namespace and a
node both called `camera`: pass camera_prefix:=/camera/camera there. `start_camera:=true`
also starts the driver (realsense2_camera's rs_launch.py).
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare


def generate_launch_description():
    prefix = LaunchConfiguration("camera_prefix")
    upsample = os.path.join(get_package_share_directory("dsr_ros"), "launch", "upsample.launch.py")
    return LaunchDescription([
        DeclareLaunchArgument("camera_prefix", default_value="/camera",
                              description="Namespace of the RealSense topics (/camera/camera on realsense-ros 4.x)"),
        DeclareLaunchArgument("scale", default_value="", description="2, 4, 8 or 16; empty: the params file's (4)"),
        DeclareLaunchArgument("device", default_value="", description="auto, cpu, cuda or cuda:N; empty: params file"),
        DeclareLaunchArgument("backend", default_value="", description="auto, torch, tensorrt or onnxruntime"),
        DeclareLaunchArgument("publish_points", default_value="", description="true/false; empty: params file"),
        DeclareLaunchArgument("depth_topic", default_value="/depth/image_rect_raw",
                              description="Depth image under camera_prefix (/aligned_depth_to_color/image_raw: aligned)"),
        DeclareLaunchArgument("info_topic", default_value="/depth/camera_info",
                              description="Its CameraInfo under camera_prefix (/aligned_depth_to_color/camera_info)"),
        DeclareLaunchArgument("start_camera", default_value="false",
                              description="Also launch realsense2_camera's rs_launch.py"),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(
                PathJoinSubstitution([FindPackageShare("realsense2_camera"), "launch", "rs_launch.py"])),
            condition=IfCondition(LaunchConfiguration("start_camera")),
        ),
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(upsample),
            launch_arguments={
                "namespace": "",
                "node_name": "realsense_upsample_node",
                "depth_image": [prefix, LaunchConfiguration("depth_topic")],
                "depth_camera_info": [prefix, LaunchConfiguration("info_topic")],
                "upsampled_image": [prefix, "/depth_upsampled/image_raw"],
                "upsampled_camera_info": [prefix, "/depth_upsampled/camera_info"],
                "upsampled_points": [prefix, "/depth_upsampled/points"],
                "scale": LaunchConfiguration("scale"),
                "device": LaunchConfiguration("device"),
                "backend": LaunchConfiguration("backend"),
                "publish_points": LaunchConfiguration("publish_points"),
            }.items(),
        ),
    ])
