"""`dsr bag` on mcap and sqlite3 bags written with rosbags, with malformed frames in the middle."""
import argparse
import hashlib
from pathlib import Path

import numpy as np
import pytest
from ros_helpers import TS, T, header, image_msg, info_msg, scene_mm, tiny_core, tiny_model
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from dsr_ros.cli import bag as bag_cli
from dsr_ros.cli.common import CliError
from dsr_ros.net import DSRNet, DSRNetConfig
from dsr_ros.ros import bag
from dsr_ros.ros.bag import BagError
from dsr_ros.ros.image import image_to_array
from dsr_ros.weights import card_for, save_model

IMAGE, INFO, STRING = "sensor_msgs/msg/Image", "sensor_msgs/msg/CameraInfo", "std_msgs/msg/String"
DEPTH, CAMINFO, CHATTER = "/camera/depth/image_raw", "/camera/depth/camera_info", "/chatter"
FRAMES = 6  # frames 2 (rgb8), 3 (truncated CDR) and 4 (data length) are malformed


def write_bag(path: Path, plugin: StoragePlugin) -> None:
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        depth = writer.add_connection(DEPTH, IMAGE, typestore=TS)
        info = writer.add_connection(CAMINFO, INFO, typestore=TS)
        chat = writer.add_connection(CHATTER, STRING, typestore=TS)
        for i in range(FRAMES):
            t = 1_000_000_000 + i * 33_000_000
            hdr = header(1, i * 33_000_000, "depth_frame")
            msg = image_msg(scene_mm(12, 9) + np.uint16(i), hdr=hdr)
            raw = TS.serialize_cdr(msg, IMAGE)
            if i == 2:
                msg.encoding = "rgb8"
                raw = TS.serialize_cdr(msg, IMAGE)
            elif i == 3:
                raw = raw[:40]
            elif i == 4:
                msg.data = msg.data[:-2]
                raw = TS.serialize_cdr(msg, IMAGE)
            writer.write(depth, t, raw)
            # camera_info published just after the image, with the same stamp (as drivers do)
            writer.write(info, t + 1000, TS.serialize_cdr(info_msg(12, 9, hdr=hdr), INFO))
            writer.write(chat, t + 2000, TS.serialize_cdr(T[STRING](data=f"hello {i}"), STRING))


def digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")):
        h.update(f.name.encode() + (f.read_bytes() if f.is_file() else b""))
    return h.hexdigest()


def read_all(path: Path) -> dict[str, list]:
    out: dict[str, list] = {}
    with Reader(path) as reader:
        for conn, t, raw in reader.messages():
            out.setdefault(conn.topic, []).append((t, TS.deserialize_cdr(raw, conn.msgtype) if conn.topic != DEPTH
                                                   else raw))
    return out


@pytest.fixture(scope="module")
def core():
    return tiny_core(2, publish_points=True)


@pytest.mark.parametrize("plugin", [StoragePlugin.MCAP, StoragePlugin.SQLITE3], ids=["mcap", "sqlite3"])
def test_bag_gets_upsampled_topics_and_skips_malformed_frames(tmp_path, plugin, core):
    src, dst = tmp_path / "in", tmp_path / "out"
    write_bag(src, plugin)
    before = digest(src)
    summary = bag.process_bag(src, dst, DEPTH, None, core, progress=False)

    assert digest(src) == before  # input untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no temporary left behind
    data_file = "out.mcap" if plugin == StoragePlugin.MCAP else "out.db3"
    assert (dst / data_file).is_file() and not list(dst.glob(".*"))  # final name, nothing hidden
    assert data_file in (dst / "metadata.yaml").read_text()
    assert summary.frames == FRAMES and summary.upsampled == 3
    assert dict(summary.skipped) == {"encoding": 1, "deserialise": 1, "data_length": 1}
    assert any("skipped 1 × deserialise" in line for line in summary.lines())
    assert "mean latency" in summary.lines()[-1]

    original, result = read_all(src), read_all(dst)
    for topic in (DEPTH, CAMINFO, CHATTER):  # every original message is copied
        assert [t for t, _ in result[topic]] == [t for t, _ in original[topic]]
    assert [m.data for _, m in result[CHATTER]] == [f"hello {i}" for i in range(FRAMES)]
    images = result["/camera/depth_upsampled/image_raw"]
    infos = result["/camera/depth_upsampled/camera_info"]
    clouds = result["/camera/depth_upsampled/points"]
    good = [0, 1, 5]
    assert [t for t, _ in images] == [1_000_000_000 + i * 33_000_000 for i in good]
    for (t, img), (t_info, info), (_, cloud), i in zip(images, infos, clouds, good):
        assert t_info == t
        assert (img.width, img.height, img.encoding) == (24, 18, "16UC1")
        assert img.header.stamp.nanosec == i * 33_000_000 == info.header.stamp.nanosec
        assert img.header.frame_id == info.header.frame_id == cloud.header.frame_id == "depth_frame"
        assert (info.width, info.height) == (24, 18) and info.k[2] == pytest.approx(2 * 19.5 + 0.5)
        assert (cloud.width, cloud.height) == (24, 18)
        assert image_to_array(img).max() > 900  # millimetres, like the input


