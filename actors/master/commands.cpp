#include "actors/master/commands.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "common/outbox.hpp"
#include "common/sqlite.hpp"
#include "common/warning_limit.hpp"
#include "store/master_db.hpp"

namespace clusterio {

namespace {

using wire::error_code;

constexpr auto sweep_interval = std::chrono::seconds(1);
/// Commands in flight at most: an admin sending to a slave that does not answer cannot grow the
/// table without bound in the command_timeout_ms before they time out.
constexpr std::size_t max_in_flight = 1000;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, who TEXT NOT NULL,
  command_id INTEGER NOT NULL, slave TEXT NOT NULL, action TEXT NOT NULL, name TEXT NOT NULL, detail TEXT NOT NULL,
  result TEXT NOT NULL, message TEXT NOT NULL, output TEXT NOT NULL, from_slave INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS audit_command ON audit(command_id);
)sql";

/// A slave that takes commands, as its latest report tells.
struct host {
  std::string routing_id;
  std::uint64_t reported_ms = 0; ///< monotonic
  std::vector<wire::hosted_instance> instances;
  /// Processes a newer one took over from (the latest few): one that reports again while the
  /// newer one does is not a restart but a second process under this slave's credential.
  std::deque<std::string> replaced;
};

/// Replaced routing ids a slave's record keeps.
constexpr std::size_t max_replaced = 8;

/// A command relayed to its slave, waiting for the answer.
struct in_flight {
  command_job job;
  std::vector<route> waiting; ///< the admin's request, and any repeat of it sent meanwhile
  std::uint64_t deadline_ms = 0;
  std::uint64_t resend_ms = 0; ///< when to send it to its slave again, if still unanswered
};

struct commands_state {
  static inline const char* name = "commands";
  commands_config cfg;
  outbox* out = nullptr;
  std::shared_ptr<sql::database> db;
  std::map<std::string, host> hosts;
  std::unordered_map<std::uint64_t, in_flight> pending; ///< by command_id
  /// Commands whose slave did not answer in time, the latest max_in_flight: a late answer to one
  /// of them goes into the audit log; any other answer nobody asked for is dropped, so that a
  /// slave cannot write the log or answer a command before an admin sends it.
  std::unordered_map<std::uint64_t, command_job> timed_out;
  std::deque<std::uint64_t> timed_out_order;
  std::uint64_t next_relay_id = 1;
  /// Answers to the web page's commands (route without a peer; its id is the command_id), the
  /// oldest forgotten past max_web_answers or max_web_answer_bytes of save pieces.
  std::unordered_map<std::uint64_t, wire::message> web_answers;
  std::deque<std::uint64_t> web_order;
  std::size_t web_answer_bytes = 0;
  /// Of second processes under one slave's credential, whose every report is refused: one line a
  /// minute per slave.
  std::optional<warning_limit> conflicts;

  static std::size_t bytes_of(const wire::message& m) {
    auto* r = std::get_if<wire::command_result>(&m);
    return r ? r->data.size() : 0;
  }

  void reply(const route& to, wire::message m) {
    if (!to.peer.empty()) {
      out->reply(to.peer, wire::encode({to.id, std::move(m)}));
      return;
    }
    web_answer_bytes += bytes_of(m);
    if (auto [at, added] = web_answers.try_emplace(to.id, std::move(m)); added)
      web_order.push_back(to.id);
    else
      web_answer_bytes -= bytes_of(std::exchange(at->second, std::move(m)));
    while (web_order.size() > max_web_answers || (web_answer_bytes > max_web_answer_bytes && web_order.size() > 1)) {
      web_answer_bytes -= bytes_of(web_answers[web_order.front()]);
      web_answers.erase(web_order.front());
      web_order.pop_front();
    }
  }

  bool online(const host& h) const { return cfg.time->mono_ms() - h.reported_ms <= cfg.host_timeout_ms; }

