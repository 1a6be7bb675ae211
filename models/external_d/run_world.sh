#!/usr/bin/env bash
# Generate external-d, run the pipeline over it as a new user would, then evaluate.
#   run_world.sh [SEED]      (default 20)
# Phase 1 loads every delivery up to 2024-08-31 (mz/2024-06-30 in its original, wrong version);
# then the same-date corrected re-delivery of mz/2024-06-30 replaces that folder (files first,
# _READY last), and phase 2 loads the rest.  One pipeline at a time (2 shared cores).
set -euo pipefail
SEED=${1:-20}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$HERE/world-seed$SEED
W=$HERE/run
cd /work/main
.venv/bin/python "$HERE/emit.py" --out "$DIR" --seed "$SEED"
rm -rf "$W" && mkdir -p "$W"
cp -r "$DIR/landing" "$W/landing"
t0=$(date +%s)
.venv/bin/dibao run --landing "$W/landing" --warehouse "$W/wh.duckdb" --out "$W/out" --date 2024-08-31 > "$W/run1.log" 2>&1
t1=$(date +%s)
C=$W/landing/mz/2024-06-30
rm -f "$C"/_READY "$C"/households.* "$C"/members.*
cp "$DIR"/redelivery/mz/2024-06-30/households.* "$DIR"/redelivery/mz/2024-06-30/members.* "$C"/
cp "$DIR"/redelivery/mz/2024-06-30/_READY "$C"/_READY
.venv/bin/dibao run --landing "$W/landing" --warehouse "$W/wh.duckdb" --out "$W/out" > "$W/run2.log" 2>&1
t2=$(date +%s)
echo "phase 1: $((t1-t0)) s, phase 2: $((t2-t1)) s" | tee "$W/timing.txt"
.venv/bin/python /work/shared/tools/evaluate_world.py --warehouse "$W/wh.duckdb" --truth "$DIR/truth" | tee "$W/evaluation.txt"
