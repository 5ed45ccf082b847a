#!/usr/bin/env bash
# scripts/docker-entrypoint run directly, as the container would run it (no Docker engine here):
# MODE=add-slave makes two credentials, MODE=master starts the master (key made on first start),
# two MODE=slave processes create their instance on first start and move iron plates through the
# master; SIGTERM stops each with exit status 0; a slave started again reuses its instance and
# its saved world; the master started again keeps its key and its stock.
# Env: CLUSTERIO_BUILD_DIR (binaries), CLUSTERIO_SOURCE_DIR.
set -euo pipefail
build=${CLUSTERIO_BUILD_DIR:?set CLUSTERIO_BUILD_DIR}
src=${CLUSTERIO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
entry=$src/scripts/docker-entrypoint
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clusterio-entrypoint.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  if [[ ${ok:-0} == 1 ]]; then rm -rf "$tmp"; else echo "state kept in $tmp" >&2; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.log; do echo "---- $f" >&2; tail -n 30 "$f" >&2; done
  exit 1
}
api() { python3 -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())' "http://127.0.0.1:$http_port$1" 2>/dev/null; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The image's layout, in temporary folders.
export PATH=$build/master:$build/slave:$PATH
export CLUSTERIO_DATA=$tmp/data CLUSTERIO_CREDENTIALS=$tmp/credentials CLUSTERIO_SIM_DIR=$build/factorio-sim
CLUSTERIO_MOD_ZIP=$(ls "$build"/mod/clusterio_*.zip | head -n1)
export CLUSTERIO_WEBUI=$src/webui CLUSTERIO_MOD_ZIP
unset MASTER INSTANCE FACTORIO_DIR CREDENTIAL SLAVE_NAME CLUSTERIO_SLAVE_CONFIG
{ read -r control_port; read -r bus_port; read -r http_port; } < <("$src/scripts/free-port" 3)

echo "== bad use is refused with a clear message"
out=$(MODE='' "$entry" 2>&1) && fail "no MODE accepted"; [[ $out == *"set MODE="* ]] || fail "no MODE: $out"
out=$(MODE=slave INSTANCE=x "$entry" 2>&1) && fail "no MASTER accepted"; [[ $out == *"MASTER=host:port"* ]] || fail "$out"
out=$(MODE=slave MASTER=127.0.0.1:1 INSTANCE=x "$entry" 2>&1) && fail "no credential accepted"; [[ $out == *"no credential"* ]] || fail "$out"

echo "== MODE=add-slave"
MODE=add-slave SLAVES="host-a host-b" MASTER_ADDRESS=127.0.0.1:$control_port "$entry" >"$tmp/add.log" 2>&1 || fail "add-slave"
[[ -f $tmp/credentials/host-a.cred.json && -f $tmp/credentials/host-b.cred.json ]] || fail "credentials not written"
key=$(json 'd["public_key"]' <"$tmp/credentials/host-a.cred.json")
MODE=add-slave SLAVES="host-a" "$entry" >>"$tmp/add.log" 2>&1 || fail "add-slave again"
[[ $(json 'd["public_key"]' <"$tmp/credentials/host-a.cred.json") == "$key" ]] || fail "add-slave replaced an existing credential"