def test_info_topic_can_be_named_and_frames_without_info_are_counted(tmp_path, core):
    src, dst = tmp_path / "in", tmp_path / "out"
    write_bag(src, StoragePlugin.MCAP)
    summary = bag.process_bag(src, dst, DEPTH, "/nonexistent/camera_info", core, storage="sqlite3", progress=False)
    assert summary.upsampled == 3 and summary.without_info == 3
    assert (dst / "out.db3").is_file()
    assert "/camera/depth_upsampled/camera_info" not in read_all(dst)
    with Reader(dst) as reader:  # no empty connection either
        assert "/camera/depth_upsampled/camera_info" not in {c.topic for c in reader.connections}


def test_errors_leave_no_output(tmp_path, core):
    src = tmp_path / "in"
    write_bag(src, StoragePlugin.MCAP)
    with pytest.raises(BagError, match=f"image topics: {DEPTH}"):
        bag.process_bag(src, tmp_path / "out", "/camera/color/image_raw", None, core, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
    with pytest.raises(BagError, match="is not a sensor_msgs/msg/CameraInfo topic"):
        bag.process_bag(src, tmp_path / "out", DEPTH, CHATTER, core, progress=False)
    with pytest.raises(BagError, match="exists already"):
        bag.process_bag(src, src, DEPTH, None, core, progress=False)
    with pytest.raises(BagError, match="does not exist"):
        bag.process_bag(tmp_path / "missing", tmp_path / "out", DEPTH, None, core, progress=False)


def test_bag_that_was_already_upsampled_is_refused(tmp_path, core):
    src, once = tmp_path / "in", tmp_path / "once"
    write_bag(src, StoragePlugin.MCAP)
    bag.process_bag(src, once, DEPTH, None, core, progress=False)
    with pytest.raises(BagError, match="upsampled before"):
        bag.process_bag(once, tmp_path / "twice", DEPTH, None, core, progress=False)


def test_topic_naming():
    assert bag.upsampled_topic(DEPTH, "image_raw") == "/camera/depth_upsampled/image_raw"
    assert bag.upsampled_topic("/oak/stereo/image_raw", "camera_info") == "/oak/stereo_upsampled/camera_info"
    assert bag.sibling_info_topic("/camera/camera/depth/image_rect_raw") == "/camera/camera/depth/camera_info"
    with pytest.raises(BagError, match="namespace"):
        bag.upsampled_topic("/image", "image_raw")


def test_cli_subcommand_with_a_weight_file(tmp_path, capsys):
    src, dst, weights = tmp_path / "in", tmp_path / "out", tmp_path / "tiny.safetensors"
    write_bag(src, StoragePlugin.SQLITE3)
    model = tiny_model(2)
    save_model(weights, model, card_for(model))
    parser = argparse.ArgumentParser(prog="dsr")
    bag_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bag", str(src), str(dst), "--depth-topic", DEPTH, "--model", str(weights), "--quiet"])
    assert args.func(args) == 0
    err = capsys.readouterr().err
    assert f"wrote {dst}" in err and "upsampled: 3" in err
    assert len(read_all(dst)["/camera/depth_upsampled/image_raw"]) == 3


def test_cli_bad_configuration_is_a_cli_error(tmp_path):
    parser = argparse.ArgumentParser(prog="dsr")
    bag_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bag", "a", "b", "--depth-topic", DEPTH, "--device", "gpu0"])
    with pytest.raises(CliError, match="'device'"):
        args.func(args)


def test_profile_on_a_bag_decodes_real_frames(tmp_path, capsys):
    """`dsr profile --bag` runs the node's per-frame path on the bag's frames (malformed ones fail clearly)."""
    import json

    from dsr_ros.cli import main

    with Writer(tmp_path / "good", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection(DEPTH, IMAGE, typestore=TS)
        for i in range(3):
            writer.write(conn, i, TS.serialize_cdr(image_msg(scene_mm(12, 9) + np.uint16(i)), IMAGE))
    net = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1))
    model = save_model(tmp_path / "m.safetensors", net, card_for(net))
    out = tmp_path / "p.json"
    argv = ["profile", "--scale", "2", "--model", str(model), "--bag", str(tmp_path / "good"), "--depth-topic", DEPTH,
            "--backend", "torch", "--warmup", "1", "--iterations", "4", "--json", str(out)]
    assert main(argv) == 0
    report = json.loads(out.read_text())
    assert report["input"] == [9, 12] and {"decode", "infer", "encode"} <= set(report["stages"])
    assert main([*argv[:5], "--bag", str(tmp_path / "good"), "--depth-topic", "/nope", "--backend", "torch"]) == 2
    assert "no sensor_msgs/msg/Image topic /nope" in capsys.readouterr().err


