"""Launch dsr_ros's upsample_node: `ros2 launch dsr_ros upsample.launch.py [arg:=value ...]`.

Parameters come from `params_file`; the model/scale/device/backend/... arguments override it only
when given (empty means "use the file"). Topics are remapped from the node's relative names.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

# Launch argument → (node parameter, type). Empty argument values leave the params file in charge.
PARAMETER_ARGUMENTS = {
    "model": ("model", "str"),
    "scale": ("scale", "int"),
    "variant": ("variant", "str"),
    "device": ("device", "str"),
    "backend": ("backend", "str"),
    "precision": ("precision", "str"),
    "publish_points": ("publish_points", "bool"),
    "input_transport": ("input_transport", "str"),
    "input_kind": ("input_kind", "str"),
}
# Node's relative topic → launch argument holding the topic to remap it to.
REMAPPINGS = {
    "depth/image_raw": "depth_image",
    "depth/camera_info": "depth_camera_info",
    "depth_upsampled/image_raw": "upsampled_image",
    "depth_upsampled/camera_info": "upsampled_camera_info",
    "depth_upsampled/points": "upsampled_points",
}


def _convert(text, kind):
    """Launch argument text → typed parameter value."""
    if kind == "int":
        return int(text)
    if kind == "bool":
        return text.strip().lower() in ("true", "1", "yes")
    return text


def _node(context):
    """The node, with parameter overrides only for the arguments that were set."""

    def value(name):
        return LaunchConfiguration(name).perform(context)

    overrides = {param: _convert(value(arg), kind) for arg, (param, kind) in PARAMETER_ARGUMENTS.items() if value(arg)}
    return [
        Node(
            package="dsr_ros",
            executable="upsample_node",
            name=value("node_name"),
            namespace=value("namespace"),
            parameters=[value("params_file"), overrides],
            # image_transport's compressedDepth sub-topic follows the depth image's remapping
            remappings=[(topic, value(arg)) for topic, arg in REMAPPINGS.items()]
            + [("depth/image_raw/compressedDepth", value("depth_image") + "/compressedDepth")],
            output="screen",
            emulate_tty=True,
        )
    ]


def generate_launch_description():
    default_params = os.path.join(get_package_share_directory("dsr_ros"), "config", "upsample.yaml")
    arguments = [
        DeclareLaunchArgument("namespace", default_value="camera", description="Namespace of the node (camera name)"),
        DeclareLaunchArgument("node_name", default_value="upsample_node", description="Node name"),
        DeclareLaunchArgument("params_file", default_value=default_params, description="ROS 2 parameters file"),
        DeclareLaunchArgument("depth_image", default_value="depth/image_raw", description="Input depth Image topic"),
        DeclareLaunchArgument("depth_camera_info", default_value="depth/camera_info",
                              description="Input CameraInfo topic (sibling of the depth image)"),
        DeclareLaunchArgument("upsampled_image", default_value="depth_upsampled/image_raw",
                              description="Output depth Image topic"),
        DeclareLaunchArgument("upsampled_camera_info", default_value="depth_upsampled/camera_info",
                              description="Output CameraInfo topic"),
        DeclareLaunchArgument("upsampled_points", default_value="depth_upsampled/points",
                              description="Output PointCloud2 topic (publish_points:=true)"),
        DeclareLaunchArgument("model", default_value="", description="Weight file; empty: params file / shipped"),
        DeclareLaunchArgument("scale", default_value="", description="2, 4, 8 or 16; empty: params file"),
        DeclareLaunchArgument("variant", default_value="", description="lite; empty: params file"),
        DeclareLaunchArgument("device", default_value="", description="auto, cpu, cuda or cuda:N; empty: params file"),
        DeclareLaunchArgument("backend", default_value="", description="auto, torch, tensorrt or onnxruntime"),
        DeclareLaunchArgument("precision", default_value="", description="fp32 or fp16; empty: params file"),
        DeclareLaunchArgument("publish_points", default_value="", description="true/false; empty: params file"),
        DeclareLaunchArgument("input_transport", default_value="",
                              description="raw or compressedDepth (subscribes <depth_image>/compressedDepth)"),
        DeclareLaunchArgument("input_kind", default_value="",
                              description="unknown, bicubic, bicubic_aliased, nearest, stereo or tof (models trained "
                                          "with input kinds, or specialists); empty: params file"),
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_node)])
