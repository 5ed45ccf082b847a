#include "messages/inventory_parts.hpp"

#include <iterator>

namespace clusterio::wire {

std::optional<inventory_levels> inventory_joiner::add(inventory_levels in) {
  if (!in.full)
    return in;
  if (in.part == 1) {
    if (joining_)
      ++dropped_;
    joining_ = std::move(in);
  } else if (joining_ && joining_->time_ms == in.time_ms && joining_->parts == in.parts && joining_->part + 1 == in.part) {
    joining_->levels.insert(joining_->levels.end(), std::make_move_iterator(in.levels.begin()), std::make_move_iterator(in.levels.end()));
    joining_->part = in.part;
  } else {
    if (joining_)
      ++dropped_;
    joining_.reset();
    return std::nullopt;
  }
  if (joining_->part < joining_->parts)
    return std::nullopt;
  auto whole = std::move(*joining_);
  joining_.reset();
  whole.part = whole.parts = 1;
  return whole;
}

} // namespace clusterio::wire
