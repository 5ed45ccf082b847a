#include "actors/slave/manager.hpp"

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/base64.hpp"
#include "common/warning_limit.hpp"
#include "game/command_journal.hpp"
#include "game/save_files.hpp"

namespace clusterio {

namespace {

using wire::error_code;

/// A console line's reply waits this long at most (the RCON link times out before).
constexpr auto console_timeout = std::chrono::seconds(30);

/// Internal: the end of the shutdown wait, the host report's timer.
using manager_impl = manager_actor::extend<caf::reacts_to<timer_atom>, caf::reacts_to<host_tick_atom>>;

using result_promise = caf::typed_response_promise<wire::command_result>;

struct running_instance {
  supervisor_actor actor;
  std::shared_ptr<file_claim> claim;
  std::string dir;
  bool restart = false;                ///< start it again once it ended (a restart command)
  std::vector<wire::command_result> on_end; ///< commands that are done when it ended (stop, restart)
};

struct manager_state {
  static inline const char* name = "manager";
  std::map<std::string, running_instance> running;
  std::optional<host_control> host;
  std::optional<command_journal> journal; ///< with a host
  /// Commands being applied in this process, and who waits for each.
  std::unordered_map<std::uint64_t, std::vector<result_promise>> waiting;
  uplink_actor uplink;
  bool stopping = false;
  /// Of the master's refusals of this host's report, by error code: a refusal repeats with every
  /// report (a second host under this slave's credential is refused until it goes), so one line
  /// a minute, then the count.
  warning_limit refusals{machine_clock(), 1};
};

using manager_pointer = manager_impl::stateful_pointer<manager_state>;

/// What status.json of an instance says (an empty object if it cannot be read).
nlohmann::json status_of(const std::string& dir) {
  std::ifstream in(dir + "/status.json");
  auto j = nlohmann::json::parse(in, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// ---- instances -------------------------------------------------------------------------------

void run_instance(manager_pointer self, prepared_instance p) {
  auto name = p.params.inst.name;
  auto dir = p.params.dir;
  std::remove((dir + "/stop-request").c_str()); // a request meant for an earlier run
  auto a = spawn_supervisor(self->system(), std::move(p.params), &machine_clock(), self->state.uplink);
  self->monitor(a);
  self->state.running[name] = running_instance{a, std::move(p.claim), dir, false, {}};
}

/// The host's instances, running or not, as the master lists them.
std::vector<wire::hosted_instance> hosted(manager_pointer self) {
  auto& st = self->state;
  std::vector<wire::hosted_instance> out;
  for (auto& name : list_instances(st.host->layout)) {
    if (out.size() == wire::max_host_instances)
      break;
    auto inst = load_instance(st.host->layout, name);
    if (!inst || !wire::check_label(name))
      continue;
    std::string state = "stopped";
    if (st.running.count(name) || supervisor_pid(st.host->layout, name))
      state = status_of(instance_path(st.host->layout, name)).value("state", "starting");
    if (!wire::check_label(state))
      state = "unknown";
    out.push_back({name, state, static_cast<std::uint64_t>(std::clamp(inst->game_port, 0, 65535)), ""});
  }
  return out;
}

void report_host(manager_pointer self) {
  auto& st = self->state;
  if (!st.host)
    return;
  st.refusals.report_suppressed();
  self->request(st.uplink, uplink_answer_timeout, call_atom::value, wire::message{wire::host_report{hosted(self)}})
    .then(
      [self](wire::message& m) {
        auto* e = std::get_if<wire::error_reply>(&m);
        if (!e || e->code == error_code::unavailable)
          return;
        if (self->state.refusals.admit(wire::to_string(e->code), "the master refused this host's report"))
          spdlog::warn("the master refused this host's report: {}: {}", wire::to_string(e->code), e->message);
      },
      [](caf::error&) {});
}

// ---- commands ----------------------------------------------------------------------------------

wire::command_result result_of(const manager_state& st, const wire::instance_command& c) {
  return wire::result_of(c, st.host ? st.host->slave_name : c.slave);
}

/// A command's result, to the journal and to everyone waiting for it.
void complete(manager_pointer self, wire::command_result r) {
  auto& st = self->state;
  r.message = wire::fit_text(r.message);
  r.output = wire::fit_text(r.output);
  if (auto saved = st.journal->finish(r); !saved)
    spdlog::error("{}; command {} could be applied again if the master sends it again", saved.why(), r.command_id);
  spdlog::info("command {}: {} '{}': {}", r.command_id, r.action, r.name, r.error.empty() ? r.message : r.error + ": " + r.message);
  if (auto w = st.waiting.find(r.command_id); w != st.waiting.end()) {
    for (auto& p : w->second)
      p.deliver(r);
    st.waiting.erase(w);
  }
  report_host(self);
}

void fail(manager_pointer self, wire::command_result r, error_code code, std::string why) {
  complete(self, wire::failed(std::move(r), code, std::move(why)));
}

/// A failure whose code is a wire::error_code (game/'s instance folders and saves give one).
error_code code_of(const failure& f) { return wire::code_of(f, error_code::unavailable); }

void succeed(manager_pointer self, wire::command_result r, std::string what) {
  r.message = std::move(what);
  complete(self, std::move(r));
}

/// Claims, prepares and runs an instance: "" when it started, else why not.
std::string start_instance(manager_pointer self, const std::string& name) {
  auto& st = self->state;
  auto prepared = st.host->prepare(name);
  if (!prepared)
    return prepared.why();
  run_instance(self, std::move(*prepared));
  return {};
}

/// Who else runs an instance of this host: another slave process (`start NAME`), by pid.
std::optional<int> other_process(const manager_state& st, const std::string& name) {
  if (st.running.count(name))
    return std::nullopt;
  return supervisor_pid(st.host->layout, name);
}

void create(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto& layout = self->state.host->layout;
  if (auto named = check_instance_name(c.name); !named)
    return fail(self, r, error_code::invalid, named.why());
  if (load_instance(layout, c.name))
    return fail(self, r, error_code::conflict, "instance '" + c.name + "' exists already");
  auto with_scenario = layout;
  if (!c.scenario.empty())
    with_scenario.scenario = c.scenario;
  if (auto made = create_instance(with_scenario, c.name, {c.map_gen_settings, c.map_settings, c.map_gen_seed}); !made)
    return fail(self, r, error_code::unavailable, "cannot create instance '" + c.name + "': " + made.why());
  // Stopped until started: `clusterio-slave create` makes instances that `run` starts, but one
  // the master created waits for its start command, across a slave restart too.
  if (auto disabled = set_instance_enabled(layout, c.name, false); !disabled)
    spdlog::warn("instance '{}': created, but a restarted slave will start it: {}", c.name, disabled.why());
  succeed(self, r, "created instance '" + c.name + "'" + (c.scenario.empty() ? "" : " with scenario '" + c.scenario + "'"));
}

void start(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto& st = self->state;
  if (st.running.count(c.name))
    return fail(self, r, error_code::conflict, "instance '" + c.name + "' is running already");
  if (auto inst = load_instance(st.host->layout, c.name); !inst)
    return fail(self, r, error_code::not_found, inst.why());
  if (auto pid = other_process(st, c.name))
    return fail(self, r, error_code::conflict, "instance '" + c.name + "' is run by another slave process (pid " + std::to_string(*pid) + ")");
  if (auto why = start_instance(self, c.name); !why.empty())
    return fail(self, r, error_code::unavailable, "cannot start instance '" + c.name + "': " + why);
  if (auto enabled = set_instance_enabled(st.host->layout, c.name, true); !enabled)
    spdlog::warn("instance '{}': started, but a restarted slave will not start it again: {}", c.name, enabled.why());
  succeed(self, r, "started instance '" + c.name + "'");
}

/// stop and restart: the command is done once the supervisor ended (see the down handler).
void stop(manager_pointer self, const wire::instance_command& c, wire::command_result r, bool again) {
  auto& st = self->state;
  auto it = st.running.find(c.name);
  if (it == st.running.end()) {
    if (auto pid = other_process(st, c.name))
      return fail(self, r, error_code::conflict, "instance '" + c.name + "' is run by another slave process (pid " + std::to_string(*pid) + ")");
    if (auto inst = load_instance(st.host->layout, c.name); !inst)
      return fail(self, r, error_code::not_found, inst.why());
    return fail(self, r, error_code::conflict, "instance '" + c.name + "' is not running" + (again ? " (start it instead)" : ""));
  }
  if (!again)
    if (auto disabled = set_instance_enabled(st.host->layout, c.name, false); !disabled)
      spdlog::warn("instance '{}': stopping, but a restarted slave will start it again: {}", c.name, disabled.why());
  it->second.restart = it->second.restart || again;
  it->second.on_end.push_back(std::move(r));
  self->send(it->second.actor, stop_atom::value);
}

void remove(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto& st = self->state;
  auto& layout = st.host->layout;
  if (st.running.count(c.name) || other_process(st, c.name))
    return fail(self, r, error_code::conflict, "instance '" + c.name + "' is running: stop it first");
  if (auto inst = load_instance(layout, c.name); !inst)
    return fail(self, r, error_code::not_found, inst.why());
  std::uint64_t id = status_of(instance_path(layout, c.name)).value("instance_id", std::uint64_t{0});
  if (auto deleted = delete_instance_dir(layout, c.name); !deleted)
    return fail(self, r, error_code::unavailable, deleted.why());
  if (id > 0) // the master forgets it too; its unconfirmed grants go back to storage
    self->request(st.uplink, uplink_answer_timeout, call_atom::value, wire::message{wire::delete_instance{id}})
      .then(
        [id](wire::message& m) {
          if (auto* e = std::get_if<wire::error_reply>(&m))
            spdlog::warn("the master did not forget instance {}: {} (`clusterio-ctl delete-instance {}` does it)", id, e->message, id);
        },
        [](caf::error&) {});
  succeed(self, r, "deleted instance '" + c.name + "'");
}

void console(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto it = self->state.running.find(c.name);
  if (it == self->state.running.end())
    return fail(self, r, error_code::conflict, "instance '" + c.name + "' is not running");
  self->request(it->second.actor, console_timeout, console_atom::value, c.text)
    .then(
      [self, r](rcon::reply& answer) mutable {
        if (!answer)
          return fail(self, std::move(r), error_code::unavailable, answer.why());
        r.output = std::move(*answer);
        if (!r.output.empty() && r.output.back() == '\n') // rcon.print's line end
          r.output.pop_back();
        succeed(self, std::move(r), "sent to instance '" + r.name + "'");
      },
      [self, r](caf::error& e) { fail(self, r, error_code::unavailable, "no reply from the game: " + caf::to_string(e)); });
}

/// `set`: changes settings; a running instance takes them at its next start.
void configure(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto& st = self->state;
  if (c.settings.empty())
    return fail(self, r, error_code::invalid, "'set' needs at least one setting");
  if (auto changed = change_instance_settings(st.host->layout, c.name, c.settings); !changed)
    return fail(self, r, code_of(changed.error()), "instance '" + c.name + "': " + changed.why());
  r.settings = instance_settings(st.host->layout, c.name).value_or({});
  std::string keys;
  for (auto& s : c.settings)
    keys += (keys.empty() ? "" : ", ") + s.key;
  succeed(self, r, "changed " + keys + " of instance '" + c.name + "'" + (st.running.count(c.name) ? " (taken at its next start)" : ""));
}

/// A result refused before anything was applied.
wire::command_result refused(wire::command_result r, error_code code, std::string why) { return wire::failed(std::move(r), code, std::move(why)); }

/// `save-upload`: one piece of a save; the last one puts it into saves/, where the next start
/// loads it (the newest save). Only that one is journaled (see on_command).
wire::command_result upload(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto& st = self->state;
  if (st.running.count(c.name) || other_process(st, c.name))
    return refused(std::move(r), error_code::conflict, "instance '" + c.name + "' is running: stop it first (the game saves over its save on the way out)");
  if (auto inst = load_instance(st.host->layout, c.name); !inst)
    return refused(std::move(r), error_code::not_found, inst.why());
  auto bytes = base64_decode(c.data);
  if (!bytes)
    return refused(std::move(r), error_code::invalid, "data is not base64");
  auto wrote = write_save_piece(instance_path(st.host->layout, c.name), c.save, c.offset, c.size, c.sha256, *bytes);
  if (!wrote)
    return refused(std::move(r), code_of(wrote.error()), "instance '" + c.name + "': " + wrote.why());
  r.save = c.save;
  r.offset = wrote->received;
  r.size = c.size;
  r.message = wrote->complete ? "uploaded save '" + c.save + "' (" + std::to_string(c.size) + " bytes) to instance '" + c.name +
                                  "': its next start loads it"
                              : std::to_string(wrote->received) + " of " + std::to_string(c.size) + " bytes received";
  return r;
}

void apply(manager_pointer self, const wire::instance_command& c) {
  auto r = result_of(self->state, c);
  if (c.action == "create")
    return create(self, c, std::move(r));
  if (c.action == "start")
    return start(self, c, std::move(r));
  if (c.action == "stop" || c.action == "restart")
    return stop(self, c, std::move(r), c.action == "restart");
  if (c.action == "delete")
    return remove(self, c, std::move(r));
  if (c.action == "command")
    return console(self, c, std::move(r));
  if (c.action == "set")
    return configure(self, c, std::move(r));
  if (c.action == "save-upload")
    return complete(self, upload(self, c, std::move(r)));
  fail(self, std::move(r), error_code::invalid, "unknown action '" + c.action + "'");
}

/// `settings`: an instance's settings (read only: not journaled).
wire::command_result read_settings(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto settings = instance_settings(self->state.host->layout, c.name);
  if (!settings)
    return refused(std::move(r), code_of(settings.error()), settings.why());
  r.settings = std::move(*settings);
  r.message = std::to_string(r.settings.size()) + " setting(s)";
  return r;
}

/// `save-download`: a piece of a save (read only: not journaled).
wire::command_result download(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto& layout = self->state.host->layout;
  if (auto inst = load_instance(layout, c.name); !inst)
    return refused(std::move(r), error_code::not_found, inst.why());
  auto piece = read_save_piece(instance_path(layout, c.name), c.save, c.offset);
  if (!piece)
    return refused(std::move(r), code_of(piece.error()), "instance '" + c.name + "': " + piece.why());
  r.save = piece->save;
  r.size = piece->size;
  r.offset = c.offset;
  r.sha256 = piece->sha256;
  r.data = base64_encode(piece->bytes);
  r.message = std::to_string(piece->bytes.size()) + " bytes of save '" + piece->save + "' from " + std::to_string(c.offset) + " of " +
              std::to_string(piece->size);
  return r;
}

/// `log`: the running game's latest output lines (read only: not journaled).
caf::result<wire::command_result> console_log(manager_pointer self, const wire::instance_command& c, wire::command_result r) {
  auto it = self->state.running.find(c.name);
  if (it == self->state.running.end())
    return refused(std::move(r), error_code::conflict, "instance '" + c.name + "' is not running here: its output is kept while it runs");
  auto p = self->make_response_promise<wire::command_result>();
  auto after = c.after;
  self->request(it->second.actor, console_timeout, console_log_atom::value, c.after, std::min<std::uint64_t>(c.count, wire::max_log_lines))
    .then(
      [p, r, after](std::vector<wire::console_line>& lines) mutable {
        r.next_line = lines.empty() ? after : lines.back().seq;
        r.message = std::to_string(lines.size()) + " line(s)";
        r.lines = std::move(lines);
        p.deliver(std::move(r));
      },
      [p, r](caf::error& e) mutable { p.deliver(refused(std::move(r), error_code::unavailable, "the supervisor did not answer: " + caf::to_string(e))); });
  return p;
}

caf::result<wire::command_result> on_command(manager_pointer self, wire::instance_command& c) {
  auto& st = self->state;
  auto r = result_of(st, c);
  if (c.action == "list") {
    r.instances = hosted(self);
    r.message = std::to_string(r.instances.size()) + " instance(s)";
    return r;
  }
  if (c.action == "log")
    return console_log(self, c, std::move(r));
  if (c.action == "settings")
    return read_settings(self, c, std::move(r));
  if (c.action == "save-download")
    return download(self, c, std::move(r));
  if (st.stopping)
    return refused(r, error_code::unavailable, "the slave is shutting down");
  // A piece that does not complete its upload is not journaled: applied again, it writes the same
  // bytes at the same place. (Journaled, a 1 GiB upload's 2,048 pieces would push every other
  // command out of the journal's memory.) The piece that completes it is: again, it would fail.
  if (c.action == "save-upload" && !wire::completes_upload(c))
    return upload(self, c, std::move(r));
  if (auto* seen = st.journal->find(c.command_id)) {
    if (seen->done) {
      auto again = seen->result;
      again.repeated = true;
      return again;
    }
    if (auto w = st.waiting.find(c.command_id); w != st.waiting.end()) {
      auto p = self->make_response_promise<wire::command_result>();
      w->second.push_back(p);
      return p;
    }
    return refused(r, error_code::internal,
                   "a slave process stopped while applying command " + std::to_string(c.command_id) +
                     ": whether it was applied is unknown (see `clusterio-ctl instance list`)");
  }
  if (auto begun = st.journal->begin(c.command_id); !begun)
    return refused(r, error_code::unavailable, begun.why() + " (the command was not applied)");
  auto p = self->make_response_promise<wire::command_result>();
  st.waiting[c.command_id].push_back(p);
  apply(self, c);
  return p;
}

/// A supervisor ended: its instance stopped (a stop or restart command, or the slave stopping).
void on_down(manager_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  auto it = std::find_if(st.running.begin(), st.running.end(), [&](auto& kv) { return kv.second.actor.address() == down.source; });
  if (it == st.running.end())
    return;
  auto name = it->first;
  auto ended = std::move(it->second);
  st.running.erase(it);
  ended.claim.reset(); // the folder is free: a restart claims it again
  std::string why_not;
  if (ended.restart)
    why_not = st.stopping ? "the slave is shutting down (it starts the instance again when it runs next)" : start_instance(self, name);
  for (auto& r : ended.on_end) {
    if (!why_not.empty())
      fail(self, r, error_code::unavailable, "instance '" + name + "' stopped, but cannot start again: " + why_not);
    else
      succeed(self, r, (r.action == "restart" ? "restarted instance '" : "stopped instance '") + name + "'");
  }
  if (st.running.empty() && (st.stopping || !st.host))
    self->quit();
}

manager_impl::behavior_type manager_fn(manager_pointer self, manager_params params, uplink_actor uplink, std::optional<command_journal> journal) {
  auto& st = self->state;
  st.uplink = std::move(uplink);
  st.host = std::move(params.host);
  st.journal = std::move(journal);
  for (auto& p : params.instances)
    run_instance(self, std::move(p));
  self->set_down_handler([self](caf::down_msg& down) { on_down(self, down); });
  if (st.host) {
    self->send(st.uplink, serve_atom::value, caf::actor_cast<command_handler>(self));
    self->send(self, host_tick_atom::value);
  } else if (st.running.empty()) {
    self->quit();
  }
  return {
    [self](command_atom, wire::instance_command& c) { return on_command(self, c); },
    [self, wait = params.shutdown_wait](stop_atom) {
      auto& st = self->state;
      if (st.stopping)
        return;
      st.stopping = true;
      if (st.running.empty())
        return self->quit();
      spdlog::info("stopping every instance");
      for (auto& [name, inst] : st.running)
        self->send(inst.actor, stop_atom::value);
      self->delayed_send(self, wait, timer_atom::value);
    },
    [self](timer_atom) {
      spdlog::error("{} instance(s) did not stop in time; ending them", self->state.running.size());
      for (auto& [name, inst] : self->state.running)
        self->send_exit(inst.actor, caf::exit_reason::user_shutdown);
      self->quit();
    },
    [self](host_tick_atom) {
      report_host(self);
      self->delayed_send(self, self->state.host->report_interval, host_tick_atom::value);
    },
  };
}

} // namespace

result<manager_actor> spawn_manager(caf::actor_system& sys, manager_params params, uplink_actor uplink) {
  std::optional<command_journal> journal;
  if (params.host) {
    auto opened = command_journal::open(params.host->journal_path);
    if (!opened)
      return opened.error();
    journal = std::move(*opened);
  }
  return caf::actor_cast<manager_actor>(sys.spawn<caf::detached>(manager_fn, std::move(params), std::move(uplink), std::move(journal)));
}

} // namespace clusterio
