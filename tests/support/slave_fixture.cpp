#include "tests/support/slave_fixture.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "rcon/client.hpp"
#include "game/lua_call.hpp"
#include "tests/support/master_fixture.hpp"

namespace clusterio::test {

slave_fixture::slave_fixture(const std::string& name, const master_fixture& master, const std::optional<credential>& cred)
  : slave_fixture(name, master.control_endpoint().substr(6), cred, std::stoi(master.bus_endpoint().substr(master.bus_endpoint().rfind(':') + 1))) {}

slave_fixture::slave_fixture(const std::string& name, const std::string& master, const std::optional<credential>& cred, int bus_port)
  : name_(name), dir_(temp_dir("clusterio-slave-" + name)) {
  int game_port = free_port(); // tests run in parallel: no fixed game ports
  nlohmann::json cfg{{"name", name},
                     {"master", master},
                     {"master_bus_port", bus_port},
                     {"factorio_dir", build_dir() + "/factorio-sim"},
                     {"sync_interval_ms", 2000},
                     {"game_port_first", game_port},
                     {"game_port_last", game_port + 20},
                     {"heartbeat_ms", 1000}};
  if (cred) {
    if (auto saved = save_credential(dir_ + "/slave.cred.json", *cred); !saved)
      throw std::runtime_error(saved.why());
    cfg["credential"] = "slave.cred.json";
  }
  std::ofstream(dir_ + "/slave.json") << cfg.dump(2);
  auto [code, out] = cli({"mod", "install"});
  if (code != 0)
    throw std::runtime_error("mod install failed: " + out);
}

std::pair<int, std::string> slave_fixture::cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{exe("slave/clusterio-slave"), "--config", dir_ + "/slave.json"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto log = dir_ + "/cli.out";
  std::remove(log.c_str());
  child_process p(argv, log);
  int status = p.wait(120000);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(log)};
}

void slave_fixture::create(const std::string& instance, const std::string& scenario) {
  auto [c1, o1] = cli({"config", "set", "scenario", scenario});
  auto [code, out] = cli({"create", instance});
  if (c1 != 0 || code != 0)
    throw std::runtime_error("create " + instance + " failed: " + o1 + out);
}

void slave_fixture::start(const std::string& instance) {
  procs_[instance] = std::make_unique<child_process>(
    std::vector<std::string>{exe("slave/clusterio-slave"), "--config", dir_ + "/slave.json", "--log-level", "trace", "start", instance},
    dir_ + "/" + instance + ".log");
}

void slave_fixture::kill_hard(const std::string& instance) {
  procs_.at(instance)->signal(SIGKILL);
  procs_.at(instance)->wait(5000);
}

void slave_fixture::stop(const std::string& instance) {
  procs_.at(instance)->signal(SIGTERM);
  procs_.at(instance)->wait(60000);
}

bool slave_fixture::running(const std::string& instance) { return procs_.count(instance) && procs_.at(instance)->running(); }

void slave_fixture::run() {
  service_ = std::make_unique<child_process>(
    std::vector<std::string>{exe("slave/clusterio-slave"), "--config", dir_ + "/slave.json", "--log-level", "trace", "run"},
    dir_ + "/slave.log");
}

void slave_fixture::kill_service() {
  service_->signal(SIGKILL);
  service_->wait(5000);
}

void slave_fixture::signal_service(int sig) { service_->signal(sig); }

bool slave_fixture::service_running(std::string& why) {
  if (service_ && service_->running())
    return true;
  why = service_ ? describe_exit(service_->exit_status()) : "never started";
  return false;
}

nlohmann::json slave_fixture::status(const std::string& instance) {
  auto j = nlohmann::json::parse(slurp(dir_ + "/instances/" + instance + "/status.json"), nullptr, false);
  return j.is_discarded() ? nlohmann::json::object() : j;
}

std::string slave_fixture::command(const std::string& instance, const std::string& command) {
  for (int attempt = 0;; ++attempt) {
    auto& c = rcon_[instance];
    if (!c || !c->connected()) {
      // One connection per world, kept: a new connection for every look would load the game.
      auto cfg = nlohmann::json::parse(slurp(dir_ + "/instances/" + instance + "/config.json"));
      rcon::client_options o;
      o.port = cfg["rcon_port"].get<std::uint16_t>();
      o.password = cfg["rcon_password"].get<std::string>();
      c = std::make_shared<rcon::client>(o);
      if (auto connected = c->connect(); !connected)
        throw std::runtime_error("RCON to " + instance + ": " + connected.why());
      if (auto first = c->send("/sc rcon.print('disabled')").get(); !(first && *first == "disabled\n"))
        (void)c->send("/sc rcon.print('disabled')").get();
    }
    auto r = c->send(command).get();
    if (!r && attempt == 0 && r.why().rfind("disconnected", 0) == 0) {
      c.reset(); // the world restarted: connect again
      continue;
    }
    if (!r)
      throw std::runtime_error("RCON to " + instance + ": " + r.why());
    auto body = *r;
    if (!body.empty() && body.back() == '\n')
      body.pop_back();
    return body;
  }
}

std::string slave_fixture::lua(const std::string& instance, const std::string& code) { return command(instance, "/sc " + code); }

nlohmann::json slave_fixture::mod(const std::string& instance, const std::string& function, const nlohmann::json& arg) {
  auto call = clusterio_call(function, arg.dump());
  return nlohmann::json::parse(lua(instance, call.substr(4))); // strip "/sc "
}

pid_t slave_fixture::game_pid(const std::string& instance) {
  auto st = status(instance);
  pid_t pid = st.value("pid", 0);
  if (st.value("state", "") != "running" || st.value("instance_id", 0) == 0 || pid <= 0)
    return 0;
  auto& supervisor = procs_.count(instance) ? procs_.at(instance) : service_;
  if (!supervisor || !supervisor->running())
    return 0;
  // The game is alive (not a zombie) and a child of the slave process that runs it now.
  auto proc_status = slurp("/proc/" + std::to_string(pid) + "/status");
  auto parent = proc_status.find("PPid:");
  bool alive = !proc_status.empty() && proc_status.find("State:\tZ") == std::string::npos;
  return alive && parent != std::string::npos && std::atoi(proc_status.c_str() + parent + 5) == supervisor->pid() ? pid : 0;
}

void slave_fixture::wait_running(const std::string& instance, int timeout_ms) {
  if (eventually([&] { return game_pid(instance) > 0; }, std::chrono::milliseconds(timeout_ms)))
    return;
  throw std::runtime_error(instance + " did not come up:\n" + (procs_.count(instance) ? log(instance) : service_log()));
}

} // namespace clusterio::test
