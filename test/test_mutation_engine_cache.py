"""dsr_ros.engine.cache for `make mutation`: cache directory, shape ranges, hashes, records, load/build/lock."""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import threading
import time
from pathlib import Path

import pytest
import torch
from engine_fakes import tiny_net

from dsr_ros.engine.cache import (
    EngineCache,
    ShapeRange,
    cache_key,
    default_cache_dir,
    file_sha256,
    model_fingerprint,
)


def text_cache(root: Path, **kw) -> tuple[EngineCache, list[str]]:
    """An EngineCache of text 'engines' and the list its build function appends to on every build."""
    return EngineCache(root, **kw), []


def get(cache: EngineCache, builds: list[str], fields: dict[str, str], value: str = "engine", **kw) -> str:
    """get_or_build with text files: build records itself in `builds` and returns `value`."""
    def build() -> str:
        builds.append(value)
        return value

    return cache.get_or_build(fields, build, lambda e, p: p.write_text(e), lambda p: p.read_text(), **kw)


def write_entry(cache: EngineCache, fields: dict[str, str], text: str, stem: str = "engine",
                record: object | None = None) -> Path:
    """An engine file and its record as get_or_build writes them (or with a given record)."""
    path = cache.path_for(fields, stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if record is None:
        record = {"fields": fields, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    path.with_suffix(".json").write_text(json.dumps(record))
    return path


# --- default_cache_dir -------------------------------------------------------------------------------------

def test_cache_dir_comes_from_dsr_ros_cache_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    """$DSR_ROS_CACHE wins as is; an empty one is ignored; then $XDG_CACHE_HOME/dsr_ros/engines; then ~/.cache."""
    monkeypatch.setenv("DSR_ROS_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("DSR_ROS_CACHE", "")
    assert default_cache_dir() == tmp_path / "xdg" / "dsr_ros" / "engines"
    monkeypatch.delenv("DSR_ROS_CACHE")
    assert default_cache_dir() == tmp_path / "xdg" / "dsr_ros" / "engines"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "dsr_ros" / "engines"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "dsr_ros" / "engines"


def test_engine_cache_defaults_to_the_cache_dir_and_the_ep_suffix(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """EngineCache() uses default_cache_dir() and `.ep`; a given root (str or Path) and suffix are kept."""
    monkeypatch.setenv("DSR_ROS_CACHE", str(tmp_path / "env"))
    cache = EngineCache()
    assert cache.root == tmp_path / "env" and cache.suffix == ".ep"
    other = EngineCache(str(tmp_path / "given"), suffix=".engine")
    assert other.root == tmp_path / "given" and other.suffix == ".engine"


# --- ShapeRange ----------------------------------------------------------------------------------------------

def test_static_shape_is_four_positive_ints() -> None:
    """static() takes exactly 4 sizes, each >= 1 (1 allowed), stores ints, and min = opt = max."""
    r = ShapeRange.static((1.0, 1, 6, 8))  # type: ignore[arg-type]
    assert r.min == r.opt == r.max == (1, 1, 6, 8) and all(type(v) is int for v in r.min)
    assert r.is_static and ShapeRange.static((1, 1, 1, 1)).max == (1, 1, 1, 1)
    for bad in ((1, 1, 6), (1, 1, 6, 8, 1), (1, 1, 0, 8), (0, 1, 6, 8), (1, 1, 6, -1)):
        with pytest.raises(ValueError, match=r"N×C×H×W with every size >= 1, got"):
            ShapeRange.static(bad)


def test_ranged_shape_keeps_min_opt_max_and_allows_equal_bounds() -> None:
    """ranged() keeps the three shapes in order; equal neighbours pass, any dimension out of order fails."""
    r = ShapeRange.ranged((1, 1, 4, 4), (1, 1, 6, 8), (2, 1, 8, 8))
    assert (r.min, r.opt, r.max) == ((1, 1, 4, 4), (1, 1, 6, 8), (2, 1, 8, 8)) and not r.is_static
    same = ShapeRange.ranged((1, 1, 4, 4), (1, 1, 4, 4), (1, 1, 4, 4))
    assert same.is_static and same == ShapeRange.static((1, 1, 4, 4))
    for lo, mid, hi in [((1, 1, 4, 5), (1, 1, 4, 4), (1, 1, 8, 8)),  # min > opt in the last dimension
                        ((1, 1, 4, 4), (1, 1, 9, 4), (1, 1, 8, 8)),  # opt > max
                        ((2, 1, 4, 4), (1, 1, 4, 4), (2, 1, 4, 4))]:  # min > opt in the first
        with pytest.raises(ValueError, match="min <= opt <= max per dimension, got"):
            ShapeRange.ranged(lo, mid, hi)
    with pytest.raises(ValueError, match="N×C×H×W"):
        ShapeRange.ranged((1, 1, 4, 4), (1, 1, 4), (1, 1, 8, 8))


def test_contains_is_inclusive_per_dimension_and_needs_four_sizes() -> None:
    """A shape is accepted iff it has 4 sizes, each within [min, max] inclusive."""
    r = ShapeRange.ranged((1, 1, 4, 6), (1, 1, 6, 8), (2, 1, 8, 10))
    assert r.contains((1, 1, 4, 6)) and r.contains((2, 1, 8, 10)) and r.contains((1, 1, 5, 7))
    assert not r.contains((1, 1, 3, 8)) and not r.contains((1, 1, 9, 8))
    assert not r.contains((1, 1, 6, 5)) and not r.contains((1, 1, 6, 11))
    assert not r.contains((3, 1, 6, 8)) and not r.contains((1, 2, 6, 8))
    assert not r.contains((1, 1, 6)) and not r.contains((1, 1, 6, 8, 1))
    assert ShapeRange.static((1, 1, 1, 1)).contains((1, 1, 1, 1))


def test_shape_range_round_trips_through_its_list_form_and_tags_readably() -> None:
    """to_list is [min, opt, max] as lists; from_list inverts it; tag is one shape or min-opt-max."""
    r = ShapeRange.ranged((1, 1, 4, 6), (1, 1, 6, 8), (2, 1, 8, 10))
    assert r.to_list() == [[1, 1, 4, 6], [1, 1, 6, 8], [2, 1, 8, 10]]
    assert ShapeRange.from_list(json.loads(json.dumps(r.to_list()))) == r
    assert r.tag() == "1x1x4x6-1x1x6x8-2x1x8x10"
    assert ShapeRange.static((1, 1, 60, 80)).tag() == "1x1x60x80"
    with pytest.raises(ValueError):
        ShapeRange.from_list([[1, 1, 8, 8], [1, 1, 4, 4], [1, 1, 8, 8]])


# --- hashes ------------------------------------------------------------------------------------------------

def test_model_fingerprint_is_sha256_of_config_names_shapes_and_float32_bytes() -> None:
    """The fingerprint hashes repr(config), then per sorted state entry `name:shape` and its float32 bytes."""
    net = tiny_net(seed=3)
    digest = hashlib.sha256(repr(net.config).encode())
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().float().contiguous().numpy().tobytes())
    assert model_fingerprint(net) == digest.hexdigest()


def test_model_fingerprint_sees_every_weight_config_and_shape_but_not_dtype_or_order() -> None:
    """Same weights give the same print (in any state order, any float dtype); weights, config and shapes count."""
    a, b = tiny_net(seed=0), tiny_net(seed=0)
    assert model_fingerprint(a) == model_fingerprint(b)
    assert model_fingerprint(a) != model_fingerprint(tiny_net(seed=1))
    assert model_fingerprint(a) != model_fingerprint(tiny_net(scale=4, seed=0))
    with torch.no_grad():
        next(iter(b.parameters())).view(-1)[0] += 1.0
    assert model_fingerprint(a) != model_fingerprint(b)
    assert model_fingerprint(tiny_net(seed=0).double()) == model_fingerprint(a)  # cast to float32 first

    class Pair(torch.nn.Module):
        def __init__(self, order: tuple[str, str], shape: tuple[int, ...] = (2, 2)) -> None:
            super().__init__()
            values = {"x": torch.arange(4.0).reshape(shape), "y": torch.ones(4).reshape(shape)}
            for name in order:
                self.register_buffer(name, values[name])

    assert model_fingerprint(Pair(("x", "y"))) == model_fingerprint(Pair(("y", "x")))
    assert model_fingerprint(Pair(("x", "y"))) != model_fingerprint(Pair(("x", "y"), (4,)))  # same bytes
    assert len(model_fingerprint(Pair(("x", "y")))) == 64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to hold the weights")
def test_model_fingerprint_of_a_gpu_model_equals_that_of_the_cpu_copy() -> None:
    """Weights on a GPU are copied to the CPU to be hashed: the same model prints the same on either device."""
    net = tiny_net(seed=2)
    assert model_fingerprint(tiny_net(seed=2).cuda()) == model_fingerprint(net)


def test_file_sha256_reads_the_whole_file_in_blocks(tmp_path: Path) -> None:
    """file_sha256 equals hashlib's SHA-256 of the bytes, for an empty file and one over the 1 MiB block."""
    data = bytes(range(256)) * ((3 << 20) // 256 + 7)
    (tmp_path / "big").write_bytes(data)
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "small").write_bytes(b"abc")
    assert file_sha256(tmp_path / "big") == hashlib.sha256(data).hexdigest()
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()
    assert file_sha256(tmp_path / "small") == hashlib.sha256(b"abc").hexdigest()


def test_cache_key_is_24_hex_of_the_sorted_json() -> None:
    """cache_key is the first 24 hex digits of SHA-256 over the key-sorted JSON of the fields."""
    fields = {"b": "2", "a": "1"}
    expected = hashlib.sha256(json.dumps({"a": "1", "b": "2"}, sort_keys=True).encode()).hexdigest()[:24]
    assert cache_key(fields) == expected and len(expected) == 24
    assert cache_key({"a": "1"}) != cache_key({"a": "2"})


def test_path_for_joins_root_stem_key_and_suffix(tmp_path: Path) -> None:
    """path_for is root/<stem>-<cache_key><suffix>, stem `engine` by default."""
    fields = {"k": "v"}
    assert EngineCache(tmp_path).path_for(fields) == tmp_path / f"engine-{cache_key(fields)}.ep"
    assert EngineCache(tmp_path, ".trt").path_for(fields, "dsr") == tmp_path / f"dsr-{cache_key(fields)}.trt"


# --- get_or_build --------------------------------------------------------------------------------------------

def test_build_writes_engine_and_record_then_loads_without_building(tmp_path: Path,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    """A miss creates the (nested) root, builds, saves, records fields and hash; the next call only loads."""
    root = tmp_path / "a" / "b" / "c"
    cache, builds = text_cache(root)
    fields = {"k": "v", "n": "1"}
    with caplog.at_level(logging.INFO, logger="dsr_ros"):
        assert get(cache, builds, fields, "first", stem="net") == "first"
    path = cache.path_for(fields, "net")
    assert builds == ["first"] and path.read_text() == "first"
    record = json.loads(path.with_suffix(".json").read_text())
    assert record == {"fields": fields, "sha256": hashlib.sha256(b"first").hexdigest()}
    assert f"saved engine to {path}" in caplog.messages
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dsr_ros"):
        assert get(cache, builds, fields, "second", stem="net") == "first"
    assert builds == ["first"] and f"loaded cached engine {path}" in caplog.messages
    assert get(cache, builds, fields, "third", stem="other") == "third" and builds == ["first", "third"]
    assert get(EngineCache(root), builds, fields, "again", stem="net") == "first"  # an existing root is fine


def test_verify_sees_the_built_engine_and_a_failure_writes_nothing(tmp_path: Path) -> None:
    """verify gets the built engine before anything is saved; if it raises, no engine and no record exist."""
    cache, builds = text_cache(tmp_path)
    seen: list[str] = []

    def reject(engine: str) -> None:
        seen.append(engine)
        assert not cache.path_for({"k": "v"}).exists()
        raise RuntimeError("parity")

    with pytest.raises(RuntimeError, match="parity"):
        get(cache, builds, {"k": "v"}, "bad", verify=reject)
    assert seen == ["bad"] and not cache.path_for({"k": "v"}).exists()
    assert not cache.path_for({"k": "v"}).with_suffix(".json").exists()
    assert get(cache, builds, {"k": "v"}, "good", verify=seen.append) == "good" and seen == ["bad", "good"]
    assert cache.path_for({"k": "v"}).read_text() == "good"


@pytest.mark.parametrize("tamper", ["no_record", "bad_json", "not_a_dict", "other_fields", "no_fields",
                                    "other_hash", "no_hash", "unreadable"])
def test_a_file_that_does_not_match_its_record_is_deleted_and_rebuilt(tmp_path: Path, tamper: str,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Missing/invalid record, another key, another hash or a failing load: warn why, delete both, rebuild."""
    cache, builds = text_cache(tmp_path)
    fields = {"k": "v"}
    good = {"fields": fields, "sha256": hashlib.sha256(b"old").hexdigest()}
    records: dict[str, object] = {"not_a_dict": [good], "other_fields": {**good, "fields": {"k": "w"}},
                                  "no_fields": {"sha256": good["sha256"]}, "no_hash": {"fields": fields},
                                  "other_hash": {**good, "sha256": hashlib.sha256(b"new").hexdigest()}}
    path = write_entry(cache, fields, "old", record=records.get(tamper, good))
    if tamper == "no_record":
        path.with_suffix(".json").unlink()
    elif tamper == "bad_json":
        path.with_suffix(".json").write_text("{not json")
    expected = {"no_record": "without a readable record of its key and content hash",
                "bad_json": "without a readable record of its key and content hash",
                "not_a_dict": "recorded for another key", "other_fields": "recorded for another key",
                "no_fields": "recorded for another key",
                "other_hash": "changed since it was verified (content hash mismatch)",
                "no_hash": "changed since it was verified (content hash mismatch)",
                "unreadable": "unreadable (UnicodeDecodeError: "}[tamper]
    if tamper == "unreadable":
        path.write_bytes(b"\xff\xfe old")
        path.with_suffix(".json").write_text(json.dumps({"fields": fields,
                                                         "sha256": hashlib.sha256(b"\xff\xfe old").hexdigest()}))
    seen: list[bool] = []

    def build() -> str:
        seen.append(path.exists() or path.with_suffix(".json").exists())  # both deleted before the rebuild
        builds.append("new")
        return "new"

    with caplog.at_level(logging.WARNING, logger="dsr_ros"):
        engine = cache.get_or_build(fields, build, lambda e, p: p.write_text(e), lambda p: p.read_text())
    assert engine == "new" and builds == ["new"] and seen == [False]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith(f"cached engine {path} is {expected}")
    assert warnings[0].endswith("; rebuilding it")
    assert path.read_text() == "new"
    assert json.loads(path.with_suffix(".json").read_text())["sha256"] == hashlib.sha256(b"new").hexdigest()


def test_a_bad_entry_another_process_removed_meanwhile_is_rebuilt(tmp_path: Path) -> None:
    """If the unreadable file and its record vanish while we read it (another node cleaned up), we just rebuild."""
    cache, builds = text_cache(tmp_path)
    fields = {"k": "v"}
    write_entry(cache, fields, "old")

    def load_while_removed(path: Path) -> str:
        path.unlink()  # the other process deletes the entry it found bad ...
        path.with_suffix(".json").unlink()
        raise OSError("stale file handle")  # ... and our read of it fails

    engine = cache.get_or_build(fields, lambda: builds.append("new") or "new", lambda e, p: p.write_text(e),
                                load_while_removed)
    assert engine == "new" and builds == ["new"] and cache.path_for(fields).read_text() == "new"


def test_try_load_of_a_missing_file_is_none_without_touching_the_record(tmp_path: Path) -> None:
    """No engine file: nothing is loaded and a stray record beside it stays."""
    fields = {"k": "v"}
    path = write_entry(EngineCache(tmp_path), fields, "x")
    path.unlink()
    calls: list[Path] = []
    assert EngineCache._try_load(path, fields, calls.append) is None
    assert calls == [] and path.with_suffix(".json").exists()
    assert EngineCache._record_problem(write_entry(EngineCache(tmp_path), fields, "x"), fields) is None


def test_a_build_that_waits_for_the_lock_uses_the_engine_the_holder_wrote(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """While another holder has `<path>.lock`, get_or_build waits; it then loads what was written, not build."""
    cache, builds = text_cache(tmp_path)
    fields = {"k": "v"}
    path = cache.path_for(fields)
    lock = path.with_suffix(".ep.lock")
    result: list[str] = []
    with open(lock, "a+") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with caplog.at_level(logging.INFO, logger="dsr_ros"):
            thread = threading.Thread(target=lambda: result.append(get(cache, builds, fields, "mine")))
            thread.start()
            waiting = f"another process is building {path.name}; waiting for it"
            deadline = time.monotonic() + 10  # until the thread says it waits (no sleep a loaded machine outruns)
            while waiting not in caplog.messages and time.monotonic() < deadline:
                time.sleep(0.01)
            assert thread.is_alive() and result == []  # blocked on the lock, not building
            write_entry(cache, fields, "theirs")
            fcntl.flock(holder, fcntl.LOCK_UN)
            thread.join(10)
    assert not thread.is_alive() and result == ["theirs"] and builds == []
    assert waiting in caplog.messages
    with open(lock, "a+") as probe:  # released afterwards: a non-blocking lock succeeds
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_cached_engine_is_loaded_without_waiting_for_a_builder(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A valid entry is returned at once even while another process holds the lock to build."""
    cache, builds = text_cache(tmp_path)
    fields = {"k": "v"}
    path = write_entry(cache, fields, "ready")
    result: list[str] = []
    with open(path.with_suffix(".ep.lock"), "a+") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        try:
            with caplog.at_level(logging.INFO, logger="dsr_ros"):
                thread = threading.Thread(target=lambda: result.append(get(cache, builds, fields, "mine")))
                thread.start()
                thread.join(10)
                finished = not thread.is_alive()
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)
            thread.join(10)
    assert finished and result == ["ready"] and builds == []
    assert not any(m.startswith("another process is building") for m in caplog.messages)


def test_the_lock_is_released_after_a_failed_build(tmp_path: Path) -> None:
    """A build that raises leaves the lock file free for the next writer."""
    cache = EngineCache(tmp_path)

    def fail() -> str:
        with open(cache.path_for({"k": "v"}).with_suffix(".ep.lock"), "a+") as probe:
            with pytest.raises(BlockingIOError):  # held while building
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        raise OSError("no GPU")

    with pytest.raises(OSError, match="no GPU"):
        cache.get_or_build({"k": "v"}, fail, lambda e, p: None, lambda p: "x")
    with open(cache.path_for({"k": "v"}).with_suffix(".ep.lock"), "a+") as probe:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)


# --- covering ------------------------------------------------------------------------------------------------

def shape_fields(shapes: ShapeRange, **extra: str) -> dict[str, str]:
    """Key fields as the TensorRT back end writes them: the model fields plus shape and shape_range."""
    return {"model": "m1", "precision": "fp16", **extra, "shape": shapes.tag(),
            "shape_range": json.dumps(shapes.to_list())}


def test_covering_finds_a_recorded_range_for_the_same_key_but_shape(tmp_path: Path) -> None:
    """A record whose fields equal ours except shape/shape_range and whose range holds the shape is found."""
    cache = EngineCache(tmp_path)
    wide = ShapeRange.ranged((1, 1, 4, 4), (1, 1, 8, 8), (1, 1, 16, 16))
    write_entry(cache, shape_fields(wide), "e", stem="dsr-x2")
    wanted = shape_fields(ShapeRange.static((1, 1, 10, 12)))
    assert cache.covering(wanted, (1, 1, 10, 12), stem="dsr-x2") == wide
    assert cache.covering(wanted, [1, 1, 16, 16], stem="dsr-x2") == wide  # any sequence, bounds inclusive
    assert cache.covering(wanted, (1, 1, 17, 12), stem="dsr-x2") is None  # outside the range
    assert cache.covering(wanted, (1, 1, 10, 12), stem="dsr-x4") is None  # another stem
    assert cache.covering(wanted, (1, 1, 10, 12)) is None  # default stem `engine`
    other = shape_fields(ShapeRange.static((1, 1, 10, 12)), precision="fp32")
    assert cache.covering({**other, "precision": "fp32"}, (1, 1, 10, 12), stem="dsr-x2") is None
    assert cache.covering({**wanted, "gpu": "x"}, (1, 1, 10, 12), stem="dsr-x2") is None  # an extra field


def test_covering_skips_unreadable_or_incomplete_records(tmp_path: Path) -> None:
    """Records that are not JSON, lack fields or shape_range, or hold a bad range are skipped, not fatal."""
    cache = EngineCache(tmp_path)
    good = ShapeRange.ranged((1, 1, 4, 4), (1, 1, 8, 8), (1, 1, 16, 16))
    (tmp_path / "engine-0.json").write_text("{broken")
    (tmp_path / "engine-1.json").write_text(json.dumps({"sha256": "x"}))
    (tmp_path / "engine-2.json").write_text(json.dumps({"fields": {"model": "m1"}}))
    (tmp_path / "engine-3.json").write_text(json.dumps({"fields": {"shape_range": "[[1, 1, 8]]"}}))
    (tmp_path / "engine-4.json").write_text(json.dumps({"fields": {"shape_range": "5"}}))
    (tmp_path / "engine-5.json").write_text(json.dumps(["fields"]))
    (tmp_path / "engine-6.json").mkdir()
    write_entry(cache, shape_fields(good), "e")
    wanted = shape_fields(ShapeRange.static((1, 1, 6, 6)))
    assert cache.covering(wanted, (1, 1, 6, 6)) == good


def test_covering_returns_the_first_matching_record_in_name_order(tmp_path: Path) -> None:
    """With two covering records, the one whose file name sorts first is returned."""
    cache = EngineCache(tmp_path)
    a = ShapeRange.ranged((1, 1, 4, 4), (1, 1, 8, 8), (1, 1, 16, 16))
    b = ShapeRange.ranged((1, 1, 2, 2), (1, 1, 8, 8), (1, 1, 32, 32))
    paths = {r: write_entry(cache, shape_fields(r), "e") for r in (a, b)}
    first = min(paths, key=lambda r: paths[r].name)
    assert cache.covering(shape_fields(ShapeRange.static((1, 1, 8, 8))), (1, 1, 8, 8)) == first
