#pragma once

// Test fixture: a factorio-sim server in a fresh write-data directory with the clusterio mod
// installed, created from a scenario, started with free ports, its stdout collected line by line,
// and an RCON client connected (achievements already disabled).

#include "rcon/client.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace clusterio::test {

/// The sim's flags for tests of the mod: 600 UPS, so a 60-tick cycle is 0.1 s and the mod's
/// 300-tick silence limit 0.5 s.
inline const std::vector<std::string> fast_ups{"--ups", "600"};

/// Escapes text into a Lua double-quoted string literal body (the slave's rule).
std::string lua_escape(const std::string& s);

class sim_process {
public:
  /// `scenario` is a name shipped with the sim or Lua source (when it contains a newline).
  explicit sim_process(const std::string& scenario, std::vector<std::string> extra_args = {});
  ~sim_process();

  /// Starts the server on the save; returns after RCON is connected. RCON listens on all
  /// interfaces (--rcon-port), or on `rcon_bind_address` if set (--rcon-bind, as the slave does).
  void start();
  std::string rcon_bind_address;
  /// SIGINT, then waits for exit; returns the exit code.
  int stop(int sig = 2);

  std::string dir() const { return dir_; }
  uint16_t rcon_port() const { return rcon_port_; }
  rcon::client& rcon() { return *client_; }

  /// Runs a console command and returns its reply body (throws on timeout or disconnect).
  std::string command(const std::string& cmd);
  /// remote.call("clusterio", fn, json) and the parsed reply.
  nlohmann::json call(const std::string& fn, const nlohmann::json& arg);
  /// Runs Lua in the level environment and parses its rcon.print output as JSON.
  nlohmann::json lua_json(const std::string& code);
  /// rcon.print(<expr>) in the level environment, as an integer.
  long lua_int(const std::string& expr);
  /// Pings the mod until the game has advanced `ticks` ticks (keeps the mod from pausing).
  void run_ticks(int ticks);

  /// Writes a mod folder `mods/<name>/` (tests/support/mod_folder.hpp: write_mod_folder);
  /// takes effect at the next start().
  void write_mod(const std::string& name, nlohmann::json info,
                 const std::vector<std::pair<std::string, std::string>>& files);
  /// The bytes of the sim's 64x64 icon (for test mods' prototypes).
  std::string icon_png() const;

  /// Lines seen so far on stdout.
  std::vector<std::string> lines();
  /// Waits until a line satisfies `pred`; returns it, or "" after the timeout.
  std::string wait_line(const std::function<bool(const std::string&)>& pred,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10),
                        size_t from = 0);
  /// IPC payloads on `channel` seen so far (file payloads are read from script-output).
  std::vector<nlohmann::json> ipc(const std::string& channel);

private:
  std::string dir_, exe_;
  std::vector<std::string> extra_;
  uint16_t rcon_port_ = 0;
  int pid_ = -1;
  int out_fd_ = -1;
  std::thread reader_;
  std::mutex mtx_;
  std::vector<std::string> lines_;
  std::atomic<bool> output_ended_{false}; // the running process closed its stdout
  std::unique_ptr<rcon::client> client_;
};

} // namespace clusterio::test
