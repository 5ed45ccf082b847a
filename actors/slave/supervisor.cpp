// The supervisor: one instance's game process, from launch to exit, and its RCON link.
//
//   +---------+  start   +----------+  RCON up, first Lua  +---------+
//   | stopped | -------> | starting | -------------------> | running |
//   +---------+          +----------+ <------------------- +---------+
//     ^     ^               |     |    RCON link dropped      |   |
//     |     |    crash      |     | stop                 stop |   | crash
//     |     +---------------+-----|---------------------------|---+
//     |     (start again after    v                           |
//     |      a backoff)      +----------+ <-------------------+
//     +------- exit -------- | stopping |  /quit; 15 s later SIGTERM; 15 s more, SIGKILL
//                            +----------+
//
// stopped -> stopped: a server a dead slave left saving still runs: start again in 200 ms.
// starting: RCON failed 20 times -> SIGTERM (then an exit, taken as a crash).
//
// The bridge hears game_ready (running), rcon_lost (running -> starting) and game_stopped (any
// exit). A stopping supervisor asked to stop for good (stop_atom) ends once the game is stopped.

#include "actors/slave/supervisor.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <sys/wait.h>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/slave/rcon_link.hpp"
#include "common/files.hpp"
#include "game/game_process.hpp"
#include "game/ipc.hpp"
#include "game/save_files.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace clusterio {

namespace {

constexpr auto timer_interval = std::chrono::milliseconds(500);
constexpr std::uint64_t quit_grace_ms = 15000; ///< after /quit, SIGTERM
constexpr std::uint64_t term_grace_ms = 15000; ///< after SIGTERM, SIGKILL
constexpr std::uint64_t first_backoff_ms = 1000;
constexpr std::uint64_t max_backoff_ms = 30000;
constexpr std::uint64_t stable_run_ms = 60000; ///< a run this long resets the crash backoff
constexpr int rcon_connect_attempts = 20;
constexpr auto rcon_retry_delay = std::chrono::milliseconds(500);
constexpr std::uint64_t leftover_kill_ms = 60000; ///< a previous run's server gets this long to save
constexpr auto leftover_poll = std::chrono::milliseconds(200);
/// Factorio's first Lua command on a save only warns that it disables achievements.
constexpr const char* achievements_probe = "/sc rcon.print('disabled')";

/// Internal: the game process's reader thread, timers.
using supervisor_impl = supervisor_actor::extend<caf::reacts_to<start_atom>, caf::reacts_to<line_atom, std::string>, caf::reacts_to<exited_atom, int>,
                                                 caf::reacts_to<rcon_retry_atom, int>, caf::reacts_to<timer_atom>>;

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

struct supervisor_state {
  static inline const char* name = "supervisor";
  instance_params p;
  const clock* time = nullptr; ///< injected: the machine's clocks, or a test's
  bridge_actor bridge;
  rcon_link_actor link; ///< from "Starting RCON interface" to the game's exit or the link's end
  phase ph = phase::stopped;
  game_process proc;
  bool stop_requested = false;
  bool quit_when_stopped = false; ///< the slave is shutting down: the actor ends with the game
  std::string failure;            ///< why the game failed, from its output
  instance_report report;         ///< the bridge's latest
  std::deque<wire::console_line> console; ///< the game's latest output lines (console_lines_kept)
  std::uint64_t console_seq = 0;          ///< the number of the latest line

  // Monotonic ms.
  std::uint64_t started_ms = 0, stop_since = 0, leftover_since = 0;
  std::uint64_t backoff_ms = first_backoff_ms;
  bool sent_term = false;

