#!/usr/bin/env bash
# Bounded soak runs (examples/soak.rs) against a Redis they start themselves on loopback;
# each checks its promise and exits non-zero if it does not hold.
#   scripts/soak.sh        the replay guard: two instances, signed deliveries, duplicates,
#                          concurrent copies and forgeries, Redis restarted halfway; checks
#                          exactly-once. SOAK_SECONDS (default 60, at most 600), SOAK_CLIENTS (16).
#   scripts/soak.sh inbox  the inbox: two receiver and two worker processes on RedisInbox,
#                          workers SIGKILLed and restarted at random, Redis killed and
#                          restarted once; checks that every delivery answered 2xx was
#                          processed. SOAK_SECONDS of sending (default 45), SOAK_DELIVERIES
#                          (default 2000), SOAK_CLIENTS (default 8).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || { echo "redis-server is needed (Debian: apt-get install redis-server)"; exit 1; }
exec cargo run --release --quiet --example soak --features axum,redis -- "$@"
