#include "actors/slave/instance.hpp"

#include <csignal>
#include <optional>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/slave/slave_jobs.hpp"
#include "common/clock.hpp"
#include "common/files.hpp"
#include "game/game_process.hpp"
#include "game/ipc.hpp"
#include "game/lua_call.hpp"
#include "game/request_book.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace clusterio {

namespace {

constexpr auto timer_interval = std::chrono::milliseconds(500);
/// The mod pauses transfers after 300 ticks (5 s) without a call: ping well within that, and
/// at least once a second (the ping updates signal-unixtime).
constexpr std::uint64_t ping_interval_ms = 1000;
constexpr std::uint64_t quit_grace_ms = 15000; ///< after /quit, SIGTERM
constexpr std::uint64_t term_grace_ms = 15000; ///< after SIGTERM, SIGKILL
constexpr std::uint64_t max_backoff_ms = 30000;
constexpr std::uint64_t stable_run_ms = 60000; ///< a run this long resets the crash backoff
constexpr int rcon_connect_attempts = 20;
constexpr std::uint64_t leftover_kill_ms = 60000; ///< a previous run's server gets this long to save
constexpr auto rcon_call_timeout = std::chrono::milliseconds(30000);
/// How often the latest signal frames are repeated (well under the master's default 10 s
/// signal_source_timeout_ms).
constexpr std::uint64_t signal_refresh_ms = 3000;
/// A sync or request step unanswered this long is abandoned (and retried by the next one).
constexpr std::uint64_t stuck_after_ms = 40000;

enum class phase { stopped, starting, running, stopping };

const char* to_string(phase p) {
  switch (p) {
    case phase::stopped: return "stopped";
    case phase::starting: return "starting";
    case phase::running: return "running";
    case phase::stopping: return "stopping";
  }
  return "stopped";
}

struct instance_state {
  static inline const char* name = "instance";
  instance_params p;
  caf::actor uplink;
  phase ph = phase::stopped;
  game_process proc;
  std::shared_ptr<rcon::client> rcon;
  bool stop_requested = false;
  bool quit_when_stopped = false; ///< the slave is shutting down: the actor ends with the game
  std::string failure; ///< why the game failed, from its output

  std::uint64_t next_tag = 1;
  std::unordered_map<std::uint64_t, std::function<void(wire::message&)>> master_calls;
  std::unordered_map<std::uint64_t, std::function<void(const rcon::reply&)>> rcon_calls;

  std::uint64_t instance_id = 0;
  bool registered = false;
  bool sync_in_flight = false;
  bool request_in_flight = false;
  /// What to ask for, and whether the master may hold grants the mod was not given.
  request_book book;
  std::uint64_t request_since = 0;
  std::uint64_t signal_seq = 0;
  /// The latest non-empty frame per channel. The mod sends a frame only when it changes; the
  /// slave repeats it so that the master knows the source is alive (a silent source's
  /// contribution is removed after signal_source_timeout_ms).
  std::map<std::string, wire::item_list> signal_frames;
  std::uint64_t last_signal_refresh = 0;

  // Timers (monotonic ms).
  std::uint64_t started_ms = 0, last_ping = 0, last_heartbeat = 0, last_sync = 0, stop_since = 0;
  std::uint64_t backoff_ms = 1000;
  bool sent_term = false;
  std::uint64_t leftover_since = 0;

  // Reports.
  std::uint64_t tick = 0, tick_at_ms = 0;
  double ups = 0;
  std::uint32_t players = 0;

