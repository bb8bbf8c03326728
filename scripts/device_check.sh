#!/usr/bin/env bash
# Checks that need a CUDA GPU, in one go (about 8 minutes at most), ending in one summary table:
#   1. the tests marked `cuda` (tiny runs trained and scored on the GPU in fp32 and bf16);
#   2. `bench perf --device cuda` in fp32 and bf16 side by side (C=16, N=5, batch 64);
#   3. one paper-scale NB201 epoch (C=16, N=5, batch 64; CIFAR-10 from $BENCH_DATA_DIR when set,
#      else 25,000 synthetic images), timed, and its wall time extrapolated to 250 epochs;
#   4. packing: 4 training processes at once on the GPU, their aggregate images/s against one alone.
# On a machine without CUDA it prints one line and exits 0.
# Usage: scripts/device_check.sh   (from the repository root, with the project's environment active)
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "device_check: no CUDA GPU on this machine; skipped"
    exit 0
fi
LOG=$(mktemp -d)
echo "device_check: logs in $LOG"
summary=()
row() { summary+=("$(printf '%-44s %s' "$1" "$2")"); }

# 1. tests that need CUDA (90 s)
timeout 90 "$PY" -m pytest -q -m cuda -p no:cacheprovider tests >"$LOG/pytest.txt" 2>&1
rc=$?
row "pytest -m cuda" "$( [ $rc -eq 0 ] && echo ok || echo "FAILED (rc $rc)"): $(tail -n 1 "$LOG/pytest.txt")"

# 2. bench perf, fp32 and bf16 in one run (150 s)
timeout 150 "$PY" -m bench.cli perf --device cuda --C 16 --N 5 --batch 64 --steps 50 --repeats 3 \
    --precision both >"$LOG/perf.txt" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
    while IFS= read -r line; do
        row "perf ${line%%  *}" "$(echo "${line#*  }" | sed 's/ *(runs:.*//' | tr -s ' ')"
    done < <(grep -E "loop spos  |bare fwd\+bwd  |scoring |achieved loop|attainable (matmul|conv)|loop / conv|bf16 / fp32" \
             "$LOG/perf.txt")
else
    row "bench perf --device cuda" "FAILED (rc $rc): $(tail -n 1 "$LOG/perf.txt")"
fi

# 3. one paper-scale epoch, timed; the second (steady) epoch extrapolated to 250 (100 s)
for precision in fp32 bf16; do
    timeout 50 "$PY" scripts/device_train.py --device cuda --precision "$precision" --epochs 2 \
        >"$LOG/epoch_$precision.json" 2>"$LOG/epoch_$precision.err"
    rc=$?
    if [ $rc -eq 0 ]; then
        row "epoch C=16 N=5 b64 $precision" "$("$PY" -c "
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
first, steady = r['epoch_seconds']
print(f\"{r['source']}: first {first:.1f} s, steady {steady:.1f} s ({r['images_per_s']:.0f} images/s); \"
      f\"250 epochs ~ {250 * steady / 3600:.2f} h\")" "$LOG/epoch_$precision.json")"
    else
        row "epoch C=16 N=5 b64 $precision" "FAILED or over 50 s (rc $rc): $(tail -n 1 "$LOG/epoch_$precision.err")"
    fi
done

# 4. packing: one process alone, then 4 at once, on 6,400 synthetic images each (2 epochs; the second timed) (110 s)
pack() {  # $1: processes at once; prints their images/s, one per line
    local pids=() i
    for i in $(seq 1 "$1"); do
        timeout 50 "$PY" scripts/device_train.py --device cuda --data-dir "" --images 6400 --epochs 2 \
            >"$LOG/pack$1_$i.json" 2>"$LOG/pack$1_$i.err" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for i in $(seq 1 "$1"); do
        "$PY" -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['images_per_s'])" \
            "$LOG/pack$1_$i.json" 2>/dev/null || echo nan
    done
}
one=$(pack 1)
four=$(pack 4 | paste -sd' ')
packing=$("$PY" -c "
import math, sys
one = float(sys.argv[1]); four = [float(v) for v in sys.argv[2].split()]
total = sum(four)
print(f'1 alone {one:.0f} images/s; 4 at once {total:.0f} in all ({\", \".join(f\"{v:.0f}\" for v in four)}); '
      f'aggregate / alone {total / one:.2f}' if all(map(math.isfinite, four + [one])) else 'FAILED (see logs)')" \
    "$one" "$four")
row "packing 4 runs on one GPU (fp32)" "$packing"

echo
echo "device check summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1))"
printf '%s\n' "${summary[@]}"
