#!/usr/bin/env bash
# `make run`: the platform on localhost with its local peers.
# MockPass (Singpass legacy v2, with its persona picker) on :5156, then the API on :8000.
# Stopping the API (Ctrl-C) stops MockPass too.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${MEDBOOK_PORT:-8000}"
MOCKPASS_PORT="${MOCKPASS_PORT:-5156}"
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
trap 'kill "$MOCKPASS_PID" 2>/dev/null || true' EXIT INT TERM
echo "MockPass (Singpass test personas) on http://localhost:${MOCKPASS_PORT}; log in .data/mockpass.log"
echo "Sign in as a patient: ${MEDBOOK_PUBLIC_BASE_URL}/api/v1/auth/singpass/login"

"${UV:-.tools/bin/uv}" run --frozen medbook serve --port "$PORT"
