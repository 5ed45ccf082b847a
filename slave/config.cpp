#include "slave/config.hpp"

#include <cstdlib>

#include "common/files.hpp"
#include "common/json_field.hpp"

namespace clusterio {

namespace {

void from_json(const nlohmann::json& j, slave_config& c) {
  auto get = [&](const char* key, auto& field) { read_json_field(j, key, field); };
  get("name", c.name);
  get("master", c.master);
  get("master_bus_port", c.master_bus_port);
  get("credential", c.credential);
  get("factorio_dir", c.factorio_dir);
  get("instances_dir", c.instances_dir);
  get("shared_mods_dir", c.shared_mods_dir);
  get("public_address", c.public_address);
  get("game_port_first", c.game_port_first);
  get("game_port_last", c.game_port_last);
  get("ups", c.ups);
  get("scenario", c.scenario);
  get("autosave_minutes", c.autosave_minutes);
  get("sync_interval_ms", c.sync_interval_ms);
  get("heartbeat_ms", c.heartbeat_ms);
}

constexpr const char* default_master = "127.0.0.1:7100";

/// Checks `master` (host:port) with `master_bus_port`. Returns "" or why, naming the key.
std::string validate_master(const std::string& master, int bus_port) {
  auto colon = master.rfind(':');
  auto port = colon == std::string::npos ? std::string() : master.substr(colon + 1);
  if (colon == std::string::npos || colon == 0 || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 || std::stoi(port) > 65535)
    return "master must be host:port with a port 1..65535 (not '" + master + "')";
  if (auto host = master.substr(0, colon); host.find(':') != std::string::npos && (host.front() != '[' || host.back() != ']'))
    return "master: an IPv6 address goes in brackets, as in [" + host + "]:" + port + " (not '" + master + "')";
  if (bus_port < 0 || bus_port > 65535 || (bus_port == 0 && std::stoi(port) == 65535))
    return "master_bus_port must be 1..65535, or 0 for the master's port + 1 (at most 65535)";
  return {};
}

std::string validate(const slave_config& c) {
  if (auto bad = validate_master(c.master.empty() ? default_master : c.master, c.master_bus_port); !bad.empty())
    return bad;
  if (c.game_port_first < 1 || c.game_port_last > 65535 || c.game_port_first > c.game_port_last)
    return "game_port_first..game_port_last must be a range within 1..65535";
  if (c.ups < 0)
    return "ups must be >= 0";
  if (c.sync_interval_ms < 100)
    return "sync_interval_ms must be at least 100";
  if (c.heartbeat_ms < 100)
    return "heartbeat_ms must be at least 100";
  return {};
}

} // namespace

std::string slave_config::resolve(const std::string& p) const {
  if (p.empty() || p[0] == '/')
    return p;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? p : path.substr(0, slash + 1) + p;
}

std::string slave_config::link_to(const std::string& credential_master) {
  if (!master.empty() || credential_master.empty())
    return {};
  if (auto bad = validate_master(credential_master, master_bus_port); !bad.empty())
    return "the credential file's " + bad;
  master = credential_master;
  return {};
}

std::string slave_config::master_address() const { return master.empty() ? default_master : master; }

std::string slave_config::control_endpoint() const { return "tcp://" + master_address(); }

std::string slave_config::bus_endpoint() const {
  auto address = master_address();
  auto colon = address.rfind(':');
  int port = master_bus_port ? master_bus_port : std::atoi(address.c_str() + colon + 1) + 1;
  return "tcp://" + address.substr(0, colon) + ":" + std::to_string(port);
}

host_layout slave_config::layout() const {
  return {path, resolve(instances_dir), resolve(shared_mods_dir), resolve(factorio_dir), game_port_first, game_port_last, ups, scenario,
          autosave_minutes};
}

nlohmann::json to_json(const slave_config& c) {
  return {{"name", c.name},
          {"master", c.master},
          {"master_bus_port", c.master_bus_port},
          {"credential", c.credential},
          {"factorio_dir", c.factorio_dir},
          {"instances_dir", c.instances_dir},
          {"shared_mods_dir", c.shared_mods_dir},
          {"public_address", c.public_address},
          {"game_port_first", c.game_port_first},
          {"game_port_last", c.game_port_last},
          {"ups", c.ups},
          {"scenario", c.scenario},
          {"autosave_minutes", c.autosave_minutes},
          {"sync_interval_ms", c.sync_interval_ms},
          {"heartbeat_ms", c.heartbeat_ms}};
}

std::string parse_slave_config(const std::string& text, const std::string& path, slave_config& out) {
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object())
      return path + ": the config must be a JSON object";
    auto known = to_json(out);
    for (auto& [key, value] : j.items())
      if (!known.contains(key))
        return path + ": unknown key '" + key + "'";
    from_json(j, out);
  } catch (const std::exception& e) {
    return path + ": " + e.what();
  }
  return {};
}

std::string validate_slave_config(const slave_config& c) { return validate(c); }

std::string load_slave_config(const std::string& path, slave_config& out, bool apply_env) {
  out.path = path;
  if (file_exists(path)) {
    std::string why;
    auto text = read_file(path, why);
    if (!text)
      return why;
    if (auto bad = parse_slave_config(*text, path, out); !bad.empty())
      return bad;
  }
  if (!apply_env)
    return validate(out).empty() ? "" : path + ": " + validate(out);
  if (auto* m = std::getenv("MASTER"); m && *m)
    out.master = m;
  if (auto* f = std::getenv("FACTORIO_DIR"); f && *f)
    out.factorio_dir = f;
  auto bad = validate(out);
  return bad.empty() ? "" : path + ": " + bad;
}

std::string set_slave_config_key(slave_config& c, const std::string& key, const std::string& value) {
  auto j = to_json(c);
  if (!j.contains(key))
    return "unknown key '" + key + "' (see `config show`)";
  try {
    if (j[key].is_string())
      j[key] = value;
    else
      j[key] = nlohmann::json::parse(value);
    slave_config updated = c;
    from_json(j, updated);
    if (auto bad = validate(updated); !bad.empty())
      return bad;
    c = updated;
  } catch (const std::exception& e) {
    return "bad value for " + key + ": " + e.what();
  }
  return {};
}

std::string save_slave_config(const slave_config& c) { return write_file_atomic(c.path, to_json(c).dump(2) + "\n"); }

} // namespace clusterio
