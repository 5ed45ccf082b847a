#!/usr/bin/env bash
# chaos: the long chaos soak (tests/chaos/chaos.cpp), 200 faults by default.
# Usage: scripts/bench chaos [--faults N] [--seed S]   (or CHAOS_SEED=S)
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
[[ " $* " == *" --faults "* ]] || args=(--faults 200 "${args[@]}")
exec build/tests/chaos/chaos "${args[@]}"
