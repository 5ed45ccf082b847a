#include "game/request_book.hpp"

#include <algorithm>

namespace clusterio {

void request_book::take_off(const wire::grant& g) {
  if (auto it = wanted_.find(wire::item_key(g.name, g.quality)); it != wanted_.end() && (it->second -= g.count) <= 0)
    wanted_.erase(it);
}

std::uint64_t request_book::reported(const wire::item_list& missing, std::uint64_t applied) {
  // Reports come in the order the mod made them: calls dated at or before this one are in it.
  while (!calls_.empty() && calls_.front().applied <= applied)
    calls_.pop_front();
  wanted_.clear();
  for (auto& it : missing)
    if (it.count > 0)
      wanted_[wire::item_key(it)] = it.count;
  std::uint64_t predates = 0;
  for (auto& call : calls_) {
    predates = call.applied - applied;
    for (auto& g : call.grants)
      take_off(g);
  }
  // On its way to the mod: whether the report counts it is not known yet; assume not (asking
  // late is harmless, asking twice is not).
  for (auto& [id, g] : to_mod_)
    take_off(g);
  return predates;
}

void request_book::granted(const std::vector<wire::grant>& grants) {
  for (auto& g : grants) {
    // A resync may deliver again a grant whose answer was lost: it is on its way once.
    if (to_mod_.emplace(g.grant_id, g).second)
      take_off(g);
  }
}

void request_book::mod_answered(const std::vector<wire::grant>& sent, const std::vector<std::uint64_t>& taken, std::uint64_t applied) {
  applied_call call{applied, {}};
  for (auto& g : sent) {
    to_mod_.erase(g.grant_id);
    if (std::find(taken.begin(), taken.end(), g.grant_id) != taken.end())
      call.grants.push_back(g);
  }
  if (call.grants.empty())
    return;
  if (calls_.size() >= max_calls_kept)
    calls_.pop_front();
  calls_.push_back(std::move(call));
}

void request_book::reclaimed(const std::vector<std::uint64_t>& ids) {
  for (auto id : ids)
    to_mod_.erase(id);
}

void request_book::settled(std::uint64_t doubts) { settled_ = std::max(settled_, doubts); }

void request_book::game_started() {
  wanted_.clear();
  to_mod_.clear();
  calls_.clear();
  doubt();
}

wire::item_list request_book::wanted() const {
  wire::item_list out;
  for (auto& [key, count] : wanted_)
    out.push_back(wire::item_of_key(key, count));
  return out;
}

wire::item_list request_book::wanted_in_stock(const wire::item_list& levels) const {
  wire::item_list out;
  for (auto& level : levels)
    if (auto it = wanted_.find(wire::item_key(level)); level.count > 0 && it != wanted_.end())
      out.push_back({level.name, it->second, level.quality});
  return out;
}

} // namespace clusterio
