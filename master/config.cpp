#include "master/config.hpp"

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/json_field.hpp"
#include "messages/limits.hpp"

namespace clusterio {

namespace {

nlohmann::json to_json(const master_config& c) {
  return {{"bind", c.bind},
          {"control_port", c.control_port},
          {"bus_port", c.bus_port},
          {"http_port", c.http_port},
          {"insecure", c.insecure},
          {"policy", c.policy},
          {"demand_window_ms", c.demand_window_ms},
          {"instance_timeout_ms", c.instance_timeout_ms},
          {"heartbeat_ms", c.heartbeat_ms},
          {"durability", c.durability},
          {"inventory_interval_ms", c.inventory_interval_ms},
          {"signal_source_timeout_ms", c.signal_source_timeout_ms},
          {"log_level", c.log_level},
          {"webui_dir", c.webui_dir},
          {"admin_token", c.admin_token},
          {"max_msgs_per_s_per_client", c.max_msgs_per_s_per_client},
          {"max_item_names", c.max_item_names}};
}

} // namespace

std::string master_config::validate() const {
  auto port_ok = [](int p) { return p >= 0 && p <= 65535; };
  if (!port_ok(control_port))
    return "control_port must be 0..65535";
  if (!port_ok(bus_port))
    return "bus_port must be 0..65535";
  if (!port_ok(http_port))
    return "http_port must be 0..65535";
  demand::policy_kind k;
  if (!demand::parse_policy(policy, k))
    return "policy must be fair, first-come or dole (not '" + policy + "')";
  if (durability != "full" && durability != "process")
    return "durability must be full or process (not '" + durability + "')";
  if (heartbeat_ms < 100 || heartbeat_ms > 600000)
    return "heartbeat_ms must be 100..600000";
  if (instance_timeout_ms < heartbeat_ms)
    return "instance_timeout_ms must be at least heartbeat_ms";
  if (inventory_interval_ms < 10 || inventory_interval_ms > 1000)
    return "inventory_interval_ms must be 10..1000 (the bus promises an update at least once a second)";
  if (signal_source_timeout_ms < 100 || signal_source_timeout_ms > 3600000)
    return "signal_source_timeout_ms must be 100..3600000";
  if (demand_window_ms < 100)
    return "demand_window_ms must be at least 100";
  if (max_msgs_per_s_per_client < 1)
    return "max_msgs_per_s_per_client must be at least 1";
  if (max_item_names < 1 || max_item_names > wire::max_long_list_entries)
    return "max_item_names must be 1.." + std::to_string(wire::max_long_list_entries) + " (a full inventory must fit one frame)";
  for (auto* l : {"trace", "debug", "info", "warn", "error"})
    if (log_level == l)
      return {};
  return "log_level must be trace, debug, info, warn or error";
}

std::string load_master_config(const std::string& path, master_config& out) {
  std::string why;
  auto text = read_file(path, why);
  if (!text)
    return why;
  return parse_master_config(*text, path, out);
}

std::string parse_master_config(const std::string& text, const std::string& path, master_config& out) {
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.is_object())
      return path + ": the config must be a JSON object";
    auto defaults = to_json(out);
    for (auto& [key, value] : j.items())
      if (!defaults.contains(key))
        return path + ": unknown key '" + key + "'";
    auto get = [&](const char* key, auto& field) { read_json_field(j, key, field); };
    get("bind", out.bind);
    get("control_port", out.control_port);
    get("bus_port", out.bus_port);
    get("http_port", out.http_port);
    get("insecure", out.insecure);
    get("policy", out.policy);
    get("demand_window_ms", out.demand_window_ms);
    get("instance_timeout_ms", out.instance_timeout_ms);
    get("heartbeat_ms", out.heartbeat_ms);
    get("durability", out.durability);
    get("inventory_interval_ms", out.inventory_interval_ms);
    get("signal_source_timeout_ms", out.signal_source_timeout_ms);
    get("log_level", out.log_level);
    get("webui_dir", out.webui_dir);
    get("admin_token", out.admin_token);
    get("max_msgs_per_s_per_client", out.max_msgs_per_s_per_client);
    get("max_item_names", out.max_item_names);
  } catch (const std::exception& e) {
    return path + ": " + e.what();
  }
  auto bad = out.validate();
  return bad.empty() ? "" : path + ": " + bad;
}

std::string master_config_defaults() { return to_json(master_config{}).dump(2); }

} // namespace clusterio
