#!/usr/bin/env bash
# `make run`: the platform on localhost with its local peers.
# MockPass (Singpass legacy v2, with its persona picker) on :5156, localstripe (the payment
# gateway's stand-in, with its card fields) on :8420, one `medbook worker` (background jobs and
# hold-expiry announcements; log in .data/worker.log), then the API on :8000.
# Stopping the API (Ctrl-C) stops the peers and the worker too.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${MEDBOOK_PORT:-8000}"
MOCKPASS_PORT="${MOCKPASS_PORT:-5156}"
LOCALSTRIPE_PORT="${LOCALSTRIPE_PORT:-8420}"
export MEDBOOK_PAYMENT_API_BASE="${MEDBOOK_PAYMENT_API_BASE:-http://localhost:${LOCALSTRIPE_PORT}}"
export MEDBOOK_PAYMENT_JS_URL="${MEDBOOK_PAYMENT_JS_URL:-http://localhost:${LOCALSTRIPE_PORT}/js.stripe.com/v3/}"
export MEDBOOK_PUBLIC_BASE_URL="${MEDBOOK_PUBLIC_BASE_URL:-http://localhost:${PORT}}"
export MEDBOOK_SINGPASS_PROFILE="${MEDBOOK_SINGPASS_PROFILE:-legacy_v2}"
export MEDBOOK_SINGPASS_ISSUER="${MEDBOOK_SINGPASS_ISSUER:-http://localhost:${MOCKPASS_PORT}/singpass/v2}"
export MEDBOOK_SINGPASS_SCOPE="${MEDBOOK_SINGPASS_SCOPE:-openid}"

# MockPass fetches our public keys from the running API, so our own keys are what it checks.
PORT="$MOCKPASS_PORT" \
  SHOW_LOGIN_PAGE=true \
  SP_RP_JWKS_ENDPOINT="${MEDBOOK_PUBLIC_BASE_URL}/.well-known/jwks.json" \
  node tests/peers/node_modules/@opengovsg/mockpass/index.js >.data/mockpass.log 2>&1 &
MOCKPASS_PID=$!

# localstripe keeps nothing between runs (--from-scratch) and signs its webhooks with the
# development secret the API checks them with (MEDBOOK_STRIPE_WEBHOOK_SECRET's default).
"${UV:-.tools/bin/uv}" run --frozen localstripe --port "$LOCALSTRIPE_PORT" --from-scratch \
  >.data/localstripe.log 2>&1 &
LOCALSTRIPE_PID=$!
"${UV:-.tools/bin/uv}" run --frozen medbook worker >.data/worker.log 2>&1 &
WORKER_PID=$!
trap 'kill "$MOCKPASS_PID" "$LOCALSTRIPE_PID" "$WORKER_PID" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 100); do
  curl -fsS -o /dev/null "http://localhost:${LOCALSTRIPE_PORT}/js.stripe.com/v3/" && break
  sleep 0.1
done
curl -fsS -o /dev/null -X POST "http://localhost:${LOCALSTRIPE_PORT}/_config/webhooks/medbook" \
  -d "url=${MEDBOOK_PUBLIC_BASE_URL}/api/v1/payments/webhooks/stripe" \
  -d "secret=${MEDBOOK_STRIPE_WEBHOOK_SECRET:-whsec_localstripe_development_only}"

echo "MockPass (Singpass test personas) on http://localhost:${MOCKPASS_PORT}; log in .data/mockpass.log"
echo "localstripe (payments; card 4242 4242 4242 4242 pays) on http://localhost:${LOCALSTRIPE_PORT}; log in .data/localstripe.log"
echo "medbook worker (jobs: \`medbook jobs\`) running; log in .data/worker.log"
echo "Sign in as a patient: ${MEDBOOK_PUBLIC_BASE_URL}/api/v1/auth/singpass/login"

"${UV:-.tools/bin/uv}" run --frozen medbook serve --port "$PORT"
