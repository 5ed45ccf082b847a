// fidelity: do items travel as themselves, end to end? A real master (CURVE), two real slaves
// and two factorio-sim worlds running the real mod (tests/support/cluster.hpp). The producer's
// put-chests get items of all five qualities, armor with equipment in its grid, a blueprint,
// spoiling, damaged and partly used items next to fresh ones, and its put-tanks (one segment of
// four tanks joined by pipes) water; the consumer's get-chests ask for every (name, quality)
// put in, and its get-tanks (a segment of two) for the water.
//
// The ledger is exact and keeps units apart by their state: each unit is keyed by name, quality
// and what sets it apart from a fresh item of the kinds put in (health, spoil progress, ammo,
// durability, the equipment in its grid, a blueprint's label; not its item number, which names
// the item in its world and is not state it could carry to another). An item that arrived
// without its state therefore counts as one lost (the unit with state) and one duplicated (the
// fresh one).
// After the cluster settles (bounded wait), every unit put in must be in a chest or tank of
// either world, in a mod's buffer (`status`), in an unacknowledged export batch or in the
// master's storage (`/api/storage`). Items the mod held back must be in the put-chests, as the
// mod's `status` counts them. Prints where each kind is, then one JSON line; exits 1 if
// anything was lost or duplicated, the cluster did not settle, or `held_back` disagrees.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include <httplib.h>

#include "game/lua_call.hpp"
#include "tests/support/cluster.hpp"

using namespace clusterio::test;
using nlohmann::json;

