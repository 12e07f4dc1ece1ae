#!/usr/bin/env bash
# `make dev`: the demo site behind the Worker in local workerd, logging in against the local
# Vipps Login simulator. No credentials needed. Ctrl-C stops both.
#   PORT=8787 SIM_PORT=7070 make dev
# To use Vipps' real test environment instead, put your credentials in .dev.vars
# (see README) and run: DEV_PROVIDER=vipps make dev
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8787}"
SIM_PORT="${SIM_PORT:-7070}"
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh
bash scripts/build.sh

args=(--ip 127.0.0.1 --port "$PORT")
if [ "${DEV_PROVIDER:-sim}" = "sim" ]; then
  cargo build -q -p vipps-sim
  mkdir -p .wrangler
  # The consent-revocation webhook, on: revoke consent at /_sim/consents and watch the session end.
  hook_file=.wrangler/dev-consent-webhook-secret
  [ -s "$hook_file" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$hook_file"
  hook_url="http://127.0.0.1:$PORT/auth/webhooks/consent-revoked/$(cat "$hook_file")"
  ./target/debug/vipps-sim --listen "127.0.0.1:$SIM_PORT" --key-file .wrangler/sim-key.pem \
    --client-id demo-client --client-secret demo-secret \
    --redirect-uri "http://localhost:$PORT/auth/callback" --redirect-uri "http://127.0.0.1:$PORT/auth/callback" \
    --consent-webhook-url "$hook_url" &
  SIM_PID=$!
  trap 'kill $SIM_PID 2>/dev/null || true' EXIT INT TERM
  secret_file=.wrangler/dev-session-secret
  [ -s "$secret_file" ] || head -c 32 /dev/urandom | base64 | tr -d '\n=' > "$secret_file"
  args+=(
    --var "VIPPS_DISCOVERY_URL:http://127.0.0.1:$SIM_PORT/access-management-1.0/access/.well-known/openid-configuration"
    --var "VIPPS_CLIENT_ID:demo-client"
    --var "VIPPS_CLIENT_SECRET:demo-secret"
    --var "VIPPS_REDIRECT_URI:http://localhost:$PORT/auth/callback"
    --var "SESSION_SECRET:$(cat "$secret_file")"
    --var "CONSENT_WEBHOOK_SECRET:$(cat "$hook_file")"
    --var "SESSION_RECHECK:10"
    # Login from phone number for a local till (README, "Login from phone number").
    --var "CIBA_API_KEYS:till-1:dev-till-key-0123456789abcdef0123"
    --var "CIBA_LOGIN_TO_WEBPAGE:true"
    --var "CIBA_LANDING_PAGE:/private/"
  )
  printf '\n\033[1;32mOpen http://localhost:%s and click "Log in with Vipps".\033[0m Simulator: http://127.0.0.1:%s\n' "$PORT" "$SIM_PORT"
  printf 'Revoke consent as the user would in the Vipps app: http://127.0.0.1:%s/_sim/consents\n' "$SIM_PORT"
  printf 'Approve logins from phone number: http://127.0.0.1:%s/_sim/ciba\n\n' "$SIM_PORT"
fi
npx wrangler dev "${args[@]}"
