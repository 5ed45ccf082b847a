#pragma once

// The server's life: load mods, create or load a map, host it (UDP port, RCON), tick at the
// requested rate, run RCON commands between ticks, autosave, and save on the way out.
//
//   start --> loading mods --> CreatingGame --> InGame --(SIGINT/SIGTERM, /quit, tick limit)-->
//   saving --> Closed
//
// Thread safety: run() owns everything; only the signal flag is touched from elsewhere.

#include "sim/lua_host.hpp"
#include "sim/options.hpp"
#include "sim/rcon_server.hpp"

#include <string>

namespace clusterio::sim {

/// The Factorio release the sim emulates: the one whose API tests/api checks it against
/// (typed-factorio's factorioVersion), also base's version in data/base/info.json.
constexpr const char* factorio_version = "2.0.75";

struct paths {
  std::string config;
  std::string read_data;
  std::string write_data;
  std::string mods;
};

class game {
public:
  game(options opts, paths p) : opts_(std::move(opts)), paths_(std::move(p)) {}

  /// Returns the process exit code.
  int run();

private:
  int create();
  std::optional<std::string> map_gen_settings(std::string& out);
  int dump_api();
  int serve();
  /// The save to host (--start-server, or the newest with --start-server-load-latest).
  bool choose_save();
  void read_server_settings();
  /// Loads the map and opens the game's UDP port and RCON; the UDP socket, or -1.
  int host();
  /// The game loop: ticks at the target UPS until a quit reason is set, then prints the stats.
  void tick_until_quit();
  void autosave_if_due(uint64_t ticks, uint64_t& last_autosave);
  std::optional<std::string> boot_lua();
  std::optional<std::string> save_to(const std::string& file);
  void handle_command(const rcon_server::command& c);
  std::string console_command(const std::string& body);
  void shutdown(const std::string& reason);
  void set_state(const char* from, const char* to);

  options opts_;
  paths paths_;
  lua_host lua_;
  rcon_server rcon_;
  std::string save_file_;
  std::string quit_reason_;
  int autosave_slot_ = 0;
  int autosave_slots_ = 5;
  uint64_t autosave_ticks_ = 0;
  bool map_loaded_ = false;
};

} // namespace clusterio::sim
