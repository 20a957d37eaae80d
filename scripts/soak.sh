#!/usr/bin/env bash
# A bounded soak run of the replay guard (examples/soak.rs): two instances and a Redis it
# starts itself on loopback, signed deliveries, duplicates, concurrent copies and forgeries,
# Redis restarted halfway; it checks exactly-once and exits non-zero if it does not hold.
# SOAK_SECONDS (default 60, at most 600) and SOAK_CLIENTS (default 16) tune it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "redis-server is needed (Debian: apt-get install redis-server)"; exit 1; }
exec cargo run --release --quiet --example soak --features axum,redis
