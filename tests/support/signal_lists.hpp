#pragma once
// Large signal lists for tests of the signal bus's bounds.

#include <cstddef>
#include <string>

#include "messages/field.hpp"

namespace clusterio::test {

/// `n` signals of value 1 with made-up names of `name_bytes` bytes ("0xx…", "1xx…", … from
/// `first`), which no world has a prototype of.
inline wire::signal_list made_up_signals(std::size_t n, std::size_t name_bytes, std::size_t first = 0) {
  wire::signal_list out;
  for (std::size_t i = first; i < first + n; ++i) {
    auto name = std::to_string(i);
    out.push_back({name + std::string(name_bytes - name.size(), 'x'), 1});
  }
  return out;
}

/// `n` signals: the virtual "signal-A", which every world has, then made-up names of
/// `name_bytes` bytes (a receiving world keeps only the first).
inline wire::signal_list long_signals(std::size_t n, std::size_t name_bytes) {
  wire::signal_list out{{"signal-A", 1, "virtual"}};
  auto rest = made_up_signals(n - 1, name_bytes, 1);
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

} // namespace clusterio::test
