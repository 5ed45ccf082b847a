#!/usr/bin/env bash
# mod-cost: the clusterio mod's Lua time per tick in factorio-sim with 100, 1,000 and 10,000 busy
# chests (half put-chests that the scenario keeps filling, half get-chests that it keeps
# draining), the slave's pings simulated by the scenario. Runs each size for TICKS ticks as fast
# as possible; the sim times only mod event handlers (scenario work is excluded), in CPU time.
# TICKS defaults to a minute of game time: the mean then spans several full Lua GC cycles at
# every size (one every ~500 ticks here) instead of sampling one or two.
# Usage: bench/mod-cost.sh [sizes...]   env: CLUSTERIO_BUILD_DIR (default build), TICKS (3600)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${CLUSTERIO_BUILD_DIR:-build}
ticks=${TICKS:-3600}
sizes=("$@")
((${#sizes[@]})) || sizes=(100 1000 10000)
exe=$build/factorio-sim/bin/x64/factorio
mod_zip=$(ls "$build"/mod/clusterio_*.zip)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for n in "${sizes[@]}"; do
  dir=$work/$n
  mkdir -p "$dir/mods"
  cp "$mod_zip" "$dir/mods/"
  printf '[path]\nread-data=%s\nwrite-data=%s\n' "$(realpath "$build")/factorio-sim/data" "$dir" > "$dir/config.ini"
  cat > "$dir/bench.lua" <<LUA
local N = $n
script.on_init(function()
  local s = game.surfaces[1]
  storage.put, storage.get = {}, {}
  for i = 1, N / 2 do
    storage.put[i] = s.create_entity({name = "put-chest", position = {i, 0}, raise_built = true})
    local g = s.create_entity({name = "get-chest", position = {i, 4}, raise_built = true})
    g.get_logistic_sections().get_section(1).set_slot(1, {value = "iron-plate", min = 100})
    g.get_logistic_sections().get_section(1).set_slot(2, {value = "copper-plate", min = 50})
    storage.get[i] = g
  end
end)
script.on_event(defines.events.on_tick, function(e)
  if e.tick % 60 == 0 then remote.call("clusterio", "ping", "{}") end
  -- Keep every chest busy: each tick refill and drain a 60th of them.
  local k = e.tick % 60
  for i = k + 1, #storage.put, 60 do
    storage.put[i].get_inventory(1).insert({name = "iron-plate", count = 20})
    storage.get[i].get_inventory(1).remove({name = "iron-plate", count = 20})
  end
end)
LUA
  "$exe" -c "$dir/config.ini" --create "$dir/saves/bench.zip" --scenario "$dir/bench.lua" >/dev/null
  line=$("$exe" -c "$dir/config.ini" --start-server "$dir/saves/bench.zip" --ups 0 \
           --stop-after-ticks "$ticks" --port 0 | grep -o 'stats {.*}' | sed 's/^stats //')
  mean=$(sed -n 's/.*"mod_ms_mean":\([0-9.]*\).*/\1/p' <<<"$line")
  max=$(sed -n 's/.*"mod_ms_max":\([0-9.]*\).*/\1/p' <<<"$line")
  results+=("{\"bench\":\"mod-cost\",\"chests\":$n,\"mean_ms_per_tick\":$mean,\"max_ms_per_tick\":$max}")
done
printf '%s\n' "${results[@]}"
