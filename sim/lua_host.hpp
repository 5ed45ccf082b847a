#pragma once

// The embedded Lua 5.2 state that runs mods and the scenario against the emulated Factorio 2.0
// runtime API. The API itself is written in Lua (sim/lua/runtime.lua, installed under the sim's
// data directory); this class owns the state, supplies the few natives Lua cannot do alone
// (stdout, files, JSON, a clock) and turns Lua errors into error values.
//
// Thread safety: none; the game loop thread owns it.

#include "sim/zip.hpp"

#include <optional>
#include <string>
#include <vector>

struct lua_State;

namespace clusterio::sim {

/// A mod found in the mods directory: its files by path relative to the mod root, and what its
/// info.json says it needs.
struct mod_source {
  std::string name;
  std::string version;
  std::string factorio_version;
  std::vector<std::string> dependencies;
  zip_entries files;
};

class lua_host {
public:
  lua_host() = default;
  ~lua_host();
  lua_host(const lua_host&) = delete;
  lua_host& operator=(const lua_host&) = delete;

  /// Creates the state and loads runtime.lua. `write_data` is where script-output/ lives;
  /// `version` is the game version the sim reports.
  std::optional<std::string> init(const std::string& runtime_path, const std::string& write_data,
                                  const std::string& version);

  /// Runs the settings and data stages of every mod (base first) and prepares control stages.
  std::optional<std::string> load_mods(const std::vector<mod_source>& mods);

  /// A new map: runs control.lua of every mod and the scenario, then on_init. `map_gen_settings`
  /// is a JSON object: the first surface's.
  std::optional<std::string> new_game(const std::string& scenario_name,
                                      const std::string& scenario_source,
                                      const std::string& map_gen_settings);

  /// Restores a save written by `save_game`.
  std::optional<std::string> load_game(const zip_entries& save);
  std::optional<std::string> save_game(zip_entries& save);

  /// Advances one tick. `mod_ms` receives the time spent in mod (not scenario) handlers.
  std::optional<std::string> tick(double& mod_ms);

  /// Runs a Lua console command (`/c`, `/sc`) body; returns the RCON reply text.
  std::string run_lua(const std::string& body);

  /// The emulated API as JSON (classes, members, globals, defines; see SIM.dump_api).
  std::optional<std::string> dump_api(std::string& json);

  /// Number of connected (emulated) players.
  int players();
  uint64_t game_tick();
  /// True while the save still allows achievements (the first Lua command is refused).
  bool achievements_enabled();
  void disable_achievements();

private:
  /// Calls SIM[fn] with `nargs` arguments already pushed; leaves `nres` results.
  std::optional<std::string> call(const char* fn, int nargs, int nres);

  lua_State* L_ = nullptr;
};

} // namespace clusterio::sim
