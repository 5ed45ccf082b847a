#include "sim/game.hpp"

#include "sim/log.hpp"
#include "sim/mods.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace clusterio::sim {

namespace fs = std::filesystem;

namespace {

volatile std::sig_atomic_t got_signal = 0;

void on_signal(int sig) { got_signal = sig; }

/// How often (in ticks) the UPS line is printed.
constexpr uint64_t ups_report_ticks = 600;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string with_zip(std::string file) {
  if (fs::path(file).extension() != ".zip")
    file += ".zip";
  return file;
}

std::string date_prefix() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

} // namespace

std::optional<std::string> game::boot_lua() {
  if (auto err = lua_.init((fs::path(paths_.read_data) / "sim" / "runtime.lua").string(),
                           paths_.write_data, factorio_version))
    return err;
  if (!opts_.dump_api.empty())
    return std::nullopt; // the API's description needs no mods
  std::vector<mod_source> mods;
  if (auto err = find_mods(paths_.read_data, paths_.mods, factorio_version, mods))
    return err;
  for (auto& m : mods)
    log_at("Info", "ModManager.cpp:0", "Loading mod " + m.name + " " + m.version + " (data.lua)");
  if (auto err = lua_.load_mods(mods))
    return err;
  log_line("Factorio initialised");
  return std::nullopt;
}

int game::run() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  if (auto err = boot_lua()) {
    log_at("Error", "MainLoop.cpp:0", *err);
    return 1;
  }
  if (!opts_.dump_api.empty())
    return dump_api();
  return opts_.create.empty() ? serve() : create();
}

int game::dump_api() {
  std::string json;
  if (auto err = lua_.dump_api(json)) {
    log_at("Error", "MainLoop.cpp:0", *err);
    return 1;
  }
  std::ofstream(opts_.dump_api) << json;
  return 0;
}

/// The new map's settings as LuaSurface::map_gen_settings gives them: the file's object (a
/// partial one is enough, as in the game), its seed overridden by --map-gen-seed, random if
/// neither gives one; a file that is not a JSON object is an error, as in the game.
std::optional<std::string> game::map_gen_settings(std::string& out) {
  nlohmann::json settings = nlohmann::json::object();
  for (auto* file : {&opts_.map_gen_settings, &opts_.map_settings}) {
    if (file->empty())
      continue;
    std::ifstream in(*file);
    if (!in)
      return "cannot read " + *file;
    auto doc = nlohmann::json::parse(in, nullptr, false);
    if (!doc.is_object())
      return "Error while loading " + *file + ": not a JSON object";
    if (file == &opts_.map_gen_settings)
      settings = std::move(doc);
  }
  if (opts_.map_gen_seed != 0)
    settings["seed"] = opts_.map_gen_seed;
  else if (!settings["seed"].is_number_unsigned())
    settings["seed"] = static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (auto* side : {"width", "height"})
    if (!settings.contains(side))
      settings[side] = 2000000;
  out = settings.dump();
  return std::nullopt;
}

int game::create() {
  std::string map_gen;
  if (auto err = map_gen_settings(map_gen)) {
    log_at("Error", "MainLoop.cpp:0", *err);
    return 1;
  }
  std::string scenario_name, source;
  if (!opts_.scenario.empty()) {
    fs::path sp = opts_.scenario;
    if (opts_.scenario.find('/') == std::string::npos && sp.extension() != ".lua")
      sp = fs::path(paths_.read_data) / "sim-scenarios" / (opts_.scenario + ".lua");
    if (!fs::exists(sp)) {
      log_at("Error", "MainLoop.cpp:0", "scenario not found: " + sp.string());
      return 1;
    }
    scenario_name = sp.stem().string();
    source = read_file(sp.string());
  }
  std::string file = with_zip(opts_.create);
  log_at("Info", "MainLoop.cpp:0", "Creating new map " + fs::absolute(file).string());
  if (auto err = lua_.new_game(scenario_name, source, map_gen)) {
    log_at("Error", "MainLoop.cpp:0", "Creating the map failed: " + *err);
    return 1;
  }
  fs::create_directories(fs::absolute(file).parent_path());
  if (auto err = save_to(file)) {
    log_at("Error", "MainLoop.cpp:0", *err);
    return 1;
  }
  log_line("Goodbye");
  return 0;
}

std::optional<std::string> game::save_to(const std::string& file) {
  zip_entries z;
  if (auto err = lua_.save_game(z))
    return "Saving failed: " + err.value();
  if (auto err = write_zip(file, z))
    return "Saving failed: " + err.value();
  return std::nullopt;
}

void game::set_state(const char* from, const char* to) {
  // Before a map is loaded Factorio has no tick and prints the largest uint64_t.
  uint64_t tick = map_loaded_ ? lua_.game_tick() : std::numeric_limits<uint64_t>::max();
  log_at("Info", "ServerMultiplayerManager.cpp:808",
         "updateTick(" + std::to_string(tick) + ") changing state from(" + from + ") to(" + to
             + ")");
}

