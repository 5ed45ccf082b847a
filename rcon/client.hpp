#pragma once

// RCON client for a Factorio server (or factorio-sim).
//
// Factorio's deviations from Source RCON, which this client relies on: the auth reply is a single
// type-2 packet (type-0 packets before it are skipped for SRCDS compatibility), every non-empty
// command gets exactly one reply packet carrying its id, replies are never split (so no sentinel
// trick) and may arrive out of order. Empty commands are refused locally: Factorio never answers
// them.
//
// Thread safety: every public member may be called from any thread. Replies are delivered on the
// client's reader thread: callbacks must be short and must not call `close()` or `connect()`.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.hpp"

namespace clusterio::rcon {

/// The server's answer to a command (possibly empty), or why there is none: "timeout" (the
/// command may still run later), "disconnected: ..." (reconnect and ask the game what happened)
/// or "not connected" / "overloaded: ..." / "empty command ..." (nothing was sent).
using reply = result<std::string>;

struct client_options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string password;
  std::chrono::milliseconds connect_timeout{5000};
  /// Per command. Factorio stops answering while it saves, so keep this generous.
  std::chrono::milliseconds request_timeout{30000};
  size_t max_packet_size = 100u * 1024u * 1024u;
};

class client {
public:
  using callback = std::function<void(reply)>;
  /// Commands waiting for their answer, at most; `send` fails further ones at once ("overloaded").
  static constexpr size_t max_pending = 10000;

  explicit client(client_options opts);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Connects and authenticates, blocking up to connect_timeout for each step. Drops any
  /// previous connection first (its pending commands fail as disconnected), so this is also how
  /// to reconnect.
  result<void> connect();

  bool connected() const;

  /// Sends a command; the callback runs exactly once (reply, timeout or disconnect).
  void send(std::string command, callback cb);
  void send(std::string command, std::chrono::milliseconds timeout, callback cb);

  std::future<reply> send(std::string command);
  std::future<reply> send(std::string command, std::chrono::milliseconds timeout);

  /// Closes the connection; pending commands fail as disconnected.
  void close();

private:
  struct pending {
    std::chrono::steady_clock::time_point deadline;
    callback cb;
  };

  void reader_loop(int fd);
  void fail_all(const std::string& why);
  result<void> write_all(int fd, const std::string& bytes);

  client_options opts_;
  mutable std::mutex mtx_;      // guards everything below
  std::mutex write_mtx_;        // serialises writes so packets never interleave
  int fd_ = -1;
  bool connected_ = false;
  int32_t next_id_ = 1;
  std::map<int32_t, pending> pending_;
  std::thread reader_;
  int wake_pipe_[2] = {-1, -1}; // lets close() interrupt the reader's poll
};

} // namespace clusterio::rcon
