#pragma once

// Source RCON packet codec, shared by factorio-sim's server and the client.
//
// Wire format (all integers little-endian int32):
//   size | id | type | body bytes | 0x00 | 0x00
// where size = 4 + 4 + len(body) + 2 counts the bytes after the size field, so it is at least 10.
// Types: 3 = auth (client to server), 2 = auth response (server to client) or command (client to
// server), 0 = response value (server to client). Factorio answers every non-empty command with
// exactly one packet, however large, so the decoder never caps replies at 4096.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace clusterio::rcon {

enum packet_type : int32_t {
  response_value = 0,
  exec_command = 2,
  auth_response = 2,
  auth = 3,
};

struct packet {
  int32_t id = 0;
  int32_t type = 0;
  std::string body;
};

/// Default cap on the size field: Factorio's own inbound limit is 100 MiB.
constexpr size_t default_max_packet_size = 100u * 1024u * 1024u;

/// Appends the encoded packet to `out`.
void encode(const packet& p, std::string& out);
std::string encode(const packet& p);

/// Incremental decoder: feed bytes as they arrive, then call `next` until it returns
/// `need_more`. After an `error` the stream is unusable (the framing is lost); the caller must
/// drop the connection. Thread-compatible (one decoder per connection).
class decoder {
public:
  enum class status { ok, need_more, error };

  explicit decoder(size_t max_packet_size = default_max_packet_size)
      : max_size_(max_packet_size) {}

  void feed(std::string_view bytes) { buf_.append(bytes.data(), bytes.size()); }

  /// On `ok`, `out` holds the next packet. On `error`, `error()` says what was wrong.
  status next(packet& out);

  const std::string& error() const { return error_; }

  /// Bytes received but not yet decoded (for tests and bounded buffering).
  size_t buffered() const { return buf_.size() - pos_; }

private:
  size_t max_size_;
  std::string buf_;
  size_t pos_ = 0;
  std::string error_;
};

} // namespace clusterio::rcon
