#include "tests/support/master_fixture.hpp"

#include <chrono>
#include <csignal>
#include <fstream>
#include <stdexcept>
#include <thread>

namespace clusterio::test {

std::string exe(const std::string& relative) { return build_dir() + "/" + relative; }

master_fixture::master_fixture(bool insecure, std::string extra_config, std::string host)
  : insecure_(insecure), host_(std::move(host)), data_(temp_dir("clusterio-master")), control_port_(free_port()), bus_port_(free_port()),
    http_port_(free_port()) {
  config_path_ = data_ + "/master.json";
  std::ofstream cfg(config_path_);
  cfg << "{\"bind\":\"" << host_ << "\",\"control_port\":" << control_port_ << ",\"bus_port\":" << bus_port_ << ",\"http_port\":" << http_port_
      << ",\"insecure\":" << (insecure ? "true" : "false") << (extra_config.empty() ? "" : "," + extra_config) << "}";
}

void master_fixture::start() {
  // Ready when it answers a hello (as a test admin in secure mode). The probe's credential is
  // made before the master starts: two processes opening a fresh database at once can fail
  // with "database is locked" (switching it to WAL does not wait for the busy timeout).
  if (!insecure_ && !probe_)
    probe_ = add_client("fixture-probe", "admin");
  const auto& cred = probe_;
  proc_ = std::make_unique<child_process>(
    std::vector<std::string>{exe("master/clusterio-master"), "run", "--data", data_, "--config", config_path_}, data_ + "/master.log");
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (!proc_->running())
      throw std::runtime_error("master exited during start:\n" + log());
    wire_client probe(control_endpoint(), cred);
    auto r = probe.call(wire::hello{"fixture-probe", "test"}, std::chrono::milliseconds(200));
    if (r && std::holds_alternative<wire::welcome>(r->body))
      return;
  }
  throw std::runtime_error("master did not answer within 20 s:\n" + log());
}

void master_fixture::kill_hard() {
  proc_->signal(SIGKILL);
  proc_->wait(5000);
}

bool master_fixture::running(std::string& why) {
  if (proc_ && proc_->running())
    return true;
  why = proc_ ? describe_exit(proc_->exit_status()) : "never started";
  return false;
}

void master_fixture::stop() {
  proc_->signal(SIGTERM);
  proc_->wait(10000);
}

credential master_fixture::add_client(const std::string& name, const std::string& role) {
  auto path = data_ + "/" + name + ".cred.json";
  std::vector<std::string> argv{exe("master/clusterio-master"), role == "slave" ? "add-slave" : "add-tool", name, "--data", data_,
                                "--out", path};
  if (role != "slave") {
    argv.push_back("--role");
    argv.push_back(role);
  }
  child_process p(argv, data_ + "/cli.log");
  if (p.wait(10000) != 0)
    throw std::runtime_error("add-client failed:\n" + slurp(data_ + "/cli.log"));
  auto c = load_credential(path);
  if (!c)
    throw std::runtime_error(c.why());
  return *c;
}

} // namespace clusterio::test
