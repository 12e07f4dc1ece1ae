#!/usr/bin/env bash
# Builds the Worker (build/worker/shim.mjs + build/index_bg.wasm) with local tool binaries, so
# worker-build downloads nothing. wrangler runs this as its [build] command.
set -euo pipefail
cd "$(dirname "$0")/.."
# Skip when the build is newer than every input (wrangler runs this on every start).
if [ -f build/worker/shim.mjs ] && [ -z "$(find src Cargo.toml Cargo.lock -newer build/worker/shim.mjs -print -quit)" ]; then
  exit 0
fi
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
exec worker-build --release
