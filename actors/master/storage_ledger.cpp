#include "actors/master/storage_ledger.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "control/metrics.hpp"

namespace clusterio {

namespace {

using wire::error_code;

/// The levels of `keys`, sorted by key (each name's qualities follow its normal one).
template <class Keys, class Level> wire::item_list levels_of(const Keys& keys, Level level) {
  std::vector<const std::string*> sorted;
  sorted.reserve(keys.size());
  for (auto& k : keys)
    sorted.push_back(&k);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return *a < *b; });
  wire::item_list levels;
  levels.reserve(sorted.size());
  for (auto* k : sorted)
    levels.push_back(wire::item_of_key(*k, level(*k)));
  return levels;
}

/// A reservation as the wire grants it: its key split into name and quality.
wire::grant grant_of(const reservation& r) {
  auto item = wire::item_of_key(r.name, r.count);
  return {r.grant_id, std::move(item.name), r.count, std::move(item.quality)};
}

} // namespace

void minute_stats::add(std::uint64_t minute, std::uint64_t instance, const std::string& name, std::int64_t exported, std::int64_t imported,
                       std::vector<stat_delta>& out) {
  if (minute != minute_) {
    move_to(out);
    minute_ = minute;
  }
  auto& of_instance = rows_[instance];
  auto it = of_instance.find(name);
  if (it == of_instance.end())
    it = of_instance.emplace(name, stat_delta{minute, instance, name, 0, 0}).first;
  it->second.exported += exported;
  it->second.imported += imported;
}

void minute_stats::move_to(std::vector<stat_delta>& out) {
  for (auto& [instance, by_name] : rows_)
    for (auto& [name, delta] : by_name)
      out.push_back(std::move(delta));
  rows_.clear();
}

void storage_ledger::adopt(storage_snapshot& snap) {
  counts_ = std::move(snap.counts);
  key_bytes_ = 0;
  for (auto& [key, count] : counts_)
    key_bytes_ += key.size();
  instances_.clear();
  for (auto& s : snap.states) {
    auto& inst = instances_[s.instance_id];
    inst.pruned_below = s.pruned_below;
    inst.max_batch = s.max_batch;
  }
  for (auto& [inst, batch] : snap.batches)
    instances_[inst].applied.insert(batch);
  grants_.clear();
  grants_of_.clear();
  for (auto& g : snap.grants) {
    grants_of_[g.instance_id].insert(g.grant_id);
    grants_[g.grant_id] = g;
  }
  next_grant_id_ = snap.next_grant_id;
  stats_.clear();
  pending_ = storage_changes{};
  dirty_levels_.clear();
  dirty_states_.clear();
  changed_for_bus_.clear();
}

std::int64_t storage_ledger::level(const std::string& key) const {
  auto it = counts_.find(key);
  return it == counts_.end() ? 0 : it->second;
}

void storage_ledger::set_level(const std::string& key, std::int64_t value) {
  if (value == 0) {
    if (counts_.erase(key) > 0)
      key_bytes_ -= key.size();
  } else if (auto [it, added] = counts_.try_emplace(key, value); !added) {
    it->second = value;
  } else {
    key_bytes_ += key.size();
  }
  dirty_levels_.insert(key);
  changed_for_bus_.insert(key);
}

void storage_ledger::remove_grant(std::uint64_t id) {
  auto it = grants_.find(id);
  if (it == grants_.end())
    return;
  grants_of_[it->second.instance_id].erase(id);
  grants_.erase(it);
  pending_.grants_removed.push_back(id);
}

std::optional<wire::error_reply> storage_ledger::refuse_export(const wire::export_batch& m, const std::vector<std::string>& keys) const {
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (level(keys[i]) > wire::max_stock - m.items[i].count)
      return wire::make_error(error_code::invalid, "storage of " + wire::item_text(keys[i]) + " would exceed its limit", "items");
  std::size_t new_names = 0, new_bytes = 0;
  const std::string* first_new = nullptr;
  for (auto& key : keys)
    if (counts_.count(key) == 0) {
      new_bytes += key.size();
      if (++new_names == 1)
        first_new = &key;
    }
  if (new_names == 0)
    return std::nullopt;
  auto adds = "; this export adds " + std::to_string(new_names) + " new (first " + wire::item_text(*first_new) + ")";
  if (counts_.size() + new_names > max_item_names_)
    return wire::make_error(error_code::overloaded,
                            "storage holds the maximum of " + std::to_string(max_item_names_) +
                              " distinct items (each quality of a name counts)" + adds,
                            "items");
  if (key_bytes_ + new_bytes > wire::max_stored_key_bytes)
    return wire::make_error(error_code::overloaded,
                            "the names of the distinct items in storage take the maximum of " + std::to_string(wire::max_stored_key_bytes) +
                              " bytes (so that a full inventory fits one frame)" + adds,
                            "items");
  return std::nullopt;
}