  std::string log_prefix() const { return "[" + p.inst.name + "] "; }
};

using supervisor_pointer = supervisor_impl::stateful_pointer<supervisor_state>;

void write_status(supervisor_pointer self) {
  auto& st = self->state;
  auto& r = st.report;
  json j{{"state", to_string(st.ph)}, {"tick", r.tick},          {"ups", r.ups},           {"players", r.players},
         {"instance_id", r.instance_id}, {"pid", st.proc.pid()}, {"failure", st.failure}};
  if (auto written = write_file_atomic(st.p.dir + "/status.json", j.dump() + "\n"); !written)
    spdlog::warn("{}cannot write the instance's status: {}", st.log_prefix(), written.why());
}

/// Ends the supervisor; the exit reason ends its bridge and RCON link (linked) with it.
void finish(supervisor_pointer self) { self->quit(caf::exit_reason::user_shutdown); }

// ---- RCON ----------------------------------------------------------------------------------------

void ready(supervisor_pointer self, const rcon_link_actor& link) {
  auto& st = self->state;
  if (st.ph != phase::starting || st.link != link)
    return; // stopped, or that link is gone, meanwhile
  st.ph = phase::running;
  st.failure.clear(); // what the game said while starting did not stop it
  spdlog::info("{}the server is ready", st.log_prefix());
  write_status(self);
  self->send(st.bridge, game_ready_atom::value, link);
}

/// The link is up. Say the first Lua command again if the answer is not "disabled" (it only
/// warned about achievements); then the mod is ours.
void probe(supervisor_pointer self, const rcon_link_actor& link) {
  auto again = [self, link] {
    self->request(link, rcon_answer_timeout, rcon_call_atom::value, std::string(achievements_probe))
      .then([self, link](rcon::reply&) { ready(self, link); }, [self, link](caf::error&) { ready(self, link); });
  };
  self->request(link, rcon_answer_timeout, rcon_call_atom::value, std::string(achievements_probe))
    .then(
      [self, link, again](rcon::reply& r) {
        if (r && *r == "disabled\n")
          return ready(self, link);
        again();
      },
      [again](caf::error&) { again(); });
}

void on_rcon_connect(supervisor_pointer self, const rcon_link_actor& link, int attempt, const result<void>& connected) {
  auto& st = self->state;
  if (st.ph != phase::starting || st.link != link)
    return;
  if (connected)
    return probe(self, link);
  if (attempt >= rcon_connect_attempts) {
    spdlog::error("{}RCON failed {} times ({}); stopping the server", st.log_prefix(), attempt, connected.why());
    st.failure = "RCON: " + connected.why();
    st.proc.signal(SIGTERM);
    return;
  }
  self->delayed_send(self, rcon_retry_delay, rcon_retry_atom::value, attempt + 1);
}

void connect_rcon(supervisor_pointer self, int attempt) {
  auto& st = self->state;
  if (!st.link) {
    rcon::client_options o;
    o.port = static_cast<std::uint16_t>(st.p.inst.rcon_port);
    o.password = st.p.inst.rcon_password;
    st.link = spawn_rcon_link(self->system(), o);
    self->link_to(st.link); // it ends with the supervisor
    self->monitor(st.link); // and the supervisor hears when it ends first
  }
  auto link = st.link;
  self->request(link, rcon_connect_answer_timeout, rcon_connect_atom::value)
    .then([self, link, attempt](result<void>& connected) { on_rcon_connect(self, link, attempt, connected); },
          [self, link, attempt](caf::error& e) { on_rcon_connect(self, link, attempt, failure(self->system().render(e))); });
}

void close_rcon(supervisor_pointer self) {
  auto& st = self->state;
  if (!st.link)
    return;
  self->unlink_from(st.link); // its exit must not end the supervisor
  self->send_exit(st.link, caf::exit_reason::user_shutdown);
  st.link = nullptr;
}

/// The link ended by itself: its connection dropped. A game still running gets a new one.
void on_link_down(supervisor_pointer self, const caf::down_msg& down) {
  auto& st = self->state;
  if (!st.link || down.source != st.link.address())
    return; // a link closed before
  st.link = nullptr;
  if (st.ph == phase::running) {
    spdlog::warn("{}lost the RCON connection; reconnecting", st.log_prefix());
    st.ph = phase::starting;
    self->send(st.bridge, rcon_lost_atom::value);
  }
  if (st.ph == phase::starting)
    connect_rcon(self, 1);
}

// ---- the process ---------------------------------------------------------------------------------

/// A server left running by a slave that died (it got SIGTERM and is saving): its pid if it
/// is still alive and really runs this instance.
std::optional<pid_t> leftover_server(const std::string& dir) {
  auto text = read_file(dir + "/status.json");
  if (!text)
    return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  auto field = j.is_object() ? j.find("pid") : j.end();
  if (field == j.end() || !field->is_number_integer() || field->get<std::int64_t>() <= 0 || field->get<std::int64_t>() > INT32_MAX)
    return std::nullopt;
  auto pid = static_cast<pid_t>(field->get<std::int64_t>());
  if (::kill(pid, 0) != 0)
    return std::nullopt;
  auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline || cmdline->find(dir + "/config.ini") == std::string::npos)
    return std::nullopt;
  return pid;
}

/// Waits for a server a dead slave left saving: never two servers on one save. True while it runs.
bool wait_for_leftover(supervisor_pointer self) {
  auto& st = self->state;
  auto pid = leftover_server(st.p.dir);
  if (!pid) {
    st.leftover_since = 0;
    return false;
  }
  auto now = st.time->mono_ms();
  if (st.leftover_since == 0) {
    st.leftover_since = now;
    spdlog::warn("{}a server from a previous slave run (pid {}) is still running; waiting for it to save and exit", st.log_prefix(), *pid);
  }
  ::kill(*pid, now - st.leftover_since > leftover_kill_ms ? SIGKILL : SIGTERM);
  self->delayed_send(self, leftover_poll, start_atom::value);
  return true;
}

