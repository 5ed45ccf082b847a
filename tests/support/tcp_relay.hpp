#pragma once
// A TCP relay on loopback between clients and a server, for a link that breaks under a test's
// control: bytes one way can be lost (as in a connection that is about to break), and every
// connection can be cut, after which clients connect again through the relay as before.

#include <atomic>
#include <cstddef>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace clusterio::test {

class tcp_relay {
public:
  /// Listens on 127.0.0.1 (port()) and relays each connection to 127.0.0.1:`server_port`.
  explicit tcp_relay(int server_port);
  ~tcp_relay();
  tcp_relay(const tcp_relay&) = delete;
  tcp_relay& operator=(const tcp_relay&) = delete;

  int port() const { return port_; }
  /// While on, what the server sends is read and thrown away; lost() counts those bytes.
  void lose_from_server(bool on) { lose_from_server_ = on; }
  /// While on, what clients send is read and thrown away; lost() counts those bytes.
  void lose_from_client(bool on) { lose_from_client_ = on; }
  std::size_t lost() const { return lost_; }
  /// Closes every connection, both ends, now, and stops losing bytes: clients that connect again
  /// are relayed whole (in one step, so that no new connection loses its first bytes).
  void cut();

private:
  void run();

  int server_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1}; ///< a pipe: cut() and the destructor wake the relay's poll
  std::atomic<bool> lose_from_server_{false}, lose_from_client_{false}, stop_{false}, cut_{false};
  std::atomic<std::size_t> lost_{0};
  std::vector<std::pair<int, int>> links_; ///< (client, server); the relay thread's alone
  std::thread thread_;
};

} // namespace clusterio::test
