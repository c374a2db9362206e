"""Suite-wide settings: engine caches in a temporary folder, one torch thread per test process."""
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_engine_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("DSR_ROS_CACHE", str(tmp_path_factory.mktemp("engines")))