  std::string log_prefix() const { return "[" + p.inst.name + "] "; }
};

using instance_actor = caf::stateful_actor<instance_state>;

void write_status(instance_actor* self) {
  auto& st = self->state;
  json j{{"state", to_string(st.ph)}, {"tick", st.tick}, {"ups", st.ups}, {"players", st.players}, {"instance_id", st.instance_id},
         {"pid", st.proc.pid()}, {"failure", st.failure}};
  if (auto written = write_file_atomic(st.p.dir + "/status.json", j.dump() + "\n"); !written)
    spdlog::warn("{}cannot write the instance's status: {}", st.log_prefix(), written.why());
}

void call_master(instance_actor* self, wire::message m, std::function<void(wire::message&)> then) {
  auto& st = self->state;
  auto tag = st.next_tag++;
  st.master_calls[tag] = std::move(then);
  self->send(st.uplink, call_atom::value, std::move(m), tag);
}

/// Sends an RCON command; `then` gets the reply (or the failure).
void call_rcon(instance_actor* self, std::string command, std::function<void(const rcon::reply&)> then) {
  auto& st = self->state;
  if (!st.rcon || !st.rcon->connected())
    return then(failure("not connected"));
  auto tag = st.next_tag++;
  st.rcon_calls[tag] = std::move(then);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.rcon->send(std::move(command), rcon_call_timeout,
                [me, tag](rcon::reply r) { caf::anon_send(me, rcon_reply_atom::value, tag, std::move(r)); });
}

/// Calls the mod's remote interface; `then` runs only for a well-formed reply (failures are
/// logged here; the periodic sync repairs whatever they left undone).
void call_mod(instance_actor* self, const std::string& fn, const json& arg, std::function<void(const json&)> then) {
  call_rcon(self, clusterio_call(fn, arg.dump()), [self, fn, then = std::move(then)](const rcon::reply& r) {
    auto& st = self->state;
    if (!r) {
      spdlog::warn("{}RCON call {} failed: {}", st.log_prefix(), fn, r.why());
      return;
    }
    try {
      auto j = json::parse(*r);
      if (j.is_object() && j.contains("error")) {
        spdlog::warn("{}the mod refused {}: {}", st.log_prefix(), fn, j["error"].dump());
        return;
      }
      then(j);
    } catch (const std::exception& e) {
      spdlog::warn("{}unexpected reply to {}: {} ({})", st.log_prefix(), fn, r->substr(0, 200), e.what());
    }
  });
}

template <class T> T* reply_as(instance_actor* self, wire::message& m, const char* what) {
  if (auto* x = std::get_if<T>(&m))
    return x;
  if (auto* e = std::get_if<wire::error_reply>(&m))
    spdlog::log(e->code == wire::error_code::unavailable ? spdlog::level::debug : spdlog::level::warn, "{}{} failed: {} {}: {}", self->state.log_prefix(), what,
                wire::to_string(e->code), e->field, e->message);
  return nullptr;
}

/// An unsigned integer field of the game's JSON, or 0. (json::value() would convert a float
/// like 5e30 into an integer: undefined behaviour.)
std::uint64_t unsigned_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

bool parse_items(const json& j, wire::item_list& out) {
  if (!j.is_array())
    return false;
  for (auto& e : j) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number_integer())
      return false;
    out.push_back({e[0].get<std::string>(), e[1].get<std::int64_t>()});
  }
  return true;
}

json items_json(const wire::item_list& items) {
  json a = json::array();
  for (auto& i : items)
    a.push_back({i.name, i.count});
  return a;
}

std::vector<std::uint64_t> ids_of(const json& results, std::initializer_list<const char*> statuses, instance_actor* self) {
  std::vector<std::uint64_t> out;
  if (!results.is_array())
    return out;
  for (auto& r : results) {
    if (!r.is_object() || !r.contains("grant_id") || !r["grant_id"].is_number_unsigned())
      continue;
    auto status = r.value("status", "");
    for (auto* s : statuses)
      if (status == s)
        out.push_back(r["grant_id"].get<std::uint64_t>());
    if (status == "rejected")
      spdlog::error("{}the mod rejected grant {}: {} (it stays reserved; an operator may reclaim it)", self->state.log_prefix(),
                    r["grant_id"].dump(), r.value("reason", ""));
  }
  return out;
}

// ---- the exactly-once protocol ----------------------------------------------------------------

void confirm(instance_actor* self, std::vector<std::uint64_t> applied, std::vector<std::uint64_t> cancelled) {
  auto& st = self->state;
  if (applied.empty() && cancelled.empty())
    return;
  call_master(self, wire::confirm_grants{st.instance_id, std::move(applied), std::move(cancelled)}, [self](wire::message& m) {
    auto* ack = reply_as<wire::confirm_ack>(self, m, "confirm");
    if (ack && !ack->released.empty())
      call_mod(self, "forget_grants", {{"grant_ids", ack->released}}, [](const json&) {});
  });
}

