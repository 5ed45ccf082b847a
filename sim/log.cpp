#include "sim/log.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>

namespace clusterio::sim {

namespace {

std::mutex& out_mutex() {
  static std::mutex m;
  return m;
}

const auto start_time = std::chrono::steady_clock::now();

} // namespace

double uptime() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
}

void log_line(const std::string& text) {
  std::lock_guard<std::mutex> g(out_mutex());
  std::fprintf(stdout, "%8.3f %s\n", uptime(), text.c_str());
  std::fflush(stdout);
}

void log_at(const char* level, const char* where, const std::string& text) {
  log_line(std::string(level) + " " + where + ": " + text);
}

void print_raw(const std::string& text) {
  std::lock_guard<std::mutex> g(out_mutex());
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

} // namespace clusterio::sim
