#pragma once
// A real clusterio-master process on loopback, with its own data directory, for tests.

#include <memory>
#include <optional>
#include <string>

#include "common/credentials.hpp"
#include "client/wire_client.hpp"
#include "common/zmq_endpoint.hpp"
#include "tests/support/process.hpp"

namespace clusterio::test {

class master_fixture {
public:
  /// Prepares a data directory; `insecure` runs without CURVE. `host`: the address it binds,
  /// 127.0.0.1 or ::1.
  explicit master_fixture(bool insecure = false, std::string extra_config = {}, std::string host = "127.0.0.1");

  /// Starts the master and waits until it answers. Throws on failure (with the log).
  void start();
  /// kill -9.
  void kill_hard();
  /// SIGTERM and wait.
  void stop();
  /// Whether the process runs; if it ended, `why` says how (exit code or signal).
  bool running(std::string& why);

  /// Writes a credential for a new client (add-slave / add-tool) and returns it.
  credential add_client(const std::string& name, const std::string& role);

  std::string control_endpoint() const { return tcp_endpoint(host_, control_port_); }
  std::string bus_endpoint() const { return tcp_endpoint(host_, bus_port_); }
  /// The web interface's base URL, e.g. "http://127.0.0.1:41234".
  std::string http_url() const { return "http" + tcp_endpoint(host_, http_port_).substr(3); }
  int http_port() const { return http_port_; }
  int control_port() const { return control_port_; }
  int bus_port() const { return bus_port_; }
  const std::string& data_dir() const { return data_; }
  std::string log() const { return slurp(data_ + "/master.log"); }
  pid_t pid() const { return proc_ ? proc_->pid() : -1; }

private:
  bool insecure_;
  std::string host_;
  std::string data_;
  std::string config_path_;
  int control_port_, bus_port_, http_port_;
  std::unique_ptr<child_process> proc_;
  std::optional<credential> probe_; ///< start()'s admin credential, made at the first start
};

/// Path of a built program, e.g. exe("master/clusterio-master").
std::string exe(const std::string& relative);

} // namespace clusterio::test