std::vector<std::string> server_argv(const instance_params& p, const std::string& save) {
  std::vector<std::string> argv{p.factorio_bin, "-c", p.dir + "/config.ini", "--start-server", save, "--port", std::to_string(p.inst.game_port),
                                // RCON on loopback only: the slave is its one client, and it runs Lua.
                                "--rcon-bind", "127.0.0.1:" + std::to_string(p.inst.rcon_port), "--rcon-password", p.inst.rcon_password,
                                "--server-settings", p.dir + "/server-settings.json"};
  // factorio-sim (and only it) takes a game speed.
  if (fs::exists(fs::path(p.factorio_bin).parent_path().parent_path().parent_path() / "data" / "sim")) {
    argv.push_back("--ups");
    argv.push_back(std::to_string(p.inst.ups));
  }
  return argv;
}

void launch(supervisor_pointer self) {
  auto& st = self->state;
  if (st.ph != phase::stopped || st.stop_requested || wait_for_leftover(self))
    return;
  auto save = latest_save(st.p.dir);
  if (save.empty()) {
    st.failure = "no save in " + st.p.dir + "/saves (was the instance created?)";
    spdlog::error("{}{}", st.log_prefix(), st.failure);
    write_status(self);
    if (st.p.exit_when_stopped)
      finish(self);
    return;
  }
  auto me = caf::actor_cast<supervisor_impl>(self);
  st.failure.clear();
  auto started = st.proc.start(
    server_argv(st.p, save), st.p.dir, [me](std::string line) { caf::anon_send(me, line_atom::value, std::move(line)); },
    [me](int status) { caf::anon_send(me, exited_atom::value, status); });
  if (!started) {
    spdlog::error("{}cannot start the server: {}", st.log_prefix(), started.why());
    return;
  }
  st.ph = phase::starting;
  st.started_ms = st.time->mono_ms();
  st.sent_term = false;
  spdlog::info("{}started the server (pid {}) on game port {}", st.log_prefix(), st.proc.pid(), st.p.inst.game_port);
  write_status(self);
}

void stop(supervisor_pointer self) {
  auto& st = self->state;
  st.stop_requested = true;
  if (st.ph == phase::stopped) {
    if (st.p.exit_when_stopped || st.quit_when_stopped)
      finish(self);
    return;
  }
  if (st.ph == phase::stopping)
    return;
  st.ph = phase::stopping;
  st.stop_since = st.time->mono_ms();
  spdlog::info("{}stopping the server", st.log_prefix());
  if (st.link) // the game closes the connection as it quits: no answer to wait for
    self->request(st.link, rcon_answer_timeout, rcon_call_atom::value, std::string("/quit")).then([](rcon::reply&) {}, [](caf::error&) {});
  else
    st.proc.signal(SIGTERM);
  write_status(self);
}

void on_line(supervisor_pointer self, const std::string& line) {
  auto& st = self->state;
  if (ipc::is_ipc(line)) {
    if (auto msg = ipc::parse(line, st.p.dir + "/script-output")) {
      spdlog::trace("{}ipc {}: {}", st.log_prefix(), msg->channel, msg->json.substr(0, 300));
      self->send(st.bridge, ipc_atom::value, std::move(msg->channel), std::move(msg->json));
    } else {
      spdlog::warn("{}bad IPC line: {}", st.log_prefix(), msg.why());
    }
    return;
  }
  spdlog::debug("{}{}", st.log_prefix(), line);
  st.console.push_back({++st.console_seq, wire::fit_text(line)});
  if (st.console.size() > console_lines_kept)
    st.console.pop_front();
  if (st.ph != phase::starting)
    return;
  // Only a start that fails is explained by the game's output; once it runs, its errors are
  // about one command or one RCON client, and a crash is told by how the process ended.
  if (line.find("Starting RCON interface") != std::string::npos)
    connect_rcon(self, 1);
  else if (line.find("MultiplayerManager failed") != std::string::npos)
    st.failure = "the game port could not be bound: " + line;
  else if (line.find("Can't bind socket") != std::string::npos)
    st.failure = "the RCON port could not be bound: " + line;
  else if (line.find(" Error ") != std::string::npos && st.failure.empty())
    st.failure = line;
}

