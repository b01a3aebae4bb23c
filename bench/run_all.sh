#!/usr/bin/env bash
# Run every benchmark with its defaults (a quiet machine takes ~25 min plus the soak), or briefly:
#   bench/run_all.sh                 # full runs; the soak lasts SOAK_MINUTES (default 10)
#   bench/run_all.sh --quick         # a few seconds per configuration: checks that everything works
#   SOAK_MINUTES=30 bench/run_all.sh
# Tables go to stdout, results to bench/results/*.json. A failed benchmark does not stop the others;
# the exit status says whether any failed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=../scripts/env.sh
source scripts/env.sh
export REACTOR_ICE_HOST_ADDRESSES=127.0.0.1

SOAK_MINUTES="${SOAK_MINUTES:-10}"
if [ "${1:-}" = "--quick" ]; then
  runs=(
    "relay_latency.py --seconds 2 --rounds 1"
    "connect_ready.py --rounds 3"
    "glass_to_glass.py --seconds 3 --rounds 1 --relay reuse --compare default,no-playout-delay"
    "throughput.py --seconds 3 --rounds 1 --max-tabs 3"
    "command_rtt.py --clicks 10"
    "click_to_video.py --rounds 1 --clicks 3"
    "workers.py --clicks 2 --pings 5"
    "soak.py --minutes 1 --tabs 2 --stream-seconds 3 --warmup-cycles 1"
  )
else
  runs=(
    "relay_latency.py --seconds 10 --rounds 3"
    "connect_ready.py --rounds 20"
    "glass_to_glass.py --seconds 10 --rounds 3 --relay reuse --compare default,no-playout-delay"
    "throughput.py --seconds 10 --rounds 3"
    "command_rtt.py --clicks 50 --rounds 2"
    "click_to_video.py --rounds 2 --clicks 10"
    "workers.py --clicks 5 --pings 20"
    "soak.py --minutes $SOAK_MINUTES"
  )
fi

failed=()
for run in "${runs[@]}"; do
  echo
  echo "=== bench/$run"
  # shellcheck disable=SC2086  # each entry is a script and its options
  if ! python bench/$run; then
    failed+=("$run")
  fi
done
echo
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: bench/%s\n' "${failed[@]}"
  exit 1
fi
echo "all benchmarks ran; results in bench/results/"
