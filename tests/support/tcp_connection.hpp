#pragma once
// A raw TCP connection to a port on this host, for clients that misbehave below HTTP: heads sent
// a line at a time, endless headers, connections that never send. Shared by the web server's
// tests and the abuse benchmark's attacks.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace clusterio::test {

class tcp_connection {
public:
  /// Connects to 127.0.0.1:`port` from the loopback address `from` (all of 127.0.0.0/8 is this
  /// host, so a test can be several clients). Sends and receives give up after 10 s unless
  /// `timeouts` says otherwise. `ok()` is false if the connection failed.
  explicit tcp_connection(int port, const std::string& from = "127.0.0.1");
  ~tcp_connection();
  tcp_connection(const tcp_connection&) = delete;
  tcp_connection& operator=(const tcp_connection&) = delete;

  bool ok() const { return fd_ >= 0; }
  /// How long one send and one receive call may wait.
  void timeouts(std::chrono::milliseconds send, std::chrono::milliseconds receive) const;

  enum class sent { all, closed, late };
  /// Sends all of `bytes` (adding what went to `count`) unless the server closes the connection
  /// or stops reading until `deadline` (monotonic ms; each send waits at most the send timeout).
  sent send_all(const std::string& bytes, std::size_t& count, std::uint64_t deadline) const;
  /// Sends all of `bytes` within 10 s; false once the server has closed the connection.
  bool send(const std::string& bytes) const;
  /// What the server sends until it closes the connection, or until `timeout`.
  std::string receive(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  /// Whether the server answered or closed within `timeout`: something to read, the end, or an error.
  bool server_done(std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) const;
  /// Whether the server closed the connection (end of stream or reset) within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) const;

private:
  int fd_ = -1;
};

/// The status code of an HTTP reply's first line ("HTTP/1.1 431 ..." -> 431); 0 if there is none.
int http_status_of(const std::string& reply);

} // namespace clusterio::test
