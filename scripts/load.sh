#!/usr/bin/env bash
# End-to-end load on loopback: the same axum handler without (/plain) and with (/verified)
# WebhookSignatureLayer, under wrk, at 1 KiB and 64 KiB bodies. Bounded: DURATION seconds per
# run (default 8), four runs. Prints requests/s and p99 for each, and the ratio.
#
#   scripts/load.sh            # DURATION=8 CONNECTIONS=32 by default
#
# Load generator and server share this machine's cores: compare the ratio within one run,
# not absolute numbers across runs or machines.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-32}
ADDR=127.0.0.1:${LOAD_PORT:-3100}
KEY=load-test-key

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi
fi

cargo build --release --quiet --example load_server
work=$(mktemp -d)
LOAD_ADDR=$ADDR target/release/examples/load_server >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q 'load server' "$work/server.log" 2>/dev/null && break; sleep 0.1; done

run() { # size path -> "req/s p99"
  local size=$1 path=$2
  python3 - "$size" "$KEY" "$work" <<'PY'
import hashlib, hmac, sys
size, key, work = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
body = (b'{"event":"order.paid","pad":"' + b"x" * size)[:size - 2] + b'"}'
open(f"{work}/body-{size}", "wb").write(body)
sig = hmac.new(key, body, hashlib.sha256).hexdigest()
open(f"{work}/post-{size}.lua", "w").write(
    'wrk.method = "POST"\n'
    f'wrk.body = io.open("{work}/body-{size}", "rb"):read("*a")\n'
    'wrk.headers["Content-Type"] = "application/json"\n'
    f'wrk.headers["Loopwise-Webhook-Signature"] = "{sig}"\n')
PY
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/post-$size.lua" "http://$ADDR$path" >"$work/out" 2>&1
  if grep -qE 'Non-2xx' "$work/out"; then echo "non-2xx responses from $path" >&2; cat "$work/out" >&2; exit 1; fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/out")
  p99=$(awk '$1 == "99%" {print $2}' "$work/out")
  echo "$rps $p99"
}

printf '| body | without layer req/s | p99 | with layer req/s | p99 | with/without |\n|---|---|---|---|---|---|\n'
for size in 1024 65536; do
  read -r plain_rps plain_p99 < <(run "$size" /plain)
  read -r verified_rps verified_p99 < <(run "$size" /verified)
  ratio=$(python3 -c "print(f'{$verified_rps / $plain_rps:.2f}')")
  printf '| %s B | %s | %s | %s | %s | %s |\n' "$size" "$plain_rps" "$plain_p99" "$verified_rps" "$verified_p99" "$ratio"
done
