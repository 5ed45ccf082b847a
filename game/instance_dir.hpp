#pragma once
// An instance's folder, laid out as users of the original (Node.js) Clusterio know it:
//   instances/<name>/{config.json, config.ini, server-settings.json, saves/, mods/,
//                     script-output/}
// plus the slave's own bookkeeping there: status.json (the supervisor's: state, tick, UPS,
// players, the id the master gave it, the game's pid),
// supervisor.pid (claimed by the slave process supervising it: common/files.hpp's file_claim)
// and stop-request (written by `stop`).

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "game/mod_files.hpp"
#include "messages/command.hpp"

namespace clusterio {

/// Where a slave host keeps its instances, its shared mods and the game, and what new instances
/// get: the part of the slave's configuration the instance folders need (paths resolved).
struct host_layout {
  std::string config_path;     ///< the slave config these come from (named in messages)
  std::string instances_dir;   ///< holds instances/<name>/
  std::string shared_mods_dir; ///< mods every instance takes (`mod install`)
  std::string factorio_dir;    ///< holds bin/x64/factorio and data/
  int game_port_first = 34100; ///< new instances take the first free game port...
  int game_port_last = 34199;  ///< ...in this range
  double ups = 60;             ///< factorio-sim only: game speed of new instances
  std::string scenario;        ///< factorio-sim only: scenario of new instances
  int autosave_minutes = 5;
};

struct instance_config {
  std::string name;
  int game_port = 0;
  int rcon_port = 0;
  std::string rcon_password; ///< never leaves this host
  bool enabled = true;       ///< `run` starts it
  double ups = 60;           ///< factorio-sim only (--ups)
};

/// Checks an instance name: a label (letters, digits, '_', '-', '.'), never "..", "/" or ".x".
result<void> check_instance_name(const std::string& name);

std::string instance_path(const host_layout& h, const std::string& name);

/// A new map's settings, as Factorio's --create takes them; each optional.
struct map_options {
  std::string map_gen_settings; ///< a JSON object, to map-gen-settings.json (--map-gen-settings)
  std::string map_settings;     ///< a JSON object, to map-settings.json (--map-settings)
  std::uint64_t seed = 0;       ///< --map-gen-seed, overriding map_gen_settings' seed; 0: none
};

/// Creates the folder, configs and a new map (runs the factorio binary with --create). A
/// failure says why (with the game's output when the game failed) and leaves no folder behind.
result<void> create_instance(const host_layout& h, const std::string& name, const map_options& map = {});

/// Before a start: puts the clusterio mod the instance should run into its mods/ as the only
/// clusterio version there — the newest in its instanceMods/ if there is one (the operator's
/// choice for this instance), else the newest in sharedMods/ (`mod install`). Nothing to do
/// when neither has one. Instances created before an upgrade get the new mod this way.
result<mod_install> sync_instance_mod(const host_layout& h, const std::string& name);
/// Whether the instance has the clusterio mod, or will take it from sharedMods/ or its
/// instanceMods/; a failure says how to install it. Without the mod a world takes no part
/// in the cluster, and every call the slave makes into it fails.
result<void> check_clusterio_mod(const host_layout& h, const std::string& name);

result<instance_config> load_instance(const host_layout& h, const std::string& name);
/// Whether `run` starts the instance (config.json's `enabled`): the master's start and stop
/// commands set it, so that a restarted slave runs what it ran before.
result<void> set_instance_enabled(const host_layout& h, const std::string& name, bool enabled);
std::vector<std::string> list_instances(const host_layout& h);

/// An instance's settings, in the order of wire::instance_setting_keys: game_port from
/// config.json, the rest from server-settings.json (as Factorio reads it: autosave_interval,
/// max_players, game_password, visibility.public). A password reads "(set)" or "".
result<std::vector<wire::instance_setting>> instance_settings(const host_layout& h, const std::string& name);
/// Changes settings, each checked first: all are written, or none. A failure carries a
/// wire::error_code (wire::code_of): invalid (an unknown key, a bad value), conflict (a game port another
/// instance of this host has), unavailable (the disk).
result<void> change_instance_settings(const host_layout& h, const std::string& name, const std::vector<wire::instance_setting>& changes);

/// The file a slave process claims while it supervises the instance.
std::string supervisor_claim_path(const host_layout& h, const std::string& name);
/// Pid of the slave process supervising the instance, if one is alive.
std::optional<int> supervisor_pid(const host_layout& h, const std::string& name);

/// Deletes the folder. Refuses while the instance runs.
result<void> delete_instance_dir(const host_layout& h, const std::string& name);

/// The factorio binary of the configured factorio directory.
result<std::string> factorio_binary(const host_layout& h);

} // namespace clusterio
