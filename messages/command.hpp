#pragma once
// Command messages: an admin runs a slave's instances through the master.
//
//   slave  -> master   host_report       -> ok              (every few seconds: I take commands)
//   admin  -> master   instance_command  -> command_result  (the master relays it to the slave)
//   master -> slave    instance_command                     (the relayed command)
//   slave  -> master   command_result                       (its outcome; not answered)
//
// `list` and `log` only read; every other action changes state, and is applied at most once: its
// command_id, chosen by the admin's tool, names it on the master and on the slave, and a command
// sent again with the same id (after a timeout, a dropped link, a restarted master) is answered
// with the first one's result, never applied twice (docs/protocol.md §11.9).

#include <random>

#include "field.hpp"
#include "limits.hpp"

namespace clusterio::wire {

/// A command id no other command of this cluster is likely to have: 53 random bits (getrandom),
/// so that a web page's JavaScript reads it exactly from JSON.
inline std::uint64_t new_command_id() {
  std::random_device rd;
  return ((std::uint64_t{rd()} << 32 | rd()) >> 11) | 1;
}

/// What instance_command.action may be.
inline constexpr std::string_view command_actions[] = {"create", "start", "stop", "restart", "delete", "list", "command", "log"};

/// Whether an action changes anything (and so goes to the audit log and is applied at most once).
inline bool changes_state(std::string_view action) { return action != "list" && action != "log"; }

/// Instances a slave reports, and lists in one command_result, at most.
inline constexpr std::size_t max_host_instances = 1000;
/// Console lines in one `log` result at most (each cut at max_text_bytes), and by default.
inline constexpr std::size_t max_log_lines = 200;
inline constexpr std::size_t default_log_lines = 50;

/// One line of a game's console output, numbered from 1 in the order the slave read them.
struct console_line {
  std::uint64_t seq = 0;
  std::string text; ///< text
  friend bool operator==(const console_line& a, const console_line& b) { return a.seq == b.seq && a.text == b.text; }
};
template <class V> void describe(V& v, console_line& x) {
  v.u64("seq", x.seq, 1);
  v.text("text", x.text, text_kind::text);
}

/// One instance of a slave, as the slave sees it.
struct hosted_instance {
  std::string name;       ///< label
  std::string state;      ///< label: "stopped", "starting", "running", "stopping"
  std::uint64_t game_port = 0;
  std::string slave;      ///< label, optional: set in the master's list of every slave's instances
  friend bool operator==(const hosted_instance& a, const hosted_instance& b) {
    return a.name == b.name && a.state == b.state && a.game_port == b.game_port && a.slave == b.slave;
  }
};
template <class V> void describe(V& v, hosted_instance& x) {
  v.text("name", x.name, text_kind::label);
  v.text("state", x.state, text_kind::label);
  v.u64("game_port", x.game_port, 0, 65535);
  v.text("slave", x.slave, text_kind::label, presence::optional);
}

/// From a slave process that takes commands (`clusterio-slave run`), every few seconds and
/// after every change: the instances of its host, running or not.
struct host_report {
  static constexpr const char* type = "host_report";
  std::vector<hosted_instance> instances;
};
template <class V> void describe(V& v, host_report& x) { v.list("instances", x.instances, max_host_instances); }

/// A command for one slave's instances. From an admin to the master, which relays it to the
/// slave (the same message).
struct instance_command {
  static constexpr const char* type = "instance_command";
  std::uint64_t command_id = 0; ///< >= 1, unique per command: chosen by the admin's tool
  std::string slave;            ///< label; optional from an admin when `name` is on one slave only
  std::string action;           ///< one of command_actions
  std::string name;             ///< label: the instance (all actions but list)
  std::string scenario;         ///< label, optional: create on factorio-sim: the map's scenario
  std::string text;             ///< text, optional: command: the console line, e.g. "/c rcon.print(1)"
  std::uint64_t after = 0;      ///< log, optional: only lines numbered above this (0: the latest)
  std::uint64_t count = default_log_lines; ///< log, optional: lines at most, 1..max_log_lines
};
template <class V> void describe(V& v, instance_command& x) {
  v.u64("command_id", x.command_id, 1);
  v.text("slave", x.slave, text_kind::label, presence::optional);
  v.text("action", x.action, text_kind::label);
  v.text("name", x.name, text_kind::label, presence::optional);
  v.text("scenario", x.scenario, text_kind::label, presence::optional);
  v.text("text", x.text, text_kind::text, presence::optional);
  v.u64("after", x.after, 0, UINT64_MAX, presence::optional);
  v.u64("count", x.count, 1, max_log_lines, presence::optional);
}

/// The outcome of an instance_command. From the slave to the master; from the master to the
/// admin when it succeeded (a failure reaches the admin as an `error` with the same code and
/// message).
struct command_result {
  static constexpr const char* type = "command_result";
  std::uint64_t command_id = 0;
  std::string slave;    ///< label: the slave that applied it; left out in the master's list of every slave's instances
  std::string action;   ///< label
  std::string name;     ///< label, optional: the instance
  std::string error;    ///< label, optional: "" done; else an error code's name (error.hpp)
  std::string message;  ///< text: what was done, or why not
  std::string output;   ///< text, optional: command: the console's reply (cut at max_text_bytes)
  bool repeated = false; ///< this command_id was applied before: this is that result, not applied again
  std::vector<hosted_instance> instances; ///< list: the slave's instances
  std::vector<console_line> lines;        ///< log: console lines, oldest first
  std::uint64_t next_line = 0;            ///< log: ask with `after` = this for the lines that follow
};
/// The result of `c` as `slave` applies it, before anything is filled in.
inline command_result result_of(const instance_command& c, std::string slave) {
  command_result r;
  r.command_id = c.command_id;
  r.slave = std::move(slave);
  r.action = c.action;
  r.name = c.name;
  return r;
}

template <class V> void describe(V& v, command_result& x) {
  v.u64("command_id", x.command_id, 1);
  v.text("slave", x.slave, text_kind::label, presence::optional);
  v.text("action", x.action, text_kind::label);
  v.text("name", x.name, text_kind::label, presence::optional);
  v.text("error", x.error, text_kind::label, presence::optional);
  v.text("message", x.message, text_kind::text);
  v.text("output", x.output, text_kind::text, presence::optional);
  v.flag("repeated", x.repeated, presence::optional);
  v.list("instances", x.instances, max_host_instances);
  v.list("lines", x.lines, max_log_lines);
  v.u64("next_line", x.next_line, 0, UINT64_MAX, presence::optional);
}

} // namespace clusterio::wire
