#!/usr/bin/env bash
# Prints how long the workbook's loops take on this machine. It measures and
# prints; it asserts nothing (a timing depends on the machine, not the code).
#
#   scripts/bench.sh          all figures (the cold build takes a minute or two)
#   scripts/bench.sh --warm   skip the cold build
#
# It ends with `checker bench` on the newest solution: CPU per upgrade and per
# frame, memory per socket, fan-out latency.
#
# The cold build uses a separate target directory, so it does not throw away
# the one you work in.
set -euo pipefail
cd "$(dirname "$0")/.."

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
run_quiet() { "$@" >/dev/null 2>&1 || true; }   # a failing grade is still a timing

# Counted, not written down: the text stays true when an exercise is added.
count=$(find solutions -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' | wc -l)

echo "machine: $(nproc) cores, $(rustc --version)"

if [ "${1:-}" != "--warm" ]; then
  cold_dir=$(mktemp -d)
  trap 'rm -rf "$cold_dir"' EXIT
  start=$(now)
  # What the first `cargo run -p checker` builds: the checker, then every
  # exercise binary in one cargo run.
  CARGO_TARGET_DIR="$cold_dir" cargo build --quiet -p checker
  CARGO_TARGET_DIR="$cold_dir" cargo build --quiet -p exercises --bins
  echo "cold build (checker + the $count exercise binaries, empty target dir): $(seconds "$start" "$(now)") s"
fi

# Make sure everything below starts from a built state.
cargo build --quiet -p checker -p solutions -p exercises

for attempt in 1 2 3; do
  touch exercises/01-cookie-auth/main.rs
  start=$(now)
  run_quiet cargo run --quiet -p checker -- 1
  echo "edit -> verdict, exercise 1 (touch main.rs, cargo run -p checker -- 1), run $attempt: $(seconds "$start" "$(now)") s"
done

# Every solution, graded side by side as `--solutions` does (it always
# grades, it never skips a binary that passed before). Three runs, as
# whatever else the machine does moves each one: quote the middle one.
for attempt in 1 2 3; do
  start=$(now)
  run_quiet cargo run --quiet -p checker -- --solutions
  echo "grade all $count solutions (built), run $attempt: $(seconds "$start" "$(now)") s"
done
# The same run's CPU (checker and servers): the figure that moves when the
# work changes, whatever else the machine is doing.
/usr/bin/time -f "grade all $count solutions (built): %U s user, %S s system CPU, %e s wall" \
  cargo run --quiet -p checker -- --solutions 2>&1 >/dev/null | tail -n 1 || true

# What the newest reference server costs under load (book/src/what-it-costs.md):
# 500 authenticated sockets in one board, `typing` fanned out to all of them.
# A release build, as the figures of a debug build say little.
echo "checker bench, newest solution, release build:"
cargo run --quiet --release -p checker -- bench --solutions
