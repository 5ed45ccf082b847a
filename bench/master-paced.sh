#!/usr/bin/env bash
# master-paced: the master's cost per message at a real cluster's rates. A real master (CURVE,
# durability full) with 100 instances, driven by master-load paced at 1,000, 2,000, 10,000,
# 50,000 and 100,000 messages a second (each on its schedule, one message a frame at the low
# rates, as a slave's uplink sends them), then closed loop (saturated). One JSON line per rate:
#   {"bench":"master-paced","instances":100,"offered_per_s":R,"msgs_per_s":..,"p50_ms":..,
#    "p99_ms":..,"cpu_us_per_msg":..,"fsyncs_per_s":..}
# offered_per_s is null for the closed loop; fsyncs_per_s counts the master's transactions (one
# fsync of its write-ahead log each; null for a master built before it counted them).
# Usage: bench/master-paced.sh [--master-build DIR] [--rates "R1 R2 ..."] [SECONDS]
#   --master-build: run the master of another build (e.g. the commit before, to alternate runs)
#   env: CLUSTERIO_BUILD_DIR (default build), where master-load is taken from
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CLUSTERIO_BUILD_DIR:-build}
master_build=$build
rates="1000 2000 10000 50000 100000 closed"
seconds=10
while (($#)); do
  case $1 in
    --master-build) master_build=$2; shift 2 ;;
    --rates) rates=$2; shift 2 ;;
    *) seconds=$1; shift ;;
  esac
done
[[ -x $master_build/master/clusterio-master ]] || { echo "master-paced: no master built in $master_build" >&2; exit 2; }
load=$(realpath "$build/bench/master-load")
for rate in $rates; do
  args=()
  [[ $rate == closed ]] || args=(--rate="$rate")
  line=$(CLUSTERIO_BUILD_DIR=$(realpath "$master_build") "$load" "${args[@]}" "$seconds" full 100 | tail -n 1)
  field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" <<<"$line"; }
  offered=null
  [[ $rate == closed ]] || offered=$rate
  printf '{"bench":"master-paced","instances":100,"offered_per_s":%s,"msgs_per_s":%s,"p50_ms":%s,"p99_ms":%s,"cpu_us_per_msg":%s,"fsyncs_per_s":%s}\n' \
    "$offered" "$(field msgs_per_s)" "$(field p50_ms)" "$(field p99_ms)" "$(field cpu_us_per_msg)" "$(field commits_per_s)"
done