/// Gives the grants to the mod and confirms them; `applied` runs once the mod took them all.
void deliver(instance_actor* self, const std::vector<wire::grant>& grants, std::function<void()> applied = {}) {
  if (grants.empty()) {
    if (applied)
      applied();
    return;
  }
  json list = json::array();
  for (auto& g : grants)
    list.push_back({{"grant_id", g.grant_id}, {"name", g.name}, {"count", g.count}});
  call_mod(self, "apply_grants", {{"grants", list}}, [self, grants, applied = std::move(applied)](const json& r) {
    auto results = r.value("results", json::array());
    auto taken = ids_of(results, {"applied", "duplicate"}, self);
    self->state.book.mod_answered(grants, taken, unsigned_field(r, "applied"));
    confirm(self, std::move(taken), ids_of(results, {"cancelled"}, self));
    if (applied)
      applied();
  });
}

void cancel(instance_actor* self, const std::vector<std::uint64_t>& ids) {
  if (ids.empty())
    return;
  call_mod(self, "cancel_grants", {{"grant_ids", ids}}, [self, ids](const json& r) {
    self->state.book.reclaimed(ids);
    auto results = r.value("results", json::array());
    confirm(self, ids_of(results, {"applied"}, self), ids_of(results, {"cancelled"}, self));
  });
}

void send_export(instance_actor* self, std::uint64_t batch, std::uint64_t floor, wire::item_list items) {
  auto& st = self->state;
  if (!st.registered || items.empty())
    return; // the next sync resends it from the mod
  call_master(self, wire::export_batch{st.instance_id, batch, std::min(floor, batch), std::move(items)}, [self](wire::message& m) {
    if (auto* ack = reply_as<wire::export_ack>(self, m, "export"))
      call_mod(self, "ack_exports", {{"batches", {ack->batch}}}, [](const json&) {});
  });
}

void resend_exports(instance_actor* self) {
  call_mod(self, "pending_exports", json::object(), [self](const json& r) {
    auto floor = unsigned_field(r, "floor");
    for (auto& b : r.value("batches", json::array())) {
      wire::item_list items;
      if (b.is_object() && b.contains("batch") && b["batch"].is_number_unsigned() && parse_items(b.value("items", json::array()), items))
        send_export(self, b["batch"].get<std::uint64_t>(), floor, std::move(items));
    }
  });
}

/// After a (re)start or reconnect, and periodically: make master and mod agree again.
void sync(instance_actor* self) {
  auto& st = self->state;
  if (st.sync_in_flight || st.ph != phase::running)
    return;
  st.sync_in_flight = true;
  st.last_sync = mono_ms();
  auto after_register = [self] {
    auto& st = self->state;
    call_master(self, wire::resync{st.instance_id}, [self, doubts = st.book.doubts()](wire::message& m) {
      auto& st = self->state;
      st.sync_in_flight = false;
      if (auto* p = reply_as<wire::pending_grants>(self, m, "resync")) {
        // What the mod reported missing may predate these grants.
        st.book.granted(p->grants);
        deliver(self, p->grants, [self, doubts] { self->state.book.settled(doubts); });
        cancel(self, p->reclaim);
      }
      resend_exports(self);
    });
  };
  if (st.registered)
    return after_register();
  auto address = st.p.public_address + ":" + std::to_string(st.p.inst.game_port);
  call_master(self, wire::register_instance{st.p.inst.name, address}, [self, after_register](wire::message& m) {
    auto& st = self->state;
    auto* r = reply_as<wire::registered>(self, m, "register");
    if (!r) {
      st.sync_in_flight = false;
      return;
    }
    st.instance_id = r->instance_id;
    // New batches must not reuse numbers the master has seen (e.g. after a game rollback).
    call_mod(self, "set_batch_floor", {{"next_batch", r->next_batch}}, [self, after_register](const json&) {
      self->state.registered = true;
      spdlog::info("{}registered with the master as instance {}", self->state.log_prefix(), self->state.instance_id);
      write_status(self);
      after_register();
    });
  });
}

/// Asks the master for what the world misses; delivers what it grants.
void request(instance_actor* self, wire::item_list items) {
  auto& st = self->state;
  if (!st.registered || st.request_in_flight || items.empty())
    return;
  if (!st.book.may_ask())
    return sync(self); // first the grants the master may already hold for us
  st.request_in_flight = true;
  st.request_since = mono_ms();
  call_master(self, wire::request_items{st.instance_id, std::move(items)}, [self](wire::message& m) {
    auto& st = self->state;
    st.request_in_flight = false;
    if (auto* g = reply_as<wire::grant_reply>(self, m, "request")) {
      st.book.granted(g->grants);
      deliver(self, g->grants);
    } else {
      st.book.doubt(); // refused, or granted with the reply lost: only a resync can tell
    }
  });
}

