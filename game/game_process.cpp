#include "game/game_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace clusterio {

game_process::~game_process() {
  if (pid_ > 0)
    ::kill(pid_, SIGKILL);
  if (reader_.joinable())
    reader_.join();
  if (stdin_fd_ >= 0)
    ::close(stdin_fd_);
}

result<void> game_process::start(const std::vector<std::string>& argv, const std::string& cwd, line_fn on_line, exit_fn on_exit) {
  if (reader_.joinable())
    reader_.join(); // the previous run's reader has finished (its exit was reported)
  int out[2], in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0)
    return failure(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0)
    return failure(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::dup2(in[0], 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0)
      ::_exit(126);
    ::setpgid(0, 0); // Ctrl-C on the slave's terminal must not reach the game directly
    // If the slave dies (even by kill -9), the game gets SIGTERM: it saves and exits, so the next
    // slave restarts it from exactly where it stopped instead of finding an orphan on its ports.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(in[0]);
  if (stdin_fd_ >= 0)
    ::close(stdin_fd_);
  stdin_fd_ = in[1];
  pid_ = pid;
  reader_ = std::thread([fd = out[0], pid, on_line = std::move(on_line), on_exit = std::move(on_exit)] {
    std::string buf;
    char chunk[65536];
    while (true) {
      auto n = ::read(fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      buf.append(chunk, static_cast<std::size_t>(n));
      std::size_t start = 0, nl;
      while ((nl = buf.find('\n', start)) != std::string::npos) {
        on_line(buf.substr(start, nl - start));
        start = nl + 1;
      }
      // Bounded: a line longer than max_line_bytes is delivered in pieces of that size.
      for (; buf.size() - start > game_process::max_line_bytes; start += game_process::max_line_bytes)
        on_line(buf.substr(start, game_process::max_line_bytes));
      buf.erase(0, start);
    }
    if (!buf.empty())
      on_line(buf);
    ::close(fd);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    on_exit(status);
  });
  return done();
}

void game_process::signal(int sig) {
  if (pid_ > 0)
    ::kill(pid_, sig);
}

} // namespace clusterio
