#include "game/instance_dir.hpp"

#include <algorithm>
#include <charconv>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "common/files.hpp"
#include "common/local_port.hpp"
#include "game/game_process.hpp"
#include "messages/field.hpp"

namespace fs = std::filesystem;

namespace clusterio {

namespace {

std::string random_password() {
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::string out;
  for (int i = 0; i < 20; ++i)
    out += chars[rd() % (sizeof chars - 1)];
  return out;
}

nlohmann::json to_json(const instance_config& i) {
  return {{"name", i.name}, {"game_port", i.game_port}, {"rcon_port", i.rcon_port}, {"rcon_password", i.rcon_password},
          {"enabled", i.enabled}, {"ups", i.ups}};
}

/// What the game said went wrong, from its whole output: its "Error" lines, or when it printed
/// none, its last lines. The lines before them (version, paths, mods) only push the cause past the
/// length an answer can carry.
std::string game_errors(std::string_view output) {
  std::vector<std::string_view> lines, errors;
  for (std::size_t at = 0; at < output.size();) {
    auto end = std::min(output.find('\n', at), output.size());
    if (auto line = output.substr(at, end - at); !line.empty()) {
      lines.push_back(line);
      if (line.find(" Error ") != std::string_view::npos)
        errors.push_back(line);
    }
    at = end + 1;
  }
  constexpr std::size_t last_lines = 5;
  if (errors.empty())
    errors.assign(lines.end() - static_cast<std::ptrdiff_t>(std::min(lines.size(), last_lines)), lines.end());
  std::string out;
  for (auto line : errors)
    out.append(out.empty() ? "" : "\n").append(line);
  return out;
}

/// Runs a program to completion, output appended to `log`. Returns its exit code or -1.
int run_to_end(const std::vector<std::string>& argv, const std::string& log) {
  std::ofstream out(log, std::ios::app);
  std::promise<int> exited;
  game_process p;
  // Both callbacks run on the process's reader thread, one after the other.
  auto started = p.start(
    argv, "", [&out](std::string line) { out << line << "\n"; }, [&exited](int status) { exited.set_value(status); });
  if (!started) {
    out << started.why() << "\n";
    return -1;
  }
  int status = exited.get_future().get();
  p.reaped();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

result<void> check_instance_name(const std::string& name) {
  if (name == "." || name == ".." || name.find('/') != std::string::npos)
    return failure("instance names may not be '.', '..' or contain '/'");
  if (auto label = wire::check_label(name); !label)
    return label.error().in("bad instance name '" + name + "'");
  return done();
}

std::string instance_path(const host_layout& h, const std::string& name) { return h.instances_dir + "/" + name; }

result<std::string> factorio_binary(const host_layout& h) {
  auto bin = h.factorio_dir + "/bin/x64/factorio";
  if (::access(bin.c_str(), X_OK) != 0)
    return failure("no Factorio server at " + bin + " (set factorio_dir in " + h.config_path + " or FACTORIO_DIR)");
  return bin;
}

namespace {
/// The folder and map of create_instance, once the folder is known to be new.
result<void> make_instance(const host_layout& h, const std::string& name, const map_options& map, const std::string& bin) {
  auto dir = instance_path(h, name);
  // Private: it holds the RCON password, and script-output, which the slave reads as the game's word.
  if (auto made = make_private_dir(dir); !made)
    return made;
  for (auto* sub : {"saves", "mods", "script-output"})
    if (auto made = make_dirs(dir + "/" + sub); !made)
      return made;

  std::set<int> used;
  for (auto& other : list_instances(h))
    if (auto cfg = load_instance(h, other))
      used.insert(cfg->game_port);
  // The RCON port stays the instance's from now on, so it must be one no outgoing connection
  // will have taken when the game starts.
  auto rcon_port = free_local_port();
  if (!rcon_port)
    return rcon_port.error().in("rcon port");
  instance_config cfg{name, 0, *rcon_port, random_password(), true, h.ups};
  for (int p = h.game_port_first; p <= h.game_port_last && !cfg.game_port; ++p)
    if (!used.count(p))
      cfg.game_port = p;
  if (!cfg.game_port)
    return failure("no free game port in " + std::to_string(h.game_port_first) + ".." + std::to_string(h.game_port_last));

  auto factorio = fs::absolute(h.factorio_dir).string();
  auto abs_dir = fs::absolute(dir).string();
  if (auto written = write_file_atomic(dir + "/config.json", to_json(cfg).dump(2) + "\n", 0600); !written)
    return written;
  if (auto written = write_file_atomic(dir + "/config.ini", "[path]\nread-data=" + factorio + "/data\nwrite-data=" + abs_dir + "\n"); !written)
    return written;
  nlohmann::json settings{{"name", name},
                          {"description", "Clusterio instance " + name},
                          {"visibility", {{"public", false}, {"lan", true}}},
                          {"require_user_verification", false},
                          {"autosave_interval", h.autosave_minutes},
                          {"autosave_slots", 5},
                          {"auto_pause", false}};
  if (auto written = write_file_atomic(dir + "/server-settings.json", settings.dump(2) + "\n"); !written)
    return written;
  std::error_code ec;
  auto shared = h.shared_mods_dir;
  if (fs::is_directory(shared))
    for (auto& e : fs::directory_iterator(shared, ec))
      fs::copy(e.path(), dir + "/mods/" + e.path().filename().string(), fs::copy_options::overwrite_existing | fs::copy_options::recursive, ec);
  auto own_mods = dir + "/instanceMods";
  if (fs::is_directory(own_mods))
    for (auto& e : fs::directory_iterator(own_mods, ec))
      fs::copy(e.path(), dir + "/mods/" + e.path().filename().string(), fs::copy_options::overwrite_existing | fs::copy_options::recursive, ec);

  std::vector<std::string> argv{bin, "-c", abs_dir + "/config.ini", "--create", abs_dir + "/saves/" + name + ".zip"};
  if (!h.scenario.empty()) {
    argv.push_back("--scenario");
    argv.push_back(h.scenario);
  }
  for (auto [json, file, flag] : {std::tuple{&map.map_gen_settings, "map-gen-settings.json", "--map-gen-settings"},
                                  std::tuple{&map.map_settings, "map-settings.json", "--map-settings"}}) {
    if (json->empty())
      continue;
    if (auto written = write_file_atomic(dir + "/" + file, *json + "\n"); !written)
      return written;
    argv.push_back(flag);
    argv.push_back(abs_dir + "/" + file);
  }
  if (map.seed != 0) {
    argv.push_back("--map-gen-seed");
    argv.push_back(std::to_string(map.seed));
  }
  auto log = dir + "/create.log";
  if (run_to_end(argv, log) != 0)
    return failure("creating the map failed:\n" + game_errors(read_file(log).value_or("")));
  return done();
}
} // namespace

result<void> create_instance(const host_layout& h, const std::string& name, const map_options& map) {
  if (auto named = check_instance_name(name); !named)
    return named;
  for (auto* json : {&map.map_gen_settings, &map.map_settings})
    if (!json->empty())
      if (auto object = wire::check_json_object(*json); !object)
        return object.error().in(json == &map.map_settings ? "map settings" : "map gen settings");
  auto bin = factorio_binary(h);
  if (!bin)
    return bin.error();
  auto dir = instance_path(h, name);
  if (file_exists(dir))
    return failure("instance '" + name + "' already exists at " + dir);
  if (auto mod = check_clusterio_mod(h, name); !mod)
    return mod;
  auto made = make_instance(h, name, map, *bin);
  if (!made) {
    std::error_code ec;
    fs::remove_all(dir, ec); // nothing half-done: the name stays free to create again
  }
  return made;
}


result<void> check_clusterio_mod(const host_layout& h, const std::string& name) {
  auto dir = instance_path(h, name);
  for (auto& d : {dir + "/mods", dir + "/instanceMods", h.shared_mods_dir})
    if (!newest_mod_zip(d).empty())
      return done();
  return failure("instance '" + name + "' has no clusterio mod: run `clusterio-slave mod install` (it puts the mod into " + h.shared_mods_dir +
                 ") first");
}

result<mod_install> sync_instance_mod(const host_layout& h, const std::string& name) {
  auto dir = instance_path(h, name);
  auto zip = newest_mod_zip(dir + "/instanceMods");
  if (zip.empty())
    zip = newest_mod_zip(h.shared_mods_dir);
  if (zip.empty())
    return mod_install{};
  return install_mod_zip(zip, dir + "/mods");
}

result<instance_config> load_instance(const host_layout& h, const std::string& name) {
  auto text = read_file(instance_path(h, name) + "/config.json");
  if (!text)
    return failure("unknown instance '" + name + "' (" + text.why() + ")");
  try {
    auto j = nlohmann::json::parse(*text);
    instance_config i;
    i.name = j.at("name").get<std::string>();
    i.game_port = j.at("game_port").get<int>();
    i.rcon_port = j.at("rcon_port").get<int>();
    i.rcon_password = j.at("rcon_password").get<std::string>();
    i.enabled = j.value("enabled", true);
    i.ups = j.value("ups", 60.0);
    return i;
  } catch (const std::exception& e) {
    return failure(instance_path(h, name) + "/config.json: " + e.what());
  }
}

result<void> set_instance_enabled(const host_layout& h, const std::string& name, bool enabled) {
  auto inst = load_instance(h, name);
  if (!inst)
    return inst.error();
  if (inst->enabled == enabled)
    return done();
  inst->enabled = enabled;
  return write_file_atomic(instance_path(h, name) + "/config.json", to_json(*inst).dump(2) + "\n", 0600);
}

std::vector<std::string> list_instances(const host_layout& h) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(h.instances_dir, ec))
    if (e.is_directory() && fs::exists(e.path() / "config.json"))
      out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

result<std::uint64_t> setting_number(const wire::instance_setting& s, std::uint64_t min, std::uint64_t max) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.value.data(), s.value.data() + s.value.size(), n);
  if (ec != std::errc() || end != s.value.data() + s.value.size() || n < min || n > max)
    return wire::coded_failure(s.key + ": '" + s.value + "' is not a whole number in " + std::to_string(min) + ".." + std::to_string(max), wire::error_code::invalid);
  return n;
}

} // namespace

