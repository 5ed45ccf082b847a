#pragma once
// The master's configuration: a JSON file with documented defaults (`clusterio-master
// config-defaults` prints them, `--markdown` as the README's table), overridden by command-line
// flags. Every key is declared once, in master_config_keys() (config.cpp).

#include <cstdint>
#include <string>

#include "common/config_keys.hpp"
#include "common/result.hpp"

namespace clusterio {

struct master_config {
  std::string bind = "0.0.0.0";        ///< address the sockets listen on
  int control_port = 7100;             ///< ROUTER: requests from slaves and tools
  int bus_port = 7101;                 ///< XPUB: inventory, signals, events
  int http_port = 8080;                ///< web interface and /metrics
  std::string webui_dir = CLUSTERIO_WEBUI_DIR; ///< the web page's files (default: the source tree's webui/)
  std::string admin_token;             ///< web: needed for non-GET requests; "" = <data>/admin.token, made at first start
  bool viewers_sign_in = false;        ///< web: the page shows the cluster to signed-in users only
  bool insecure = false;               ///< no CURVE (local demo only: anyone may do anything)
  std::string policy = "fair";         ///< demand policy: fair | first-come | dole
  std::uint64_t demand_window_ms = 5000;     ///< fair: how long an instance's ask counts
  std::uint64_t instance_timeout_ms = 15000; ///< an instance is offline after this silence
  std::uint64_t command_timeout_ms = 60000;  ///< an instance command waits this long for its slave's answer
  std::uint64_t command_resend_ms = 5000;    ///< an unanswered command goes to its slave again this often
  std::uint32_t heartbeat_ms = 5000;         ///< how often slaves should heartbeat
  std::string durability = "full";     ///< full: fsync each commit; process: survive kill -9 only
  std::uint64_t commit_gather_us = 1000;     ///< while messages trickle in, a sweep waits this long for more to share its commit
  std::uint64_t inventory_interval_ms = 200; ///< how often changed levels go on the bus (slaves ask for new stock on it)
  std::uint64_t signal_source_timeout_ms = 10000; ///< a silent signal source's contribution is removed after this
  std::uint64_t signal_min_interval_ms = 5;       ///< a channel's sum is published at most once per interval
  std::uint64_t max_signal_bytes = 64u << 20;     ///< bytes of signal frames kept over all sources; a frame past it gets `overloaded`
  std::string log_level = "info";      ///< trace | debug | info | warn | error
  std::uint32_t max_msgs_per_s_per_client = 20000; ///< per-client rate limit (burst: one second's worth); over it: `overloaded`
  std::uint64_t max_instances_per_slave = 200; ///< a slave registering one more gets `overloaded`
  std::uint64_t max_item_names = 100000; ///< distinct names in storage; an export adding more gets `overloaded`

  /// Checks every value; a failure names the key.
  result<void> validate() const;
};

/// Every key of the master's config file: its name, field and meaning.
const config_keys<master_config>& master_config_keys();

/// Reads a config file; keys not in the file keep their defaults; unknown keys are an error
/// (a typo must not silently fall back to a default). The result is validated.
result<master_config> load_master_config(const std::string& path);

/// As load_master_config, from the file's text; `path` only names it in messages. Nothing is
/// read from disk (the config fuzzer's entry point).
result<master_config> parse_master_config(const std::string& text, const std::string& path);

/// The defaults, as JSON text.
std::string master_config_defaults();

} // namespace clusterio
