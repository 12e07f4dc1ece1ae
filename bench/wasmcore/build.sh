#!/usr/bin/env bash
# Builds bench/wasmcore/pkg the way worker-build builds a Worker: cargo (release, wasm32),
# wasm-bindgen (the version pinned by Cargo.lock), wasm-opt with the root crate's flags.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/bench-wasmcore}"
WASM_BINDGEN_USE_JS_SYS=1 cargo build --lib --release --target wasm32-unknown-unknown --quiet
"${WASM_BINDGEN_BIN:-wasm-bindgen}" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/bench_wasm_core.wasm" \
  --out-dir pkg --target web --no-typescript
rm -f pkg/*.opt.wasm
# The root crate's wasm-opt flags (Cargo.toml, [package.metadata.wasm-pack.profile.release]), as
# worker-build applies them; -O when it names none.
mapfile -t opt_args < <(awk -F'[][]' '/^wasm-opt *=/ {n = split($2, a, ","); for (i = 1; i <= n; i++) { gsub(/[" ]/, "", a[i]); print a[i] }; exit}' "$ROOT/Cargo.toml")
[ "${#opt_args[@]}" -gt 0 ] || opt_args=(-O)
# strip = true drops the target_features section; these are the features rustc's wasm32 target uses.
"${WASM_OPT_BIN:-$ROOT/node_modules/.bin/wasm-opt}" pkg/bench_wasm_core_bg.wasm -o pkg/bench_wasm_core_bg.opt.wasm "${opt_args[@]}" \
  --enable-mutable-globals --enable-nontrapping-float-to-int --enable-bulk-memory --enable-sign-ext \
  --enable-reference-types --enable-multivalue --enable-bulk-memory-opt
mv pkg/bench_wasm_core_bg.opt.wasm pkg/bench_wasm_core_bg.wasm