  /// Writes one row. The log is history: a failure to write it is logged, and the command's
  /// answer still goes out.
  void audit(const std::string& who, const wire::instance_command& c, const std::string& result, const std::string& message,
             bool from_slave, const std::string& output = {}) {
    std::string detail = c.action == "create" ? c.scenario : c.action == "command" ? c.text : std::string();
    if (c.action == "save-upload")
      detail = c.save + " (" + std::to_string(c.size) + " bytes, sha256 " + c.sha256 + ")";
    for (auto& s : c.settings) // a password is not for the log
      detail += (detail.empty() ? "" : ", ") + s.key + "=" + (s.key == "game_password" ? (s.value.empty() ? "(none)" : "(set)") : s.value);
    auto ins = db->prepare("INSERT INTO audit(at_ms,who,command_id,slave,action,name,detail,result,message,output,from_slave) "
                           "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
    ins.bind(1, static_cast<std::int64_t>(cfg.time->epoch_ms()))
      .bind(2, who)
      .bind(3, static_cast<std::int64_t>(c.command_id))
      .bind(4, c.slave)
      .bind(5, c.action)
      .bind(6, c.name)
      .bind(7, detail)
      .bind(8, result)
      .bind(9, message)
      .bind(10, output)
      .bind(11, std::int64_t{from_slave});
    auto del = db->prepare("DELETE FROM audit WHERE seq <= (SELECT MAX(seq) FROM audit) - ?1");
    del.bind(1, static_cast<std::int64_t>(cfg.max_audit_rows));
    if (auto ran = ins.run(); !ran)
      spdlog::error("commands: cannot write the audit log: {}", ran.why());
    else if (auto pruned = del.run(); !pruned)
      spdlog::error("commands: cannot prune the audit log: {}", pruned.why());
  }

  /// The result its slave gave for this command id before, if it did.
  std::optional<wire::command_result> answered_before(const wire::instance_command& c) {
    auto q = db->prepare("SELECT slave,action,name,result,message,output FROM audit WHERE command_id=?1 AND from_slave=1 ORDER BY seq DESC LIMIT 1");
    q.bind(1, static_cast<std::int64_t>(c.command_id));
    if (!q.step())
      return std::nullopt;
    wire::command_result r;
    r.command_id = c.command_id;
    r.slave = q.text(0);
    r.action = q.text(1);
    r.name = q.text(2);
    r.error = q.text(3) == "ok" ? "" : q.text(3);
    r.message = q.text(4);
    r.output = q.text(5);
    r.repeated = true;
    return r;
  }

  audit_page latest(std::uint64_t limit) {
    audit_page rows;
    auto q = db->prepare("SELECT seq,at_ms,who,slave,action,name,detail,command_id,result,message FROM audit ORDER BY seq DESC LIMIT ?1");
    q.bind(1, static_cast<std::int64_t>(std::min<std::uint64_t>(limit, cfg.max_audit_rows)));
    while (q.step())
      rows.push_back({static_cast<std::uint64_t>(q.int64(0)), static_cast<std::uint64_t>(q.int64(1)), q.text(2), q.text(3), q.text(4),
                      q.text(5), q.text(6), static_cast<std::uint64_t>(q.int64(7)), q.text(8), q.text(9)});
    if (auto ok = q.status(); !ok)
      spdlog::error("commands: cannot read the audit log: {}", ok.why());
    return rows;
  }
};

using commands_self = commands_actor::stateful_pointer<commands_state>;

/// What the admin gets for a result: the result itself, or an error with its code.
wire::message answer_of(const wire::command_result& r) {
  if (r.error.empty())
    return r;
  wire::error_code code = error_code::internal;
  if (!wire::from_string(r.error, code))
    return wire::make_error(error_code::internal, "the slave answered with an unknown error code '" + r.error + "': " + r.message);
  return wire::make_error(code, r.message);
}

/// Whether the audit log takes this command: every state change, but of an upload only the
/// piece that completes it (or one that failed), not each of its up to 2,048 pieces.
bool audited(const wire::instance_command& c, bool failed) {
  if (!wire::changes_state(c.action))
    return false;
  return c.action != "save-upload" || failed || wire::completes_upload(c);
}

/// Refuses a command at the master; a state-changing one is logged.
void refuse(commands_self self, const command_job& job, error_code code, std::string why, std::string field = {}) {
  if (audited(job.cmd, true))
    self->state.audit(job.admin, job.cmd, std::string(wire::to_string(code)), why, false);
  self->state.reply(job.to, wire::make_error(code, std::move(why), std::move(field)));
}

/// What is wrong with a command's fields for its action, if anything: (field, why).
std::optional<std::pair<std::string, std::string>> check_fields(const wire::instance_command& c) {
  using actions = std::vector<std::string_view>; // owned: an initializer_list in a tuple would dangle
  auto known = std::find(std::begin(wire::command_actions), std::end(wire::command_actions), c.action);
  if (known == std::end(wire::command_actions)) {
    std::string all;
    for (auto a : wire::command_actions)
      all += (all.empty() ? "" : ", ") + std::string(a);
    return std::pair{"action", "unknown action '" + c.action + "' (" + all + ")"};
  }
  if (c.action != "list" && c.name.empty())
    return std::pair{"name", "'" + c.action + "' needs the instance's name"};
  // Each optional field, and the actions that take it.
  const std::tuple<const char*, bool, actions> uses[] = {
    {"scenario", !c.scenario.empty(), {"create"}},
    {"map_gen_settings", !c.map_gen_settings.empty(), {"create"}},
    {"map_settings", !c.map_settings.empty(), {"create"}},
    {"map_gen_seed", c.map_gen_seed != 0, {"create"}},
    {"text", !c.text.empty(), {"command"}},
    {"after", c.after != 0, {"log"}},
    {"count", c.count != wire::default_log_lines, {"log"}},
    {"settings", !c.settings.empty(), {"set"}},
    {"save", !c.save.empty(), {"save-upload", "save-download"}},
    {"offset", c.offset != 0, {"save-upload", "save-download"}},
    {"size", c.size != 0, {"save-upload"}},
    {"sha256", !c.sha256.empty(), {"save-upload"}},
    {"data", !c.data.empty(), {"save-upload"}},
  };
  for (auto& [field, given, takers] : uses)
    if (given && std::find(takers.begin(), takers.end(), c.action) == takers.end()) {
      std::string names;
      for (auto a : takers)
        names += (names.empty() ? "'" : " and '") + std::string(a) + "'";
      return std::pair{field, "only " + names + " take" + (takers.size() == 1 ? "s " : " ") + field};
    }
  if (c.action == "command" && c.text.empty())
    return std::pair{"text", "'command' needs the console line to send"};
  if (c.action == "set" && c.settings.empty())
    return std::pair{"settings", "'set' needs at least one setting"};
  if (c.action == "save-upload") {
    for (auto [field, missing] : {std::pair{"save", c.save.empty()}, {"size", c.size == 0}, {"sha256", c.sha256.empty()}, {"data", c.data.empty()}})
      if (missing)
        return std::pair{field, std::string("'save-upload' needs save, size, sha256 and data")};
    if (c.sha256.size() != 64 || c.sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
      return std::pair{"sha256", std::string("64 lowercase hex digits")};
  }
  if (c.action == "create" && c.slave.empty())
    return std::pair{"slave", "'create' needs the slave that is to run the instance"};
  return std::nullopt;
}

/// The master's list of every slave's instances, from the slaves' latest reports.
void list_all(commands_self self, const command_job& job) {
  auto r = wire::result_of(job.cmd, "");
  std::size_t slaves = 0;
  for (auto& [name, h] : self->state.hosts) {
    ++slaves;
    for (auto inst : h.instances) {
      if (r.instances.size() == wire::max_host_instances)
        break;
      inst.slave = name;
      if (!self->state.online(h))
        inst.state = "unknown"; // its slave is offline: what it runs now is not known
      r.instances.push_back(std::move(inst));
    }
  }
  r.message = std::to_string(r.instances.size()) + " instance(s) on " + std::to_string(slaves) + " slave(s) that take commands";
  self->state.reply(job.to, std::move(r));
}

/// Finds the slave of a command that names only its instance: the one slave reporting it.
std::optional<std::string> slave_of(commands_self self, const command_job& job) {
  std::vector<std::string> found;
  for (auto& [name, h] : self->state.hosts)
    for (auto& inst : h.instances)
      if (inst.name == job.cmd.name)
        found.push_back(name);
  if (found.size() == 1)
    return found.front();
  if (found.empty())
    refuse(self, job, error_code::not_found, "no slave reports an instance named '" + job.cmd.name + "'", "name");
  else
    refuse(self, job, error_code::invalid,
           "instances named '" + job.cmd.name + "' run on several slaves (" + found.front() + ", " + found[1] + (found.size() > 2 ? ", ..." : "") +
             "): name the slave",
           "slave");
  return std::nullopt;
}

/// Sends a command to its slave's current process, and when to send it again if unanswered. A
/// repeat is safe: the slave's journal answers a command it applied with its first answer, one it
/// is applying when that ends, and applies one it never read (read-only commands run again).
void relay(commands_state& st, const host& h, in_flight& f) {
  st.out->reply(h.routing_id, wire::encode({st.next_relay_id++, f.job.cmd}));
  f.resend_ms = st.cfg.time->mono_ms() + st.cfg.command_resend_ms;
}

void on_command(commands_self self, command_job& job) {
  auto& st = self->state;
  auto& c = job.cmd;
  if (auto bad = check_fields(c))
    return refuse(self, job, error_code::invalid, bad->second, bad->first);
  if (c.action == "list" && c.slave.empty())
    return list_all(self, job);
  if (auto p = st.pending.find(c.command_id); p != st.pending.end()) {
    // Sent again while its slave works on it: the same answer goes to both.
    p->second.waiting.push_back(job.to);
    return;
  }
  if (wire::changes_state(c.action))
    if (auto before = st.answered_before(c))
      return st.reply(job.to, answer_of(*before));
  if (st.pending.size() >= max_in_flight)
    return refuse(self, job, error_code::overloaded,
                  std::to_string(max_in_flight) + " commands wait for their slaves' answers already; retry once some are answered");
  if (c.slave.empty()) {
    auto slave = slave_of(self, job);
    if (!slave)
      return;
    c.slave = *slave;
  }
  auto h = st.hosts.find(c.slave);
  if (h == st.hosts.end())
    return refuse(self, job, error_code::unavailable,
                  "slave '" + c.slave + "' has not reported since the master started (is `clusterio-slave run` running there, linked to this master?)",
                  "slave");
  if (!st.online(h->second))
    return refuse(self, job, error_code::unavailable,
                  "slave '" + c.slave + "' is offline: its last report came " +
                    std::to_string((st.cfg.time->mono_ms() - h->second.reported_ms) / 1000) + " s ago",
                  "slave");
  auto route_back = job.to;
  auto& f = st.pending.emplace(c.command_id, in_flight{std::move(job), {route_back}, st.cfg.time->mono_ms() + st.cfg.command_timeout_ms})
              .first->second;
  relay(st, h->second, f);
}

void on_result(commands_self self, const std::string& slave, wire::command_result& r) {
  auto& st = self->state;
  auto p = st.pending.find(r.command_id);
  if (p != st.pending.end() && p->second.job.cmd.slave != slave) {
    spdlog::warn("commands: slave '{}' answered command {}, which went to '{}'; ignored", slave, r.command_id, p->second.job.cmd.slave);
    return;
  }
  r.slave = slave;
  if (p == st.pending.end()) {
    auto late = st.timed_out.find(r.command_id);
    if (late == st.timed_out.end() || late->second.cmd.slave != slave) {
      spdlog::debug("commands: slave '{}' answered command {}, which it was not sent or which was answered; dropped", slave, r.command_id);
      return;
    }
    // Its admin was told it timed out: the log says how it ended, and a repeat of the command is
    // answered with this.
    spdlog::info("commands: slave '{}' answered command {} ({} '{}') after its admin stopped waiting: {}", slave, r.command_id,
                 late->second.cmd.action, late->second.cmd.name, r.error.empty() ? r.message : r.error + ": " + r.message);
    if (audited(late->second.cmd, !r.error.empty()) && !st.answered_before(late->second.cmd))
      st.audit(late->second.admin, late->second.cmd, r.error.empty() ? "ok" : r.error, r.message, true, r.output);
    st.timed_out.erase(late);
    return;
  }
  auto& job = p->second.job;
  // A repeat the slave recognised is logged only if its first answer never reached this log
  // (the master restarted meanwhile).
  if (audited(job.cmd, !r.error.empty()) && (!r.repeated || !st.answered_before(job.cmd)))
    st.audit(job.admin, job.cmd, r.error.empty() ? "ok" : r.error, r.message, true, r.output);
  auto answer = answer_of(r);
  for (auto& to : p->second.waiting)
    st.reply(to, answer);
  st.pending.erase(p);
}

/// A slave's new process (a new routing id: "<name>.<pid>-<random>") gets the commands the old
/// one left unanswered at once, instead of their admins waiting for command_resend_ms: its
/// journal answers those the old process applied or was applying, and it applies those never read.
void resend_in_flight(commands_self self, const std::string& slave) {
  auto& st = self->state;
  auto& h = st.hosts[slave];
  std::size_t sent = 0;
  for (auto& [id, f] : st.pending) {
    if (f.job.cmd.slave != slave)
      continue;
    relay(st, h, f);
    f.deadline_ms = st.cfg.time->mono_ms() + st.cfg.command_timeout_ms;
    ++sent;
  }
  if (sent > 0)
    spdlog::info("commands: slave '{}' reports from a new process: {} command(s) it had not answered sent to it again", slave, sent);
}

/// A slave's process that another one took over from reports again while the other still does:
/// two hosts share the slave's credential (or a process was thought dead and lives on). Commands
/// go to one of them, the one that took over; the other's reports are refused, and it says so.
void refuse_second_process(commands_self self, const route& to, const std::string& slave) {
  auto& st = self->state;
  auto& h = st.hosts[slave];
  if (st.conflicts->admit(slave, "commands: two processes report as one slave"))
    spdlog::warn("commands: two processes report as slave '{}' ({} and {}): do two hosts share its credential? Commands go to {}", slave,
                 h.routing_id, to.peer, h.routing_id);
  st.reply(to, wire::make_error(error_code::conflict,
                                "another process reports as slave '" + slave + "' (" + h.routing_id +
                                  ") and takes its commands: two hosts share this slave's credential, or this process was replaced; "
                                  "give each host its own (`clusterio-master add-slave`)"));
}

/// Commands unanswered for command_resend_ms go to their slave again while it reports: the
/// command, or its answer, may have been lost with a connection that broke and was made again by
/// the same process (the same routing id, so nothing else tells).
void resend_due(commands_self self) {
  auto& st = self->state;
  auto now = st.cfg.time->mono_ms();
  for (auto& [id, f] : st.pending) {
    auto h = st.hosts.find(f.job.cmd.slave);
    if (f.resend_ms > now || h == st.hosts.end() || !st.online(h->second))
      continue;
    spdlog::debug("commands: command {} ({} '{}') unanswered by slave '{}'; sent again", id, f.job.cmd.action, f.job.cmd.name, f.job.cmd.slave);
    relay(st, h->second, f);
  }
}

void expire(commands_self self) {
  auto& st = self->state;
  auto now = st.cfg.time->mono_ms();
  for (auto it = st.pending.begin(); it != st.pending.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    auto& c = it->second.job.cmd;
    auto why = "slave '" + c.slave + "' did not answer within " + std::to_string(st.cfg.command_timeout_ms / 1000) + " s; '" + c.action +
               "' may have been applied (see `clusterio-ctl instance list`); sending it again with the same command_id is safe";
    if (audited(c, true))
      st.audit(it->second.job.admin, c, "unavailable", why, false);
    for (auto& to : it->second.waiting)
      st.reply(to, wire::make_error(error_code::unavailable, why));
    if (st.timed_out.emplace(it->first, std::move(it->second.job)).second)
      st.timed_out_order.push_back(it->first);
    while (st.timed_out_order.size() > max_in_flight) {
      st.timed_out.erase(st.timed_out_order.front());
      st.timed_out_order.pop_front();
    }
    it = st.pending.erase(it);
  }
}

commands_actor::behavior_type commands_fn(commands_self self, std::shared_ptr<sql::database> db, commands_config cfg, outbox* out) {
  auto& st = self->state;
  st.db = std::move(db);
  st.cfg = cfg;
  st.out = out;
  st.conflicts.emplace(*cfg.time, 1);
  self->delayed_send(self, sweep_interval, tick_atom::value);
  return {
    [self](host_report_atom, const route& to, const std::string& slave, wire::host_report& report) {
      auto& st = self->state;
      auto& h = st.hosts[slave];
      bool new_process = !h.routing_id.empty() && h.routing_id != to.peer;
      if (new_process && st.online(h) && std::find(h.replaced.begin(), h.replaced.end(), to.peer) != h.replaced.end())
        return refuse_second_process(self, to, slave);
      if (h.routing_id != to.peer)
        spdlog::info("commands: slave '{}' takes commands ({} instance(s))", slave, report.instances.size());
      if (new_process) {
        h.replaced.push_back(h.routing_id);
        if (h.replaced.size() > max_replaced)
          h.replaced.pop_front();
      }
      h.routing_id = to.peer;
      h.reported_ms = st.cfg.time->mono_ms();
      h.instances = std::move(report.instances);
      if (new_process)
        resend_in_flight(self, slave);
      st.reply(to, wire::ok{});
    },
    [self](command_atom, command_job& job) { on_command(self, job); },
    [self](command_result_atom, const std::string& slave, wire::command_result& r) { on_result(self, slave, r); },
    [self](tick_atom) {
      expire(self);
      resend_due(self);
      self->state.conflicts->report_suppressed();
      self->delayed_send(self, sweep_interval, tick_atom::value);
    },
    [self](web_audit_atom, std::uint64_t limit) { return self->state.latest(limit); },
    [self](web_command_atom, const std::string& who, wire::instance_command& c) {
      auto id = c.command_id;
      command_job job{route{"", id}, who, std::move(c)};
      on_command(self, job);
      return id;
    },
    [self](web_command_state_atom, std::uint64_t id) {
      auto& st = self->state;
      web_command_state s;
      if (auto a = st.web_answers.find(id); a != st.web_answers.end())
        s = {web_command_state::done, a->second};
      else if (st.pending.count(id))
        s.state = web_command_state::pending;
      return s;
    },
  };
}

} // namespace

result<commands_actor> spawn_commands(caf::actor_system& sys, const commands_config& cfg, outbox& out) {
  auto opened = open_master_db(cfg.db_path, true, schema);
  if (!opened)
    return opened.error();
  std::shared_ptr<sql::database> db = std::move(*opened);
  if (cfg.own_thread)
    return sys.spawn<caf::detached>(commands_fn, db, cfg, &out);
  return sys.spawn(commands_fn, db, cfg, &out);
}

} // namespace clusterio
