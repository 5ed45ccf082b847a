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

#include "actors/slave/manager.hpp"
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

int fail(const failure& f) { return fail(f.what()); }

/// How long `start`/`run` wait for their games to stop after Ctrl-C before giving up on them.
constexpr auto shutdown_wait = std::chrono::seconds(45);

/// Who this slave is at the master: its credential (none in insecure demo mode) and its name.
struct identity {
  std::optional<credential> cred;
  std::string name;
};

result<identity> who_we_are(slave_config& cfg) {
  identity me{std::nullopt, cfg.name};
  if (!cfg.credential.empty()) {
    auto cred = load_credential(cfg.resolve(cfg.credential));
    if (!cred)
      return cred.error();
    me.cred = std::move(*cred);
    me.name = me.cred->name;
  } else {
    spdlog::warn("no credential configured: talking to the master without CURVE (insecure demo mode)");
  }
  if (auto linked = cfg.link_to(me.cred ? me.cred->master_address : ""); !linked)
    return linked.error().in(cfg.resolve(cfg.credential));
  return me;
}

/// Claims an instance for this process (held in `claims` until the games stopped), checks and
/// installs its mod, and says how to run it.
result<instance_params> prepare_instance(const slave_config& cfg, const std::string& name, const identity& me, const std::string& bin,
                                         bool exit_when_stopped, std::vector<file_claim>& claims) {
  auto layout = cfg.layout();
  auto inst = load_instance(layout, name);
  if (!inst)
    return inst.error();
  auto claim = file_claim::take(supervisor_claim_path(layout, name));
  if (!claim)
    return failure("instance '" + name + "' " +
                   (claim.error().code() == file_claim::held ? "is already run by another slave (" + claim.why() + ")" : "cannot be claimed: " + claim.why()));
  claims.push_back(std::move(*claim));
  if (auto mod = check_clusterio_mod(layout, name); !mod)
    return mod.error();
  auto mod = sync_instance_mod(layout, name);
  if (!mod)
    return mod.error().in("instance '" + name + "': cannot install the clusterio mod");
  for (auto& old : mod->removed)
    spdlog::info("instance '{}': removed {} from its mods", name, old);
  if (mod->copied)
    spdlog::info("instance '{}': installed {} into its mods", name, mod->zip);
  return instance_params{cfg.public_address, cfg.heartbeat_ms, cfg.sync_interval_ms, *inst, fs::absolute(instance_path(layout, name)).string(),
                         fs::absolute(bin).string(), me.name, exit_when_stopped};
}

/// Runs the actors until every game stopped: Ctrl-C or SIGTERM stops them.
int run_actors(const slave_config& cfg, const identity& me, std::vector<instance_params> params) {
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
  auto uplink = spawn_uplink(sys, {cfg.control_endpoint(), cfg.bus_endpoint(), me.cred, me.name}, sockets);
  auto count = params.size();
  auto manager = spawn_manager(sys, {std::move(params), shutdown_wait}, uplink);
  caf::scoped_actor self{sys};
  self->monitor(manager);
  spdlog::info("slave '{}' supervising {} instance(s); master {}", me.name, count, cfg.master_address());

  bool stopped = false;
  timespec poll{0, 200 * 1000 * 1000};
  while (!stopped) {
    if (::sigtimedwait(&stop_signals, nullptr, &poll) > 0)
      self->send(manager, stop_atom::value);
    self->receive([&](caf::down_msg&) { stopped = true; }, caf::after(std::chrono::milliseconds(0)) >> [] {});
  }
  caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
  return 0;
}