/// New stock of something the world still misses: ask now rather than at the mod's next cycle
/// (up to a second later). Asks only for what the mod reported missing, less what was granted
/// since, so it never asks for more than the mod would.
void request_on_new_stock(instance_actor* self, const wire::inventory_levels& inv) {
  request(self, self->state.book.wanted_in_stock(inv.levels));
}

/// Sends this world's transmitters' frame for one channel.
void send_signals(instance_actor* self, const std::string& channel, wire::item_list signals) {
  auto& st = self->state;
  // Sequence numbers must keep increasing across slave restarts (the master drops frames not
  // newer than the last it saw from this source): epoch microseconds, bumped if equal.
  st.signal_seq = std::max(st.signal_seq + 1, epoch_ms() * 1000);
  call_master(self, wire::signal_frame{channel, st.p.inst.name, st.signal_seq, std::move(signals)},
              [self](wire::message& m) { reply_as<wire::ok>(self, m, "signal"); });
}

void handle_ipc(instance_actor* self, const ipc::message& msg) {
  auto& st = self->state;
  json j;
  try {
    j = json::parse(msg.json);
  } catch (const std::exception& e) {
    spdlog::warn("{}bad IPC JSON on channel {}: {}", st.log_prefix(), msg.channel, e.what());
    return;
  }
  if (msg.channel == "export") {
    wire::item_list items;
    if (j.contains("batch") && j["batch"].is_number_unsigned() && parse_items(j.value("items", json::array()), items))
      send_export(self, j["batch"].get<std::uint64_t>(), unsigned_field(j, "floor"), std::move(items));
  } else if (msg.channel == "request") {
    wire::item_list items;
    if (!parse_items(j.value("items", json::array()), items))
      return;
    if (auto predates = st.book.reported(items, unsigned_field(j, "applied")); predates > 0)
      spdlog::debug("{}a request report made {} applied grant(s) ago: what they gave is taken off it", st.log_prefix(), predates);
    request(self, st.book.wanted());
  } else if (msg.channel == "signal") {
    wire::item_list signals;
    if (!j.contains("channel") || !j["channel"].is_string() || !parse_items(j.value("signals", json::array()), signals))
      return;
    auto channel = j["channel"].get<std::string>();
    if (signals.empty())
      st.signal_frames.erase(channel);
    else
      st.signal_frames[channel] = signals;
    send_signals(self, channel, std::move(signals));
  } else if (msg.channel == "status") {
    auto tick = unsigned_field(j, "tick");
    auto now = mono_ms();
    if (st.tick_at_ms && now > st.tick_at_ms && tick >= st.tick) {
      double inst_ups = static_cast<double>(tick - st.tick) * 1000.0 / static_cast<double>(now - st.tick_at_ms);
      st.ups = st.ups == 0 ? inst_ups : 0.7 * st.ups + 0.3 * inst_ups;
    }
    st.tick = tick;
    st.tick_at_ms = now;
    st.players = static_cast<std::uint32_t>(std::min<std::uint64_t>(unsigned_field(j, "players"), 65535));
  }
}

// ---- the process --------------------------------------------------------------------------------

std::string latest_save(const std::string& dir) {
  std::string best;
  fs::file_time_type best_time;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir + "/saves", ec)) {
    auto name = e.path().filename().string();
    if (e.path().extension() != ".zip" || name.find(".tmp.zip") != std::string::npos)
      continue;
    auto t = e.last_write_time(ec);
    if (best.empty() || t > best_time) {
      best = e.path().string();
      best_time = t;
    }
  }
  return best;
}

/// A server left running by a slave that died (it got SIGTERM and is saving): its pid if it
/// is still alive and really runs this instance.
std::optional<pid_t> leftover_server(const std::string& dir) {
  auto text = read_file(dir + "/status.json");
  if (!text)
    return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  pid_t pid = j.is_object() ? j.value("pid", -1) : -1;
  if (pid <= 0 || ::kill(pid, 0) != 0)
    return std::nullopt;
  auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline || cmdline->find(dir + "/config.ini") == std::string::npos)
    return std::nullopt;
  return pid;
}

