// clusterio-slave: one per host. Creates, starts, supervises and deletes Factorio instances and
// links each to the master. See `clusterio-slave --help`.

#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/slave/instance.hpp"
#include "actors/slave/manager.hpp"
#include "actors/slave/slave_jobs.hpp"
#include "actors/slave/uplink.hpp"
#include "common/credentials.hpp"
#include "common/files.hpp"
#include "game/instance_dir.hpp"
#include "game/mod_files.hpp"
#include "slave/config.hpp"

namespace fs = std::filesystem;
using namespace clusterio;

namespace {

int fail(const std::string& why) {
  std::cerr << "clusterio-slave: " << why << "\n";
  return 1;
}

/// How long `start`/`run` wait for their games to stop after Ctrl-C before giving up on them.
constexpr auto shutdown_wait = std::chrono::seconds(45);

int supervise(slave_config cfg, const std::vector<std::string>& names, bool exit_when_stopped) {
  std::string why;
  auto bin = factorio_binary(cfg.layout(), why);
  if (bin.empty())
    return fail(why);
  std::optional<credential> cred;
  std::string identity = cfg.name;
  if (!cfg.credential.empty()) {
    cred = load_credential(cfg.resolve(cfg.credential), why);
    if (!cred)
      return fail(why);
    identity = cred->name;
  } else {
    spdlog::warn("no credential configured: talking to the master without CURVE (insecure demo mode)");
  }
  if (auto bad = cfg.link_to(cred ? cred->master_address : ""); !bad.empty())
    return fail(cfg.resolve(cfg.credential) + ": " + bad);
  std::vector<instance_params> params;
  std::vector<file_claim> claims; // held until this function returns, after every game stopped
  for (auto& name : names) {
    auto inst = load_instance(cfg.layout(), name, why);
    if (!inst)
      return fail(why);
    file_claim::refusal refused;
    auto claim = file_claim::take(supervisor_claim_path(cfg.layout(), name), refused);
    if (!claim)
      return fail("instance '" + name + "' " + (refused.held ? "is already run by another slave (" + refused.why + ")" : "cannot be claimed: " + refused.why));
    claims.push_back(std::move(*claim));
    if (auto missing = check_clusterio_mod(cfg.layout(), name); !missing.empty())
      return fail(missing);
    auto mod = sync_instance_mod(cfg.layout(), name);
    if (!mod.error.empty())
      return fail("instance '" + name + "': cannot install the clusterio mod: " + mod.error);
    for (auto& old : mod.removed)
      spdlog::info("instance '{}': removed {} from its mods", name, old);
    if (mod.copied)
      spdlog::info("instance '{}': installed {} into its mods", name, mod.zip);
    params.push_back({cfg.public_address, cfg.heartbeat_ms, cfg.sync_interval_ms, *inst, fs::absolute(instance_path(cfg.layout(), name)).string(), fs::absolute(bin).string(), identity, exit_when_stopped});
  }

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  caf::actor_system_config sys_cfg;
  sys_cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{sys_cfg};
  std::shared_ptr<uplink_sockets> sockets;
  auto uplink = spawn_uplink(sys, {cfg.control_endpoint(), cfg.bus_endpoint(), cred, identity}, sockets);
  auto count = params.size();
  auto manager = spawn_manager(sys, {std::move(params), shutdown_wait}, uplink);
  caf::scoped_actor self{sys};
  self->monitor(manager);
  spdlog::info("slave '{}' supervising {} instance(s); master {}", identity, count, cfg.master_address());

  bool done = false;
  timespec poll{0, 200 * 1000 * 1000};
  while (!done) {
    if (::sigtimedwait(&stop_signals, nullptr, &poll) > 0)
      self->send(manager, stop_atom::value);
    self->receive([&](caf::down_msg&) { done = true; }, caf::after(std::chrono::milliseconds(0)) >> [] {});
  }
  caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
  return 0;
}

std::string find_mod_zip(const std::string& from) {
  if (!from.empty())
    return from;
  // The build puts the mod next to the slave: <build>/mod/clusterio_<version>.zip.
  char self[4096];
  auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0)
    return {};
  auto build = fs::path(std::string(self, static_cast<std::size_t>(n))).parent_path().parent_path();
  for (auto& dir : {build / "mod", fs::path("/usr/share/clusterio/mod")})
    if (auto zip = newest_mod_zip(dir.string()); !zip.empty())
      return zip;
  return {};
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"clusterio-slave: runs Factorio instances and links them to the Clusterio master"};
  app.require_subcommand(1);
  std::string config_path = "slave.json", name, key, value, mod_from, log_level = "info";
  app.add_option("--config", config_path, "Slave config file (created by `config set`)")->envname("CLUSTERIO_SLAVE_CONFIG");
  app.add_option("--log-level", log_level, "trace, debug (includes the games' output), info, warn or error")
    ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  auto* create_cmd = app.add_subcommand("create", "Create an instance: folder, configs and a new map");
  create_cmd->add_option("NAME", name, "Instance name")->required();
  auto* start_cmd = app.add_subcommand("start", "Run one instance in the foreground until Ctrl-C");
  start_cmd->add_option("NAME", name, "Instance name")->required();
  app.add_subcommand("run", "Run every enabled instance, supervised (as a service); INSTANCE=name creates it first");
  auto* stop_cmd = app.add_subcommand("stop", "Stop a running instance (saves the map)");
  stop_cmd->add_option("NAME", name, "Instance name")->required();
  auto* delete_cmd = app.add_subcommand("delete", "Delete a stopped instance and its saves");
  delete_cmd->add_option("NAME", name, "Instance name")->required();
  app.add_subcommand("list", "List instances: name, state, ports, players");
  auto* mod_cmd = app.add_subcommand("mod", "Manage the clusterio mod");
  mod_cmd->require_subcommand(1);
  auto* mod_install = mod_cmd->add_subcommand("install", "Put the clusterio mod zip into sharedMods/ as its only version; every instance runs it from its next start");
  mod_install->add_option("--from", mod_from, "Mod zip clusterio_<version>.zip to install (default: the newest built with this slave)");
  auto* config_cmd = app.add_subcommand("config", "Show or change slave.json");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("show", "Print the configuration (defaults included)");
  auto* config_set = config_cmd->add_subcommand("set", "Set one key");
  config_set->add_option("KEY", key, "Key")->required();
  config_set->add_option("VALUE", value, "Value (JSON for numbers)")->required();

  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  slave_config cfg;
  if (auto why = load_slave_config(config_path, cfg, !config_set->parsed()); !why.empty())
    return fail(why);

  if (create_cmd->parsed()) {
    if (auto why = create_instance(cfg.layout(), name); !why.empty())
      return fail(why);
    std::cout << "created instance '" << name << "' in " << instance_path(cfg.layout(), name) << "\n";
    return 0;
  }
  if (start_cmd->parsed()) {
    if (auto bad = check_instance_name(name); !bad.empty())
      return fail(bad);
    return supervise(cfg, {name}, true);
  }
  if (app.got_subcommand("run")) {
    std::vector<std::string> names;
    if (auto* inst = std::getenv("INSTANCE"); inst && *inst) {
      if (auto bad = check_instance_name(inst); !bad.empty())
        return fail(bad);
      if (!file_exists(instance_path(cfg.layout(), inst) + "/config.json"))
        if (auto why = create_instance(cfg.layout(), inst); !why.empty())
          return fail(why);
      names.push_back(inst);
    } else {
      std::string why;
      for (auto& n : list_instances(cfg.layout()))
        if (auto i = load_instance(cfg.layout(), n, why); i && i->enabled)
          names.push_back(n);
    }
    if (names.empty())
      return fail("no enabled instance to run (create one with `clusterio-slave create NAME`)");
    return supervise(cfg, names, false);
  }
  if (stop_cmd->parsed()) {
    if (auto bad = check_instance_name(name); !bad.empty())
      return fail(bad);
    std::string why;
    if (!load_instance(cfg.layout(), name, why))
      return fail(why);
    if (!supervisor_pid(cfg.layout(), name))
      return fail("instance '" + name + "' is not running");
    write_file_atomic(instance_path(cfg.layout(), name) + "/stop-request", "stop\n");
    for (int i = 0; i < 600 && supervisor_pid(cfg.layout(), name); ++i) {
      std::ifstream status(instance_path(cfg.layout(), name) + "/status.json");
      auto j = nlohmann::json::parse(status, nullptr, false);
      if (!j.is_discarded() && j.value("state", "") == "stopped")
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::cout << "stopped instance '" << name << "'\n";
    return 0;
  }
  if (delete_cmd->parsed()) {
    if (auto why = delete_instance_dir(cfg.layout(), name); !why.empty())
      return fail(why);
    std::cout << "deleted instance '" << name << "'\n";
    return 0;
  }
  if (app.got_subcommand("list")) {
    std::printf("%-24s %-9s %-6s %-6s %-7s %s\n", "NAME", "STATE", "GAME", "RCON", "PLAYERS", "UPS");
    std::string why;
    for (auto& n : list_instances(cfg.layout())) {
      auto inst = load_instance(cfg.layout(), n, why);
      if (!inst)
        continue;
      std::string state = "stopped";
      double ups = 0;
      int players = 0;
      if (supervisor_pid(cfg.layout(), n)) {
        std::ifstream status(instance_path(cfg.layout(), n) + "/status.json");
        auto j = nlohmann::json::parse(status, nullptr, false);
        if (!j.is_discarded()) {
          state = j.value("state", "unknown");
          ups = j.value("ups", 0.0);
          players = j.value("players", 0);
        }
      }
      std::printf("%-24s %-9s %-6d %-6d %-7d %.1f\n", n.c_str(), state.c_str(), inst->game_port, inst->rcon_port, players, ups);
    }
    return 0;
  }
  if (mod_install->parsed()) {
    auto zip = find_mod_zip(mod_from);
    if (zip.empty() || !file_exists(zip))
      return fail("cannot find the clusterio mod zip" + (mod_from.empty() ? std::string(" (build it, or pass --from)") : ": " + mod_from));
    auto dir = cfg.resolve(cfg.shared_mods_dir);
    auto done = install_mod_zip(zip, dir);
    if (!done.error.empty())
      return fail(done.error);
    std::cout << "installed " << fs::path(zip).filename().string() << " into " << dir << "\n";
    for (auto& old : done.removed)
      std::cout << "removed " << old << " from " << dir << "\n";
    return 0;
  }
  if (config_cmd->got_subcommand("show")) {
    std::cout << to_json(cfg).dump(2) << "\n";
    return 0;
  }
  if (config_set->parsed()) {
    if (auto why = set_slave_config_key(cfg, key, value); !why.empty())
      return fail(why);
    if (auto why = save_slave_config(cfg); !why.empty())
      return fail(why);
    std::cout << key << " = " << to_json(cfg)[key].dump() << "\n";
    return 0;
  }
  return 0;
}
