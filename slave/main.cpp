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
#include "client/master_web.hpp"
#include "common/credentials.hpp"
#include "common/files.hpp"
#include "common/map_flags.hpp"
#include "common/open_files.hpp"
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
/// The command journal of `run` (game/command_journal.hpp), beside slave.json.
constexpr const char* command_journal_file = "command-journal.json";

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

/// Claims an instance for this process (the claim is held while it runs), checks and installs
/// its mod, and says how to run it.
/// Warns when an instance is about to run another mod zip than the master serves (to game
/// clients too): players could not join it, or its transfers could differ from the others'.
void compare_with_master(const std::string& instance, const std::string& zip, const std::optional<mod_identity>& master) {
  if (!master || zip.empty())
    return;
  auto ours = read_mod_zip(zip);
  if (ours && ours->first.sha256 == master->sha256)
    return;
  spdlog::warn("instance '{}' runs {} but the master serves {} ({}): players who download the master's cannot join it; "
               "`clusterio-slave mod install --from-master` installs the master's",
               instance, ours ? ours->first.file + " (sha256 " + ours->first.sha256.substr(0, 12) + "...)" : zip, master->file,
               master->sha256.substr(0, 12) + "...");
}

result<prepared_instance> prepare_instance(const slave_config& cfg, const std::string& name, const identity& me, const std::string& bin,
                                           bool exit_when_stopped, const std::optional<mod_identity>& master_mod) {
  auto layout = cfg.layout();
  auto inst = load_instance(layout, name);
  if (!inst)
    return inst.error();
  auto claim = file_claim::take(supervisor_claim_path(layout, name));
  if (!claim)
    return failure("instance '" + name + "' " +
                   (claim.error().code() == file_claim::held ? "is already run by another slave (" + claim.why() + ")" : "cannot be claimed: " + claim.why()));
  auto held = std::make_shared<file_claim>(std::move(*claim));
  if (auto mod = check_clusterio_mod(layout, name); !mod)
    return mod.error();
  auto mod = sync_instance_mod(layout, name);
  if (!mod)
    return mod.error().in("instance '" + name + "': cannot install the clusterio mod");
  for (auto& old : mod->removed)
    spdlog::info("instance '{}': removed {} from its mods", name, old);
  if (mod->copied)
    spdlog::info("instance '{}': installed {} into its mods", name, mod->zip);
  compare_with_master(name, mod->zip, master_mod);
  instance_params params{cfg.public_address, cfg.heartbeat_ms, cfg.sync_interval_ms, *inst, fs::absolute(instance_path(layout, name)).string(),
                         fs::absolute(bin).string(), me.name, exit_when_stopped};
  return prepared_instance{std::move(params), std::move(held)};
}

/// Runs the actors until every game stopped (or, with a host, until Ctrl-C or SIGTERM, which stop
/// every game).
int run_actors(const slave_config& cfg, const identity& me, std::vector<prepared_instance> instances, std::optional<host_control> host) {
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
  auto count = instances.size();
  bool takes_commands = host.has_value();
  auto manager = spawn_manager(sys, {std::move(instances), shutdown_wait, std::move(host)}, uplink);
  if (!manager) {
    caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
    return fail(manager.error());
  }
  caf::scoped_actor self{sys};
  self->monitor(*manager);
  spdlog::info("slave '{}' supervising {} instance(s){}; master {}", me.name, count, takes_commands ? ", taking the master's commands" : "",
               cfg.master_address());

  bool stopped = false;
  timespec poll{0, 200 * 1000 * 1000};
  while (!stopped) {
    if (::sigtimedwait(&stop_signals, nullptr, &poll) > 0)
      self->send(*manager, stop_atom::value);
    self->receive([&](caf::down_msg&) { stopped = true; }, caf::after(std::chrono::milliseconds(0)) >> [] {});
  }
  caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
  return 0;
}

