#pragma once
// A Factorio server (or factorio-sim) as a child process: started with its stdout and stderr on a
// pipe that a dedicated reader thread splits into lines. Lines and the exit reach the owner
// through callbacks run on that thread (the supervisor actor forwards them to itself). Standard
// input stays open for the life of the process: Factorio logs an error when it sees EOF there.

#include <cstddef>
#include <functional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

#include "common/result.hpp"

namespace clusterio {

class game_process {
public:
  using line_fn = std::function<void(std::string)>;
  using exit_fn = std::function<void(int status)>; ///< status as from waitpid
  /// Longest line delivered whole; a longer one (a game printing without newlines) comes in
  /// pieces of this size, so the reader's buffer stays bounded. IPC lines are far shorter: payloads
  /// of 4,000 bytes and more go through files.
  static constexpr std::size_t max_line_bytes = 1u << 20;

  game_process() = default;
  ~game_process(); ///< SIGKILLs a process still running, then joins the reader
  game_process(const game_process&) = delete;
  game_process& operator=(const game_process&) = delete;

  /// Starts argv[0] in `cwd`.
  result<void> start(const std::vector<std::string>& argv, const std::string& cwd, line_fn on_line, exit_fn on_exit);
  void signal(int sig);
  /// The owner saw the exit callback: the pid is gone.
  void reaped() { pid_ = -1; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::thread reader_;
};

} // namespace clusterio