void launch(instance_actor* self) {
  auto& st = self->state;
  if (st.ph != phase::stopped || st.stop_requested)
    return;
  if (auto pid = leftover_server(st.p.dir)) {
    // Wait for it to finish saving; never run two servers on one save.
    auto waited = mono_ms() - (st.leftover_since ? st.leftover_since : (st.leftover_since = mono_ms()));
    if (waited == 0)
      spdlog::warn("{}a server from a previous slave run (pid {}) is still running; waiting for it to save and exit", st.log_prefix(), *pid);
    ::kill(*pid, waited > leftover_kill_ms ? SIGKILL : SIGTERM);
    self->delayed_send(self, std::chrono::milliseconds(200), start_atom::value);
    return;
  }
  st.leftover_since = 0;
  auto save = latest_save(st.p.dir);
  if (save.empty()) {
    st.failure = "no save in " + st.p.dir + "/saves (was the instance created?)";
    spdlog::error("{}{}", st.log_prefix(), st.failure);
    write_status(self);
    if (st.p.exit_when_stopped)
      self->quit();
    return;
  }
  std::vector<std::string> argv{st.p.factorio_bin, "-c", st.p.dir + "/config.ini", "--start-server", save,
                                "--port", std::to_string(st.p.inst.game_port),
                                // RCON on loopback only: the slave is its one client, and it runs Lua.
                                "--rcon-bind", "127.0.0.1:" + std::to_string(st.p.inst.rcon_port),
                                "--rcon-password", st.p.inst.rcon_password, "--server-settings", st.p.dir + "/server-settings.json"};
  // factorio-sim (and only it) takes a game speed.
  if (fs::exists(fs::path(st.p.factorio_bin).parent_path().parent_path().parent_path() / "data" / "sim")) {
    argv.push_back("--ups");
    argv.push_back(std::to_string(st.p.inst.ups));
  }
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.failure.clear();
  auto started = st.proc.start(
    argv, st.p.dir, [me](std::string line) { caf::anon_send(me, line_atom::value, std::move(line)); },
    [me](int status) { caf::anon_send(me, exited_atom::value, status); });
  if (!started) {
    spdlog::error("{}cannot start the server: {}", st.log_prefix(), started.why());
    return;
  }
  st.ph = phase::starting;
  st.started_ms = mono_ms();
  st.registered = false;
  st.sent_term = false;
  spdlog::info("{}started the server (pid {}) on game port {}", st.log_prefix(), st.proc.pid(), st.p.inst.game_port);
  write_status(self);
}

void connect_rcon(instance_actor* self, int attempt) {
  auto& st = self->state;
  rcon::client_options o;
  o.port = static_cast<std::uint16_t>(st.p.inst.rcon_port);
  o.password = st.p.inst.rcon_password;
  st.rcon = std::make_shared<rcon::client>(o);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  // connect() blocks: never in an actor's thread.
  std::thread([me, client = st.rcon, attempt] {
    caf::anon_send(me, rcon_up_atom::value, client->connect(), attempt);
  }).detach();
}

void stop(instance_actor* self) {
  auto& st = self->state;
  st.stop_requested = true;
  if (st.ph == phase::stopped) {
    if (st.p.exit_when_stopped || st.quit_when_stopped)
      self->quit();
    return;
  }
  if (st.ph == phase::stopping)
    return;
  st.ph = phase::stopping;
  st.stop_since = mono_ms();
  spdlog::info("{}stopping the server", st.log_prefix());
  if (st.rcon && st.rcon->connected())
    st.rcon->send("/quit", [](rcon::reply) {});
  else
    st.proc.signal(SIGTERM);
  write_status(self);
}

void on_line(instance_actor* self, const std::string& line) {
  auto& st = self->state;
  if (ipc::is_ipc(line)) {
    if (auto msg = ipc::parse(line, st.p.dir + "/script-output")) {
      spdlog::trace("{}ipc {}: {}", st.log_prefix(), msg->channel, msg->json.substr(0, 300));
      handle_ipc(self, *msg);
    }
    else
      spdlog::warn("{}bad IPC line: {}", st.log_prefix(), msg.why());
    return;
  }
  spdlog::debug("{}{}", st.log_prefix(), line);
  if (line.find("Starting RCON interface") != std::string::npos && st.ph == phase::starting)
    connect_rcon(self, 1);
  else if (line.find("MultiplayerManager failed") != std::string::npos)
    st.failure = "the game port could not be bound: " + line;
  else if (line.find("Can't bind socket") != std::string::npos)
    st.failure = "the RCON port could not be bound: " + line;
  else if (line.find(" Error ") != std::string::npos && st.failure.empty())
    st.failure = line;
}

