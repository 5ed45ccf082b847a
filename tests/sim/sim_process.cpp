#include "tests/sim/sim_process.hpp"

#include "tests/support/mod_folder.hpp"
#include "tests/support/process.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace clusterio::test {

namespace fs = std::filesystem;

std::string lua_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\'': out += "\\'"; break;
      case '\0': out += "\\0"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

int spawn(const std::vector<std::string>& args, int* out_fd) {
  int fds[2];
  if (::pipe(fds) != 0)
    throw std::runtime_error("pipe failed");
  int pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  *out_fd = fds[0];
  return pid;
}

} // namespace

sim_process::sim_process(const std::string& scenario, std::vector<std::string> extra)
    : extra_(std::move(extra)) {
  std::string build = std::getenv("CLUSTERIO_BUILD_DIR") ? std::getenv("CLUSTERIO_BUILD_DIR") : ".";
  char tmpl[] = "/tmp/clusterio-sim-XXXXXX";
  dir_ = ::mkdtemp(tmpl);
  exe_ = build + "/factorio-sim/bin/x64/factorio";
  fs::create_directories(dir_ + "/mods");
  for (auto& e : fs::directory_iterator(build + "/mod"))
    if (e.path().extension() == ".zip")
      fs::copy_file(e.path(), dir_ + "/mods/" + e.path().filename().string());
  std::ofstream(dir_ + "/config.ini") << "[path]\nread-data=" << build
                                      << "/factorio-sim/data\nwrite-data=" << dir_ << "\n";
  std::string scen = scenario;
  if (scenario.find('\n') != std::string::npos) {
    scen = dir_ + "/scenario.lua";
    std::ofstream(scen) << scenario;
  }
  int fd;
  int pid = spawn({exe_, "-c", dir_ + "/config.ini", "--create", dir_ + "/saves/world.zip",
                   "--scenario", scen},
                  &fd);
  std::string all;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    all.append(buf, static_cast<size_t>(n));
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::error_code ec;
    fs::remove_all(dir_, ec); // the destructor will not run
    throw std::runtime_error("--create failed:\n" + all);
  }
}

sim_process::~sim_process() {
  if (pid_ > 0)
    stop(SIGKILL);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void sim_process::start() {
  rcon_port_ = static_cast<uint16_t>(free_port());
  std::vector<std::string> args{exe_, "-c", dir_ + "/config.ini", "--start-server",
                                dir_ + "/saves/world.zip", "--port", std::to_string(free_port()),
                                "--rcon-password", "pw"};
  if (rcon_bind_address.empty())
    args.insert(args.end(), {"--rcon-port", std::to_string(rcon_port_)});
  else
    args.insert(args.end(), {"--rcon-bind", rcon_bind_address + ":" + std::to_string(rcon_port_)});
  args.insert(args.end(), extra_.begin(), extra_.end());
  size_t from = lines().size(); // a restart must not see the previous run's lines
  pid_ = spawn(args, &out_fd_);
  output_ended_ = false;
  reader_ = std::thread([this] {
    std::string partial;
    char buf[8192];
    for (ssize_t n; (n = ::read(out_fd_, buf, sizeof buf)) > 0;) {
      partial.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = partial.find('\n')) != std::string::npos;) {
        std::lock_guard<std::mutex> g(mtx_);
        lines_.push_back(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
    }
    output_ended_ = true;
  });
  if (wait_line([](const std::string& l) { return l.find("Starting RCON interface") != std::string::npos; },
                std::chrono::seconds(10), from)
          .empty()) {
    std::string said;
    auto all = lines();
    for (size_t i = std::max(from, all.size() > 20 ? all.size() - 20 : 0); i < all.size(); ++i)
      said += "\n  " + all[i];
    throw std::runtime_error("sim did not start RCON; its last lines:" + said);
  }
  rcon::client_options o;
  o.port = rcon_port_;
  o.password = "pw";
  o.request_timeout = std::chrono::seconds(10);
  client_ = std::make_unique<rcon::client>(o);
  if (auto connected = client_->connect(); !connected)
    throw std::runtime_error("rcon connect: " + connected.why());
  command("/sc rcon.print('disabled')");
  if (command("/sc rcon.print('disabled')") != "disabled\n")
    throw std::runtime_error("achievement two-step failed");
}

int sim_process::stop(int sig) {
  if (pid_ <= 0)
    return -1;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (reader_.joinable())
    reader_.join();
  ::close(out_fd_);
  if (client_)
    client_->close();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string sim_process::command(const std::string& cmd) {
  auto r = client_->send(cmd).get();
  if (!r)
    throw std::runtime_error("rcon: " + r.why());
  return *r;
}

nlohmann::json sim_process::call(const std::string& fn, const nlohmann::json& arg) {
  auto body = command("/sc remote.call(\"clusterio\",\"" + fn + "\",\"" + lua_escape(arg.dump())
                      + "\")");
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded())
    throw std::runtime_error(fn + ": not JSON: " + body);
  return j;
}

nlohmann::json sim_process::lua_json(const std::string& code) {
  auto body = command("/sc " + code);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded())
    throw std::runtime_error("not JSON: " + body);
  return j;
}

long sim_process::lua_int(const std::string& expr) {
  return std::stol(command("/sc rcon.print(" + expr + ")"));
}

void sim_process::run_ticks(int ticks) {
  int start = call("ping", nlohmann::json::object())["tick"].get<int>();
  for (int i = 0; i < 500; ++i) {
    if (call("ping", nlohmann::json::object())["tick"].get<int>() >= start + ticks)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("the game did not advance");
}

void sim_process::write_mod(const std::string& name, nlohmann::json info,
                            const std::vector<std::pair<std::string, std::string>>& files) {
  write_mod_folder(dir_ + "/mods", {name, std::move(info), files});
}

std::string sim_process::icon_png() const {
  return sim_icon_png(fs::path(exe_).parent_path().parent_path().parent_path().string());
}

std::vector<std::string> sim_process::lines() {
  std::lock_guard<std::mutex> g(mtx_);
  return lines_;
}

std::string sim_process::wait_line(const std::function<bool(const std::string&)>& pred,
                                   std::chrono::milliseconds timeout, size_t from) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool ended = output_ended_; // read before the lines: none can follow the end
    {
      std::lock_guard<std::mutex> g(mtx_);
      for (size_t i = from; i < lines_.size(); ++i)
        if (pred(lines_[i]))
          return lines_[i];
    }
    if (ended)
      return ""; // the process exited: no line will come
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "";
}

std::vector<nlohmann::json> sim_process::ipc(const std::string& channel) {
  std::vector<nlohmann::json> out;
  const std::string prefix = "\f$ipc:" + channel + "?";
  for (auto& l : lines()) {
    if (l.rfind(prefix, 0) != 0)
      continue;
    char kind = l[prefix.size()];
    std::string rest = l.substr(prefix.size() + 1);
    if (kind == 'f') {
      std::ifstream f(dir_ + "/script-output/" + rest);
      std::stringstream ss;
      ss << f.rdbuf();
      rest = ss.str();
    }
    out.push_back(nlohmann::json::parse(rest));
  }
  return out;
}

} // namespace clusterio::test
