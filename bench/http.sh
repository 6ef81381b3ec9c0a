#!/usr/bin/env bash
# Serving HTTP: `cargo arcella run` (fuel, epoch timeout and memory limit on,
# fresh instance per request) side by side with `wasmtime serve`, the same
# component, the same load from `wrk` over loopback, in one run.
#
# The component is `tests/fixtures/http-guest` (plain `wasi:http/proxy`,
# `GET /` answers "hello"): the `http` template also imports Arcella's
# `logging`, which `wasmtime serve` cannot provide, so the template is
# measured under Arcella alone, on the last line. `wasmtime serve` runs with
# `-S cli` (the guest, built with Rust std, imports `wasi:cli`) and its
# defaults otherwise: no fuel, no epoch deadline.
#
# Usage: bench/http.sh [SECONDS] [CONNECTIONS] [ROUNDS]  (defaults 10 50 2)
# Installs what it needs: `wrk` (Debian's package) and `wasmtime`
# (`cargo install --locked wasmtime-cli`, the version the host embeds), unless
# WASMTIME_BIN names another Wasmtime CLI to compare with.
set -euo pipefail

seconds="${1:-10}"
connections="${2:-50}"
rounds="${3:-2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
wasmtime_version="48.0.8"

if ! command -v wrk >/dev/null; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get install -y wrk >/dev/null
fi
wasmtime="${WASMTIME_BIN:-wasmtime}"
if [ -z "${WASMTIME_BIN:-}" ] && ! wasmtime --version 2>/dev/null | grep -q "$wasmtime_version"; then
    cargo install --locked wasmtime-cli --version "$wasmtime_version"
fi

(cd "$root" && cargo build --quiet --release -p cargo-arcella)
arcella="$target/release/cargo-arcella"

# The fixture, built for release into the e2e target folder the tests share.
CARGO_TARGET_DIR="$target/e2e" cargo build --quiet --release --target wasm32-wasip2 \
    --manifest-path "$root/tests/fixtures/http-guest/Cargo.toml"
guest="$target/e2e/wasm32-wasip2/release/http_guest.wasm"

work="$(mktemp -d)"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A manifest beside the component: Arcella's default limits, written out.
cp "$guest" "$work/guest.wasm"
cat >"$work/arcella.toml" <<'EOF'
[module]
name = "guest"
version = "0.1.0"
isolation = "worker"
exports = ["wasi:http/incoming-handler@0.2.12"]
# The fixture can fetch (`/fetch?url=`); the benchmark never asks it to.
imports = ["wasi:http/outgoing-handler@0.2.12"]

[limits]
fuel = 100_000_000
memory = "64MiB"
timeout = "5s"

[capabilities]
http = ["example.com"]
EOF

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for ADDRESS: until it answers.
wait_for() {
    for _ in $(seq 200); do
        (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "server at $1 did not come up" >&2
    return 1
}

# load NAME ADDRESS: one wrk run; prints "NAME rps p50 p99".
load() {
    local out rps p50 p99
    out="$(wrk --latency -t2 -c"$connections" -d"${seconds}s" "http://$2/")"
    if echo "$out" | grep -q "Non-2xx"; then
        echo "$1: non-2xx responses" >&2
        echo "$out" >&2
        return 1
    fi
    rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
    p50="$(echo "$out" | awk '$1 == "50%" {print $2}')"
    p99="$(echo "$out" | awk '$1 == "99%" {print $2}')"
    printf '%-34s %12s %10s %10s\n' "$1" "$rps" "$p50" "$p99"
}

# serve NAME COMMAND...: starts a server, loads it, stops it.
serve() {
    local name="$1" address="$2"
    shift 2
    "$@" >/dev/null 2>&1 &
    server=$!
    wait_for "$address"
    load "$name" "$address"
    kill -INT "$server"
    wait "$server" 2>/dev/null || true
    server=""
}

echo "wrk: ${seconds}s, $connections connections, 2 threads; $(nproc) cores"
printf '%-34s %12s %10s %10s\n' "server" "requests/s" "p50" "p99"
for round in $(seq "$rounds"); do
    a="127.0.0.1:$(port)"
    serve "arcella run (round $round)" "$a" \
        "$arcella" arcella run "$work/guest.wasm" --listen "$a"
    w="127.0.0.1:$(port)"
    serve "wasmtime serve (round $round)" "$w" \
        "$wasmtime" serve -S cli --addr "$w" "$guest"
done

# The http template itself, under Arcella (its logging import is Arcella's own).
"$arcella" arcella new --template http "$work/bench-http" >/dev/null
(cd "$work/bench-http" && CARGO_TARGET_DIR="$target/e2e" "$arcella" build --release >/dev/null 2>&1)
t="127.0.0.1:$(port)"
(cd "$work/bench-http" && serve "arcella run, http template" "$t" \
    "$arcella" arcella run "$work/bench-http/target/arcella/bench-http.wasm" --listen "$t")
