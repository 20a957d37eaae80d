#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 60), one after another, and prints
# the executions and any crash. Installs cargo-fuzz if missing; RUSTC_BOOTSTRAP lets it use
# the nightly flags it needs on the stable toolchain.
#
#   scripts/fuzz.sh 600           # ten minutes a target
#   scripts/fuzz.sh 60 service    # one target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  mkdir -p "fuzz/corpus/$target"
  # The service target's larger body limit (12 KiB) needs inputs past libFuzzer's 4 KiB.
  max_len=4096
  [ "$target" != service ] || max_len=16384
  nice -n 10 cargo fuzz run --sanitizer none "$target" "fuzz/corpus/$target" -- \
    -max_len="$max_len" -max_total_time="$seconds" -print_final_stats=1 2>&1 |
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY|panicked|crash-|Done' || true
done
