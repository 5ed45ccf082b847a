#include "slave/request_book.hpp"

#include <algorithm>

namespace clusterio {

bool request_book::reported(const wire::item_list& missing, std::uint64_t applied) {
  if (applied < applied_seen_)
    return false;
  wanted_.clear();
  for (auto& it : missing)
    if (it.count > 0)
      wanted_[it.name] = it.count;
  return true;
}

void request_book::mod_applied(std::uint64_t applied) { applied_seen_ = std::max(applied_seen_, applied); }

void request_book::granted(const std::vector<wire::grant>& grants) {
  for (auto& g : grants)
    if (auto it = wanted_.find(g.name); it != wanted_.end() && (it->second -= g.count) <= 0)
      wanted_.erase(it);
}

void request_book::settled(std::uint64_t doubts) { settled_ = std::max(settled_, doubts); }

void request_book::game_started() {
  applied_seen_ = 0;
  wanted_.clear();
  doubt();
}

wire::item_list request_book::wanted_in_stock(const wire::item_list& levels) const {
  wire::item_list out;
  for (auto& level : levels)
    if (auto it = wanted_.find(level.name); level.count > 0 && it != wanted_.end())
      out.push_back({level.name, it->second});
  return out;
}

} // namespace clusterio