wire::message storage_ledger::apply_export(const wire::export_batch& m, std::uint64_t minute) {
  if (m.floor > m.batch)
    return wire::make_error(error_code::invalid, "floor must not exceed batch", "floor");
  auto& inst = instances_[m.instance_id];
  bool duplicate = m.batch < inst.pruned_below || inst.applied.count(m.batch) > 0;
  if (!duplicate) {
    std::vector<std::string> keys;
    keys.reserve(m.items.size());
    for (auto& it : m.items)
      keys.push_back(wire::item_key(it));
    if (auto refused = refuse_export(m, keys))
      return std::move(*refused);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      set_level(keys[i], level(keys[i]) + m.items[i].count);
      add_stat(minute, m.instance_id, keys[i], m.items[i].count, 0);
    }
    inst.applied.insert(m.batch);
    if (counters_) {
      metrics::bump(&counters_->export_batches);
      for (auto& it : m.items)
        metrics::bump(&counters_->exported_units, static_cast<std::uint64_t>(it.count));
    }
    inst.max_batch = std::max(inst.max_batch, m.batch);
    pending_.batches_added.emplace_back(m.instance_id, m.batch);
    dirty_states_.insert(m.instance_id);
  }
  advance_floor(m.instance_id, m.floor);
  if (duplicate && counters_)
    metrics::bump(&counters_->duplicate_batches);
  return wire::export_ack{m.instance_id, m.batch, duplicate};
}

void storage_ledger::advance_floor(std::uint64_t instance_id, std::uint64_t floor) {
  auto& inst = instances_[instance_id];
  if (floor > inst.pruned_below) {
    for (auto it = inst.applied.begin(); it != inst.applied.end();)
      it = *it < floor ? inst.applied.erase(it) : std::next(it);
    inst.pruned_below = floor;
    dirty_states_.insert(instance_id);
  }
  // Applied batches in an unbroken run from pruned_below need no records: moving pruned_below
  // past them says the same ("every batch below was applied"). A mod with one batch in flight
  // sends floor = batch, so this keeps the common case at one state row per commit and instance,
  // with no dedup record written and none deleted.
  if (inst.applied.erase(inst.pruned_below) > 0) {
    ++inst.pruned_below;
    while (inst.applied.erase(inst.pruned_below) > 0)
      ++inst.pruned_below;
    dirty_states_.insert(instance_id);
  }
}

wire::message storage_ledger::request(const wire::request_items& m, std::uint64_t minute, std::uint64_t now_ms) {
  auto instance_id = m.instance_id;
  // What the policy grants of each item, from the stock now.
  std::vector<std::pair<std::string, std::int64_t>> plan; // by key
  for (auto& want : m.items) {
    auto key = wire::item_key(want);
    auto stock = level(key);
    auto it = allocators_.find(key);
    if (it == allocators_.end()) {
      // An ask of a name without stock is remembered (the fair policy divides what arrives
      // among those who asked), but only for as many names as storage may hold: a flood of
      // made-up names costs no memory.
      if (stock == 0 && allocators_.size() >= max_item_names_)
        continue;
      it = allocators_.emplace(key, demand::make_allocator(policy_, policy_config_)).first;
    }
    if (auto amount = it->second->allocate(instance_id, want.count, stock, now_ms); amount > 0)
      plan.emplace_back(std::move(key), amount);
  }
  auto of = grants_of_.find(instance_id);
  auto held = of == grants_of_.end() ? 0 : of->second.size();
  if (held + plan.size() > wire::max_outstanding_grants)
    return wire::make_error(wire::error_code::overloaded,
                            "instance " + std::to_string(instance_id) + " holds " + std::to_string(held) +
                              " unconfirmed grants and may hold " + std::to_string(wire::max_outstanding_grants) +
                              " (max_outstanding_grants): confirm what the world applied (resync lists them) before asking for more",
                            "items");
  wire::grant_reply out{instance_id, {}};
  for (auto& [key, amount] : plan) {
    set_level(key, level(key) - amount);
    reservation r{next_grant_id_++, instance_id, key, amount, false};
    grants_[r.grant_id] = r;
    grants_of_[r.instance_id].insert(r.grant_id);
    pending_.grants_upserted.push_back(r);
    pending_.next_grant_id = next_grant_id_;
    add_stat(minute, instance_id, key, 0, amount);
    out.grants.push_back(grant_of(r));
    if (counters_) {
      metrics::bump(&counters_->grants);
      metrics::bump(&counters_->granted_units, static_cast<std::uint64_t>(amount));
    }
  }
  return out;
}

