#!/usr/bin/env bash
# What a new user pays for `cargo arcella test` on a fresh `module` project,
# with the testkit in the host process (the default) and with the
# `embedded` feature, side by side in one run: the time of the first
# `cargo arcella test` (a cold target folder, a warm cargo registry), the
# size of the project's `target/` after it, and the per-test cost after the
# first test of a binary (the testkit's `per_test` bench, both ways).
#
# Usage: bench/testkit.sh        (about 6 minutes on 2 cores; needs no network
#                                 once the registry holds the crates)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "building cargo-arcella (release), the host a user installs..." >&2
cargo build --release --locked -q -p cargo-arcella --manifest-path "$root/Cargo.toml"
host="$target/release/cargo-arcella"
rustup target add wasm32-wasip2 >/dev/null 2>&1 || true

# One fresh project per mode; each builds into its own (cold) target folder.
first_test() {
    local mode="$1" project="$work/$1/bench-module"
    mkdir -p "$work/$1"
    (cd "$work/$1" && ARCELLA_TESTKIT_PATH="$root/arcella-testkit" "$host" arcella new bench-module --template module >/dev/null 2>&1)
    if [ "$mode" = embedded ]; then
        sed -i 's|^arcella-testkit = { path = \(.*\) }|arcella-testkit = { path = \1, features = ["embedded"] }|' "$project/Cargo.toml"
        grep -q 'features = \["embedded"\]' "$project/Cargo.toml"
    fi
    local start end
    start=$(date +%s.%N)
    (cd "$project" && env -u CARGO_TARGET_DIR PATH="$(dirname "$host"):$PATH" "$host" arcella test -q >/dev/null 2>&1)
    end=$(date +%s.%N)
    local seconds size
    seconds=$(echo "$end - $start" | bc)
    size=$(du -sm "$project/target" | cut -f1)
    printf '%-9s first `cargo arcella test`: %7.1f s   target/: %6d MB\n' "$mode" "$seconds" "$size"
}

echo "=== a fresh module project, cold target, warm registry"
first_test embedded
first_test process

echo "=== per test, after the first of its binary (arcella-testkit's per_test bench)"
cargo bench -q -p arcella-testkit --features embedded --bench per_test --manifest-path "$root/Cargo.toml" 2>/dev/null | grep -E '^(embedded|process)'