bool game::choose_save() {
  if (opts_.start_latest) {
    fs::file_time_type best{};
    std::error_code ec;
    for (auto& e : fs::directory_iterator(fs::path(paths_.write_data) / "saves", ec))
      if (e.path().extension() == ".zip" && e.last_write_time() >= best) {
        best = e.last_write_time();
        save_file_ = e.path().string();
      }
    if (save_file_.empty()) {
      log_at("Error", "MainLoop.cpp:0", "No saves found in " + paths_.write_data + "/saves");
      return false;
    }
    return true;
  }
  save_file_ = opts_.start_server;
  if (!fs::exists(save_file_) && fs::exists(with_zip(save_file_)))
    save_file_ = with_zip(save_file_);
  if (!fs::exists(save_file_)) {
    log_at("Error", "MainLoop.cpp:0", "File " + save_file_ + " does not exist");
    return false;
  }
  return true;
}

void game::read_server_settings() {
  if (!opts_.server_settings.empty()) {
    auto j = nlohmann::json::parse(read_file(opts_.server_settings), nullptr, false);
    if (j.is_object()) {
      double minutes = j.value("autosave_interval", 10.0);
      autosave_slots_ = std::max(1, j.value("autosave_slots", 5));
      autosave_ticks_ = static_cast<uint64_t>(minutes * 60 * 60);
    }
  }
  if (opts_.autosave_ticks)
    autosave_ticks_ = opts_.autosave_ticks;
}

int game::host() {
  set_state("Ready", "PreparedToHostGame");
  set_state("PreparedToHostGame", "CreatingGame");
  zip_entries save;
  if (auto err = read_zip(save_file_, save)) {
    log_at("Error", "MainLoop.cpp:0", "Loading map failed: " + *err);
    return -1;
  }
  log_line("Loading map " + fs::absolute(save_file_).string() + ": "
           + std::to_string(fs::file_size(save_file_)) + " bytes.");
  if (auto err = lua_.load_game(save)) {
    log_at("Error", "MainLoop.cpp:0", "Loading map failed: " + *err);
    return -1;
  }
  map_loaded_ = true;
  int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(opts_.port);
  std::string endpoint = "0.0.0.0:" + std::to_string(opts_.port);
  log_at("Info", "UDPSocket.cpp:38", "Opening socket at (IP ADDR:({" + endpoint + "}))");
  if (udp < 0 || ::bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    log_at("Error", "ServerMultiplayerManager.cpp:0",
           "MultiplayerManager failed: Host address is already in use.");
    if (udp >= 0)
      ::close(udp);
    return -1;
  }
  log_line("Hosting game at IP ADDR:({" + endpoint + "})");
  set_state("CreatingGame", "InGame");
  if (opts_.rcon_port) {
    if (auto err = rcon_.start(opts_.rcon_address, opts_.rcon_port, opts_.rcon_password)) {
      log_at("Error", "RemoteCommandProcessor.cpp:0", *err);
      ::close(udp);
      return -1;
    }
    log_at("Info", "RemoteCommandProcessor.cpp:126",
           "Starting RCON interface at IP ADDR:({" + opts_.rcon_address + ":" + std::to_string(opts_.rcon_port)
               + "})");
  }
  return udp;
}

int game::serve() {
  if (!choose_save())
    return 1;
  if (!opts_.scenario.empty())
    log_at("Warning", "MainLoop.cpp:0", "--scenario is only used with --create; ignored");
  read_server_settings();
  int udp = host();
  if (udp < 0)
    return 1;
  tick_until_quit();
  shutdown(quit_reason_);
  ::close(udp);
  return quit_reason_ == "mod-error" ? 1 : 0;
}

void game::autosave_if_due(uint64_t ticks, uint64_t& last_autosave) {
  if (!autosave_ticks_ || ticks - last_autosave < autosave_ticks_)
    return;
  last_autosave = ticks;
  autosave_slot_ = autosave_slot_ % autosave_slots_ + 1;
  std::string name = "_autosave" + std::to_string(autosave_slot_);
  log_at("Info", "AppManagerStates.cpp:0", "Saving to " + name + " (non-blocking).");
  auto err = save_to((fs::path(paths_.write_data) / "saves" / (name + ".zip")).string());
  log_at("Info", "AsyncScenarioSaver.cpp:0", err ? *err : "Saving finished");
}

