#pragma once
// The slave's configuration, slave.json, with documented defaults (`clusterio-slave config
// show`). Environment overrides: MASTER (host:port of the master's control socket),
// FACTORIO_DIR, INSTANCE (the instance `run` creates on first start and runs; for Docker).

#include <cstdint>
#include <string>

#include "common/config_keys.hpp"
#include "common/result.hpp"
#include "game/instance_dir.hpp"

namespace clusterio {

struct slave_config {
  std::string path;                          ///< where this config was read from
  std::string name = "slave";                ///< this slave's name (insecure mode; else the credential's)
  std::string master;                        ///< master control socket host:port; "": the credential's, else 127.0.0.1:7100
  int master_bus_port = 0;                   ///< 0: master port + 1
  int master_http_port = 8080;               ///< the master's web interface (the mod it serves), on the master's host
  std::string credential;                    ///< credential file; "" = insecure (demo only)
  std::string factorio_dir = "factorio";     ///< contains bin/x64/factorio and data/
  std::string instances_dir = "instances";
  std::string shared_mods_dir = "sharedMods";
  std::string public_address = "127.0.0.1"; ///< what players connect to
  int game_port_first = 34100;               ///< new instances take the first free game port...
  int game_port_last = 34199;                ///< ...in this range
  double ups = 60;                           ///< factorio-sim only: game speed of new instances
  std::string scenario;                      ///< factorio-sim only: scenario of new instances
  int autosave_minutes = 5;
  std::uint32_t sync_interval_ms = 5000;     ///< how often unacknowledged work is re-sent
  std::uint32_t heartbeat_ms = 5000;         ///< how often UPS, tick and players are reported

  /// Paths in the config are relative to the config file's folder.
  std::string resolve(const std::string& p) const;
  /// Fills an empty `master` with the address in the credential file (`clusterio-master
  /// add-slave --master`), if it has one; a failure says why that address is unusable.
  result<void> link_to(const std::string& credential_master);
  /// `master`, or 127.0.0.1:7100 when it is empty.
  std::string master_address() const;
  std::string control_endpoint() const;
  std::string bus_endpoint() const;
  /// The master's web interface: the host of master_address(), master_http_port.
  std::string master_host() const;
  /// Where the instances, shared mods and game are (paths resolved), and what new instances get.
  host_layout layout() const;
};

/// Every key of slave.json: its name, field and meaning.
const config_keys<slave_config>& slave_config_keys();
/// Reads slave.json (missing file: defaults) and, if `apply_env`, the environment overrides
/// (not when the config is about to be saved: overrides must not become settings). The result
/// is validated.
result<slave_config> load_slave_config(const std::string& path, bool apply_env = true);
/// Applies the keys of slave.json's text to `out` (no environment, no validation); `path` only
/// names it in messages (the config fuzzer's entry point).
result<void> parse_slave_config(const std::string& text, const std::string& path, slave_config& out);
/// Checks every value; a failure names the key.
result<void> validate_slave_config(const slave_config& c);
/// Sets one key from text (config set), validated.
result<void> set_slave_config_key(slave_config& c, const std::string& key, const std::string& value);
result<void> save_slave_config(const slave_config& c);

} // namespace clusterio