def test_compressed_depth_topic_as_robots_record_it(tmp_path, core):
    from compressed_depth_writer import compressed_depth_payload

    topic = "/camera/depth/image_raw/compressedDepth"
    src, dst = tmp_path / "in", tmp_path / "out"
    with Writer(src, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        depth = writer.add_connection(topic, "sensor_msgs/msg/CompressedImage", typestore=TS)
        info = writer.add_connection(CAMINFO, INFO, typestore=TS)
        for i, codec in enumerate(["png", "rvl", "jpeg"]):
            hdr = header(1, i * 33_000_000, "depth_frame")
            fmt, data = compressed_depth_payload(scene_mm(12, 9), "16UC1", "png" if codec == "jpeg" else codec)
            msg = T["sensor_msgs/msg/CompressedImage"](header=hdr, format=fmt.replace("png", codec),
                                                       data=np.frombuffer(data, np.uint8).copy())
            writer.write(depth, i, TS.serialize_cdr(msg, "sensor_msgs/msg/CompressedImage"))
            writer.write(info, i, TS.serialize_cdr(info_msg(12, 9, hdr=hdr), INFO))
    summary = bag.process_bag(src, dst, topic, None, core, progress=False)
    assert summary.upsampled == 2 and dict(summary.skipped) == {"format": 1}
    result = read_all(dst)
    images = result["/camera/depth_upsampled/image_raw"]
    assert [(m.width, m.height, m.encoding) for _, m in images] == [(24, 18, "16UC1")] * 2
    assert len(result["/camera/depth_upsampled/camera_info"]) == 2  # paired through the sibling camera_info


def test_cli_input_kind_reaches_the_bags_upsampler(tmp_path):
    import torch

    from dsr_ros.upsampler import Upsampler

    src, weights = tmp_path / "in", tmp_path / "kinds.safetensors"
    write_bag(src, StoragePlugin.SQLITE3)
    torch.manual_seed(0)
    model = DSRNet(DSRNetConfig(scale=2, features=4, shallow=4, units=1, input_kinds=("bicubic", "tof")))
    with torch.no_grad():
        model.kind.table.weight.normal_(0.0, 0.5)
    save_model(weights, model, card_for(model))
    parser = argparse.ArgumentParser(prog="dsr")
    bag_cli.register(parser.add_subparsers(dest="command", required=True))
    frames = {}
    for kind in ("tof", "unknown"):
        args = parser.parse_args(["bag", str(src), str(tmp_path / kind), "--depth-topic", DEPTH, "--model", str(weights),
                                  "--input-kind", kind, "--quiet", "--backend", "torch"])
        assert args.func(args) == 0
        first = read_all(tmp_path / kind)["/camera/depth_upsampled/image_raw"][0][1]  # frame 0: scene_mm(12, 9)
        frames[kind] = image_to_array(first).astype(int)
    expected = Upsampler.from_file(weights, backend="torch", input_kind="tof").upsample(scene_mm(12, 9))
    assert np.abs(frames["tof"] - expected).max() <= 1
    assert np.abs(frames["tof"] - frames["unknown"]).max() > 5
    args = parser.parse_args(["bag", str(src), str(tmp_path / "x"), "--depth-topic", DEPTH, "--input-kind", "stereo"])
    with pytest.raises(CliError, match="input_kind"):
        args.func(args)  # the shipped model is not told its input kind
