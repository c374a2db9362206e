#!/usr/bin/env bash
# Every CPU figure behind BENCHMARKS.md's latency sections and the README's demo, from one run on a
# quiet machine (nothing else running: the contention rows add their own load). About 20 minutes.
#
#     bash bench/refresh.sh [BEFORE_CHECKOUT]
#
# BEFORE_CHECKOUT: a checkout of an older commit, for the hot path's "before" row (optional).
# Writes bench/results/{hot_path,contention,live}/ and docs/demo.png; prints every table.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DSR=${DSR:-.venv/bin/dsr}
out=bench/results
mkdir -p "$out/hot_path" "$out/contention" "$out/live"

echo "== node overhead around a zero-cost engine (bench/hot_path.py) =="
$PY bench/hot_path.py --scale 4 --height 120 --width 160 --frames 400 --json "$out/hot_path/after_x4_160x120.json"
if [ -n "${1:-}" ]; then
  (cd "$1" && PYTHONPATH="$1" "$OLDPWD/$PY" "$OLDPWD/bench/hot_path.py" --scale 4 --height 120 --width 160 \
    --frames 400 --json "$OLDPWD/$out/hot_path/before_x4_160x120.json")
fi

echo "== threads under contention (bench/contention.py) =="
$PY bench/contention.py --scale 4 --height 120 --width 160 --threads 1,2 --json "$out/contention/x4_160x120.json"
$PY bench/contention.py --scale 4 --height 60 --width 80 --threads 1,2 --json "$out/contention/x4_80x60.json"

for size in "60 80" "120 160"; do
  set -- $size
  echo "== x4 ${2}x${1}: in process (dsr profile), then through DDS (dsr profile --live) =="
  $DSR profile --scale 4 --height "$1" --width "$2" --warmup 5 --iterations 30 --compare torch,onnxruntime \
    --json "$out/live/inprocess_x4_${2}x${1}.json"
  $DSR profile --live --scale 4 --height "$1" --width "$2" --rates 10,30 --duration 10 --search \
    --json "$out/live/x4_${2}x${1}.json" --plot "$out/live/x4_${2}x${1}.png"
done

echo "== capacity sweep (bench/capacity_sweep.py) =="
$PY bench/capacity_sweep.py --rounds 3 --json "$out/capacity_sweep.json" --trained models/*.safetensors

echo "== demo (README) =="
$DSR demo --out demo_output
cp demo_output/demo.png docs/demo.png
