#pragma once
// Real child processes for tests: spawn, signal, wait. Output goes to a log file so a failing
// test can show it.

#include <chrono>
#include <functional>
#include <string>
#include <sys/stat.h>
#include <sys/types.h>
#include <vector>

namespace clusterio::test {

class child_process {
public:
  /// Starts argv[0] with the arguments; stdout and stderr go to `log_path` (appended).
  child_process(std::vector<std::string> argv, std::string log_path);
  ~child_process(); ///< SIGKILLs the process if still running
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig);
  /// Waits up to `timeout_ms` for the exit; returns the exit status (as from waitpid) or -1.
  int wait(int timeout_ms);
  bool running();
  /// After the process was reaped (by wait or running): its status as from waitpid.
  int exit_status() const { return status_; }
  const std::string& log_path() const { return log_; }

private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_;
};

/// "exited with code N" or "killed by signal N (NAME)", from a waitpid status.
std::string describe_exit(int status);
/// free_local_port(), or an exception.
int free_port();
/// A fresh empty directory under the system temporary directory.
std::string temp_dir(const std::string& prefix);
/// The build and source directories (from the environment ctest sets).
std::string build_dir();
std::string source_dir();
/// Reads a whole file ("" if missing).
std::string slurp(const std::string& path);

/// CPU time the process used so far, user and system, in seconds (/proc/PID/stat); 0 once gone.
double cpu_seconds(pid_t pid);
/// The same for one thread of this process (/proc/self/task/TID/stat).
double thread_cpu_seconds(pid_t tid);

/// The permission bits of a file or directory (0 if it does not exist).
unsigned file_mode(const std::string& path);
/// Sets the umask of this process, which the processes it starts inherit, while it lives.
struct scoped_umask {
  mode_t old;
  explicit scoped_umask(mode_t mask) : old(::umask(mask)) {}
  ~scoped_umask() { ::umask(old); }
};

/// False in a sanitizer build (`scripts/test --sanitize`): AddressSanitizer keeps freed memory
/// in quarantine (256 MB) and adds shadow memory, so resident memory tells nothing of what a
/// process holds. Tests check their memory bounds only when this is true.
#ifdef __SANITIZE_ADDRESS__
inline constexpr bool memory_is_measurable = false;
#else
inline constexpr bool memory_is_measurable = true;
#endif

/// A process's resident memory now (VmRSS) and at its peak so far (VmHWM), in MiB; 0 if it is gone.
double resident_mib(pid_t pid);
double peak_resident_mib(pid_t pid);
/// Makes the peak (VmHWM) start again from the resident memory now, so that peak_resident_mib
/// tells the peak of what follows.
void reset_peak_resident(pid_t pid);
/// Established TCP connections on this host (/proc/net/tcp and tcp6) whose local port is one of
/// `ports`, and the bytes waiting to be sent on them: a server's accepted connections, and what
/// its peers have not taken.
struct tcp_backlog {
  std::size_t connections = 0;
  std::size_t queued_bytes = 0;
};
tcp_backlog tcp_connections_on(const std::vector<int>& ports);
/// The parent of a process (0 if it is gone).
pid_t parent_of(pid_t pid);

/// Asks `done` every `every` until it says true or `timeout` has passed; returns its last
/// answer. Every wait in a test is bounded this way.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(30),
                std::chrono::milliseconds every = std::chrono::milliseconds(200));

} // namespace clusterio::test