void on_exit(instance_actor* self, int status) {
  auto& st = self->state;
  st.proc.reaped();
  st.rcon.reset();
  st.master_calls.clear();
  st.rcon_calls.clear();
  st.book.game_started(); // the next run starts from the save; a request in flight is in doubt
  st.sync_in_flight = st.request_in_flight = false;
  bool wanted = st.ph == phase::stopping || st.stop_requested;
  st.ph = phase::stopped;
  if (wanted) {
    spdlog::info("{}the server stopped", st.log_prefix());
    write_status(self);
    if (st.p.exit_when_stopped || st.quit_when_stopped)
      self->quit();
    return;
  }
  std::string how = WIFSIGNALED(status) ? (WTERMSIG(status) == SIGKILL ? "was killed (SIGKILL; low on memory?)" : "died of signal " + std::to_string(WTERMSIG(status)))
                                        : "exited with code " + std::to_string(WEXITSTATUS(status));
  if (mono_ms() - st.started_ms > stable_run_ms)
    st.backoff_ms = 1000;
  spdlog::error("{}the server {} unexpectedly{}; restarting in {} ms", st.log_prefix(), how, st.failure.empty() ? "" : " (" + st.failure + ")",
                st.backoff_ms);
  write_status(self);
  self->delayed_send(self, std::chrono::milliseconds(st.backoff_ms), start_atom::value);
  st.backoff_ms = std::min(st.backoff_ms * 2, max_backoff_ms);
}

void on_timer(instance_actor* self) {
  auto& st = self->state;
  auto now = mono_ms();
  if (file_exists(st.p.dir + "/stop-request")) {
    std::remove((st.p.dir + "/stop-request").c_str());
    stop(self);
  }
  if (st.ph == phase::running && !(st.rcon && st.rcon->connected())) {
    // The game runs but its RCON link broke: reconnect, then sync as after a start.
    spdlog::warn("{}lost the RCON connection; reconnecting", st.log_prefix());
    st.ph = phase::starting;
    connect_rcon(self, 1);
  }
  // A step of a sync or a request whose answer never came (e.g. the game was busy saving)
  // must not block the next ones for ever: everything is safe to repeat.
  if (st.sync_in_flight && now - st.last_sync > stuck_after_ms)
    st.sync_in_flight = false;
  if (st.request_in_flight && now - st.request_since > stuck_after_ms) {
    st.request_in_flight = false;
    st.book.doubt();
  }
  if (st.ph == phase::running) {
    if (now - st.last_ping >= ping_interval_ms) {
      // The ping carries the time, so the inventory combinators' signal-unixtime moves every
      // second even when no storage level changes.
      st.last_ping = now;
      call_mod(self, "set_inventory", {{"time_ms", epoch_ms()}, {"full", false}, {"levels", json::array()}}, [](const json&) {});
    }
    if (st.registered && now - st.last_heartbeat >= st.p.heartbeat_ms) {
      st.last_heartbeat = now;
      call_master(self, wire::heartbeat{st.instance_id, std::min(st.ups, 10000.0), st.tick, st.players, "running"},
                  [self](wire::message& m) {
                    if (auto* e = std::get_if<wire::error_reply>(&m); e && e->code == wire::error_code::not_found)
                      self->state.registered = false; // the master forgot us: register again
                  });
      write_status(self);
    }
    if (now - st.last_sync >= st.p.sync_interval_ms)
      sync(self);
    if (now - st.last_signal_refresh >= signal_refresh_ms) {
      st.last_signal_refresh = now;
      for (auto& [channel, signals] : st.signal_frames)
        send_signals(self, channel, signals);
    }
  }
  if (st.ph == phase::stopping) {
    if (!st.sent_term && now - st.stop_since > quit_grace_ms) {
      spdlog::warn("{}no exit after /quit; sending SIGTERM", st.log_prefix());
      st.proc.signal(SIGTERM);
      st.sent_term = true;
    } else if (st.sent_term && now - st.stop_since > quit_grace_ms + term_grace_ms) {
      spdlog::warn("{}no exit after SIGTERM; sending SIGKILL", st.log_prefix());
      st.proc.signal(SIGKILL);
    }
  }
  self->delayed_send(self, timer_interval, timer_atom::value);
}

