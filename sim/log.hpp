#pragma once

// Factorio-shaped stdout lines. Factorio flushes stdout per line and the slave parses these lines,
// so every function here writes whole lines under one lock and flushes.

#include <string>

namespace clusterio::sim {

/// "   1.234 <text>": seconds since start, right-aligned in 8 columns, like the real server.
void log_line(const std::string& text);

/// "   1.234 Info <where>: <text>"; level is Info, Warning, Error or Verbose.
void log_at(const char* level, const char* where, const std::string& text);

/// Raw text plus '\n' (Lua print, IPC lines), no prefix.
void print_raw(const std::string& text);

/// Seconds since the process started.
double uptime();

} // namespace clusterio::sim
