#include "tests/support/process.hpp"

#include "common/local_port.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace clusterio::test {

child_process::child_process(std::vector<std::string> argv, std::string log_path) : log_(std::move(log_path)) {
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

child_process::~child_process() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGKILL);
    wait(5000);
  }
}

void child_process::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

int child_process::wait(int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    int status = 0;
    auto r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = status;
      return status;
    }
    if (r < 0)
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

bool child_process::running() {
  if (pid_ <= 0)
    return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    status_ = status;
    return false;
  }
  return true;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
  return "ended with status " + std::to_string(status);
}

int free_port() {
  auto port = free_local_port();
  if (!port)
    throw std::runtime_error(port.error().what());
  return *port;
}

std::string temp_dir(const std::string& prefix) {
  std::string tmpl = (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + std::string("/") + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

std::string build_dir() {
  if (auto* b = std::getenv("CLUSTERIO_BUILD_DIR"))
    return b;
  // Run by hand: the build directory is the nearest parent of this program with a CMakeCache.
  char self[4096];
  auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::string path = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : std::string(".");
  while (path.size() > 1) {
    path = path.substr(0, path.rfind('/'));
    if (::access((path + "/CMakeCache.txt").c_str(), F_OK) == 0)
      return path;
  }
  return ".";
}

std::string source_dir() {
  auto* s = std::getenv("CLUSTERIO_SOURCE_DIR");
  return s ? s : CLUSTERIO_SOURCE_DIR_DEFAULT; // the tree this was built from
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
/// A line "Name:  value ..." of /proc/<pid>/status: its value.
std::string proc_status(pid_t pid, const std::string& name) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(name + ":", 0) == 0)
      return line.substr(name.size() + 1);
  return "0";
}
} // namespace

double resident_mib(pid_t pid) { return std::stod(proc_status(pid, "VmRSS")) / 1024; }
double peak_resident_mib(pid_t pid) { return std::stod(proc_status(pid, "VmHWM")) / 1024; }
void reset_peak_resident(pid_t pid) { std::ofstream("/proc/" + std::to_string(pid) + "/clear_refs") << "5"; }
pid_t parent_of(pid_t pid) { return static_cast<pid_t>(std::stol(proc_status(pid, "PPid"))); }

tcp_backlog tcp_connections_on(const std::vector<int>& ports) {
  tcp_backlog b;
  for (auto path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line); // the header
    // "sl local_address rem_address st tx_queue:rx_queue ...", addresses as HEXADDR:HEXPORT.
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues;
      if (!(fields >> slot >> local >> remote >> state >> queues) || state != "01")
        continue;
      auto port = std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16);
      if (std::find(ports.begin(), ports.end(), port) == ports.end())
        continue;
      ++b.connections;
      b.queued_bytes += std::stoul(queues.substr(0, queues.find(':')), nullptr, 16);
    }
  }
  return b;
}

namespace {
/// utime + stime of a stat file of /proc, in seconds; 0 if it cannot be read.
double stat_cpu_seconds(const std::string& path) {
  std::ifstream stat(path);
  std::string line;
  if (!std::getline(stat, line))
    return 0;
  // The fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14)
      ticks += std::stod(field);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}
} // namespace

double cpu_seconds(pid_t pid) { return stat_cpu_seconds("/proc/" + std::to_string(pid) + "/stat"); }

double thread_cpu_seconds(pid_t tid) { return stat_cpu_seconds("/proc/self/task/" + std::to_string(tid) + "/stat"); }

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout, std::chrono::milliseconds every) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until)
      return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

} // namespace clusterio::test
