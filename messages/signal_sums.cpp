#include "messages/signal_sums.hpp"

#include <algorithm>
#include <cstdint>
#include <map>

namespace clusterio::wire {

namespace {

struct total {
  const circuit_signal* id = nullptr;
  std::int64_t value = 0;
};

void add(std::map<std::string, total>& into, const signal_list& list, int sign) {
  for (auto& s : list) {
    auto& t = into[signal_key(s)];
    if (!t.id)
      t.id = &s;
    t.value += sign * s.value;
  }
}

signal_list nonzero(const std::map<std::string, total>& totals) {
  signal_list out;
  for (auto& [key, t] : totals)
    if (auto v = wrap_int32(t.value); v != 0) {
      out.push_back(*t.id);
      out.back().value = v;
    }
  return out;
}

} // namespace

signal_list sum_of(const std::vector<const signal_list*>& lists) {
  std::map<std::string, total> totals;
  for (auto* l : lists)
    add(totals, *l, 1);
  return nonzero(totals);
}

signal_list subtract(const signal_list& sum, const signal_list& own) {
  std::map<std::string, total> totals;
  add(totals, sum, 1);
  add(totals, own, -1);
  return nonzero(totals);
}

const signal_source* find_source(const signal_sum& sum, const std::string& source) {
  // A look at every entry rather than a binary search: it costs the same when the source is not
  // listed (most sums a receiver gets), and does not rely on the sender's order.
  auto it = std::find_if(sum.sources.begin(), sum.sources.end(), [&](const signal_source& s) { return s.source == source; });
  return it == sum.sources.end() ? nullptr : &*it;
}

} // namespace clusterio::wire
