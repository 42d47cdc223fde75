#!/usr/bin/env bash
# capture-reports.sh DIR: grades every shipped exercise (each alone, as
# `checker N` does) and the solutions, and writes the JSON reports to DIR
# (exN.json, sol.json). Run it before and after a change to the checker,
# then compare the two directories with scripts/compare-reports.py.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
mkdir -p "$out"
cargo build -q --workspace
last=$(cargo run -q -p checker -- --list-rows | cut -f2 | sort -n | tail -1)
for n in $(seq 1 "$last"); do
  cargo run -q -p checker -- "$n" --fresh --format json > "$out/ex$n.json" || true
done
cargo run -q -p checker -- "$last" --solutions --fresh --format json > "$out/sol.json" || true