/// Runs the named instances; with `take_commands` (`run`), also the master's commands for this
/// host's instances.
int supervise(slave_config cfg, const std::vector<std::string>& names, bool exit_when_stopped, bool take_commands) {
  raise_open_files_limit();
  auto bin = factorio_binary(cfg.layout());
  if (!bin)
    return fail(bin.error());
  auto me = who_we_are(cfg);
  if (!me)
    return fail(me.error());
  // The master's mod, to compare each instance's with (best effort: a master that does not
  // answer now does not keep the games from starting).
  std::optional<mod_identity> master_mod;
  if (auto id = fetch_mod_identity({cfg.master_host(), cfg.master_http_port, std::chrono::seconds(2)}))
    master_mod = *id;
  else
    spdlog::info("cannot compare the instances' mod with the master's: {}", id.why());
  std::vector<prepared_instance> instances;
  for (auto& name : names) {
    auto p = prepare_instance(cfg, name, *me, *bin, exit_when_stopped, master_mod);
    if (!p)
      return fail(p.error());
    instances.push_back(std::move(*p));
  }
  std::optional<host_control> host;
  if (take_commands)
    host = host_control{cfg.layout(), me->name, cfg.resolve(command_journal_file), std::chrono::milliseconds(cfg.heartbeat_ms),
                        [cfg, who = *me, bin = *bin, master_mod](const std::string& name) {
                          return prepare_instance(cfg, name, who, bin, false, master_mod);
                        }};
  return run_actors(cfg, *me, std::move(instances), std::move(host));
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
    spdlog::info("no enabled instance to run yet: waiting for the master's commands (or create one with `clusterio-slave create NAME`)");
  return supervise(cfg, names, false, true);
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

/// The zip `mod install` installs: --from, --from-master (downloaded into a temporary folder,
/// checked against the master's SHA-256), or the one that came with this slave.
result<std::string> mod_zip_to_install(const slave_config& cfg, const std::string& from, bool from_master, std::string& temp_dir) {
  if (!from_master)
    return from.empty() ? bundled_mod_zip() : from;
  master_web web{cfg.master_host(), cfg.master_http_port};
  auto id = fetch_mod_identity(web);
  if (!id)
    return id.error();
  auto bytes = fetch_mod_zip(web, *id);
  if (!bytes)
    return bytes.error();
  temp_dir = (fs::temp_directory_path() / ("clusterio-mod-" + std::to_string(::getpid()))).string();
  if (auto made = make_dirs(temp_dir); !made)
    return made.error();
  auto zip = temp_dir + "/" + id->file;
  if (auto written = write_file_atomic(zip, *bytes); !written)
    return written.error();
  std::cout << "downloaded " << id->file << " (sha256 " << id->sha256 << ") from " << web.url() << "\n";
  return zip;
}

int install_mod(const slave_config& cfg, const std::string& from, bool from_master) {
  std::string temp_dir;
  auto zip = mod_zip_to_install(cfg, from, from_master, temp_dir);
  auto cleanup = [&] {
    std::error_code ec;
    if (!temp_dir.empty())
      fs::remove_all(temp_dir, ec);
  };
  if (!zip) {
    cleanup();
    return fail(zip.error().in("cannot get the master's mod"));
  }
  if (zip->empty() || !file_exists(*zip))
    return fail("cannot find the clusterio mod zip" + (from.empty() ? std::string(" (build it, or pass --from)") : ": " + from));
  auto dir = cfg.resolve(cfg.shared_mods_dir);
  auto installed = install_mod_zip(*zip, dir);
  cleanup();
  if (!installed)
    return fail(installed.error());
  std::cout << "installed " << fs::path(*zip).filename().string() << " into " << dir << "\n";
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
  map_options map;
  add_map_flags(*create_cmd, map.map_gen_settings, map.map_settings, map.seed);
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
  bool from_master = false;
  auto* from_opt = mod_install->add_option("--from", mod_from, "Mod zip clusterio_<version>.zip to install (default: the newest built with this slave)");
  mod_install->add_flag("--from-master", from_master, "Download the mod zip the master serves (its web port: master_http_port) and install it")
    ->excludes(from_opt);
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
    if (auto created = create_instance(cfg->layout(), name, map); !created)
      return fail(created.error());
    std::cout << "created instance '" << name << "' in " << instance_path(cfg->layout(), name) << "\n";
    return 0;
  }
  if (start_cmd->parsed()) {
    if (auto named = check_instance_name(name); !named)
      return fail(named.error());
    return supervise(*cfg, {name}, true, false);
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
    return install_mod(*cfg, mod_from, from_master);
  if (config_show->parsed()) {
    std::cout << slave_config_keys().to_json(*cfg).dump(2) << "\n";
    return 0;
  }
  if (config_set->parsed())
    return set_key(*cfg, key, value);
  return 0;
}
