#pragma once
// Catch2 checks on a test cluster (tests/support/cluster.hpp): the exact conservation of
// docs/transfers.md, with the whole ledger shown when it fails.

#include <catch2/catch.hpp>

#include "tests/support/cluster.hpp"

namespace clusterio::test {

/// Stops production and consumption, waits until nothing is in flight, and checks that every
/// unit produced is accounted for exactly once.
inline void check_conservation(cluster& c) {
  auto [l, settled] = c.settle();
  CHECK(settled);
  for (auto& n : ledger::names) {
    INFO(l.describe(n));
    CHECK(l.produced[n] > 0);
    CHECK(l.pending_exports[n] == 0);
    CHECK(l.reserved[n] == 0);
    CHECK(l.accounted(n) == l.produced[n]);
  }
}

} // namespace clusterio::test