echo "== a credential the container's user cannot read is named, with the fix"
# (As root only: a 0600 file of another user, read by uid 65534, as a host's file mounted into
# the container is read by its uid 845. Root reads every file.)
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  other=$(mktemp -d "${TMPDIR:-/tmp}/clusterio-cred.XXXXXX")
  chmod 755 "$other"
  install -m 600 "$tmp/credentials/host-a.cred.json" "$other/host-a.cred.json"
  out=$(MODE=slave MASTER=127.0.0.1:1 INSTANCE=x CREDENTIAL=$other/host-a.cred.json \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$entry" 2>&1) && fail "an unreadable credential was accepted"
  rm -rf "$other"
  [[ $out == *"cannot read the credential"*"chown 65534:65534 the file"* ]] || fail "unreadable credential: $out"
fi

start_master() {
  MODE=master CONTROL_PORT=$control_port BUS_PORT=$bus_port HTTP_PORT=$http_port BIND=127.0.0.1 "$entry" >>"$tmp/master.log" 2>&1 &
  master_pid=$!; pids+=("$master_pid")
  for _ in $(seq 100); do api /api/health >/dev/null && return 0; sleep 0.1; done
  fail "the master did not start"
}
start_slave() { # name instance scenario first-game-port
  MODE=slave MASTER=127.0.0.1:$control_port MASTER_BUS_PORT=$bus_port SLAVE_NAME=$1 INSTANCE=$2 SCENARIO=$3 GAME_PORT_FIRST=$4 HEARTBEAT_MS=1000 \
    CLUSTERIO_INSTANCES=$tmp/$1/instances CLUSTERIO_SLAVE_HOME=$tmp/$1/home FACTORIO_DIR=$tmp/no-factorio-here \
    "$entry" >>"$tmp/$1.log" 2>&1 &
  pids+=($!)
}
stop() { # pid what: SIGTERM, expect exit status 0 within 60 s
  kill -TERM "$1"
  local status=0
  for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && fail "$2 did not stop within 60 s of SIGTERM"
  wait "$1" || status=$?
  [[ $status == 0 ]] || fail "$2 exited with status $status after SIGTERM"
  echo "   $2 stopped on SIGTERM, exit 0"
}

echo "== MODE=master (first start makes the key)"
chmod 755 "$tmp/data" # as a volume made elsewhere may come
start_master
[[ $(stat -c %a "$tmp/data") == 700 ]] || fail "the master's data folder is $(stat -c %a "$tmp/data"), not 700"
[[ -f $tmp/data/master_key.json ]] || fail "no master key in the data folder"
[[ $(ps -o comm= -p "$master_pid") == clusterio-maste* ]] || fail "the entrypoint did not exec the master (pid $master_pid is $(ps -o comm= -p "$master_pid"))"

echo "== MODE=slave x2 (instances created on first start, factorio-sim as the fallback)"
game=$(( (RANDOM % 2000) + 40000 ))
start_slave host-a producer producer "$game"; slave_a=${pids[-1]}
start_slave host-b consumer consumer "$((game + 10))"; slave_b=${pids[-1]}
flowed=0
for _ in $(seq 90); do
  s=$(api /api/storage) &&
    [[ $(json 'any(i["name"] == "iron-plate" and i["imported"] > 0 for i in d["items"])' <<<"$s") == True ]] && { flowed=1; break; }
  sleep 1
done
((flowed)) || fail "no iron plates moved from host-a's producer to host-b's consumer"
grep -q "first start: creating instance 'producer'" "$tmp/host-a.log" || fail "no first-start creation logged"
grep -q "warning: PUBLIC_ADDRESS is not set" "$tmp/host-a.log" || fail "no warning about the missing PUBLIC_ADDRESS"
grep -q "using factorio-sim" "$tmp/host-a.log" || fail "no factorio-sim fallback logged"
[[ $(ps -o comm= -p "$slave_a") == clusterio-slav* ]] || fail "the entrypoint did not exec the slave"
online=$(api /api/instances | json 'sorted(i["name"]+"@"+i["slave"] for i in d["instances"] if i["online"])')
[[ $online == "['consumer@host-b', 'producer@host-a']" ]] || fail "instances online: $online"
echo "   items flowed; online: $online"

echo "== SIGTERM: slaves, then the master"
stop "$slave_a" "slave host-a"
stop "$slave_b" "slave host-b"
tick=$(json 'd.get("tick", 0)' <"$tmp/host-a/instances/producer/status.json")
stock=$(api /api/storage | json '{i["name"]: i["count"] for i in d["items"]}')
master_key=$(cksum <"$tmp/data/master_key.json")
stop "$master_pid" "master"

echo "== second start: same key, same stock, the instance is reused and its world was saved"
start_master
[[ $(cksum <"$tmp/data/master_key.json") == "$master_key" ]] || fail "the master's key changed across a restart"
[[ $(api /api/storage | json '{i["name"]: i["count"] for i in d["items"]}') == "$stock" ]] || fail "stock changed across a restart"
start_slave host-a producer producer "$game"; slave_a=${pids[-1]}
for _ in $(seq 60); do
  [[ $(json 'd.get("state","")' <"$tmp/host-a/instances/producer/status.json" 2>/dev/null) == running ]] &&
    (( $(json 'd.get("tick", 0)' <"$tmp/host-a/instances/producer/status.json") > 0 )) && break
  sleep 0.5
done
grep -q "instance 'producer' exists" "$tmp/host-a.log" || fail "the instance was not reused"
(( $(grep -c "first start: creating instance" "$tmp/host-a.log") == 1 )) || fail "the instance was created twice"
sleep 2
tick2=$(json 'd.get("tick", 0)' <"$tmp/host-a/instances/producer/status.json")
(( tick2 > tick )) || fail "the world restarted from an older tick ($tick2 <= $tick)"
stop "$slave_a" "slave host-a"
stop "$master_pid" "master"
ok=1
echo "PASS"