void game::tick_until_quit() {
  using clock = std::chrono::steady_clock;
  const auto period = opts_.ups > 0 ? std::chrono::duration<double>(1.0 / opts_.ups)
                                    : std::chrono::duration<double>(0);
  auto next = clock::now();
  auto report_start = clock::now();
  uint64_t ticks = 0, report_ticks = 0, last_autosave = 0;
  double mod_sum = 0, mod_max = 0, total_sum = 0, total_max = 0;
  while (quit_reason_.empty()) {
    for (auto& c : rcon_.take_commands())
      handle_command(c);
    double mod_ms = 0;
    if (auto err = lua_.tick(mod_ms)) {
      // Factorio stops the game on an uncaught mod error; so does the sim.
      log_at("Error", "MainLoop.cpp:0", "Mod error: " + *err);
      quit_reason_ = "mod-error";
      break;
    }
    ++ticks;
    ++report_ticks;
    mod_sum += mod_ms;
    mod_max = std::max(mod_max, mod_ms);
    total_sum += mod_ms;
    total_max = std::max(total_max, mod_ms);
    if (report_ticks == ups_report_ticks) {
      double secs = std::chrono::duration<double>(clock::now() - report_start).count();
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "UPS %.2f (target %g); mod Lua ms/tick mean %.4f max %.4f over %llu ticks",
                    static_cast<double>(report_ticks) / secs, opts_.ups, mod_sum / report_ticks,
                    mod_max, static_cast<unsigned long long>(report_ticks));
      log_at("Info", "factorio-sim", buf);
      report_start = clock::now();
      report_ticks = 0;
      mod_sum = mod_max = 0;
    }
    autosave_if_due(ticks, last_autosave);
    if (got_signal) {
      log_line(got_signal == SIGINT ? "Received SIGINT, shutting down"
                                    : "Received SIGTERM, shutting down");
      quit_reason_ = "signal";
    }
    if (opts_.stop_after_ticks && ticks >= opts_.stop_after_ticks)
      quit_reason_ = "tick-limit";
    if (period.count() > 0) {
      next += std::chrono::duration_cast<clock::duration>(period);
      auto now = clock::now();
      if (next < now - std::chrono::seconds(1))
        next = now; // fell far behind: do not try to catch up in a burst
      std::this_thread::sleep_until(next);
    }
  }
  char stats[200];
  std::snprintf(stats, sizeof stats,
                "stats {\"ticks\":%llu,\"mod_ms_mean\":%.5f,\"mod_ms_max\":%.5f}",
                static_cast<unsigned long long>(ticks), ticks ? total_sum / ticks : 0.0,
                total_max);
  log_at("Info", "factorio-sim", stats);
}

void game::shutdown(const std::string& reason) {
  log_line("Quitting: " + reason + ".");
  log_at("Info", "MainLoop.cpp:437", "Saving map as " + fs::absolute(save_file_).string());
  auto err = save_to(save_file_);
  log_line(err ? *err : "Saving progress: 100.000000%");
  log_line("Disconnecting multiplayer connection.");
  set_state("InGame", "DisconnectingScheduled");
  set_state("DisconnectingScheduled", "Disconnecting");
  set_state("Disconnecting", "Disconnected");
  set_state("Disconnected", "Closed");
  rcon_.stop();
  log_line("Goodbye");
}

void game::handle_command(const rcon_server::command& c) {
  rcon_.reply(c.conn, c.id, console_command(c.body));
}

std::string game::console_command(const std::string& body) {
  if (body[0] != '/') {
    log_line(date_prefix() + " [CHAT] <server>: " + body);
    return "";
  }
  auto space = body.find(' ');
  std::string name = body.substr(1, space == std::string::npos ? std::string::npos : space - 1);
  std::string rest = space == std::string::npos ? "" : body.substr(space + 1);
  if (name == "c" || name == "command" || name == "sc" || name == "silent-command"
      || name == "mc" || name == "measured-command") {
    if (lua_.achievements_enabled()) {
      // Factorio refuses the first Lua command on a save that still allows achievements.
      lua_.disable_achievements();
      return "Using Lua console commands will disable achievements, please repeat the command "
             "to proceed.\n";
    }
    if (name == "c" || name == "command")
      log_line(date_prefix() + " [COMMAND] <server> (command): " + rest);
    auto start = std::chrono::steady_clock::now();
    std::string out = lua_.run_lua(rest);
    if (out.rfind("Cannot execute command.", 0) == 0)
      log_line(date_prefix() + " " + out);
    if (name == "mc" || name == "measured-command")
      out += "Command executed in "
             + std::to_string(std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - start)
                                  .count())
             + " ms\n";
    return out;
  }
  if (name == "quit") {
    quit_reason_ = "remote-quit";
    return "";
  }
  if (name == "save") {
    std::string file = rest.empty() ? save_file_
                                    : (fs::path(paths_.write_data) / "saves" / with_zip(rest))
                                          .string();
    log_at("Info", "AppManagerStates.cpp:0", "Saving game as " + fs::absolute(file).string());
    auto err = save_to(file);
    log_at("Info", "AsyncScenarioSaver.cpp:0", err ? *err : "Saving finished");
    return "";
  }
  if (name == "players") {
    int n = lua_.players();
    return "Players (" + std::to_string(n) + "):\n";
  }
  if (name == "version")
    return std::string(factorio_version) + "\n";
  // Administrative commands the slave may send; the sim has no players to apply them to.
  static const char* accepted[] = {"config", "promote", "demote", "ban", "unban", "kick",
                                   "whitelist", "admins", "purge", "mute", "unmute"};
  for (auto* a : accepted)
    if (name == a)
      return "";
  return "Unknown command \"" + name + "\".\n";
}

} // namespace clusterio::sim