namespace {

/// Units by key: "name|quality|state" ("" state: as fresh as a new item; fluids are "normal").
using tally = std::map<std::string, double>;

/// Lua both worlds run: their chests and tanks, the key of a stack, and every unit in them.
const char* common_lua = R"(
function state_of(s)
  local out = {}
  local function add(what, v) out[#out + 1] = what .. "=" .. tostring(v) end
  if s.health < 1 then add("health", s.health) end
  if s.spoil_percent > 0 then add("spoil", s.spoil_percent) end
  if s.is_ammo and s.ammo < s.prototype.magazine_size then add("ammo", s.ammo) end
  if s.is_tool and s.durability < s.prototype.get_durability(s.quality) then add("durability", s.durability) end
  if s.is_armor and s.grid then
    local grid = {}
    for _, e in ipairs(s.grid.get_contents()) do grid[#grid + 1] = e.name .. "*" .. e.count end
    table.sort(grid)
    add("grid", table.concat(grid, "+"))
  end
  if s.is_blueprint and s.label then add("label", s.label) end
  return table.concat(out, ",")
end
-- Two `side`-chests ("put" or "get") and `tanks` `side`-tanks joined in one segment.
function build(side, tanks)
  local surface = game.surfaces[1]
  storage.chests, storage.tanks = {}, {}
  for i = 1, 2 do
    storage.chests[i] = surface.create_entity({name = side .. "-chest", position = {i * 2, 0}, force = "player", raise_built = true})
  end
  for i = 1, tanks do
    storage.tanks[i] = surface.create_entity({name = side .. "-tank", position = {i * 4, 4}, force = "player", raise_built = true})
    if i > 1 then sim.connect_fluid(storage.tanks[i - 1], storage.tanks[i]) end
  end
end
-- {[entity name] = {[key] = units}} for the put and get chests and tanks of this world.
function contents()
  local out = {}
  for _, kind in ipairs({"put-chest", "get-chest", "put-tank", "get-tank"}) do
    local t = {}
    local function add(k, n) t[k] = (t[k] or 0) + n end
    for _, e in pairs(game.surfaces[1].find_entities_filtered({name = kind})) do
      if e.type == "storage-tank" then
        local f = e.fluidbox[1] -- a box in a segment reads as its share: the shares add up
        if f then add(f.name .. "|normal|", f.amount) end
      else
        local inv = e.get_inventory(defines.inventory.chest)
        for i = 1, #inv do
          local s = inv[i]
          if s.valid_for_read then add(s.name .. "|" .. s.quality.name .. "|" .. state_of(s), s.count) end
        end
      end
    end
    out[kind] = t
  end
  return out
end
)";

/// The producer: two put-chests, four put-tanks in one segment, and what put_all() puts in.
const char* producer_lua = R"(
PUTS = {
  {stack = {name = "iron-plate", count = 100}},
  {stack = {name = "iron-plate", count = 100}},
  {stack = {name = "iron-plate", count = 60, quality = "uncommon"}},
  {stack = {name = "iron-plate", count = 40, quality = "rare"}},
  {stack = {name = "iron-plate", count = 20, quality = "epic"}},
  {stack = {name = "iron-plate", count = 10, quality = "legendary"}},
  {stack = {name = "electronic-circuit", count = 150, quality = "rare"}},
  {stack = {name = "steel-chest", count = 10}},
  {stack = {name = "firearm-magazine", count = 50, quality = "legendary"}},
  {stack = {name = "repair-pack", count = 20, quality = "uncommon"}},
  {stack = {name = "modular-armor"}, grid = {"solar-panel-equipment", "battery-equipment"}},
  {stack = {name = "modular-armor", quality = "epic"}, grid = {"energy-shield-equipment"}},
  {stack = {name = "blueprint"}, label = "outpost"},
  {stack = {name = "jelly", count = 12, spoil_percent = 0.25}},
  {stack = {name = "jelly", count = 5, quality = "rare", spoil_percent = 0.5}},
  {stack = {name = "steel-chest", count = 3, quality = "legendary", health = 0.5}},
  {stack = {name = "steel-chest", count = 2, health = 0.25}},
  {stack = {name = "firearm-magazine", count = 20, ammo = 3}},
  {stack = {name = "firearm-magazine", count = 7, quality = "legendary", ammo = 9}},
  {stack = {name = "repair-pack", count = 4, durability = 120}},
}
FLUID = {name = "water", amount = 20000}
script.on_init(function() build("put", 4) end)
-- One slot per entry, the chests taking turns; the fluid into the segment.
function put_all()
  for i, p in ipairs(PUTS) do
    local inv = storage.chests[(i - 1) % 2 + 1].get_inventory(defines.inventory.chest)
    local stack = inv[math.floor((i - 1) / 2) + 1]
    stack.set_stack(p.stack)
    if p.grid then
      local grid = stack.create_grid()
      for _, e in ipairs(p.grid) do grid.put({name = e}) end
    end
    if p.label then stack.label = p.label end
  end
  storage.tanks[1].insert_fluid(FLUID)
end
)";

/// The consumer: two get-chests and two get-tanks in one segment; ask() sets what they want.
const char* consumer_lua = R"(
script.on_init(function() build("get", 2) end)
-- wants: {{name, quality, count}, ...}; items go to the chests' filters in turn, a fluid to the tanks.
function ask(wants)
  local slot = {0, 0}
  for i, w in ipairs(wants) do
    if prototypes.fluid[w[1]] then
      for _, t in ipairs(storage.tanks) do remote.call("clusterio_entities", "set_get_tank_fluid", t, w[1]) end
    else
      local c = (i - 1) % 2 + 1
      slot[c] = slot[c] + 1
      storage.chests[c].get_logistic_sections().get_section(1).set_slot(slot[c],
        {value = {type = "item", name = w[1], quality = w[2]}, min = w[3]})
    end
  end
end
)";

std::string write_scenario(const std::string& dir, const std::string& name, const std::string& lua) {
  auto path = dir + "/" + name + ".lua";
  std::ofstream(path) << common_lua << lua;
  return path;
}

