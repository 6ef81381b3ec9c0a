#!/usr/bin/env bash
# Compares the host benchmark of a base revision with the working tree's, in
# one run: each side's `cargo bench -p arcella-host --bench host` is built
# once, then the two run alternately, ROUNDS times, and their figures are
# printed together, so that a shared machine's noise falls on both alike.
#
# Usage: bench/compare.sh BASE [ROUNDS]   (BASE: a commit, tag or branch; ROUNDS defaults to 3)
# The base is built in a worktree under $CARGO_TARGET_DIR/compare with a
# target folder of its own (its worker executable must not be the working
# tree's), so its first build takes as long as a cold one.
set -euo pipefail

base="${1:?usage: bench/compare.sh BASE [ROUNDS]}"
rounds="${2:-3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
rev="$(git -C "$root" rev-parse --short "$base")"
tree="$target/compare/tree-$rev"

# The bench binary's path, from cargo's own report of what it built.
bench_binary() {
    (cd "$1" && CARGO_TARGET_DIR="$2" cargo bench -p arcella-host --bench host --no-run --message-format=json 2>/dev/null) |
        sed -n 's/.*"executable":"\([^"]*host-[^"]*\)".*/\1/p' | tail -1
}

if [ ! -d "$tree" ]; then
    git -C "$root" worktree add --detach "$tree" "$rev" >/dev/null
fi
echo "building the base ($rev) and the working tree..." >&2
before="$(bench_binary "$tree" "$target/compare/target")"
after="$(bench_binary "$root" "$target")"

for round in $(seq "$rounds"); do
    echo "=== base $rev, round $round"
    "$before" | sed -n '/^1\./,/^ratios/p' | grep -v '^ratios'
    echo "=== working tree, round $round"
    "$after" | sed -n '/^1\./,/^ratios/p' | grep -v '^ratios'
done
