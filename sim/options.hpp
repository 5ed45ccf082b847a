#pragma once

// factorio-sim's command line: the real server's flags plus a few sim-only ones (documented in
// docs/factorio-sim.md). Unknown flags produce a warning, as the sim cannot know every flag.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace clusterio::sim {

struct options {
  std::string config;             // -c/--config
  std::string create;             // --create FILE
  std::string start_server;       // --start-server FILE
  bool start_latest = false;      // --start-server-load-latest
  uint16_t port = 34197;          // --port (UDP)
  uint16_t rcon_port = 0;         // --rcon-port, or --rcon-bind's port; 0 = no RCON
  std::string rcon_address = "0.0.0.0"; // --rcon-bind ADDRESS:PORT (IPv4, as Factorio)
  std::string rcon_password;      // --rcon-password
  std::string server_settings;    // --server-settings
  std::string mod_directory;      // --mod-directory
  std::string map_gen_settings;   // --map-gen-settings FILE (with --create)
  std::string map_settings;       // --map-settings FILE (with --create; checked, not used)
  uint64_t map_gen_seed = 0;      // --map-gen-seed N (with --create); 0 = none
  // sim-only
  std::string scenario;           // --scenario NAME|PATH (with --create, stored in the save)
  double ups = 60;                // --ups N; 0 = as fast as possible
  uint64_t stop_after_ticks = 0;  // --stop-after-ticks N: save and quit after N ticks
  uint64_t autosave_ticks = 0;    // --autosave-interval-ticks N: overrides server-settings
  std::string dump_api;           // --dump-api FILE: write the emulated API as JSON and exit
  std::vector<std::string> args;  // everything, for the "Program arguments" line
};

/// Parses argv; returns an error text for a malformed known flag. Warnings go to stdout.
std::optional<std::string> parse_options(int argc, char** argv, options& out);

} // namespace clusterio::sim
