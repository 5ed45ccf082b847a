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

  /// `clusterio-slave run` in the background: one process supervising every instance created,
  /// as the service runs. Its log is service_log().
  void run();
  /// kill -9 of the `run` process, reaped. Its games get SIGTERM: they save and exit.
  void kill_service();
  /// A signal to the `run` process, e.g. SIGSTOP and SIGCONT to cut and restore its links.
  void signal_service(int sig);
  /// Whether the `run` process runs; if it ended, `why` says how (exit code or signal).
  bool service_running(std::string& why);
  std::string service_log() const { return slurp(dir_ + "/slave.log"); }
  /// The `run` process's pid, -1 if it was never started or has been reaped.
  pid_t service_pid() const { return service_ ? service_->pid() : -1; }

  /// Sends one RCON command (e.g. "/save") and returns the reply without the final newline.
  std::string command(const std::string& instance, const std::string& command);
  /// Runs Lua in the world over RCON and returns what it rcon.print()ed (without the newline).
  std::string lua(const std::string& instance, const std::string& code);
  /// Calls the mod's remote interface; returns the parsed reply.
  nlohmann::json mod(const std::string& instance, const std::string& function, const nlohmann::json& arg = nlohmann::json::object());
  /// Waits until the instance's game runs under this fixture's current slave process and is
  /// registered with the master (see game_pid).
  void wait_running(const std::string& instance, int timeout_ms = 30000);
  /// The game's pid if status.json says it runs and is registered, and the game is a child of
  /// the slave process this fixture runs now; else 0. (A status.json left by a slave killed
  /// with kill -9 says "running" with its game's pid until the next slave rewrites it.)
  pid_t game_pid(const std::string& instance);
  /// The instance's status.json (state, tick, ups, players, instance_id, pid).
  nlohmann::json status(const std::string& instance);

  const std::string& dir() const { return dir_; }
  std::string log(const std::string& instance) const { return slurp(dir_ + "/" + instance + ".log"); }

private:
  std::string name_, dir_;
  std::map<std::string, std::unique_ptr<child_process>> procs_;
  std::unique_ptr<child_process> service_;
  std::map<std::string, std::shared_ptr<rcon::client>> rcon_;
};

} // namespace clusterio::test
