#!/bin/sh
# Exercise the correction of mz/2024-09-30 with a pipeline (not run by the generator).
#   sh run_two_phase.sh OUTDIR WAREHOUSE RISKDIR
# phase 1: the landing as it stood on 2024-10-0x (first version of mz/2024-09-30, from staged/)
# phase 2: the final landing (the corrected mz/2024-09-30 replaces it; everything later arrives)
set -e
OUT=${1:-out}; WH=${2:-/tmp/worldc.duckdb}; RISK=${3:-/tmp/worldc_risk}
TMP=$(mktemp -d)
cp -r "$OUT/landing" "$TMP/landing"
rm -rf "$TMP/landing/mz/2024-09-30" && cp -r "$OUT/staged/mz/2024-09-30" "$TMP/landing/mz/2024-09-30"
dibao run --landing "$TMP/landing" --warehouse "$WH" --out "$RISK" --date 2024-09-30
rm -rf "$TMP/landing/mz/2024-09-30" && cp -r "$OUT/landing/mz/2024-09-30" "$TMP/landing/mz/2024-09-30"
dibao run --landing "$TMP/landing" --warehouse "$WH" --out "$RISK"
python3 /work/shared/tools/evaluate_world.py --warehouse "$WH" --truth "$OUT/truth"
rm -rf "$TMP"
