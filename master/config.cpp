#include "master/config.hpp"

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "demand/demand_policy.hpp"
#include "messages/limits.hpp"

namespace clusterio {

namespace {
/// Far above what one host runs; the whole cluster's instances must still fit one `slaves` reply.
constexpr std::uint64_t max_instances_per_slave_limit = 10000;
/// A few of the largest frames must fit; the upper end keeps the sum far from overflow.
constexpr std::uint64_t min_signal_bytes = 4 * wire::max_signal_frame_bytes;
constexpr std::uint64_t max_signal_bytes_limit = std::uint64_t{1} << 40;
/// A gathering window is a latency every trickling message may pay: at most 20 ms.
constexpr std::uint64_t max_commit_gather_us = 20000;
} // namespace

const config_keys<master_config>& master_config_keys() {
  using c = master_config;
  static const auto keys =
    config_keys<c>()
      .add("bind", &c::bind, "address the sockets listen on (`::` for IPv6 and IPv4, `::1`, ...)")
      .add("control_port", &c::control_port, "requests from slaves and tools")
      .add("bus_port", &c::bus_port, "inventory, signals, events")
      .add("http_port", &c::http_port, "web interface and `/metrics` (`docs/webui.md`); 0 = ephemeral")
      .add("webui_dir", &c::webui_dir, "the page's files", "source tree's `webui/`")
      .flag_alias("--webui")
      .add("admin_token", &c::admin_token, "web: token for non-GET requests; empty = `<data>/admin.token`, made at first start")
      .add("viewers_sign_in", &c::viewers_sign_in,
           "web: the page and its API show the cluster to signed-in users only (a web user of either role, or the admin token; "
           "`/api/health` and the mod stay open)")
      .add("insecure", &c::insecure, "no CURVE (demo only)")
      .add("policy", &c::policy, "demand policy: `fair`, `first-come`, `dole`")
      .add("demand_window_ms", &c::demand_window_ms, "how long an instance's ask counts as demand (fair)")
      .add("instance_timeout_ms", &c::instance_timeout_ms, "an instance is offline after this much silence")
      .add("heartbeat_ms", &c::heartbeat_ms, "how often slaves heartbeat")
      .add("command_timeout_ms", &c::command_timeout_ms,
           "an admin's instance command waits this long for its slave's answer, then gets `unavailable` (a start that loads a "
           "large save can take longer; `clusterio-ctl instance --wait` waits 90 s unless told)")
      .add("command_resend_ms", &c::command_resend_ms,
           "a command its slave has not answered goes to it again this often while it reports (a command or its answer lost with a "
           "connection; the slave's journal makes a repeat safe)")
      .add("durability", &c::durability,
           "`full`: fsync each commit; `process`: survives `kill -9`, not power loss (faster when saturated: `docs/benchmarks.md`)")
      .add("commit_gather_us", &c::commit_gather_us,
           "while messages trickle in, the first of a sweep waits up to this many microseconds for others to share its transaction "
           "(a lone message never waits; 0 = never)")
      .add("inventory_interval_ms", &c::inventory_interval_ms, "how often changed levels are published")
      .add("signal_source_timeout_ms", &c::signal_source_timeout_ms,
           "a signal source silent this long has its contribution removed (an empty frame is published for it)")
      .add("signal_min_interval_ms", &c::signal_min_interval_ms,
           "a channel's signal sum is published at most once per this interval; changes within it are coalesced into the next")
      .add("max_signal_bytes", &c::max_signal_bytes,
           "bytes of signal frames the master keeps (each source's latest); a frame that would pass it gets `overloaded` (`docs/limits.md`)")
      .add("log_level", &c::log_level, "trace, debug, info, warn, error")
      .add("max_msgs_per_s_per_client", &c::max_msgs_per_s_per_client,
           "per-client rate limit (burst: one second's worth); messages over it get `overloaded` (`docs/limits.md`)")
      .add("max_item_names", &c::max_item_names, "distinct item/fluid names in storage; an export adding a name beyond it gets `overloaded`")
      .add("max_instances_per_slave", &c::max_instances_per_slave,
           "instances one slave may register; registering one more gets `overloaded` (`docs/limits.md`)");
  return keys;
}

result<void> master_config::validate() const {
  auto port_ok = [](int p) { return p >= 0 && p <= 65535; };
  if (!port_ok(control_port))
    return failure("control_port must be 0..65535");
  if (!port_ok(bus_port))
    return failure("bus_port must be 0..65535");
  if (!port_ok(http_port))
    return failure("http_port must be 0..65535");
  if (auto parsed = demand::parse_policy(policy); !parsed)
    return parsed.error().in("policy");
  if (durability != "full" && durability != "process")
    return failure("durability must be full or process (not '" + durability + "')");
  if (heartbeat_ms < 100 || heartbeat_ms > 600000)
    return failure("heartbeat_ms must be 100..600000");
  if (instance_timeout_ms < heartbeat_ms)
    return failure("instance_timeout_ms must be at least heartbeat_ms");
  if (command_timeout_ms < 10000 || command_timeout_ms > 3600000)
    return failure("command_timeout_ms must be 10000..3600000");
  if (command_resend_ms < 1000 || command_resend_ms >= command_timeout_ms)
    return failure("command_resend_ms must be at least 1000 and less than command_timeout_ms");
  if (commit_gather_us > max_commit_gather_us)
    return failure("commit_gather_us must be 0.." + std::to_string(max_commit_gather_us));
  if (inventory_interval_ms < 10 || inventory_interval_ms > 1000)
    return failure("inventory_interval_ms must be 10..1000 (the bus promises an update at least once a second)");
  if (signal_source_timeout_ms < 100 || signal_source_timeout_ms > 3600000)
    return failure("signal_source_timeout_ms must be 100..3600000");
  if (signal_min_interval_ms > 1000)
    return failure("signal_min_interval_ms must be 0..1000");
  if (max_signal_bytes < min_signal_bytes || max_signal_bytes > max_signal_bytes_limit)
    return failure("max_signal_bytes must be " + std::to_string(min_signal_bytes) + ".." + std::to_string(max_signal_bytes_limit));
  if (demand_window_ms < 100)
    return failure("demand_window_ms must be at least 100");
  if (max_msgs_per_s_per_client < 1)
    return failure("max_msgs_per_s_per_client must be at least 1");
  if (max_item_names < 1 || max_item_names > wire::max_long_list_entries)
    return failure("max_item_names must be 1.." + std::to_string(wire::max_long_list_entries) + " (a full inventory must fit one frame)");
  if (max_instances_per_slave < 1 || max_instances_per_slave > max_instances_per_slave_limit)
    return failure("max_instances_per_slave must be 1.." + std::to_string(max_instances_per_slave_limit));
  for (auto* l : {"trace", "debug", "info", "warn", "error"})
    if (log_level == l)
      return done();
  return failure("log_level must be trace, debug, info, warn or error");
}

result<master_config> load_master_config(const std::string& path) {
  auto text = read_file(path);
  if (!text)
    return text.error();
  return parse_master_config(*text, path);
}

result<master_config> parse_master_config(const std::string& text, const std::string& path) {
  master_config out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return failure(path + ": not valid JSON");
  if (auto read = master_config_keys().read(j, out); !read)
    return read.error().in(path);
  if (auto valid = out.validate(); !valid)
    return valid.error().in(path);
  return out;
}

std::string master_config_defaults() { return master_config_keys().to_json(master_config{}).dump(2); }

} // namespace clusterio
