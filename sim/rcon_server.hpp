#pragma once

// Factorio-behaving RCON server: a single type-2 auth reply (id -1 and close on a wrong
// password), exactly one type-0 reply per non-empty command however large, empty commands
// ignored, IPv4 on all interfaces. Commands are queued for the game loop, which runs them
// between ticks and answers with `reply`; the network thread does all socket I/O, so a slow
// client never stalls the game.
//
// Thread safety: all public members are safe to call from any thread.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace clusterio::sim {

class rcon_server {
public:
  struct command {
    uint64_t conn;
    int32_t id;
    std::string body;
  };

  ~rcon_server();

  /// Binds address:port (IPv4 dotted, e.g. 0.0.0.0 or 127.0.0.1) and starts the network
  /// thread. Returns an error text as Factorio would log it ("Can't bind socket: ...").
  std::optional<std::string> start(const std::string& address, uint16_t port, std::string password);
  void stop();

  /// Takes every command received so far, oldest first.
  std::vector<command> take_commands();

  /// Queues the single reply to a command; dropped silently if the connection is gone.
  void reply(uint64_t conn, int32_t id, std::string body);

private:
  struct connection;
  void loop();
  void accept_one();
  /// Writes what is queued and reads what came; false: the connection is to be closed.
  bool serve_connection(uint64_t id, connection& c, short revents, std::vector<char>& buf);
  /// Answers authentication and queues the commands of the packets read so far; false on a bad packet.
  bool take_packets(uint64_t id, connection& c);
  void wake();

  std::string password_;
  int listen_fd_ = -1;
  int wake_pipe_[2] = {-1, -1};
  bool stopping_ = false;
  std::thread thread_;
  std::mutex mtx_; // guards conns_, queue_, stopping_
  std::map<uint64_t, std::shared_ptr<connection>> conns_;
  std::vector<command> queue_;
  uint64_t next_conn_ = 1;
};

} // namespace clusterio::sim
