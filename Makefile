# Two commands for a new user: `make demo` and `make test`.
# Torch: a torch already importable by python3 (a CUDA or Jetson build) is reused through
# --system-site-packages; otherwise TORCH_SPEC is installed (a quick CPU build here).
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
HAVE_TORCH := $(shell $(PYTHON) -c "import torch" >/dev/null 2>&1 && echo yes)
# ROS 2: a sourced installation (rclpy importable) is reused like a system torch; otherwise Jazzy's
# rclpy, messages and Fast DDS come as ros-jazzy-* wheels, and colcon from pip, for the live tests.
HAVE_RCLPY := $(shell $(PYTHON) -c "import rclpy" >/dev/null 2>&1 && echo yes)
VENV_FLAGS := $(if $(HAVE_TORCH)$(HAVE_RCLPY),--system-site-packages,)
ROS_WHEELS := ros-jazzy-rclpy ros-jazzy-sensor-msgs ros-jazzy-diagnostic-msgs ros-jazzy-rcl-interfaces \
	ros-jazzy-rmw-fastrtps-cpp ros-jazzy-ament-index-python
COLCON_WHEELS := colcon-core colcon-ros colcon-python-setup-py colcon-package-selection colcon-library-path \
	ros-jazzy-ament-package

.PHONY: venv demo test lint mutation clean

venv: $(VENV)/.dsr_installed

$(VENV)/.dsr_installed: setup.py setup.cfg
	$(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(PY) -c "import torch" >/dev/null 2>&1 || $(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[train,bag,onnx]"
	touch $@

$(VENV)/.dsr_test_installed: $(VENV)/.dsr_installed
	$(PY) -m pip install -e ".[train,bag,onnx,test]"
	$(PY) -c "import rclpy" >/dev/null 2>&1 || $(PY) -m pip install $(ROS_WHEELS)
	$(PY) -c "import colcon_ros" >/dev/null 2>&1 || $(PY) -m pip install $(COLCON_WHEELS)
	$(PY) -c "import rclpy, sensor_msgs.msg, diagnostic_msgs.msg, colcon_ros" || \
		{ echo "make: the ROS 2 stack for the live tests is missing (rclpy, messages, colcon); see docs/robots.md" >&2; exit 1; }
	touch $@

demo: venv
	$(VENV)/bin/dsr demo --out demo_output

lint: $(VENV)/.dsr_test_installed
	$(PY) -m ruff check .

test: $(VENV)/.dsr_test_installed
	$(PY) -m ruff check .
	@echo "live ROS 2 tests over Fast DDS: $$($(PY) -m pytest --collect-only -q test/test_ros_live*.py | tail -1)"
	$(PY) -m pytest -q -rs test

# Mutation testing of the depth path (docs/testing.md): mutmut 3, configured in pyproject.toml [tool.mutmut].
# MUTANTS narrows the run to a glob of mutant names, e.g. make mutation MUTANTS='dsr_ros.depth.*';
# MUTATION_JOBS sets the number of parallel workers (mutmut's default: one per CPU).
MUTANTS ?=
MUTATION_JOBS ?=
mutation: $(VENV)/.dsr_test_installed
	$(PY) -m pip install -e ".[train,bag,onnx,test,mutation]"
	OMP_NUM_THREADS=1 $(VENV)/bin/mutmut run $(if $(MUTATION_JOBS),--max-children $(MUTATION_JOBS),) $(MUTANTS)
	$(VENV)/bin/mutmut results
	$(VENV)/bin/mutmut export-cicd-stats && cat mutants/mutmut-cicd-stats.json

clean:
	rm -rf $(VENV) demo_output .pytest_cache mutants
