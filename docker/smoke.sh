#!/usr/bin/env bash
# Smoke test for users with Docker: build and start the cpu profile, wait until mimir is healthy,
# ask one demo question, stop. Run from anywhere:  bash docker/smoke.sh
set -euo pipefail
cd "$(dirname "$0")"

export MIMIR_AUTH_TOKEN="${MIMIR_AUTH_TOKEN:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')}"
compose=(docker compose -f compose.yaml --profile cpu)
cleanup() { "${compose[@]}" down --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT

"${compose[@]}" up -d --build mimir

echo "waiting for mimir to become healthy..."
for _ in $(seq 1 60); do
  state=$(docker inspect --format '{{.State.Health.Status}}' "$("${compose[@]}" ps -q mimir)" 2>/dev/null || echo starting)
  [ "$state" = healthy ] && break
  sleep 5
done
[ "$state" = healthy ] || { "${compose[@]}" logs mimir | tail -50; echo "mimir did not become healthy" >&2; exit 1; }

curl -fsS -H "Authorization: Bearer ${MIMIR_AUTH_TOKEN}" http://127.0.0.1:7860/healthz
echo
# One demo question on the embedded defaults, inside the container (builds demo patients first).
"${compose[@]}" exec -T mimir mimir demo quickstart
echo "smoke test passed"
