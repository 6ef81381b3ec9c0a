#!/usr/bin/env bash
# Instantiates each template into a temporary folder, as `cargo arcella new`
# would, and builds it for wasm32-wasip2 (release) and for the host (the
# bindings must compile natively, since tests do). Fails on the first error.
#
# Usage: templates/check-templates.sh [module|command|http]...
# Environment: CARGO_TARGET_DIR (shared by all templates so std and
# wit-bindgen build once), KEEP=1 to keep the instantiated crates.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
wit_bindgen_version="0.62.0"
target_dir="${CARGO_TARGET_DIR:-$root/target/templates-check}"
export CARGO_TARGET_DIR="$target_dir"

work="$(mktemp -d)"
if [[ "${KEEP:-}" != 1 ]]; then trap 'rm -rf "$work"' EXIT; fi

instantiate() {
    local template="$1" dest="$2" name="$3"
    local crate_name="${name//-/_}"
    cp -r "$here/$template" "$dest"
    find "$dest" -type f | while read -r file; do
        sed -i \
            -e "s/{{name}}/$name/g" \
            -e "s/{{crate_name}}/$crate_name/g" \
            -e "s/{{wit_bindgen_version}}/$wit_bindgen_version/g" \
            -e "/{{testkit_dependency}}/d" \
            "$file"
        if [[ "$file" == *.tmpl ]]; then mv "$file" "${file%.tmpl}"; fi
    done
    if grep -rn '{{' "$dest"; then
        echo "error: $template left placeholders unreplaced" >&2
        return 1
    fi
    if [[ "$template" != command ]]; then
        mkdir -p "$dest/wit"
        cp "$root/wit/arcella.wit" "$dest/wit/arcella.wit"
    fi
}

is_component() {
    # A component's preamble: `\0asm`, then version 0x0d and layer 1.
    [[ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" == 0061736d0d000100 ]]
}

templates=("$@")
[[ ${#templates[@]} -gt 0 ]] || templates=(module command http)

for template in "${templates[@]}"; do
    name="hello-$template"
    dest="$work/$name"
    echo "== $template: instantiating as $name in $dest"
    instantiate "$template" "$dest" "$name"

    start=$SECONDS
    (cd "$dest" && cargo build --quiet --target wasm32-wasip2 --release)
    wasm_secs=$((SECONDS - start))

    start=$SECONDS
    (cd "$dest" && cargo build --quiet)
    host_secs=$((SECONDS - start))

    wasm="$target_dir/wasm32-wasip2/release/${name//-/_}.wasm"
    [[ -f "$wasm" ]] || wasm="$target_dir/wasm32-wasip2/release/$name.wasm"
    if ! is_component "$wasm"; then
        echo "error: $wasm is not a component" >&2
        exit 1
    fi
    echo "ok: $wasm is a component of $(stat -c %s "$wasm") bytes" \
        "(wasm32-wasip2 release ${wasm_secs}s, host debug ${host_secs}s)"

    if command -v wasmtime >/dev/null && [[ "$template" == command ]]; then
        wasmtime run "$wasm" Arcella
    fi
done
