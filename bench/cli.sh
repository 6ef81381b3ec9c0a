#!/usr/bin/env bash
# Measures the CLI's own cost, side by side, in one run:
#   - `check` on a fresh module template project (mean of N runs);
#   - `build` of an already built crate vs plain `cargo build --target wasm32-wasip2`;
#   - `run` of a built command component, cold (empty ARCELLA_CACHE_DIR) vs warm.
#
# Usage: bench/cli.sh [N]   (default N=10)
# It measures the release build of cargo-arcella, what `cargo install` gives.
# Environment: CARGO_TARGET_DIR (the workspace's; the template crate builds
# into $CARGO_TARGET_DIR/e2e, shared with the e2e tests), ARCELLA_BIN to
# measure another cargo-arcella binary.
set -euo pipefail

n="${1:-10}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$target"

(cd "$root" && cargo build --quiet --release -p cargo-arcella)
bin="${ARCELLA_BIN:-$target/release/cargo-arcella}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" new --template module bench-module >/dev/null
"$bin" new --template command bench-command >/dev/null
export CARGO_TARGET_DIR="$target/e2e"

now() { date +%s%N; }
# mean_ms N command...: mean wall time of N runs in milliseconds.
mean_ms() {
    local runs="$1" start end
    shift
    start=$(now)
    for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1; done
    end=$(now)
    echo $(( (end - start) / runs / 1000000 ))
}

cd "$work/bench-module"
check_ms=$(mean_ms "$n" "$bin" check)

cd "$work/bench-command"
"$bin" build >/dev/null 2>&1   # the first build is not measured
cargo_ms=$(mean_ms "$n" cargo build --quiet --target wasm32-wasip2)
build_ms=$(mean_ms "$n" "$bin" build)

wasm="$work/bench-command/target/arcella/bench-command.wasm"
cold_total=0
for _ in $(seq "$n"); do
    cache="$(mktemp -d)"
    start=$(now)
    ARCELLA_CACHE_DIR="$cache" "$bin" run "$wasm" -- bench >/dev/null 2>&1
    cold_total=$(( cold_total + $(now) - start ))
    rm -rf "$cache"
done
cold_ms=$(( cold_total / n / 1000000 ))
warm_cache="$(mktemp -d)"
ARCELLA_CACHE_DIR="$warm_cache" "$bin" run "$wasm" >/dev/null 2>&1
warm_ms=$(ARCELLA_CACHE_DIR="$warm_cache" mean_ms "$n" "$bin" run "$wasm" -- bench)
rm -rf "$warm_cache"

printf '%-52s %8s\n' "measurement (mean of $n runs)" "ms"
printf '%-52s %8d\n' "check, module template" "$check_ms"
printf '%-52s %8d\n' "cargo build --target wasm32-wasip2 (up to date)" "$cargo_ms"
printf '%-52s %8d\n' "cargo arcella build (up to date)" "$build_ms"
printf '%-52s %8d\n' "  overhead of cargo arcella build" "$(( build_ms - cargo_ms ))"
printf '%-52s %8d\n' "run command component, cold cache" "$cold_ms"
printf '%-52s %8d\n' "run command component, warm cache" "$warm_ms"
printf '%-52s %8s\n' "  cold / warm" "$(awk "BEGIN {printf \"%.1fx\", $cold_ms / ($warm_ms > 0 ? $warm_ms : 1)}")"
