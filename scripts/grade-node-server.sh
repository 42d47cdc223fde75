#!/usr/bin/env bash
# Grades the Node reference server (testing/node-server) with the checker,
# one exercise at a time, as that stage of the course:
#
#   scripts/grade-node-server.sh          # exercises 1 to 10
#   scripts/grade-node-server.sh 4 9      # just those
#
# Prints one tally per exercise and, for an exercise with a failing row,
# the report of every failing row. Exits non-zero when any row failed.
# Run `npm ci` in testing/node-server first. `CHECKER=path` grades with a
# checker binary already built (CI passes the one its build left) instead
# of `cargo run -p checker`.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -d testing/node-server/node_modules ]; then
  echo "testing/node-server/node_modules is missing: run \`npm ci\` in testing/node-server first" >&2
  exit 2
fi

exercises=("$@")
if [ ${#exercises[@]} -eq 0 ]; then
  exercises=(1 2 3 4 5 6 7 8 9 10)
fi

if [ -n "${CHECKER:-}" ]; then
  checker() { "$CHECKER" "$@"; }
else
  cargo build -q -p checker || exit 2
  checker() { cargo run -q -p checker -- "$@"; }
fi

report=$(mktemp)
trap 'rm -f "$report"' EXIT
failed=()
for n in "${exercises[@]}"; do
  checker \
    --server-cmd "exec node testing/node-server/server.js --exercise $n" \
    --exercise "$n" >"$report" 2>&1
  status=$?
  printf 'exercise %2s: %s\n' "$n" "$(tail -n 1 "$report")"
  if [ "$status" -ne 0 ]; then
    failed+=("$n")
    # Everything but the passing rows: the failures with their reports.
    grep -v '^PASS ' "$report" | sed 's/^/    /'
  fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "node server: rows failed in exercise(s) ${failed[*]}" >&2
  exit 1
fi
echo "node server: every row passed"