caf::behavior instance_fn(instance_actor* self, instance_params p, caf::actor uplink) {
  auto& st = self->state;
  st.p = std::move(p);
  st.uplink = uplink;
  self->send(uplink, join_atom::value);
  self->send(self, start_atom::value);
  self->delayed_send(self, timer_interval, timer_atom::value);
  return {
    [self](start_atom) { launch(self); },
    [self](stop_atom) {
      self->state.quit_when_stopped = true;
      stop(self);
    },
    [self](line_atom, const std::string& line) { on_line(self, line); },
    [self](exited_atom, int status) { on_exit(self, status); },
    [self](rcon_up_atom, const result<void>& connected, int attempt) {
      auto& st = self->state;
      if (st.ph != phase::starting)
        return;
      if (!connected) {
        if (attempt >= rcon_connect_attempts) {
          spdlog::error("{}RCON failed {} times ({}); stopping the server", st.log_prefix(), attempt, connected.why());
          st.failure = "RCON: " + connected.why();
          st.proc.signal(SIGTERM);
          return;
        }
        self->delayed_send(self, std::chrono::milliseconds(500), rcon_retry_atom::value, attempt + 1);
        return;
      }
      // Factorio's first Lua command on a save only warns that it disables achievements: say
      // it again if the answer is not "disabled"; then the mod is ours.
      auto ready = [self] {
        auto& st = self->state;
        st.ph = phase::running;
        st.last_ping = st.last_heartbeat = 0;
        spdlog::info("{}the server is ready", st.log_prefix());
        write_status(self);
        sync(self);
      };
      call_rcon(self, "/sc rcon.print('disabled')", [self, ready](const rcon::reply& r) {
        if (r && *r == "disabled\n")
          return ready();
        call_rcon(self, "/sc rcon.print('disabled')", [ready](const rcon::reply&) { ready(); });
      });
    },
    [self](rcon_retry_atom, int attempt) {
      if (self->state.ph == phase::starting)
        connect_rcon(self, attempt);
    },
    [self](rcon_reply_atom, std::uint64_t tag, const rcon::reply& r) {
      auto& st = self->state;
      auto it = st.rcon_calls.find(tag);
      if (it == st.rcon_calls.end())
        return;
      auto then = std::move(it->second);
      st.rcon_calls.erase(it);
      then(r);
    },
    [self](answer_atom, std::uint64_t tag, wire::message& m) {
      auto& st = self->state;
      auto it = st.master_calls.find(tag);
      if (it == st.master_calls.end())
        return;
      auto then = std::move(it->second);
      st.master_calls.erase(it);
      then(m);
    },
    [self](bus_atom, const std::string& topic, const wire::frame& f) {
      auto& st = self->state;
      if (st.ph != phase::running)
        return;
      if (auto* inv = std::get_if<wire::inventory_levels>(&f.body)) {
        if (!inv->full)
          request_on_new_stock(self, *inv);
        call_mod(self, "set_inventory", {{"time_ms", inv->time_ms}, {"full", inv->full}, {"levels", items_json(inv->levels)}},
                 [](const json&) {});
      } else if (auto* sig = std::get_if<wire::signal_frame>(&f.body)) {
        if (sig->source == st.p.identity + "/" + st.p.inst.name)
          return; // our own frame: never echo it back
        call_mod(self, "receive_signals", {{"channel", sig->channel}, {"source", sig->source}, {"signals", items_json(sig->signals)}},
                 [](const json&) {});
      }
      (void)topic;
    },
    [self](link_up_atom) {
      // The master may have restarted: register again and resync.
      self->state.registered = false;
      sync(self);
    },
    [self](timer_atom) { on_timer(self); },
  };
}

} // namespace

caf::actor spawn_instance(caf::actor_system& sys, instance_params params, caf::actor uplink) {
  return sys.spawn(instance_fn, std::move(params), uplink);
}

} // namespace clusterio