result<std::vector<wire::instance_setting>> instance_settings(const host_layout& h, const std::string& name) {
  auto inst = load_instance(h, name);
  if (!inst)
    return wire::coded_failure(inst.why(), wire::error_code::not_found);
  auto settings = nlohmann::json::parse(read_file(instance_path(h, name) + "/server-settings.json").value_or("{}"), nullptr, false);
  if (!settings.is_object())
    settings = nlohmann::json::object();
  auto number = [&](const char* key, std::uint64_t fallback) {
    auto& v = settings[key];
    return std::to_string(v.is_number_unsigned() ? v.get<std::uint64_t>() : fallback);
  };
  auto& password = settings["game_password"];
  auto& visibility = settings["visibility"];
  bool is_public = visibility.is_object() && visibility.value("public", false);
  return std::vector<wire::instance_setting>{{"game_port", std::to_string(inst->game_port)},
                                             {"autosave_interval", number("autosave_interval", 10)},
                                             {"max_players", number("max_players", 0)},
                                             {"game_password", password.is_string() && !password.get<std::string>().empty() ? "(set)" : ""},
                                             {"public", is_public ? "true" : "false"}};
}

result<void> change_instance_settings(const host_layout& h, const std::string& name, const std::vector<wire::instance_setting>& changes) {
  auto invalid = [](std::string why) { return wire::coded_failure(std::move(why), wire::error_code::invalid); };
  auto inst = load_instance(h, name);
  if (!inst)
    return wire::coded_failure(inst.why(), wire::error_code::not_found);
  auto dir = instance_path(h, name);
  auto settings = nlohmann::json::parse(read_file(dir + "/server-settings.json").value_or("{}"), nullptr, false);
  if (!settings.is_object())
    settings = nlohmann::json::object();
  for (auto& c : changes) {
    if (c.key == "game_port") {
      auto port = setting_number(c, 1, 65535);
      if (!port)
        return port.error();
      for (auto& other : list_instances(h))
        if (auto cfg = load_instance(h, other); cfg && other != name && cfg->game_port == static_cast<int>(*port))
          return wire::coded_failure("game_port: instance '" + other + "' of this host has port " + c.value, wire::error_code::conflict);
      inst->game_port = static_cast<int>(*port);
    } else if (c.key == "autosave_interval" || c.key == "max_players") {
      auto n = c.key == "max_players" ? setting_number(c, 0, 65535) : setting_number(c, 1, 1440);
      if (!n)
        return n.error();
      settings[c.key] = *n;
    } else if (c.key == "game_password") {
      settings["game_password"] = c.value;
    } else if (c.key == "public") {
      if (c.value != "true" && c.value != "false")
        return invalid("public: 'true' or 'false', not '" + c.value + "'");
      if (!settings["visibility"].is_object())
        settings["visibility"] = {{"lan", true}};
      settings["visibility"]["public"] = c.value == "true";
    } else {
      return invalid("unknown setting '" + c.key + "' (game_port, autosave_interval, max_players, game_password or public)");
    }
  }
  if (auto written = write_file_atomic(dir + "/server-settings.json", settings.dump(2) + "\n", 0600); !written)
    return wire::coded_failure(written.why(), wire::error_code::unavailable);
  if (auto written = write_file_atomic(dir + "/config.json", to_json(*inst).dump(2) + "\n", 0600); !written)
    return wire::coded_failure(written.why(), wire::error_code::unavailable);
  return done();
}

std::string supervisor_claim_path(const host_layout& h, const std::string& name) { return instance_path(h, name) + "/supervisor.pid"; }

std::optional<int> supervisor_pid(const host_layout& h, const std::string& name) { return claim_holder(supervisor_claim_path(h, name)); }

result<void> delete_instance_dir(const host_layout& h, const std::string& name) {
  if (auto named = check_instance_name(name); !named)
    return named;
  auto dir = instance_path(h, name);
  if (!file_exists(dir + "/config.json"))
    return failure("unknown instance '" + name + "'");
  if (auto pid = supervisor_pid(h, name))
    return failure("instance '" + name + "' is running (slave process " + std::to_string(*pid) + "); stop it first");
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec)
    return failure(dir + ": " + ec.message());
  return done();
}

} // namespace clusterio
