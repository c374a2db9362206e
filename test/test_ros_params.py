"""Parameter schema, config/upsample.yaml and the launch files' declared arguments (parsed with ast)."""
import ast
from pathlib import Path

import pytest
import yaml

from dsr_ros.ros import node
from dsr_ros.ros.params import PARAMS, SPECS, ConfigError, depth_range, validate

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_valid_and_every_spec_is_documented():
    config = validate({})
    assert config == {spec.name: spec.default for spec in PARAMS}
    for spec in PARAMS:
        assert spec.description and isinstance(spec.default, spec.type)
    assert depth_range(config) is None


@pytest.mark.parametrize(
    "values, needles",
    [
        ({"scale": 3}, ["'scale'", "2, 4, 8, 16"]),
        ({"backend": "cuda"}, ["'backend'", "'tensorrt'", "'onnxruntime'"]),
        ({"device": "gpu"}, ["'device'", "cuda:N"]),
        ({"precision": "int8"}, ["'precision'", "'fp16'"]),
        ({"qos_depth": 0}, ["'qos_depth'", "[1, 100]"]),
        ({"min_depth": 0}, ["'min_depth'", "decimal point"]),
        ({"fill_holes": 1}, ["'fill_holes'", "bool"]),
        ({"scale": True}, ["'scale'"]),
        ({"qos_sub_reliability": "besteffort"}, ["'qos_sub_reliability'", "'best_effort'", "'reliable'"]),
        ({"min_depth": 5.0, "max_depth": 2.0}, ["'min_depth'", "'max_depth'"]),
        ({"min_depth": 0.5}, ["'min_depth'", "'max_depth' > 0"]),
        ({"modle": "x"}, ["unknown parameter 'modle'"]),
    ],
)
def test_bad_values_fail_naming_parameter_and_allowed_values(values, needles):
    with pytest.raises(ConfigError) as err:
        validate(values)
    for needle in needles:
        assert needle in str(err.value)


def test_all_errors_reported_at_once():
    with pytest.raises(ConfigError) as err:
        validate({"scale": 5, "backend": "x"})
    assert "'scale'" in str(err.value) and "'backend'" in str(err.value)


def test_fixed_depth_range():
    assert depth_range(validate({"min_depth": 0.2, "max_depth": 6.0})) == (0.2, 6.0)


def test_yaml_keys_are_declared_parameters_with_valid_values():
    doc = yaml.safe_load((ROOT / "config" / "upsample.yaml").read_text())
    assert list(doc) == ["/**"]
    params = doc["/**"]["ros__parameters"]
    assert set(params) <= set(SPECS), set(params) - set(SPECS)
    assert set(params) == set(SPECS), "the example file documents every parameter"
    validate(params)


def launch_arguments(name: str) -> dict[str, str]:
    """DeclareLaunchArgument(name, default_value=...) calls of a launch file, read without importing launch."""
    tree = ast.parse((ROOT / "launch" / name).read_text())
    found = {}
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "DeclareLaunchArgument":
            default = next(k.value for k in call.keywords if k.arg == "default_value")
            found[call.args[0].value] = default.value if isinstance(default, ast.Constant) else None
            assert any(k.arg == "description" for k in call.keywords), call.args[0].value
    return found


def module_constant(name: str, constant: str):
    tree = ast.parse((ROOT / "launch" / name).read_text())
    assign = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == constant)
    return ast.literal_eval(assign.value)


def test_upsample_launch_declares_the_documented_arguments():
    args = launch_arguments("upsample.launch.py")
    assert set(args) >= {"namespace", "params_file", "depth_image", "depth_camera_info", "upsampled_image",
                         "model", "scale", "device", "backend"}
    assert args["depth_image"] == node.IN_IMAGE and args["depth_camera_info"] == node.IN_INFO
    assert args["upsampled_image"] == node.OUT_IMAGE and args["upsampled_points"] == node.OUT_POINTS


def test_launch_overrides_map_to_schema_parameters_of_the_right_type():
    mapping = module_constant("upsample.launch.py", "PARAMETER_ARGUMENTS")
    args = launch_arguments("upsample.launch.py")
    for arg, (param, kind) in mapping.items():
        assert arg in args and args[arg] == "", f"{arg} must default to empty (params file in charge)"
        assert SPECS[param].type.__name__ == kind


def test_launch_remaps_exactly_the_node_topics():
    remaps = module_constant("upsample.launch.py", "REMAPPINGS")
    assert set(remaps) == {node.IN_IMAGE, node.IN_INFO, node.OUT_IMAGE, node.OUT_INFO, node.OUT_POINTS}
    assert set(remaps.values()) <= set(launch_arguments("upsample.launch.py"))


def test_launch_runs_the_console_script_declared_in_setup():
    source = (ROOT / "launch" / "upsample.launch.py").read_text()
    assert 'executable="upsample_node"' in source
    assert "upsample_node = dsr_ros.ros.node:main" in (ROOT / "setup.py").read_text()


def test_realsense_launch_feeds_the_rect_raw_topic_into_upsample_launch():
    args = launch_arguments("realsense_upsample.launch.py")
    assert args["camera_prefix"] == "/camera" and args["scale"] == ""  # the params file decides, as everywhere
    assert args["depth_topic"] == "/depth/image_rect_raw" and args["info_topic"] == "/depth/camera_info"
    source = (ROOT / "launch" / "realsense_upsample.launch.py").read_text()
    assert "upsample.launch.py" in source
    included = set(launch_arguments("upsample.launch.py"))
    tree = ast.parse(source)
    passed = {k.value for d in ast.walk(tree) if isinstance(d, ast.Dict) for k in d.keys}
    assert passed <= included, passed - included
