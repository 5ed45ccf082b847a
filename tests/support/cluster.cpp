#include "tests/support/cluster.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "client/wire_client.hpp"

namespace clusterio::test {

namespace {
double at(const std::map<std::string, double>& m, const std::string& name) {
  auto it = m.find(name);
  return it == m.end() ? 0 : it->second;
}
} // namespace

double ledger::accounted(const std::string& n) const {
  return at(in_putters, n) + at(pending_exports, n) + at(stock, n) + at(reserved, n) + at(in_getters, n) + at(buffered, n) +
         at(consumed, n);
}

double ledger::lost(const std::string& n) const { return std::max(0.0, at(produced, n) - accounted(n)); }

double ledger::duplicated(const std::string& n) const { return std::max(0.0, accounted(n) - at(produced, n)); }

double ledger::delivered(const std::string& n) const { return at(in_getters, n) + at(buffered, n) + at(consumed, n); }

std::string ledger::describe(const std::string& n) const {
  std::ostringstream s;
  s.precision(15);
  s << n << ": produced " << at(produced, n) << " = put-chests/tanks " << at(in_putters, n) << " + unacknowledged batches "
    << at(pending_exports, n) << " + storage " << at(stock, n) << " + reservations " << at(reserved, n) << " + get-chests/tanks "
    << at(in_getters, n) << " + mod buffers " << at(buffered, n) << " + consumed " << at(consumed, n) << " (lost " << lost(n)
    << ", duplicated " << duplicated(n) << ")";
  return s.str();
}

cluster::cluster() : cluster(2, {{"producer", "producer", 0}, {"consumer", "consumer", 1}}) {}

cluster::cluster(std::size_t slave_count, std::vector<world_spec> layout, const std::string& master_config,
                 const std::vector<mod_folder>& shared_mods)
  : master(false, master_config), worlds(std::move(layout)) {
  master.start();
  for (std::size_t i = 0; i < slave_count; ++i) {
    auto name = "slave-" + std::to_string(i);
    creds.push_back(master.add_client(name, "slave"));
    links.push_back(std::make_unique<tcp_relay>(master.control_port()));
    slaves.push_back(std::make_unique<slave_fixture>(name, "127.0.0.1:" + std::to_string(links.back()->port()), creds.back(), master.bus_port()));
    // Instances take what is in sharedMods/ when they are created (below).
    for (auto& m : shared_mods)
      write_mod_folder(slaves.back()->dir() + "/sharedMods", m);
  }
  for (auto& w : worlds)
    slaves.at(w.slave)->create(w.name, w.scenario);
  for (auto& s : slaves)
    s->run();
  for (auto& w : worlds)
    slaves[w.slave]->wait_running(w.name);
}

const world_spec& cluster::world(const std::string& name) const {
  for (auto& w : worlds)
    if (w.name == name)
      return w;
  throw std::runtime_error("no world named " + name);
}

slave_fixture& cluster::slave_of(const std::string& name) { return *slaves.at(world(name).slave); }

nlohmann::json cluster::world_contents(const world_spec& w) {
  auto reply = slaves[w.slave]->lua(w.name, "local function sum(chest, tank) "
                                            "local r = {plates = 0, water = 0} "
                                            "for _, c in pairs(game.surfaces[1].find_entities_filtered{name = chest}) do "
                                            "r.plates = r.plates + c.get_inventory(defines.inventory.chest).get_item_count('iron-plate') end "
                                            "for _, t in pairs(game.surfaces[1].find_entities_filtered{name = tank}) do "
                                            "local f = t.fluidbox[1]; r.water = r.water + (f and f.amount or 0) end "
                                            "return r end "
                                            "rcon.print(helpers.table_to_json({put = sum('put-chest', 'put-tank'), "
                                            "get = sum('get-chest', 'get-tank'), produced = storage.produced or {}, "
                                            "consumed = storage.consumed or {}}))");
  auto j = nlohmann::json::parse(reply, nullptr, false);
  if (!j.is_object())
    throw std::runtime_error("unexpected contents of world " + w.name + ": " + reply);
  return j;
}

ledger cluster::count() {
  ledger l;
  // Empty Lua tables come back as JSON arrays: only objects hold counts.
  auto add_counts = [](std::map<std::string, double>& to, const nlohmann::json& from) {
    if (from.is_object())
      for (auto& [name, n] : from.items())
        to[name] += n.get<double>();
  };
  for (auto& w : worlds) {
    auto& s = *slaves[w.slave];
    auto c = world_contents(w);
    l.in_putters["iron-plate"] += c["put"]["plates"].get<double>();
    l.in_putters["water"] += c["put"]["water"].get<double>();
    l.in_getters["iron-plate"] += c["get"]["plates"].get<double>();
    l.in_getters["water"] += c["get"]["water"].get<double>();
    add_counts(l.produced, c["produced"]);
    add_counts(l.consumed, c["consumed"]);
    // The reply is held in a variable: a range-for over a member of a temporary (mod(...)["x"])
    // iterates freed memory in C++17, which read as no batches at all.
    auto pending_exports = s.mod(w.name, "pending_exports");
    for (auto& batch : pending_exports["batches"])
      for (auto& it : batch["items"])
        l.pending_exports[it[0]] += it[1].get<double>();
    // {name: {quality: count}}: the ledger's names are of normal quality.
    auto buffered = s.mod(w.name, "status")["buffered"];
    if (buffered.is_object())
      for (auto& [name, by_quality] : buffered.items())
        l.buffered[name] += by_quality.value("normal", 0.0);
    // The master answers resync only to the slave that owns the instance.
    wire_client q(master.control_endpoint(), creds[w.slave]);
    // A slave that has just restarted reports instance 0 until the master has registered it again.
    std::uint64_t instance_id = 0;
    eventually([&] { return (instance_id = s.status(w.name)["instance_id"].get<std::uint64_t>()) != 0; });
    auto pending = q.call(wire::resync{instance_id}, std::chrono::seconds(10));
    if (!pending || !std::holds_alternative<wire::pending_grants>(pending->body)) {
      auto* e = pending ? std::get_if<wire::error_reply>(&pending->body) : nullptr;
      throw std::runtime_error("the master did not answer resync for " + w.name + " (instance " + std::to_string(instance_id) + "): " +
                               (!pending ? "no reply in 10 s" : e ? std::string(wire::to_string(e->code)) + ": " + e->message : "another message"));
    }
    for (auto& g : std::get<wire::pending_grants>(pending->body).grants)
      l.reserved[g.name] += static_cast<double>(g.count);
  }
  wire_client q(master.control_endpoint(), creds.at(0));
  auto inv = q.call(wire::inventory_query{}, std::chrono::seconds(10));
  if (!inv || !std::holds_alternative<wire::inventory_levels>(inv->body))
    throw std::runtime_error("the master did not answer inventory_query");
  for (auto& lv : std::get<wire::inventory_levels>(inv->body).levels)
    l.stock[lv.name] = static_cast<double>(lv.count);
  return l;
}

void cluster::wait_for_flow(double units, int timeout_s) {
  if (eventually([&] { return count().delivered("iron-plate") >= units; }, std::chrono::seconds(timeout_s), std::chrono::milliseconds(500)))
    return;
  throw std::runtime_error("items did not flow from producers to consumers (" + std::to_string(units) + " plates awaited); logs: " +
                           log_locations());
}

std::pair<ledger, bool> cluster::settle(int timeout_s) {
  for (auto& w : worlds)
    slaves[w.slave]->lua(w.name, "storage.halt = true rcon.print('ok')");
  // The ledger is read piece by piece, so it is exact only once nothing moves: wait until two
  // readings a second apart agree and nothing is in flight.
  ledger l, previous;
  for (int i = 0; i < timeout_s; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    previous = l;
    l = count();
    bool quiet = true;
    for (auto& n : ledger::names)
      quiet = quiet && l.pending_exports[n] == 0 && l.reserved[n] == 0 && l.describe(n) == previous.describe(n);
    if (quiet)
      return {l, true};
  }
  return {l, false};
}

void cluster::kill_world_after_save(const std::string& name) {
  auto& s = slave_of(name);
  auto pid = s.game_pid(name);
  if (pid <= 0)
    throw std::runtime_error("kill_world_after_save: " + name + " is not running");
  s.signal_service(SIGSTOP);
  try {
    // Commands the slave sent before it stopped are run by the game between ticks: two ticks
    // later the world has done all it will do for the slave, and the save holds it.
    auto tick = [&] { return std::stoull(s.lua(name, "rcon.print(game.tick)")); };
    auto first = tick();
    for (int i = 0; tick() < first + 2; ++i) {
      if (i == 500)
        throw std::runtime_error("kill_world_after_save: " + name + " does not tick");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    s.command(name, "/save");
    ::kill(pid, SIGKILL);
  } catch (...) {
    s.signal_service(SIGCONT);
    throw;
  }
  s.signal_service(SIGCONT);
  // Dead once it is a zombie or reaped (by the slave): from then on game_pid no longer gives it.
  for (int i = 0; i < 500 && slurp("/proc/" + std::to_string(pid) + "/status").find("State:\tZ") == std::string::npos &&
                  ::kill(pid, 0) == 0;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

std::string cluster::log_locations() const {
  std::string out = "master " + master.data_dir() + "/master.log";
  for (auto& s : slaves)
    out += ", slave " + s->dir() + "/slave.log";
  return out;
}

} // namespace clusterio::test