int supervise(slave_config cfg, const std::vector<std::string>& names, bool exit_when_stopped) {
  auto bin = factorio_binary(cfg.layout());
  if (!bin)
    return fail(bin.error());
  auto me = who_we_are(cfg);
  if (!me)
    return fail(me.error());
  std::vector<instance_params> params;
  std::vector<file_claim> claims; // held until this function returns, after every game stopped
  for (auto& name : names) {
    auto p = prepare_instance(cfg, name, *me, *bin, exit_when_stopped, claims);
    if (!p)
      return fail(p.error());
    params.push_back(std::move(*p));
  }
  return run_actors(cfg, *me, std::move(params));
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

/// `run`: every enabled instance, or the one INSTANCE names (created at first start).
int run_all(const slave_config& cfg) {
  auto layout = cfg.layout();
  std::vector<std::string> names;
  if (auto* inst = std::getenv("INSTANCE"); inst && *inst) {
    if (auto named = check_instance_name(inst); !named)
      return fail(named.error());
    if (!file_exists(instance_path(layout, inst) + "/config.json"))
      if (auto created = create_instance(layout, inst); !created)
        return fail(created.error());
    names.push_back(inst);
  } else {
    for (auto& n : list_instances(layout))
      if (auto i = load_instance(layout, n); i && i->enabled)
        names.push_back(n);
  }
  if (names.empty())
    return fail("no enabled instance to run (create one with `clusterio-slave create NAME`)");
  return supervise(cfg, names, false);
}

/// What a running instance's status.json holds (an empty object if it cannot be read).
nlohmann::json instance_status(const host_layout& layout, const std::string& name) {
  std::ifstream status(instance_path(layout, name) + "/status.json");
  auto j = nlohmann::json::parse(status, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

int stop_one(const slave_config& cfg, const std::string& name) {
  auto layout = cfg.layout();
  if (auto named = check_instance_name(name); !named)
    return fail(named.error());
  if (auto inst = load_instance(layout, name); !inst)
    return fail(inst.error());
  if (!supervisor_pid(layout, name))
    return fail("instance '" + name + "' is not running");
  if (auto asked = write_file_atomic(instance_path(layout, name) + "/stop-request", "stop\n"); !asked)
    return fail(asked.error());
  for (int i = 0; i < 600 && supervisor_pid(layout, name); ++i) {
    if (instance_status(layout, name).value("state", "") == "stopped")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::cout << "stopped instance '" << name << "'\n";
  return 0;
}

int list_all(const slave_config& cfg) {
  auto layout = cfg.layout();
  std::printf("%-24s %-9s %-6s %-6s %-7s %s\n", "NAME", "STATE", "GAME", "RCON", "PLAYERS", "UPS");
  for (auto& n : list_instances(layout)) {
    auto inst = load_instance(layout, n);
    if (!inst)
      continue;
    auto status = supervisor_pid(layout, n) ? instance_status(layout, n) : nlohmann::json{{"state", "stopped"}};
    std::printf("%-24s %-9s %-6d %-6d %-7d %.1f\n", n.c_str(), status.value("state", "unknown").c_str(), inst->game_port, inst->rcon_port,
                status.value("players", 0), status.value("ups", 0.0));
  }
  return 0;
}

int install_mod(const slave_config& cfg, const std::string& from) {
  auto zip = find_mod_zip(from);
  if (zip.empty() || !file_exists(zip))
    return fail("cannot find the clusterio mod zip" + (from.empty() ? std::string(" (build it, or pass --from)") : ": " + from));
  auto dir = cfg.resolve(cfg.shared_mods_dir);
  auto installed = install_mod_zip(zip, dir);
  if (!installed)
    return fail(installed.error());
  std::cout << "installed " << fs::path(zip).filename().string() << " into " << dir << "\n";
  for (auto& old : installed->removed)
    std::cout << "removed " << old << " from " << dir << "\n";
  return 0;
}

int set_key(slave_config& cfg, const std::string& key, const std::string& value) {
  if (auto set = set_slave_config_key(cfg, key, value); !set)
    return fail(set.error());
  if (auto saved = save_slave_config(cfg); !saved)
    return fail(saved.error());
  std::cout << key << " = " << slave_config_keys().to_json(cfg)[key].dump() << "\n";
  return 0;
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
  auto* config_show = config_cmd->add_subcommand("show", "Print the configuration (defaults included)");
  bool markdown = false;
  config_show->add_flag("--markdown", markdown, "Print the table of keys, defaults and meanings instead (as in the README)");
  auto* config_set = config_cmd->add_subcommand("set", "Set one key");
  config_set->add_option("KEY", key, "Key")->required();
  config_set->add_option("VALUE", value, "Value (JSON for numbers)")->required();

  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  if (config_show->parsed() && markdown) {
    std::cout << slave_config_keys().markdown(slave_config{}, false);
    return 0;
  }
  auto cfg = load_slave_config(config_path, !config_set->parsed());
  if (!cfg)
    return fail(cfg.error());

  if (create_cmd->parsed()) {
    if (auto created = create_instance(cfg->layout(), name); !created)
      return fail(created.error());
    std::cout << "created instance '" << name << "' in " << instance_path(cfg->layout(), name) << "\n";
    return 0;
  }
  if (start_cmd->parsed()) {
    if (auto named = check_instance_name(name); !named)
      return fail(named.error());
    return supervise(*cfg, {name}, true);
  }
  if (app.got_subcommand("run"))
    return run_all(*cfg);
  if (stop_cmd->parsed())
    return stop_one(*cfg, name);
  if (delete_cmd->parsed()) {
    if (auto deleted = delete_instance_dir(cfg->layout(), name); !deleted)
      return fail(deleted.error());
    std::cout << "deleted instance '" << name << "'\n";
    return 0;
  }
  if (app.got_subcommand("list"))
    return list_all(*cfg);
  if (mod_install->parsed())
    return install_mod(*cfg, mod_from);
  if (config_show->parsed()) {
    std::cout << slave_config_keys().to_json(*cfg).dump(2) << "\n";
    return 0;
  }
  if (config_set->parsed())
    return set_key(*cfg, key, value);
  return 0;
}
