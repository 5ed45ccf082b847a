#include "game/instance_dir.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "common/files.hpp"
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

int free_tcp_port() {
  // Let the kernel pick; the port stays the instance's from now on.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

nlohmann::json to_json(const instance_config& i) {
  return {{"name", i.name}, {"game_port", i.game_port}, {"rcon_port", i.rcon_port}, {"rcon_password", i.rcon_password},
          {"enabled", i.enabled}, {"ups", i.ups}};
}

/// Runs a program to completion, output appended to `log`. Returns its exit code or -1.
int run_to_end(const std::vector<std::string>& argv, const std::string& log) {
  std::ofstream out(log, std::ios::app);
  std::promise<int> exited;
  game_process p;
  // Both callbacks run on the process's reader thread, one after the other.
  auto why = p.start(
    argv, "", [&out](std::string line) { out << line << "\n"; }, [&exited](int status) { exited.set_value(status); });
  if (!why.empty()) {
    out << why << "\n";
    return -1;
  }
  int status = exited.get_future().get();
  p.reaped();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

std::string check_instance_name(const std::string& name) {
  if (name == "." || name == ".." || name.find('/') != std::string::npos)
    return "instance names may not be '.', '..' or contain '/'";
  auto why = wire::check_label(name);
  return why.empty() ? "" : "bad instance name '" + name + "': " + why;
}

std::string instance_path(const host_layout& h, const std::string& name) { return h.instances_dir + "/" + name; }

std::string factorio_binary(const host_layout& h, std::string& why) {
  auto bin = h.factorio_dir + "/bin/x64/factorio";
  if (::access(bin.c_str(), X_OK) != 0) {
    why = "no Factorio server at " + bin + " (set factorio_dir in " + h.config_path + " or FACTORIO_DIR)";
    return {};
  }
  return bin;
}

std::string create_instance(const host_layout& h, const std::string& name) {
  if (auto bad = check_instance_name(name); !bad.empty())
    return bad;
  std::string why;
  auto bin = factorio_binary(h, why);
  if (bin.empty())
    return why;
  auto dir = instance_path(h, name);
  if (file_exists(dir))
    return "instance '" + name + "' already exists at " + dir;
  if (auto missing = check_clusterio_mod(h, name); !missing.empty())
    return missing;
  for (auto* sub : {"saves", "mods", "script-output"})
    if (auto err = make_dirs(dir + "/" + sub); !err.empty())
      return err;

  std::set<int> used;
  for (auto& other : list_instances(h))
    if (auto cfg = load_instance(h, other, why))
      used.insert(cfg->game_port);
  instance_config cfg{name, 0, free_tcp_port(), random_password(), true, h.ups};
  for (int p = h.game_port_first; p <= h.game_port_last && !cfg.game_port; ++p)
    if (!used.count(p))
      cfg.game_port = p;
  if (!cfg.game_port)
    return "no free game port in " + std::to_string(h.game_port_first) + ".." + std::to_string(h.game_port_last);

  auto factorio = fs::absolute(h.factorio_dir).string();
  auto abs_dir = fs::absolute(dir).string();
  std::string err;
  if (!(err = write_file_atomic(dir + "/config.json", to_json(cfg).dump(2) + "\n", 0600)).empty())
    return err;
  if (!(err = write_file_atomic(dir + "/config.ini", "[path]\nread-data=" + factorio + "/data\nwrite-data=" + abs_dir + "\n")).empty())
    return err;
  nlohmann::json settings{{"name", name},
                          {"description", "Clusterio instance " + name},
                          {"visibility", {{"public", false}, {"lan", true}}},
                          {"require_user_verification", false},
                          {"autosave_interval", h.autosave_minutes},
                          {"autosave_slots", 5},
                          {"auto_pause", false}};
  if (!(err = write_file_atomic(dir + "/server-settings.json", settings.dump(2) + "\n")).empty())
    return err;
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
  auto log = dir + "/create.log";
  if (run_to_end(argv, log) != 0)
    return "creating the map failed; see " + log + ":\n" + read_file(log, why).value_or("");
  return {};
}

std::string check_clusterio_mod(const host_layout& h, const std::string& name) {
  auto dir = instance_path(h, name);
  for (auto& d : {dir + "/mods", dir + "/instanceMods", h.shared_mods_dir})
    if (!newest_mod_zip(d).empty())
      return {};
  return "instance '" + name + "' has no clusterio mod: run `clusterio-slave mod install` (it puts the mod into " + h.shared_mods_dir + ") first";
}

mod_install sync_instance_mod(const host_layout& h, const std::string& name) {
  auto dir = instance_path(h, name);
  auto zip = newest_mod_zip(dir + "/instanceMods");
  if (zip.empty())
    zip = newest_mod_zip(h.shared_mods_dir);
  return zip.empty() ? mod_install{} : install_mod_zip(zip, dir + "/mods");
}

std::optional<instance_config> load_instance(const host_layout& h, const std::string& name, std::string& why) {
  auto text = read_file(instance_path(h, name) + "/config.json", why);
  if (!text) {
    why = "unknown instance '" + name + "' (" + why + ")";
    return std::nullopt;
  }
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
    why = instance_path(h, name) + "/config.json: " + e.what();
    return std::nullopt;
  }
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

std::string supervisor_claim_path(const host_layout& h, const std::string& name) { return instance_path(h, name) + "/supervisor.pid"; }

std::optional<int> supervisor_pid(const host_layout& h, const std::string& name) { return claim_holder(supervisor_claim_path(h, name)); }

std::string delete_instance_dir(const host_layout& h, const std::string& name) {
  if (auto bad = check_instance_name(name); !bad.empty())
    return bad;
  auto dir = instance_path(h, name);
  if (!file_exists(dir + "/config.json"))
    return "unknown instance '" + name + "'";
  if (auto pid = supervisor_pid(h, name))
    return "instance '" + name + "' is running (slave process " + std::to_string(*pid) + "); stop it first";
  std::error_code ec;
  fs::remove_all(dir, ec);
  return ec ? dir + ": " + ec.message() : "";
}

} // namespace clusterio
