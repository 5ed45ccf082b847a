#include "sim/log.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

namespace clusterio::sim {

namespace {

using clock = std::chrono::steady_clock;

const auto start_time = clock::now();

/// Whole lines to stdout, flushed one by one. With FACTORIO_SIM_STDOUT_LAG_MS set, each line
/// comes out that long after it was written (fault injection: a game whose stdout the slave
/// reads late, while its RCON replies come at once — the two channels race).
class line_writer {
public:
  line_writer() {
    const char* lag = std::getenv("FACTORIO_SIM_STDOUT_LAG_MS");
    lag_ = std::chrono::milliseconds(lag ? std::strtol(lag, nullptr, 10) : 0);
    if (lag_.count() > 0)
      thread_ = std::thread([this] { run(); });
  }

  /// At exit: what is still queued comes out now, and later lines go straight out.
  void finish() {
    {
      std::lock_guard<std::mutex> g(m_);
      done_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable())
      thread_.join();
  }

  void write(std::string line) {
    std::lock_guard<std::mutex> g(m_);
    if (lag_.count() <= 0 || done_)
      return put(line);
    queue_.emplace_back(clock::now() + lag_, std::move(line));
    cv_.notify_one();
  }

private:
  static void put(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }

  void run() {
    std::unique_lock<std::mutex> g(m_);
    while (!(done_ && queue_.empty())) {
      if (queue_.empty()) {
        cv_.wait(g);
      } else if (done_ || clock::now() >= queue_.front().first) {
        put(queue_.front().second);
        queue_.pop_front();
      } else {
        cv_.wait_until(g, queue_.front().first);
      }
    }
  }

  std::chrono::milliseconds lag_{0};
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::pair<clock::time_point, std::string>> queue_;
  bool done_ = false;
  std::thread thread_;
};

/// Never destroyed: threads that still log while the process exits must find it whole.
line_writer& out() {
  static line_writer* w = [] {
    auto* created = new line_writer;
    std::atexit([] { out().finish(); });
    return created;
  }();
  return *w;
}

} // namespace

double uptime() {
  return std::chrono::duration<double>(clock::now() - start_time).count();
}

void log_line(const std::string& text) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%8.3f ", uptime());
  out().write(stamp + text);
}

void log_at(const char* level, const char* where, const std::string& text) {
  log_line(std::string(level) + " " + where + ": " + text);
}

void print_raw(const std::string& text) { out().write(text); }

} // namespace clusterio::sim