std::string key(const std::string& name, const std::string& quality, const std::string& state = "") {
  return name + "|" + quality + "|" + state;
}
std::string name_of(const std::string& k) { return k.substr(0, k.find('|')); }
std::string quality_of(const std::string& k) {
  auto a = k.find('|') + 1;
  return k.substr(a, k.find('|', a) - a);
}
std::string state_of(const std::string& k) { return k.substr(k.find('|', k.find('|') + 1) + 1); }

/// {key: units} of one entity kind from contents() (an empty Lua table comes back as []).
void add_object(tally& to, const json& from) {
  if (from.is_object())
    for (auto& [k, n] : from.items())
      to[k] += n.get<double>();
}

/// {name: {quality: units}}, as `status` gives buffers and held-back items.
void add_by_quality(tally& to, const json& from) {
  if (from.is_object())
    for (auto& [name, by_quality] : from.items())
      for (auto& [quality, n] : by_quality.items())
        to[key(name, quality)] += n.get<double>();
}

double total(const tally& t) {
  double n = 0;
  for (auto& [k, v] : t)
    n += v;
  return n;
}

/// Where every unit is, read piece by piece: exact once nothing moves.
struct reading {
  tally put_chests, get_chests, put_tanks, get_tanks, buffered, pending_exports, storage;
  tally held_back;        ///< the mods' `status`: units left in put-chests
  tally arrived;          ///< the consumer's chests, tanks and buffer
  double reserved = 0;    ///< units held by grants not yet applied
  bool storage_ok = true; ///< the master answered /api/storage

  tally everywhere() const {
    tally all;
    for (auto* t : {&put_chests, &get_chests, &put_tanks, &get_tanks, &buffered, &pending_exports, &storage})
      for (auto& [k, v] : *t)
        all[k] += v;
    return all;
  }
  /// Units in put-chests with no state of their own: the mod has yet to take them.
  double fresh_in_put_chests() const {
    double n = 0;
    for (auto& [k, v] : put_chests)
      n += state_of(k).empty() ? v : 0;
    return n;
  }
  /// The put-chests' units with state, by (name, quality): what `held_back` must say.
  tally with_state_in_put_chests() const {
    tally t;
    for (auto& [k, v] : put_chests)
      if (!state_of(k).empty())
        t[key(name_of(k), quality_of(k))] += v;
    return t;
  }
};

reading read(cluster& c) {
  reading r;
  for (auto& w : c.worlds) {
    auto& s = c.slave_of(w.name);
    auto in = json::parse(s.lua(w.name, "rcon.print(helpers.table_to_json(contents()))"));
    add_object(r.put_chests, in["put-chest"]);
    add_object(r.get_chests, in["get-chest"]);
    add_object(r.put_tanks, in["put-tank"]);
    add_object(r.get_tanks, in["get-tank"]);
    auto status = s.mod(w.name, "status");
    add_by_quality(r.buffered, status["buffered"]);
    add_by_quality(r.held_back, status["held_back"]);
    auto exports = s.mod(w.name, "pending_exports");
    for (auto& batch : exports["batches"])
      for (auto& it : batch["items"])
        r.pending_exports[key(it[0], it.size() > 2 ? it[2].get<std::string>() : "normal")] += it[1].get<double>();
    if (w.name == "consumer") {
      add_object(r.arrived, in["get-chest"]);
      add_object(r.arrived, in["get-tank"]);
      add_by_quality(r.arrived, status["buffered"]);
    }
  }
  httplib::Client http(c.master.http_url());
  auto res = http.Get("/api/storage");
  r.storage_ok = res && res->status == 200;
  if (r.storage_ok) {
    auto j = json::parse(res->body);
    for (auto& it : j["items"])
      if (it["count"].get<double>() != 0)
        r.storage[key(it["name"], it["quality"])] += it["count"].get<double>();
    r.reserved = j["reserved_units"].get<double>();
  }
  return r;
}

