#!/usr/bin/env bash
# `make test`: every test. Installs what a fresh machine lacks (see scripts/setup.sh, plus
# Debian's chromium for the browser test, wrk for the load test and nginx for the gate tests),
# then runs, in order:
#   1. native unit tests of the protocol core and the simulator
#   2. the wasm build, and `wrangler deploy --dry-run` bundling it
#   3. end-to-end tests: the wasm Worker in workerd against the simulator (browser login, and
#      login from phone number: tests/ciba.rs), the pages people see (tests/pages.rs:
#      languages, brands, operator templates, health)
#   4. conformance: hostile simulator modes, a broken network, Vipps down, bounded load (wrk),
#      the gate (tests/gate.rs: path spellings, headers, cache, double callback, against the
#      assets binding, a naive origin and nginx), and the rules (tests/rules.rs: access rules, API
#      paths, forged identity headers), the login variants (tests/flows.rs: silent login,
#      markets, registration scopes, step-up and acr, the retry after temporarily_unavailable),
#      the login hook (tests/hook.rs: a real backend on a loopback port allowing, denying,
#      failing; the README's Node and Python verifiers), and logins from apps and automatic
#      return (tests/apps.rs: hand-offs, bearer sessions, the "continue as" confirmation);
#      writes CONFORMANCE.md
#   5. a real browser (headless chromium) logging in through the demo site, and a Norwegian
#      browser seeing Norwegian pages
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }

bash scripts/setup.sh
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
{ [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; } || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "unit tests: protocol core and simulator"
cargo test --workspace --lib --bins

step "build: wasm Worker"
bash scripts/build.sh
cargo build -q -p vipps-sim

step "bundle: wrangler deploy --dry-run"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
npx wrangler deploy --dry-run --outdir "$out" > "$out.log" 2>&1 || { cat "$out.log"; exit 1; }
test -s "$out/shim.js" && ls "$out"/*index_bg.wasm >/dev/null
echo "bundled: $(du -sh "$out" | cut -f1) in $out"

step "end-to-end: wasm Worker in workerd against the simulator"
rm -rf target/conformance   # the CIBA suite writes conformance rows too
cargo test --test e2e -- --test-threads=1
cargo test --test pages -- --test-threads=2
cargo test --test ciba -- --test-threads=2

step "conformance: hostile provider, broken network, Vipps down, load, the gate, the rules"
status=0
cargo test --test conformance -- --test-threads=2 || status=$?
cargo test --test gate -- --test-threads=2 || status=$?
cargo test --test identity || status=$?
cargo test --test rules -- --test-threads=2 || status=$?
cargo test --test flows -- --test-threads=2 || status=$?
cargo test --test hook -- --test-threads=2 || status=$?
cargo test --test apps -- --test-threads=2 || status=$?
bash scripts/conformance-table.sh
[ "$status" = 0 ] || exit "$status"

step "browser: headless chromium logs in through the demo"
node --test tests/browser.test.mjs
