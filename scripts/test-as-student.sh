#!/usr/bin/env bash
# The README's test command must pass for a student at every stage of their
# work. The furthest stage is every stub filled in: this puts each
# solution's files in place of its exercise's, and each reference attack in
# place of its lab's starter, in a temporary copy of the workspace, and
# runs `cargo test --workspace` there (the slow proofs marked #[ignore] are
# not part of that command, and none of them depends on what the exercises
# or the attack starters hold).
#
# The copy shares this workspace's target directory. Cargo names a
# workspace crate's artifacts after its path inside the workspace, so the
# copy's are this workspace's files, and nothing is built again: no test
# target depends on the exercises or the attacks, whose binaries
# `cargo test` does not build. A test that built them in the copy would
# put the solutions in place of this workspace's exercise binaries, fresh
# by their timestamps; the tests build an exercise only while it still has
# its stub.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT

tar -C "$root" --exclude=./target --exclude=./.git --exclude=./book/book \
  --exclude=./testing/node-server/node_modules -cf - . | tar -C "$copy" -xf -
for solution in "$copy"/solutions/[0-9][0-9]-*/; do
  name="$(basename "$solution")"
  cp -R "$solution". "$copy/exercises/$name/"
done
for attack in "$copy"/solutions/attacks/*/; do
  name="$(basename "$attack")"
  cp -R "$attack". "$copy/attacks/$name/"
done
# solutions/ also holds the reference attacks and the browser test, which
# exercises/ has no counterpart of.
if { diff -rq -x attacks -x tests "$copy/exercises" "$copy/solutions"
     diff -rq "$copy/attacks" "$copy/solutions/attacks"; } | grep -v Cargo.toml | grep -q .; then
  echo "test-as-student: the copied exercises or attacks still differ from the solutions" >&2
  exit 1
fi
echo "test-as-student: every exercise and attack replaced by its solution in $copy"
cd "$copy"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" cargo test --workspace