/// Waits (up to `timeout_s`) until nothing is in flight, the put-chests hold only items with
/// state, and three readings a second apart agree. Returns the last reading and whether it did.
std::pair<reading, bool> settle(cluster& c, int timeout_s) {
  reading r;
  tally before, before_that;
  for (int i = 0; i < timeout_s; ++i) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    r = read(c);
    auto all = r.everywhere();
    all["arrived"] = total(r.arrived); // everywhere() alone misses units moving between places
    bool quiet = r.storage_ok && r.reserved == 0 && total(r.pending_exports) == 0 && r.fresh_in_put_chests() == 0 &&
                 all == before && before == before_that;
    if (quiet)
      return {r, true};
    before_that = std::exchange(before, all);
  }
  return {r, false};
}

/// Each kind's units put in and where they are now, one line each.
void show(const tally& put, const reading& r) {
  tally all = r.everywhere();
  for (auto& [k, v] : all)
    if (!put.count(k))
      std::printf("%-60s put in 0, found %g\n", k.c_str(), v);
  for (auto& [k, v] : put) {
    auto at = [&](const tally& t) { return t.count(k) ? t.at(k) : 0.0; };
    std::printf("%-60s put in %g: put-chests %g, put-tanks %g, get-chests %g, get-tanks %g, buffers %g, storage %g\n", k.c_str(), v,
                at(r.put_chests), at(r.put_tanks), at(r.get_chests), at(r.get_tanks), at(r.buffered), at(r.storage));
  }
}

} // namespace

int main() {
  auto dir = temp_dir("clusterio-fidelity");
  auto spoiling = spoiling_mod(sim_icon_png(build_dir() + "/factorio-sim"));
  cluster c(2,
            {{"producer", write_scenario(dir, "producer", producer_lua), 0},
             {"consumer", write_scenario(dir, "consumer", consumer_lua), 1}},
            "\"log_level\":\"warn\"", {spoiling});
  std::cerr << "fidelity: cluster up; logs: " << c.log_locations() << "\n";

  // Put in and counted in one command: the mod cannot take anything in between.
  auto& producer = c.slave_of("producer");
  tally put;
  auto in = json::parse(producer.lua("producer", "put_all() rcon.print(helpers.table_to_json(contents()))"));
  add_object(put, in["put-chest"]);
  add_object(put, in["put-tank"]);
  tally kinds;
  std::set<std::string> qualities;
  for (auto& [k, v] : put) {
    kinds[key(name_of(k), quality_of(k))] += v;
    qualities.insert(quality_of(k));
  }
  json wants = json::array();
  for (auto& [k, v] : kinds)
    wants.push_back({name_of(k), quality_of(k), v});
  c.slave_of("consumer").lua("consumer", "ask(helpers.json_to_table(" + clusterio::lua_string_literal(wants.dump()) + ")) rcon.print('ok')");

  auto [r, settled] = settle(c, 120);
  show(put, r);
  tally all = r.everywhere();
  double lost = 0, duplicated = 0;
  for (auto& [k, v] : put)
    lost += std::max(0.0, v - (all.count(k) ? all.at(k) : 0.0));
  for (auto& [k, v] : all)
    duplicated += std::max(0.0, v - (put.count(k) ? put.at(k) : 0.0));
  bool held_back_agrees = r.held_back == r.with_state_in_put_chests();
  if (!settled)
    std::cerr << "fidelity: the cluster did not settle in 120 s\n";
  if (!held_back_agrees)
    std::cerr << "fidelity: status.held_back does not match the items with state left in the put-chests\n";
  std::printf("{\"bench\":\"fidelity\",\"kinds\":%zu,\"qualities\":%zu,\"transferred\":%.15g,\"held_back\":%.15g,\"lost\":%.15g,\"duplicated\":%.15g}\n",
              kinds.size(), qualities.size(), total(r.arrived), total(r.held_back), lost, duplicated);
  return lost == 0 && duplicated == 0 && settled && held_back_agrees ? 0 : 1;
}
