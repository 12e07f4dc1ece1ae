#!/usr/bin/env bash
# `make bench`: builds the release artifacts, starts everything on loopback and writes
# BENCHMARKS.md (machine, date, commands, figures). Not part of `make test`. About 10 minutes.
#
#   (a) this Worker (build/, as scripts/build.sh makes it)
#   (b) a no-op Rust Worker, bench/noop, built with the same toolchain
#   (c) @hono/oidc-auth, bench/hono, on the same workerd
#   plus the simulator (release), wrk (Debian), criterion benches (benches/) and the core in
#   wasm (bench/wasmcore). bench/run.mjs runs the measurements; see its header for the knobs
#   (BENCH_REPS, BENCH_DURATION, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\033[1;34m[bench]\033[0m %s\n' "$*"; }

# Is $1 newer than everything under the other arguments?
fresh() {
  local out="$1"; shift
  [ -e "$out" ] && [ -z "$(find "$@" -newer "$out" -print -quit 2>/dev/null)" ]
}
lock_version() { awk -v n="$1" '$0 == "name = \"" n "\"" {getline; gsub(/version = |"/, ""); print; exit}' "$2"; }

bash scripts/setup.sh
bash scripts/build.sh
say "building the simulator (release)"
cargo build --release -q -p vipps-sim

if ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk (Debian)"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk >/dev/null
fi

export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"

# The benchmark crates pin what the root pins: wasm-bindgen must equal the installed CLI.
root_bindgen="$(lock_version wasm-bindgen Cargo.lock)"
for crate in bench/noop bench/wasmcore; do
  if [ "$(lock_version wasm-bindgen "$crate/Cargo.lock" 2>/dev/null)" != "$root_bindgen" ]; then
    cp Cargo.lock "$crate/Cargo.lock"
  fi
done

if ! fresh bench/noop/build/index_bg.wasm bench/noop/src bench/noop/Cargo.toml bench/noop/Cargo.lock; then
  say "building (b), the no-op Rust Worker (worker-build --release)"
  (cd bench/noop && CARGO_TARGET_DIR="$ROOT/target/bench-noop" worker-build --release)
fi

if ! fresh bench/wasmcore/pkg/bench_wasm_core_bg.wasm bench/wasmcore/src bench/wasmcore/Cargo.toml bench/wasmcore/build.sh src Cargo.toml Cargo.lock; then
  say "building the core for wasm (bench/wasmcore)"
  bash bench/wasmcore/build.sh
fi

if [ ! -f bench/hono/node_modules/.package-lock.json ] || [ bench/hono/package-lock.json -nt bench/hono/node_modules/.package-lock.json ]; then
  say "installing (c), @hono/oidc-auth (npm ci)"
  (cd bench/hono && npm ci --no-audit --no-fund)
fi

say "compiling the criterion benches"
cargo bench --no-run -q --features testkit --bench core --bench costs

node bench/run.mjs
