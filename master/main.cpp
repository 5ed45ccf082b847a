// clusterio-master: one per cluster. Wires the actors together and runs them; all the logic is in
// actors/master/. See `clusterio-master --help`.

#include <csignal>
#include <iostream>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/master/gateway.hpp"
#include "actors/master/http.hpp"
#include "actors/master/registry.hpp"
#include "actors/master/signal_bus.hpp"
#include "actors/master/storage.hpp"
#include "common/config_flags.hpp"
#include "common/credentials.hpp"
#include "common/files.hpp"
#include "common/mod_zip.hpp"
#include "common/open_files.hpp"
#include "common/outbox.hpp"
#include "common/zmq_endpoint.hpp"
#include "control/instance_owners.hpp"
#include "control/metrics.hpp"
#include "master/config.hpp"
#include "messages/field.hpp"
#include "store/allow_list.hpp"
#include "store/web_users.hpp"

using namespace clusterio;

namespace {

int fail(const std::string& why) {
  std::cerr << "clusterio-master: " << why << "\n";
  return 1;
}

int fail(const failure& f) { return fail(f.what()); }

/// The master's key pair; none when insecure, which is said loudly.
result<key_pair> master_keys(const std::string& data_dir, const master_config& cfg) {
  if (!cfg.insecure)
    return load_or_create_master_key(data_dir);
  spdlog::warn("**************************************************************************");
  spdlog::warn("INSECURE MODE: no encryption, no authentication. Anyone who can reach ports");
  spdlog::warn("{} and {} can create and destroy items. Use this for a local demo only.", cfg.control_port, cfg.bus_port);
  spdlog::warn("**************************************************************************");
  return key_pair{};
}

/// The master's actors, wired to each other.
struct master_actors {
  storage_actor storage;
  registry_actor registry;
  signal_bus_actor signal_bus;
  commands_actor commands;

