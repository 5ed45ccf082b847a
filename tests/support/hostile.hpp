#pragma once
// Hostile clients against a real master: the attacks that both the tests (tests/master/) and the
// abuse benchmark (bench/abuse.cpp) make, each bounded in count, bytes and time. They use only
// the wire protocol (docs/protocol.md) and HTTP, never the master's internals.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/wire_client.hpp"
#include "common/credentials.hpp"

namespace clusterio::test {

/// `count` distinct subscriptions of `bytes` bytes each, on one bus connection: made-up topics,
/// each over every bound the master puts on a subscription.
void subscribe_long_topics(bus_subscriber& sub, std::size_t count, std::size_t bytes);

/// What export_long_names did: units accepted, and the error message of each export refused
/// ("no reply" if one was not answered).
struct long_names_result {
  std::size_t accepted = 0;
  std::vector<std::string> refusals;
};
/// `batches` exports for `instance` (batch numbers from `first_batch`), each of
/// max_list_entries new names of max_name_bytes, one unit each: a full inventory as large as
/// the master lets it grow. The same arguments make the same names.
long_names_result export_long_names(wire_client& slave, std::uint64_t instance, std::uint64_t first_batch, std::size_t batches);

/// The next full inventory snapshot `sub` receives within `timeout`, its parts joined (nullopt
/// if none came whole). `most_levels`, if given, gets the most levels one bus message carried.
std::optional<wire::inventory_levels> next_full_inventory(bus_subscriber& sub, std::chrono::milliseconds timeout,
                                                          std::size_t* most_levels = nullptr);

/// Sends `count` frames the master must refuse (a `hello` whose name is no label), in rounds of
/// 100 so that no socket queue overflows, and reads every reply. Returns how many came back
/// `invalid`.
std::size_t send_bad_frames(wire_client& c, std::size_t count);

/// `count` clients whose keys are not on the allow-list (with `known`'s master key) knock at the
/// control socket `endpoint` for `duration`: each retries its CURVE handshake by itself.
void knock_with_unknown_keys(const std::string& endpoint, const credential& known, std::size_t count, std::chrono::milliseconds duration);

/// Sends the `count` requests `make(0)`, `make(1)`, ... with at most `window` in flight, and
/// returns the replies by index (nullopt: none came within `timeout` of the last reply).
std::vector<std::optional<wire::frame>> call_pipelined(wire_client& c, std::size_t count, const std::function<wire::message(std::size_t)>& make,
                                                       std::size_t window, std::chrono::milliseconds timeout = std::chrono::seconds(10));

/// `connections` control connections of `cred`, each sending `request` `per_connection` times
/// as fast as the master takes them and never reading a reply, held open for `hold` from the
/// first send: the replies wait at the master, unless it gives up on the connection. (The
/// clients do not see it give up: their ZeroMQ stopped reading.) With `trickle_every`, each
/// connection then sends `request` again that often until `hold` ends, as a client that keeps
/// talking but never reads.
void ask_without_reading(const std::string& endpoint, const credential& cred, const wire::message& request, std::size_t connections,
                         std::size_t per_connection, std::chrono::milliseconds hold,
                         std::chrono::milliseconds trickle_every = std::chrono::milliseconds(0));

/// Publishes a frame of 50 signals on `channel` every 10 ms (each changing the channel's sum)
/// until `stop`, at most 10,000 frames: something to fill the queues of bus subscribers.
void publish_busy_channel(const std::string& endpoint, const credential& cred, const std::string& channel, const std::atomic<bool>& stop);

/// `connections` bus connections of `cred` subscribed to `topic`, never reading, held open for
/// `hold`.
void subscribe_without_reading(const std::string& endpoint, const credential& cred, const std::string& topic, std::size_t connections,
                               std::chrono::milliseconds hold);

// HTTP, anonymous, on 127.0.0.1:`port`.

/// What http_header_flood saw on one connection.
struct header_flood_result {
  std::size_t bytes_sent = 0;
  bool closed_by_server = false; ///< the server stopped the request before all was sent
  int status = 0;                ///< the status of the answer read afterwards, 0 if none came
};
/// `connections` connections at once, each sending one request whose header lines (under 8 KiB
/// each) add up to `bytes`, for at most `limit`; then the end of the head, and the answer is
/// read (at most 5 s).
std::vector<header_flood_result> http_header_flood(int port, std::size_t connections, std::size_t bytes, std::chrono::milliseconds limit);

/// `connections` connections that each send a request's first line, then one header line every
/// `every`, never ending the head, for `duration`. Returns how many the server closed meanwhile.
std::size_t http_slow_headers(int port, std::size_t connections, std::chrono::milliseconds every, std::chrono::milliseconds duration);

/// `connections` connections that send nothing for `duration`. Returns how many the server
/// closed meanwhile.
std::size_t http_idle_connections(int port, std::size_t connections, std::chrono::milliseconds duration);

} // namespace clusterio::test
