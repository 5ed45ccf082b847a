// clusterio-master: one per cluster. Wires the actors together and runs them; all the logic is in
// actors/. See `clusterio-master --help`.

#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "store/allow_list.hpp"
#include "actors/master/demand.hpp"
#include "actors/master/gateway.hpp"
#include "actors/master/http.hpp"
#include "control/metrics.hpp"
#include "control/instance_owners.hpp"
#include "actors/master/registry.hpp"
#include "actors/master/signal_bus.hpp"
#include "actors/master/storage.hpp"
#include "common/credentials.hpp"
#include "common/files.hpp"
#include "common/outbox.hpp"
#include "common/zmq_endpoint.hpp"
#include "master/config.hpp"
#include "messages/field.hpp"

using namespace clusterio;

namespace {

int fail(const std::string& why) {
  std::cerr << "clusterio-master: " << why << "\n";
  return 1;
}

int run(const std::string& data_dir, master_config cfg) {
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  if (auto why = make_dirs(data_dir); !why.empty())
    return fail(why);
  std::string why;
  // Two masters on one database would each trust their own copy of the stock and overwrite each
  // other's commits. Held until this process ends, however it ends.
  file_claim::refusal refused;
  auto claim = file_claim::take(data_dir + "/master.lock", refused);
  if (!claim && refused.held)
    return fail("data directory " + data_dir + " is in use by another master (" + refused.why +
                "); stop it first, or give this one another --data");
  if (!claim)
    return fail(refused.why);
  key_pair keys;
  if (!cfg.insecure) {
    auto k = load_or_create_master_key(data_dir, why);
    if (!k)
      return fail(why);
    keys = *k;
  } else {
    spdlog::warn("**************************************************************************");
    spdlog::warn("INSECURE MODE: no encryption, no authentication. Anyone who can reach ports");
    spdlog::warn("{} and {} can create and destroy items. Use this for a local demo only.", cfg.control_port, cfg.bus_port);
    spdlog::warn("**************************************************************************");
  }
  demand::policy_kind policy;
  demand::parse_policy(cfg.policy, policy);

  // Block the stop signals before CAF starts its threads, so that only sigwait() sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  caf::actor_system_config sys_cfg;
  // Storage, registry and the gateway have threads of their own; the scheduler runs only the
  // light actors (demand). Its one worker waits on a condition variable when idle (work
  // sharing) rather than polling with short sleeps (work stealing), which cost thousands of
  // wake-ups a second on a 2-core machine.
  sys_cfg.set("scheduler.max-threads", 1);
  sys_cfg.set("scheduler.policy", caf::atom("sharing"));
  caf::actor_system sys{sys_cfg};
  outbox out;
  instance_owners owners;
  auto db_path = data_dir + "/master.db";

  metrics counters; // bumped by the gateway and storage, read by /metrics
  auto storage = spawn_storage(sys, {db_path, cfg.durability == "full", cfg.inventory_interval_ms, &counters, cfg.max_item_names}, out, why);
  if (!storage)
    return fail(why);
  auto demand = spawn_demand(sys, policy, demand::policy_config{cfg.demand_window_ms}, storage);
  auto registry = spawn_registry(sys, {db_path, cfg.instance_timeout_ms}, out, owners, storage, demand, why);
  if (!registry) {
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
    return fail(why);
  }
  gateway_config gw_cfg;
  gw_cfg.control_endpoint = tcp_endpoint(cfg.bind, cfg.control_port);
  gw_cfg.bus_endpoint = tcp_endpoint(cfg.bind, cfg.bus_port);
  gw_cfg.insecure = cfg.insecure;
  gw_cfg.master_keys = keys;
  gw_cfg.db_path = db_path;
  gw_cfg.heartbeat_ms = cfg.heartbeat_ms;
  gw_cfg.counters = &counters;
  gw_cfg.max_msgs_per_s_per_client = cfg.max_msgs_per_s_per_client;
  signal_bus_config bus_cfg;
  bus_cfg.source_timeout_ms = cfg.signal_source_timeout_ms;
  auto signal_bus = spawn_signal_bus(sys, bus_cfg, out);
  gateway gw(gw_cfg, out, owners, {storage, demand, registry, signal_bus});
  auto stop_actors = [&] {
    for (auto& a : {signal_bus, registry, demand, storage})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  };
  if (auto err = gw.start(); !err.empty()) {
    stop_actors();
    return fail(err);
  }
  if (cfg.admin_token.empty()) {
    auto token = load_or_create_admin_token(data_dir, why);
    if (!token) {
      gw.stop();
      stop_actors();
      return fail(why);
    }
    cfg.admin_token = *token;
  }
  http_server web(sys, {cfg.bind, cfg.http_port, cfg.webui_dir, cfg.admin_token}, {storage, registry, signal_bus}, counters, out);
  if (auto err = web.start(); !err.empty()) {
    gw.stop();
    stop_actors();
    return fail(err);
  }
  spdlog::info("master ready: control port {}, bus port {}, http port {}, policy {}, durability {}{}", gw.control_port(), gw.bus_port(),
               web.port(), cfg.policy, cfg.durability, cfg.insecure ? ", INSECURE" : "");
  if (!cfg.insecure)
    spdlog::info("master public key: {}", keys.public_key);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  spdlog::info("master: received {}, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
  web.stop();
  gw.stop();
  stop_actors();
  sys.await_all_actors_done();
  spdlog::info("master: stopped");
  return 0;
}

/// add-slave and add-tool. Without `replace`, neither an existing name nor an existing file is
/// touched: either would lock a running client out.
int add_client(const std::string& data_dir, const std::string& name, role r, std::string out_path, const std::string& master_address,
               bool replace) {
  if (auto bad = wire::check_label(name); !bad.empty())
    return fail("bad client name '" + name + "': " + bad);
  if (auto why = make_dirs(data_dir); !why.empty())
    return fail(why);
  std::string why;
  auto master_keys = load_or_create_master_key(data_dir, why);
  if (!master_keys)
    return fail(why);
  auto clients = allow_list::open(data_dir + "/master.db", why);
  if (!clients)
    return fail(why);
  credential c{name, r, make_key_pair(), master_keys->public_key, master_address};
  if (out_path.empty())
    out_path = name + ".cred.json";
  if (replace) {
    // The file first: if it cannot be written, the old key keeps working.
    if (auto err = save_credential(out_path, c); !err.empty())
      return fail(err);
    if (auto err = clients->replace({name, r, c.keys.public_key}); !err.empty())
      return fail(err);
  } else {
    if (file_exists(out_path))
      return fail(out_path + " exists: choose another --out, or add --replace to overwrite it");
    if (auto err = clients->add({name, r, c.keys.public_key}); !err.empty())
      return fail(err + ": choose another name, or add --replace to give it a new key (its current credential stops working)");
    if (auto err = save_credential(out_path, c); !err.empty()) {
      clients->remove(name); // nobody holds that key
      return fail(err);
    }
  }
  std::cout << "wrote " << out_path << " for " << to_string(r) << " '" << name << "'"
            << (replace ? " (any earlier key of that name is revoked)" : "") << ". Copy it to that host; it is a secret.\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"clusterio-master: storage, demand, registry and signal bus of a Clusterio cluster"};
  app.require_subcommand(1);
  std::string data_dir = "data", config_path, out_path, master_address, role_text;
  bool replace = false;
  master_config cfg;

  auto* run_cmd = app.add_subcommand("run", "Run the master");
  run_cmd->add_option("--data", data_dir, "Data directory (database, keys)")->required();
  run_cmd->add_option("--config", config_path, "JSON config file (see config-defaults)");
  auto* o_bind = run_cmd->add_option("--bind", cfg.bind, "Address to listen on (0.0.0.0, ::, 127.0.0.1, ::1, ...)");
  auto* o_control = run_cmd->add_option("--control-port", cfg.control_port, "Control (ROUTER) port");
  auto* o_bus = run_cmd->add_option("--bus-port", cfg.bus_port, "Bus (PUB) port");
  auto* o_policy = run_cmd->add_option("--policy", cfg.policy, "Demand policy: fair, first-come or dole");
  auto* o_durability = run_cmd->add_option("--durability", cfg.durability, "full (fsync) or process (survive kill -9 only)");
  auto* o_insecure = run_cmd->add_flag("--insecure", cfg.insecure, "No CURVE: local demo only");
  auto* o_log = run_cmd->add_option("--log-level", cfg.log_level, "trace, debug, info, warn or error");
  auto* o_http = run_cmd->add_option("--http-port", cfg.http_port, "Web interface and /metrics port (0: ephemeral)");
  auto* o_webui = run_cmd->add_option("--webui", cfg.webui_dir, "Folder with the web page (default: the source tree's webui/)");

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

  app.add_subcommand("config-defaults", "Print the default config file");

  CLI11_PARSE(app, argc, argv);

  if (app.got_subcommand("config-defaults")) {
    std::cout << master_config_defaults() << "\n";
    return 0;
  }
  if (run_cmd->parsed()) {
    if (!config_path.empty()) {
      // The file fills the config; flags given on the command line win.
      master_config from_file;
      if (auto why = load_master_config(config_path, from_file); !why.empty())
        return fail(why);
      auto flags = cfg;
      cfg = from_file;
      if (o_bind->count()) cfg.bind = flags.bind;
      if (o_control->count()) cfg.control_port = flags.control_port;
      if (o_bus->count()) cfg.bus_port = flags.bus_port;
      if (o_policy->count()) cfg.policy = flags.policy;
      if (o_durability->count()) cfg.durability = flags.durability;
      if (o_insecure->count()) cfg.insecure = true;
      if (o_log->count()) cfg.log_level = flags.log_level;
      if (o_http->count()) cfg.http_port = flags.http_port;
      if (o_webui->count()) cfg.webui_dir = flags.webui_dir;
    }
    if (auto bad = cfg.validate(); !bad.empty())
      return fail(bad);
    return run(data_dir, cfg);
  }
  if (keygen_cmd->parsed()) {
    if (auto why = make_dirs(data_dir); !why.empty())
      return fail(why);
    std::string why;
    auto k = load_or_create_master_key(data_dir, why);
    if (!k)
      return fail(why);
    std::cout << k->public_key << "\n";
    return 0;
  }
  if (slave_cmd->parsed())
    return add_client(data_dir, client_name, role::slave, out_path, master_address, replace);
  if (tool_cmd->parsed())
    return add_client(data_dir, client_name, *parse_role(role_text), out_path, master_address, replace);
  if (remove_cmd->parsed()) {
    std::string why;
    auto clients = allow_list::open(data_dir + "/master.db", why);
    if (!clients)
      return fail(why);
    if (auto err = clients->remove(client_name); !err.empty())
      return fail(err);
    std::cout << "revoked '" << client_name << "'; its connections are refused from now on\n";
    return 0;
  }
  return 0;
}
