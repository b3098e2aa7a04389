#!/usr/bin/env bash
# `make dev`: the platform as `make run` has it, but the web app comes from Vite with hot reload
# on :5173, passing /api (and the WebSocket) to the API on :8000. Browse http://localhost:5173.
set -euo pipefail
cd "$(dirname "$0")/.."

# Pages, Singpass's redirect and the Origin check all use Vite's address.
export MEDBOOK_PUBLIC_BASE_URL="${MEDBOOK_PUBLIC_BASE_URL:-http://localhost:5173}"
scripts/run-dev.sh &
API_PID=$!
trap 'kill "$API_PID" 2>/dev/null || true' EXIT INT TERM
MEDBOOK_API_URL="http://localhost:${MEDBOOK_PORT:-8000}" npm run --prefix src/frontend dev
