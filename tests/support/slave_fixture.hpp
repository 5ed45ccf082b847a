#pragma once
// A real clusterio-slave on loopback for tests: its own folder and slave.json, instances
// created with the real CLI (factorio-sim worlds), run as child processes, and RCON access to
// each world to inspect it the way an operator would.

#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/credentials.hpp"
#include "rcon/client.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/process.hpp"

namespace clusterio::test {

class slave_fixture {
public:
  /// `cred`: the slave's credential (nullopt: insecure master). `master`: host:port of the
  /// control socket; `bus_port` 0 means the control port + 1 (the slave's default).
  slave_fixture(const std::string& name, const std::string& master, const std::optional<credential>& cred, int bus_port = 0);
  /// A slave of this master (its control and bus ports).
  slave_fixture(const std::string& name, const master_fixture& master, const std::optional<credential>& cred);

  /// Runs `clusterio-slave ARGS...` to completion; returns (exit code, output).
  std::pair<int, std::string> cli(const std::vector<std::string>& args);
  /// Creates an instance of factorio-sim with a scenario; requires success.
  void create(const std::string& instance, const std::string& scenario);
  /// `clusterio-slave start NAME` in the background.
  void start(const std::string& instance);
  void kill_hard(const std::string& instance); ///< kill -9 the slave process (the game lives on)
  void stop(const std::string& instance);      ///< SIGTERM the slave process and wait
  bool running(const std::string& instance);

  /// Sends one RCON command (e.g. "/save") and returns the reply without the final newline.
  std::string command(const std::string& instance, const std::string& command);
  /// Runs Lua in the world over RCON and returns what it rcon.print()ed (without the newline).
  std::string lua(const std::string& instance, const std::string& code);
  /// Calls the mod's remote interface; returns the parsed reply.
  nlohmann::json mod(const std::string& instance, const std::string& function, const nlohmann::json& arg = nlohmann::json::object());
  /// Waits until the instance's status.json says it runs and RCON answers.
  void wait_running(const std::string& instance, int timeout_ms = 30000);
  /// The instance's status.json (state, tick, ups, players, instance_id, pid).
  nlohmann::json status(const std::string& instance);

  const std::string& dir() const { return dir_; }
  std::string log(const std::string& instance) const { return slurp(dir_ + "/" + instance + ".log"); }

private:
  std::string name_, dir_;
  std::map<std::string, std::unique_ptr<child_process>> procs_;
  std::map<std::string, std::shared_ptr<rcon::client>> rcon_;
};

} // namespace clusterio::test
