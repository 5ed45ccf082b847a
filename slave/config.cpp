#include "slave/config.hpp"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/files.hpp"

namespace clusterio {

namespace {

constexpr const char* default_master = "127.0.0.1:7100";

/// Checks `master` (host:port) with `master_bus_port`; a failure names the key.
result<void> validate_master(const std::string& master, int bus_port) {
  auto colon = master.rfind(':');
  auto port = colon == std::string::npos ? std::string() : master.substr(colon + 1);
  if (colon == std::string::npos || colon == 0 || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 || std::stoi(port) > 65535)
    return failure("master must be host:port with a port 1..65535 (not '" + master + "')");
  if (auto host = master.substr(0, colon); host.find(':') != std::string::npos && (host.front() != '[' || host.back() != ']'))
    return failure("master: an IPv6 address goes in brackets, as in [" + host + "]:" + port + " (not '" + master + "')");
  if (bus_port < 0 || bus_port > 65535 || (bus_port == 0 && std::stoi(port) == 65535))
    return failure("master_bus_port must be 1..65535, or 0 for the master's port + 1 (at most 65535)");
  return done();
}

} // namespace

const config_keys<slave_config>& slave_config_keys() {
  using c = slave_config;
  static const auto keys =
    config_keys<c>()
      .add("name", &c::name, "this slave's name at the master when there is no credential (insecure demo mode)")
      .add("master", &c::master, "the master's control socket, host:port (`[::1]:7100` for IPv6); empty: the credential's, else `127.0.0.1:7100`")
      .add("master_bus_port", &c::master_bus_port, "the master's bus port; 0: its control port + 1")
      .add("master_http_port", &c::master_http_port, "the master's web port, on the master's host: the mod it serves (`mod install --from-master`)")
      .add("credential", &c::credential, "credential file from `clusterio-master add-slave`; empty: no CURVE (insecure demo mode)")
      .add("factorio_dir", &c::factorio_dir, "the Factorio (or factorio-sim) directory: `bin/x64/factorio`, `data/`")
      .add("instances_dir", &c::instances_dir, "where instances live: `<instances_dir>/<name>/`")
      .add("shared_mods_dir", &c::shared_mods_dir, "mods every instance takes (`mod install` puts the clusterio mod here)")
      .add("public_address", &c::public_address, "the address players connect to, shown by the master")
      .add("game_port_first", &c::game_port_first, "new instances take the first free game port from here...")
      .add("game_port_last", &c::game_port_last, "...to here")
      .add("ups", &c::ups, "factorio-sim only: game speed of new instances (updates per second)")
      .add("scenario", &c::scenario, "factorio-sim only: the scenario new instances run")
      .add("autosave_minutes", &c::autosave_minutes, "autosave interval of new instances")
      .add("sync_interval_ms", &c::sync_interval_ms, "how often unacknowledged work is re-sent")
      .add("heartbeat_ms", &c::heartbeat_ms, "how often UPS, tick and players are reported");
  return keys;
}

result<void> validate_slave_config(const slave_config& c) {
  if (auto master = validate_master(c.master.empty() ? default_master : c.master, c.master_bus_port); !master)
    return master;
  if (c.master_http_port < 1 || c.master_http_port > 65535)
    return failure("master_http_port must be 1..65535");
  if (c.game_port_first < 1 || c.game_port_last > 65535 || c.game_port_first > c.game_port_last)
    return failure("game_port_first..game_port_last must be a range within 1..65535");
  if (c.ups < 0)
    return failure("ups must be >= 0");
  if (c.sync_interval_ms < 100)
    return failure("sync_interval_ms must be at least 100");
  if (c.heartbeat_ms < 100)
    return failure("heartbeat_ms must be at least 100");
  return done();
}

std::string slave_config::resolve(const std::string& p) const {
  if (p.empty() || p[0] == '/')
    return p;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? p : path.substr(0, slash + 1) + p;
}

result<void> slave_config::link_to(const std::string& credential_master) {
  if (!master.empty() || credential_master.empty())
    return done();
  if (auto valid = validate_master(credential_master, master_bus_port); !valid)
    return failure("the credential file's " + valid.why());
  master = credential_master;
  return done();
}

std::string slave_config::master_address() const { return master.empty() ? default_master : master; }

std::string slave_config::control_endpoint() const { return "tcp://" + master_address(); }

std::string slave_config::bus_endpoint() const {
  auto address = master_address();
  auto colon = address.rfind(':');
  int port = master_bus_port ? master_bus_port : std::atoi(address.c_str() + colon + 1) + 1;
  return "tcp://" + address.substr(0, colon) + ":" + std::to_string(port);
}

std::string slave_config::master_host() const {
  auto address = master_address();
  return address.substr(0, address.rfind(':'));
}

host_layout slave_config::layout() const {
  return {path, resolve(instances_dir), resolve(shared_mods_dir), resolve(factorio_dir), game_port_first, game_port_last, ups, scenario,
          autosave_minutes};
}

result<void> parse_slave_config(const std::string& text, const std::string& path, slave_config& out) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return failure(path + ": not valid JSON");
  if (auto read = slave_config_keys().read(j, out); !read)
    return read.error().in(path);
  return done();
}

result<slave_config> load_slave_config(const std::string& path, bool apply_env) {
  slave_config out;
  out.path = path;
  if (file_exists(path)) {
    auto text = read_file(path);
    if (!text)
      return text.error();
    if (auto parsed = parse_slave_config(*text, path, out); !parsed)
      return parsed.error();
  }
  if (apply_env) {
    if (auto* m = std::getenv("MASTER"); m && *m)
      out.master = m;
    if (auto* f = std::getenv("FACTORIO_DIR"); f && *f)
      out.factorio_dir = f;
  }
  if (auto valid = validate_slave_config(out); !valid)
    return valid.error().in(path);
  return out;
}

result<void> set_slave_config_key(slave_config& c, const std::string& key, const std::string& value) {
  slave_config updated = c;
  if (auto set = slave_config_keys().set(updated, key, value); !set)
    return set.error().what().rfind("unknown key", 0) == 0 ? failure(set.why() + " (see `config show`)") : set.error();
  if (auto valid = validate_slave_config(updated); !valid)
    return valid;
  c = updated;
  return done();
}

result<void> save_slave_config(const slave_config& c) { return write_file_atomic(c.path, slave_config_keys().to_json(c).dump(2) + "\n"); }

} // namespace clusterio
