"""dsr_ros: a ROS 2 ament_python package that is also an ordinary pip package.

torch is deliberately not a requirement: GPU and Jetson users bring their own build
(the Makefile installs a CPU build when none is importable).
"""
import os
from glob import glob

from setuptools import find_packages, setup

# colcon's --symlink-install runs this file through a symlink in its build folder, where only the
# package folder is linked: work from the real source folder so README, models and config are found.
os.chdir(os.path.dirname(os.path.realpath(__file__)))

PACKAGE = "dsr_ros"

# Top-level data folders shipped both as ROS share/ data files and as pip package data
# (mapped into the package as dsr_ros.models, dsr_ros.config, dsr_ros.launch).
DATA_DIRS = {"models": ["*.safetensors", "*.md"], "config": ["*.yaml"], "launch": ["*.py"]}

data_files = [
    ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
    (f"share/{PACKAGE}", ["package.xml"]),
    (f"share/{PACKAGE}/config/train", glob("config/train/*.yaml")),
]
for folder, patterns in DATA_DIRS.items():
    files = sorted(f for pattern in patterns for f in glob(f"{folder}/{pattern}"))
    data_files.append((f"share/{PACKAGE}/{folder}", files))

TRAIN = ["h5py>=3.8", "scipy>=1.10", "tensorboard>=2.10"]
BAG = ["rosbags>=0.11"]
ONNX = ["onnx>=1.15", "onnxruntime>=1.17", "onnxscript>=0.1"]
TEST = ["pytest>=7", "hypothesis>=6", "ruff>=0.5", *TRAIN, *BAG, *ONNX]
MUTATION = ["mutmut>=3"]  # `make mutation` only (docs/testing.md); `make test` does not install it

setup(
    name=PACKAGE,
    version="0.1.0",
    description="Real-time depth super-resolution for ROS 2 (DSRNet, cross-task distillation)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=[*find_packages(exclude=["test", "test.*"]), *(f"{PACKAGE}.{d}" for d in DATA_DIRS)],
    package_dir={f"{PACKAGE}.{d}": d for d in DATA_DIRS},
    package_data={**{f"{PACKAGE}.{d}": p for d, p in DATA_DIRS.items()}, PACKAGE: ["py.typed"]},
    data_files=data_files,
    install_requires=[
        "numpy>=1.23",
        "safetensors>=0.4",
        "opencv-python-headless>=4.5",
        "pyyaml>=5.4",
        "tqdm>=4.60",
        "matplotlib>=3.5",
    ],
    extras_require={"train": TRAIN, "bag": BAG, "onnx": ONNX, "test": TEST, "mutation": MUTATION},
    zip_safe=True,
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "dsr = dsr_ros.cli:main",
            "upsample_node = dsr_ros.ros.node:main",
        ],
    },
)
