#!/usr/bin/env bash
# Checks that need a CUDA GPU, in one go (under 10 minutes), ending in one summary table:
#   1. the tests marked `cuda` (tiny runs trained and scored on the GPU in fp32 and bf16);
#   2. `bench perf --device cuda` in fp32 and bf16 side by side (C=16, N=5, batch 64);
#   3. one paper-scale NB201 epoch (C=16, N=5, batch 64; CIFAR-10 from $BENCH_DATA_DIR when set,
#      else 25,000 synthetic images), timed, and its wall time extrapolated to 250 epochs;
#   4. packing: `bench grid --jobs-per-device 4` on a tiny grid, 4 runs on one GPU against one alone: the
#      packing efficiency `bench grid --dry-run` then uses (PACK=2 scripts/device_check.sh measures 2).
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

# 1. tests that need CUDA (120 s)
timeout 120 "$PY" -m pytest -q -m cuda -p no:cacheprovider tests >"$LOG/pytest.txt" 2>&1
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

# 4. packing: a tiny grid of $PACK runs packed onto one GPU with `bench grid --jobs-per-device $PACK`, against one
#    of them alone (NB201 C=16 N=5, batch 64, on the embedded digits: launch-bound, as paper-scale runs are on a
#    large GPU). Packing efficiency = a run's time alone / a packed run's time (train + score seconds from each
#    run's metrics.json, start-up left out, as in bench grid's estimates): the throughput of $PACK packed runs
#    relative to $PACK times one run alone. Recorded (bench.grid.estimate.packing_file) for `bench grid --dry-run`.
#    (about 60 s; 190 s at most)
PACK=${PACK:-4}
DEV=${CUDA_VISIBLE_DEVICES:-0}
DEV=${DEV%%,*}  # one GPU: with several, the runs would spread over them instead of packing
mkdir -p "$LOG/pack"
tiny_grid() {  # $1: file, $2: seeds
    cat >"$1" <<EOF
name: packing
base:
  supernet: {C: 16, N: 5}
  train: {epochs: 20, batch_size: 64, device: cuda}
  eval: {pool_size: 50}
seeds: [$2]
EOF
}
tiny_grid "$LOG/pack/alone.yaml" 0
tiny_grid "$LOG/pack/packed.yaml" "$(seq -s, 0 $((PACK - 1)))"
timed_grid() {  # $1: name, $2: timeout, then bench grid's options; prints the grid's wall seconds
    local start=$EPOCHREALTIME rc
    CUDA_VISIBLE_DEVICES=$DEV timeout "$2" "$PY" -m bench.cli grid "$LOG/pack/$1.yaml" --out "$LOG/pack/$1" \
        --quiet "${@:3}" >"$LOG/pack/$1.txt" 2>&1
    rc=$?
    awk -v end="$EPOCHREALTIME" -v start="$start" 'BEGIN { printf "%.1f\n", end - start }'
    return $rc
}
alone_wall=$(timed_grid alone 80 --jobs-per-device 1 --jobs 1)
rc_alone=$?
packed_wall=$(timed_grid packed 110 --jobs-per-device "$PACK")
rc_packed=$?
if [ $rc_alone -eq 0 ] && [ $rc_packed -eq 0 ]; then
    packing=$("$PY" -c "
import json, sys
from pathlib import Path
from bench.grid.estimate import gpu_name, record_packing
log, k = Path(sys.argv[1]), int(sys.argv[2])
def seconds(grid):
    runs = [json.loads(p.read_text()) for p in sorted((log / grid / 'runs').glob('*/metrics.json'))]
    return [m['train_seconds'] + m['score_seconds'] for m in runs]
alone, packed = seconds('alone')[0], seconds('packed')
each = sum(packed) / len(packed)
efficiency = alone / each
where = record_packing(gpu_name(), k, efficiency, alone_seconds=round(alone, 2), packed_seconds=round(each, 2))
print(f'1 alone {alone:.1f} s, {k} packed {each:.1f} s each (grid walls {sys.argv[3]} s, {sys.argv[4]} s); '
      f'packing efficiency {efficiency:.2f} (recorded in {where})')" "$LOG/pack" "$PACK" "$alone_wall" "$packed_wall" \
        2>"$LOG/pack/efficiency.err" || echo "FAILED: $(tail -n 1 "$LOG/pack/efficiency.err")")
else
    packing="FAILED or too slow (rc alone $rc_alone, packed $rc_packed): $(tail -n 1 "$LOG/pack/packed.txt")"
fi
row "packing $PACK runs on one GPU (bench grid)" "$packing"

echo
echo "device check summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1))"
printf '%s\n' "${summary[@]}"
