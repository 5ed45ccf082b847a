#pragma once
// Command messages: an admin runs a slave's instances through the master.
//
//   slave  -> master   host_report       -> ok              (every few seconds: I take commands)
//   admin  -> master   instance_command  -> command_result  (the master relays it to the slave)
//   master -> slave    instance_command                     (the relayed command)
//   slave  -> master   command_result                       (its outcome; not answered)
//
// `list`, `log`, `settings` and `save-download` only read; every other action changes state, and
// is applied at most once: its
// command_id, chosen by the admin's tool, names it on the master and on the slave, and a command
// sent again with the same id (after a timeout, a dropped link, a restarted master) is answered
// with the first one's result, never applied twice (docs/protocol.md §11.9).

#include <random>

#include "common/base64.hpp"
#include "error.hpp"
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
inline constexpr std::string_view command_actions[] = {"create", "start",    "stop", "restart",     "delete",       "list",
                                                       "command", "log",     "settings", "set", "save-upload", "save-download"};

/// Whether an action changes anything (and so goes to the audit log and is applied at most once).
inline bool changes_state(std::string_view action) {
  return action != "list" && action != "log" && action != "settings" && action != "save-download";
}

/// An instance's settings (`settings` reads them, `set` changes them; a running instance takes a
/// change at its next start). Values are text: game_port 1..65535, autosave_interval minutes
/// 1..1440, max_players 0..65535 (0: no limit), game_password any text ("" none; read back as
/// "(set)"), public "true" or "false" (listed on the public server browser).
inline constexpr std::string_view instance_setting_keys[] = {"game_port", "autosave_interval", "max_players", "game_password", "public"};
inline constexpr std::size_t max_settings = std::size(instance_setting_keys);

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

/// One setting of an instance: a key of instance_setting_keys and its value.
struct instance_setting {
  std::string key;   ///< label
  std::string value; ///< text
  friend bool operator==(const instance_setting& a, const instance_setting& b) { return a.key == b.key && a.value == b.value; }
};
template <class V> void describe(V& v, instance_setting& x) {
  v.text("key", x.key, text_kind::label);
  v.text("value", x.value, text_kind::text);
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
  /// create, optional: the new map's settings as Factorio's --create takes them, JSON objects
  /// (map-gen-settings.json, map-settings.json), and a seed overriding the settings' (0: none).
  std::string map_gen_settings;
  std::string map_settings;
  std::uint64_t map_gen_seed = 0;
  std::string text;             ///< text, optional: command: the console line, e.g. "/c rcon.print(1)"
  std::uint64_t after = 0;      ///< log, optional: only lines numbered above this (0: the latest)
  std::uint64_t count = default_log_lines; ///< log, optional: lines at most, 1..max_log_lines
  std::vector<instance_setting> settings;  ///< set: what to change
  /// save-upload: the save's file name (a label ending in .zip); save-download, optional: which
  /// save (default: the newest, the one a start loads).
  std::string save;
  std::uint64_t offset = 0; ///< save-upload, save-download: where this piece starts in the file
  std::uint64_t size = 0;   ///< save-upload: the whole file's bytes, 1..max_save_bytes
  std::string sha256;       ///< save-upload: the whole file's SHA-256, lowercase hex (a label)
  std::string data;         ///< save-upload: this piece, base64, 1..max_save_chunk_bytes bytes
};

/// Whether a `save-upload` piece is the last of its save (the one that checks and keeps it).
inline bool completes_upload(const instance_command& c) { return c.offset + base64_decoded_size(c.data) >= c.size; }

/// The fields a command and its result share: settings, and a piece of a save.
template <class V, class T> void describe_settings_and_save(V& v, T& x) {
  v.list("settings", x.settings, max_settings, presence::optional);
  v.text("save", x.save, text_kind::label, presence::optional);
  v.u64("offset", x.offset, 0, max_save_bytes, presence::optional);
  v.u64("size", x.size, 0, max_save_bytes, presence::optional);
  v.text("sha256", x.sha256, text_kind::label, presence::optional);
  v.text("data", x.data, text_kind::base64, presence::optional);
}

template <class V> void describe(V& v, instance_command& x) {
  v.u64("command_id", x.command_id, 1);
  v.text("slave", x.slave, text_kind::label, presence::optional);
  v.text("action", x.action, text_kind::label);
  v.text("name", x.name, text_kind::label, presence::optional);
  v.text("scenario", x.scenario, text_kind::label, presence::optional);
  v.text("map_gen_settings", x.map_gen_settings, text_kind::json, presence::optional);
  v.text("map_settings", x.map_settings, text_kind::json, presence::optional);
  v.u64("map_gen_seed", x.map_gen_seed, 0, UINT32_MAX, presence::optional);
  v.text("text", x.text, text_kind::text, presence::optional);
  v.u64("after", x.after, 0, UINT64_MAX, presence::optional);
  v.u64("count", x.count, 1, max_log_lines, presence::optional);
  describe_settings_and_save(v, x);
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
  std::vector<instance_setting> settings; ///< settings, set: the instance's settings (after the change)
  std::string save;         ///< label, optional: save-upload, save-download: the save's file name
  std::uint64_t offset = 0; ///< save-upload: bytes received so far; save-download: where `data` starts
  std::uint64_t size = 0;   ///< save-upload, save-download: the whole file's bytes
  std::string sha256;       ///< label, optional: save-download: the whole file's SHA-256 (with offset 0)
  std::string data;         ///< save-download: the piece from `offset`, base64 (empty at the end)
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

/// `r` refused or failed: `code` and why (an error result; the master answers an error_reply).
inline command_result failed(command_result r, error_code code, std::string why) {
  r.error = std::string(to_string(code));
  r.message = fit_text(why);
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
  describe_settings_and_save(v, x);
}

} // namespace clusterio::wire