wire::confirm_ack storage_ledger::confirm(const wire::confirm_grants& m, std::uint64_t minute, foreign_grants& foreign) {
  wire::confirm_ack ack{m.instance_id, {}};
  auto settle = [&](std::uint64_t id, bool give_back) {
    auto it = grants_.find(id);
    if (it == grants_.end()) {
      ack.released.push_back(id); // already released: confirming again is harmless
      return;
    }
    auto& r = it->second;
    if (r.instance_id != m.instance_id) {
      if (foreign.count++ == 0) {
        foreign.first_id = id;
        foreign.first_holder = r.instance_id;
      }
      return;
    }
    if (give_back) {
      set_level(r.name, level(r.name) + r.count);
      add_stat(minute, m.instance_id, r.name, 0, -r.count);
      if (counters_)
        metrics::bump(&counters_->returned_units, static_cast<std::uint64_t>(r.count));
    }
    remove_grant(id);
    ack.released.push_back(id);
  };
  for (auto id : m.applied)
    settle(id, false);
  for (auto id : m.cancelled)
    settle(id, true);
  return ack;
}

std::size_t storage_ledger::drop_instance(std::uint64_t instance_id) {
  auto ids = grants_of_[instance_id];
  for (auto id : ids) {
    auto& r = grants_[id];
    set_level(r.name, level(r.name) + r.count);
    if (counters_)
      metrics::bump(&counters_->returned_units, static_cast<std::uint64_t>(r.count));
    remove_grant(id);
  }
  grants_of_.erase(instance_id);
  instances_.erase(instance_id);
  for (auto& [key, alloc] : allocators_)
    alloc->forget(instance_id);
  pending_.instances_dropped.push_back(instance_id);
  return ids.size();
}

wire::pending_grants storage_ledger::pending_of(std::uint64_t instance_id) const {
  wire::pending_grants p{instance_id, {}, {}};
  auto of = grants_of_.find(instance_id);
  if (of == grants_of_.end())
    return p;
  for (auto id : of->second) {
    auto& r = grants_.at(id);
    if (r.reclaim)
      p.reclaim.push_back(id);
    else
      p.grants.push_back(grant_of(r));
  }
  return p;
}

bool storage_ledger::reclaim(std::uint64_t grant_id) {
  auto it = grants_.find(grant_id);
  if (it == grants_.end())
    return false;
  it->second.reclaim = true;
  pending_.grants_upserted.push_back(it->second);
  return true;
}

std::uint64_t storage_ledger::next_batch(std::uint64_t instance_id) const {
  auto it = instances_.find(instance_id);
  if (it == instances_.end())
    return 1;
  return std::max(it->second.max_batch + 1, std::max<std::uint64_t>(it->second.pruned_below, 1));
}

storage_changes storage_ledger::take_changes() {
  for (auto& name : dirty_levels_)
    pending_.levels.emplace_back(name, level(name));
  for (auto id : dirty_states_) {
    auto it = instances_.find(id);
    if (it != instances_.end())
      pending_.states.push_back({id, it->second.pruned_below, it->second.max_batch});
  }
  // A batch already below its instance's pruned_below needs no record: pruned_below covers it.
  // (Under load most batches are pruned by the next one before their commit.)
  auto& added = pending_.batches_added;
  added.erase(std::remove_if(added.begin(), added.end(),
                             [this](const auto& b) {
                               auto it = instances_.find(b.first);
                               return it != instances_.end() && b.second < it->second.pruned_below;
                             }),
              added.end());
  dirty_levels_.clear();
  dirty_states_.clear();
  return std::exchange(pending_, storage_changes{});
}

wire::item_list storage_ledger::take_bus_changes() {
  auto levels = levels_of(changed_for_bus_, [this](const std::string& key) { return level(key); });
  changed_for_bus_.clear();
  return levels;
}

wire::item_list storage_ledger::all_levels() const {
  std::vector<std::string> keys;
  keys.reserve(counts_.size());
  for (auto& [key, count] : counts_)
    keys.push_back(key);
  return levels_of(keys, [this](const std::string& key) { return level(key); });
}

} // namespace clusterio
