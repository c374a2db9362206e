# Two commands for a new user: `make demo` and `make test`.
# Torch: a torch already importable by python3 (a CUDA or Jetson build) is reused through
# --system-site-packages; otherwise TORCH_SPEC is installed (a quick CPU build here).
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
HAVE_TORCH := $(shell $(PYTHON) -c "import torch" >/dev/null 2>&1 && echo yes)
VENV_FLAGS := $(if $(HAVE_TORCH),--system-site-packages,)

.PHONY: venv demo test lint clean

venv: $(VENV)/.dsr_installed

$(VENV)/.dsr_installed: setup.py setup.cfg
	$(PYTHON) -m venv $(VENV_FLAGS) $(VENV)
	$(PY) -c "import torch" >/dev/null 2>&1 || $(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[train,bag,onnx]"
	touch $@

$(VENV)/.dsr_test_installed: $(VENV)/.dsr_installed
	$(PY) -m pip install -e ".[train,bag,onnx,test]"
	touch $@

demo: venv
	$(VENV)/bin/dsr demo --out demo_output

lint: $(VENV)/.dsr_test_installed
	$(PY) -m ruff check .

test: $(VENV)/.dsr_test_installed
	$(PY) -m ruff check .
	$(PY) -m pytest -q test

clean:
	rm -rf $(VENV) demo_output .pytest_cache