  void stop() const {
    caf::anon_send_exit(commands, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(signal_bus, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
  }
};

result<master_actors> spawn_actors(caf::actor_system& sys, const master_config& cfg, const std::string& db_path, outbox& out,
                                   instance_owners& owners, metrics& counters) {
  storage_config storage_cfg;
  storage_cfg.db_path = db_path;
  storage_cfg.full_sync = cfg.durability == "full";
  storage_cfg.inventory_interval_ms = cfg.inventory_interval_ms;
  storage_cfg.counters = &counters;
  storage_cfg.max_item_names = cfg.max_item_names;
  storage_cfg.policy = demand::parse_policy(cfg.policy).value_or(demand::policy_kind::fair); // validated before
  storage_cfg.policy_config.demand_window_ms = cfg.demand_window_ms;
  auto storage = spawn_storage(sys, storage_cfg, out);
  if (!storage)
    return storage.error();
  registry_config registry_cfg;
  registry_cfg.db_path = db_path;
  registry_cfg.instance_timeout_ms = cfg.instance_timeout_ms;
  registry_cfg.max_instances_per_slave = cfg.max_instances_per_slave;
  auto registry = spawn_registry(sys, registry_cfg, out, owners, {*storage});
  if (!registry) {
    caf::anon_send_exit(*storage, caf::exit_reason::user_shutdown);
    return registry.error();
  }
  commands_config commands_cfg;
  commands_cfg.db_path = db_path;
  commands_cfg.host_timeout_ms = cfg.instance_timeout_ms;
  commands_cfg.command_timeout_ms = cfg.command_timeout_ms;
  commands_cfg.command_resend_ms = cfg.command_resend_ms;
  auto commands = spawn_commands(sys, commands_cfg, out);
  if (!commands) {
    caf::anon_send_exit(*registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(*storage, caf::exit_reason::user_shutdown);
    return commands.error();
  }
  signal_bus_config bus_cfg;
  bus_cfg.source_timeout_ms = cfg.signal_source_timeout_ms;
  bus_cfg.max_kept_bytes = cfg.max_signal_bytes;
  bus_cfg.min_interval_ms = cfg.signal_min_interval_ms;
  return master_actors{*storage, *registry, spawn_signal_bus(sys, bus_cfg, out), *commands};
}

gateway_config gateway_config_of(const master_config& cfg, const key_pair& keys, const std::string& db_path, metrics& counters) {
  gateway_config gw;
  gw.control_endpoint = tcp_endpoint(cfg.bind, cfg.control_port);
  gw.bus_endpoint = tcp_endpoint(cfg.bind, cfg.bus_port);
  gw.insecure = cfg.insecure;
  gw.master_keys = keys;
  gw.db_path = db_path;
  gw.heartbeat_ms = cfg.heartbeat_ms;
  gw.counters = &counters;
  gw.max_msgs_per_s_per_client = cfg.max_msgs_per_s_per_client;
  gw.gather_us = static_cast<std::uint32_t>(cfg.commit_gather_us);
  return gw;
}

int run(const std::string& data_dir, master_config cfg) {
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  raise_open_files_limit();
  if (auto made = make_private_dir(data_dir); !made)
    return fail(made.error());
  if (struct stat dir {}; ::stat(data_dir.c_str(), &dir) == 0 && (dir.st_mode & 077) != 0)
    spdlog::warn("data directory {} is open to other users (mode {:o}); it holds the master's secrets: chmod 700 it", data_dir,
                 dir.st_mode & 0777);
  // Two masters on one database would each trust their own copy of the stock and overwrite each
  // other's commits. Held until this process ends, however it ends.
  auto claim = file_claim::take(data_dir + "/master.lock");
  if (!claim && claim.error().code() == file_claim::held)
    return fail("data directory " + data_dir + " is in use by another master (" + claim.why() +
                "); stop it first, or give this one another --data");
  if (!claim)
    return fail(claim.error());
  auto keys = master_keys(data_dir, cfg);
  if (!keys)
    return fail(keys.error());

  // Block the stop signals before CAF starts its threads, so that only sigwait() sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config sys_cfg;
  // Storage, registry, the signal bus and the gateway have threads of their own, and the web
  // server asks them from scoped actors: the scheduler runs none of the master's actors. Its one
  // worker waits on a condition variable when idle (work sharing) rather than polling with short
  // sleeps (work stealing), which cost thousands of wake-ups a second on a 2-core machine.
  sys_cfg.set("scheduler.max-threads", 1);
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{sys_cfg};
  outbox out;
  instance_owners owners;
  auto db_path = data_dir + "/master.db";
  metrics counters; // bumped by the gateway and storage, read by /metrics
  auto actors = spawn_actors(sys, cfg, db_path, out, owners, counters);
  if (!actors)
    return fail(actors.error());
  gateway gw(gateway_config_of(cfg, *keys, db_path, counters), out, owners,
             {actors->storage, actors->registry, actors->signal_bus, actors->commands});
  auto stop = [&](const failure& why) {
    gw.stop();
    actors->stop();
    return fail(why);
  };
  if (auto started = gw.start(); !started)
    return stop(started.error());
  if (cfg.admin_token.empty()) {
    auto token = load_or_create_admin_token(data_dir);
    if (!token)
      return stop(token.error());
    cfg.admin_token = *token;
  }
  auto mod_zip = bundled_mod_zip();
  if (mod_zip.empty())
    spdlog::warn("no clusterio mod zip found with this master: /api/mod and the page's mod download are off");
  http_server web(sys, {cfg.bind, cfg.http_port, cfg.webui_dir, cfg.admin_token, &machine_clock(), mod_zip, data_dir + "/master.db", cfg.viewers_sign_in},
                  {actors->storage, actors->registry, actors->signal_bus, actors->commands}, counters, out);
  if (auto started = web.start(); !started)
    return stop(started.error());
  spdlog::info("master ready: control port {}, bus port {}, http port {}, policy {}, durability {}{}", gw.control_port(), gw.bus_port(),
               web.port(), cfg.policy, cfg.durability, cfg.insecure ? ", INSECURE" : "");
  if (!cfg.insecure)
    spdlog::info("master public key: {}", keys->public_key);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("master: received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  web.stop();
  gw.stop();
  actors->stop();
  sys.await_all_actors_done();
  spdlog::info("master: stopped");
  return 0;
}

/// add-slave and add-tool. Without `replace`, neither an existing name nor an existing file is
/// touched: either would lock a running client out.
int add_client(const std::string& data_dir, const std::string& name, role r, std::string out_path, const std::string& master_address,
               bool replace) {
  if (auto label = wire::check_label(name); !label)
    return fail(label.error().in("bad client name '" + name + "'"));
  if (auto made = make_private_dir(data_dir); !made)
    return fail(made.error());
  auto master_keys = load_or_create_master_key(data_dir);
  if (!master_keys)
    return fail(master_keys.error());
  auto opened = allow_list::open(data_dir + "/master.db");
  if (!opened)
    return fail(opened.error());
  auto& clients = *opened;
  credential c{name, r, make_key_pair(), master_keys->public_key, master_address};
  if (out_path.empty())
    out_path = name + ".cred.json";
  if (replace) {
    // The file first: if it cannot be written, the old key keeps working.
    if (auto saved = save_credential(out_path, c); !saved)
      return fail(saved.error());
    if (auto replaced = clients->replace({name, r, c.keys.public_key}); !replaced)
      return fail(replaced.error());
  } else {
    if (file_exists(out_path))
      return fail(out_path + " exists: choose another --out, or add --replace to overwrite it");
    if (auto added = clients->add({name, r, c.keys.public_key}); !added)
      return fail(added.why() + ": choose another name, or add --replace to give it a new key (its current credential stops working)");
    if (auto saved = save_credential(out_path, c); !saved) {
      (void)clients->remove(name); // nobody holds that key
      return fail(saved.error());
    }
  }
  std::cout << "wrote " << out_path << " for " << to_string(r) << " '" << name << "'"
            << (replace ? " (any earlier key of that name is revoked)" : "") << ". Copy it to that host; it is a secret.\n";
  return 0;
}

/// add-user (password from standard input), remove-user, users.
int web_user_command(const std::string& data_dir, const std::string& what, const std::string& name, const std::string& role_text) {
  if (auto made = make_private_dir(data_dir); !made)
    return fail(made.error());
  auto users = web_users::open(data_dir + "/master.db");
  if (!users)
    return fail(users.error());
  if (what == "list") {
    auto all = (*users)->list();
    if (!all)
      return fail(all.error());
    for (auto& u : *all)
      std::cout << u.name << " " << to_string(u.role) << "\n";
    return 0;
  }
  if (auto label = wire::check_label(name); !label)
    return fail(label.error().in("bad user name '" + name + "'"));
  if (what == "remove") {
    if (auto removed = (*users)->remove(name); !removed)
      return fail(removed.error());
    std::cout << "removed web user '" << name << "'; their sessions end within 12 h (at once when the master restarts)\n";
    return 0;
  }
  std::string password;
  if (!std::getline(std::cin, password))
    return fail("give the password on standard input (one line), e.g. from a file: clusterio-master add-user " + name + " ... < pw.txt");
  if (!password.empty() && password.back() == '\r')
    password.pop_back();
  auto role = role_text == "admin" ? web_role::admin : web_role::viewer;
  if (auto set = (*users)->set(name, role, password); !set)
    return fail(set.error());
  std::cout << "web user '" << name << "' (" << to_string(role) << ") may sign in to the page\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"clusterio-master: storage, registry and signal bus of a Clusterio cluster"};
  app.require_subcommand(1);
  std::string data_dir = "data", config_path, out_path, master_address, role_text;
  bool replace = false, markdown = false;

  auto* run_cmd = app.add_subcommand("run", "Run the master; every config key is a flag too (--control-port for control_port)");
  run_cmd->add_option("--data", data_dir, "Data directory (database, keys)")->required();
  run_cmd->add_option("--config", config_path, "JSON config file (see config-defaults)");
  config_flags<master_config> flags(*run_cmd, master_config_keys());

  auto* keygen_cmd = app.add_subcommand("keygen", "Create the master's key pair (or print its public key)");
  keygen_cmd->add_option("--data", data_dir, "Data directory")->required();

  auto* slave_cmd = app.add_subcommand("add-slave", "Allow a slave and write its credential file");
  std::string client_name;
  slave_cmd->add_option("NAME", client_name, "Slave name")->required();
  slave_cmd->add_option("--data", data_dir, "Data directory")->required();
  slave_cmd->add_option("--out", out_path, "Credential file to write (default NAME.cred.json)");
  slave_cmd->add_option("--master", master_address, "Master address host:port written into the file");
  slave_cmd->add_flag("--replace", replace, "Give an existing name a new key and overwrite --out (its old credential stops working)");

  auto* tool_cmd = app.add_subcommand("add-tool", "Allow a tool and write its credential file");
  tool_cmd->add_option("NAME", client_name, "Tool name")->required();
  tool_cmd->add_option("--role", role_text, "subscriber, publisher or admin")->required()->check(CLI::IsMember({"subscriber", "publisher", "admin"}));
  tool_cmd->add_option("--data", data_dir, "Data directory")->required();
  tool_cmd->add_option("--out", out_path, "Credential file to write (default NAME.cred.json)");
  tool_cmd->add_option("--master", master_address, "Master address host:port written into the file");
  tool_cmd->add_flag("--replace", replace, "Give an existing name a new key and overwrite --out (its old credential stops working)");

  auto* remove_cmd = app.add_subcommand("remove-client", "Revoke a slave's or tool's credential");
  remove_cmd->add_option("NAME", client_name, "Client name")->required();
  remove_cmd->add_option("--data", data_dir, "Data directory")->required();

  auto* user_cmd = app.add_subcommand("add-user", "Let a person sign in to the web page: the password is read from standard input (one line)");
  std::string user_role = "viewer";
  user_cmd->add_option("NAME", client_name, "User name")->required();
  user_cmd->add_option("--role", user_role, "viewer (reads) or admin (runs instances)")->check(CLI::IsMember({"viewer", "admin"}));
  user_cmd->add_option("--data", data_dir, "Data directory")->required();
  auto* remove_user_cmd = app.add_subcommand("remove-user", "Remove a web user (their sessions end within 12 h, or at a restart)");
  remove_user_cmd->add_option("NAME", client_name, "User name")->required();
  remove_user_cmd->add_option("--data", data_dir, "Data directory")->required();
  auto* users_cmd = app.add_subcommand("users", "List the web users and their roles");
  users_cmd->add_option("--data", data_dir, "Data directory")->required();

  auto* defaults_cmd = app.add_subcommand("config-defaults", "Print the default config file");
  defaults_cmd->add_flag("--markdown", markdown, "Print the table of keys, flags and defaults instead (as in the README)");

  CLI11_PARSE(app, argc, argv);

  if (defaults_cmd->parsed()) {
    std::cout << (markdown ? master_config_keys().markdown(master_config{}, true) : master_config_defaults() + "\n");
    return 0;
  }
  if (run_cmd->parsed()) {
    // The file fills the config; flags given on the command line win.
    master_config cfg;
    if (!config_path.empty()) {
      auto from_file = load_master_config(config_path);
      if (!from_file)
        return fail(from_file.error());
      cfg = std::move(*from_file);
    }
    flags.apply(cfg);
    if (auto valid = cfg.validate(); !valid)
      return fail(valid.error());
    return run(data_dir, cfg);
  }
  if (keygen_cmd->parsed()) {
    if (auto made = make_private_dir(data_dir); !made)
      return fail(made.error());
    auto k = load_or_create_master_key(data_dir);
    if (!k)
      return fail(k.error());
    std::cout << k->public_key << "\n";
    return 0;
  }
  if (slave_cmd->parsed())
    return add_client(data_dir, client_name, role::slave, out_path, master_address, replace);
  if (tool_cmd->parsed())
    return add_client(data_dir, client_name, *parse_role(role_text), out_path, master_address, replace);
  if (user_cmd->parsed() || remove_user_cmd->parsed() || users_cmd->parsed())
    return web_user_command(data_dir, user_cmd->parsed() ? "add" : remove_user_cmd->parsed() ? "remove" : "list", client_name, user_role);
  if (remove_cmd->parsed()) {
    auto clients = allow_list::open(data_dir + "/master.db");
    if (!clients)
      return fail(clients.error());
    if (auto removed = (*clients)->remove(client_name); !removed)
      return fail(removed.error());
    std::cout << "revoked '" << client_name << "'; its connections are refused from now on\n";
    return 0;
  }
  return 0;
}
