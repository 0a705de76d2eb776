#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20), seeded from seeds/.
# Corpus growth goes to target/fuzz-corpus (not committed). Stable toolchain:
# libFuzzer without AddressSanitizer (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-20}
mkdir -p target
for target in signed_decode sealed_decode tagged_json session_id cookie_header flask_ext python_decode; do
  corpus=target/fuzz-corpus/$target
  mkdir -p "$corpus"
  echo "=== $target: ${seconds}s ==="
  set +e
  cargo fuzz run --sanitizer none "$target" "$corpus" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 \
    > "target/fuzz-$target.log" 2>&1
  status=$?
  set -e
  grep -E '^(stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|Done)' "target/fuzz-$target.log" || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz target $target failed (exit $status):" >&2
    tail -40 "target/fuzz-$target.log" >&2
    exit 1
  fi
done