std::string how_it_ended(int status) {
  if (!WIFSIGNALED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  int sig = WTERMSIG(status);
  if (sig == SIGKILL)
    return "was killed (SIGKILL; low on memory?)";
  const char* name = ::sigabbrev_np(sig);
  return "died of signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : std::string());
}

void on_exit(supervisor_pointer self, int status) {
  auto& st = self->state;
  st.proc.reaped();
  close_rcon(self);
  self->send(st.bridge, game_stopped_atom::value);
  bool wanted = st.ph == phase::stopping || st.stop_requested;
  st.ph = phase::stopped;
  if (wanted) {
    spdlog::info("{}the server stopped", st.log_prefix());
    write_status(self);
    if (st.p.exit_when_stopped || st.quit_when_stopped)
      finish(self);
    return;
  }
  if (st.time->mono_ms() - st.started_ms > stable_run_ms)
    st.backoff_ms = first_backoff_ms;
  spdlog::error("{}the server {} unexpectedly{}; restarting in {} ms", st.log_prefix(), how_it_ended(status),
                st.failure.empty() ? "" : " (" + st.failure + ")", st.backoff_ms);
  write_status(self);
  self->delayed_send(self, std::chrono::milliseconds(st.backoff_ms), start_atom::value);
  st.backoff_ms = std::min(st.backoff_ms * 2, max_backoff_ms);
}

void on_timer(supervisor_pointer self) {
  auto& st = self->state;
  if (file_exists(st.p.dir + "/stop-request")) {
    std::remove((st.p.dir + "/stop-request").c_str());
    stop(self);
  }
  if (st.ph == phase::stopping) {
    auto since = st.time->mono_ms() - st.stop_since;
    if (!st.sent_term && since > quit_grace_ms) {
      spdlog::warn("{}no exit after /quit; sending SIGTERM", st.log_prefix());
      st.proc.signal(SIGTERM);
      st.sent_term = true;
    } else if (st.sent_term && since > quit_grace_ms + term_grace_ms) {
      spdlog::warn("{}no exit after SIGTERM; sending SIGKILL", st.log_prefix());
      st.proc.signal(SIGKILL);
    }
  }
  self->delayed_send(self, timer_interval, timer_atom::value);
}

supervisor_impl::behavior_type supervisor_fn(supervisor_pointer self, instance_params p, const clock* time, uplink_actor uplink) {
  auto& st = self->state;
  st.p = std::move(p);
  st.time = time;
  bridge_params bp{st.p.inst.name, st.p.public_address + ":" + std::to_string(st.p.inst.game_port), st.p.identity, st.p.heartbeat_ms,
                   st.p.sync_interval_ms};
  st.bridge = spawn_bridge(self->system(), std::move(bp), st.time, std::move(uplink), report_sink{caf::actor_cast<supervisor_impl>(self)});
  self->link_to(st.bridge); // the bridge ends with the supervisor
  self->set_down_handler([self](caf::down_msg& down) { on_link_down(self, down); });
  self->send(self, start_atom::value);
  self->delayed_send(self, timer_interval, timer_atom::value);
  return {
    [self](stop_atom) {
      self->state.quit_when_stopped = true;
      stop(self);
    },
    [self](report_atom, instance_report& r) {
      self->state.report = r;
      write_status(self);
    },
    [self](console_atom, std::string& line) -> caf::result<rcon::reply> {
      auto& st = self->state;
      if (st.ph != phase::running || !st.link)
        return rcon::reply(failure("instance '" + st.p.inst.name + "' is " + to_string(st.ph) + ", not running"));
      return self->delegate(st.link, rcon_call_atom::value, std::move(line));
    },
    [self](console_log_atom, std::uint64_t after, std::uint64_t count) {
      auto& lines = self->state.console;
      auto from = std::upper_bound(lines.begin(), lines.end(), after, [](std::uint64_t seq, const wire::console_line& l) { return seq < l.seq; });
      if (after == 0 && static_cast<std::uint64_t>(lines.end() - from) > count)
        from = lines.end() - static_cast<std::ptrdiff_t>(count);
      auto to = static_cast<std::uint64_t>(lines.end() - from) > count ? from + static_cast<std::ptrdiff_t>(count) : lines.end();
      return std::vector<wire::console_line>(from, to);
    },
    [self](start_atom) { launch(self); },
    [self](line_atom, const std::string& line) { on_line(self, line); },
    [self](exited_atom, int status) { on_exit(self, status); },
    [self](rcon_retry_atom, int attempt) {
      if (self->state.ph == phase::starting)
        connect_rcon(self, attempt);
    },
    [self](timer_atom) { on_timer(self); },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, instance_params params, const clock* time, uplink_actor uplink) {
  return sys.spawn(supervisor_fn, std::move(params), time, std::move(uplink));
}

} // namespace clusterio
