#pragma once
// Counters for /metrics, bumped where the events happen (gateway thread, storage actor) and read
// by the HTTP threads. Plain std::atomic, relaxed: a scrape needs no ordering between counters.
// Created in main() and passed by pointer; a null pointer means "not counted" (tests, tools).
// No CAF in here. Gauges (stock, UPS, players, instances online) are not kept here: the HTTP
// server asks the owning actor at scrape time. Names and meanings: docs/webui.md.

#include <array>
#include <atomic>
#include <cstdint>
#include <variant>

#include "messages/message.hpp"

namespace clusterio {

struct metrics {
  using counter = std::atomic<std::uint64_t>;

  /// Messages received on the control socket, by message type (index in wire::message); a batch
  /// frame counts each of its messages.
  std::array<counter, std::variant_size_v<wire::message>> messages_received{};
  /// Frames on the control socket that were batches (docs/protocol.md §3.1).
  counter batch_frames{0};
  /// Messages (or whole frames) that could not be decoded, and frames larger than allowed.
  counter bad_frames{0};
  /// Error replies the gateway sent itself (unauthorized, not_found, invalid, unsupported, and
  /// overloaded for a client over its rate limit).
  counter gateway_errors{0};
  /// Frames refused with `overloaded` because their client was over its rate limit.
  counter throttled_frames{0};
  /// signal_frame messages accepted and published on the bus.
  counter signal_frames{0};

  /// Export batches applied (duplicates not counted) and the units they carried.
  counter export_batches{0};
  counter exported_units{0};
  /// Duplicate export batches acknowledged without applying them.
  counter duplicate_batches{0};
  /// Reservations made (grants) and the units they took from storage.
  counter grants{0};
  counter granted_units{0};
  /// Units returned to storage by cancelled grants and deleted instances.
  counter returned_units{0};
  /// Storage transactions committed (with durability `full`, each is one fsync).
  counter storage_commits{0};
  /// Storage error replies (refused writes, invalid exports).
  counter storage_errors{0};

  /// HTTP requests served, and those answered 5xx (an actor did not answer in time).
  counter http_requests{0};
  counter http_errors{0};

  static void bump(counter* c, std::uint64_t n = 1) {
    if (c)
      c->fetch_add(n, std::memory_order_relaxed);
  }
};

} // namespace clusterio
