#include "actors/master/demand.hpp"

#include <unordered_map>

#include <caf/all.hpp>

namespace clusterio {

namespace {

struct demand_state {
  static inline const char* name = "demand";
  demand_config cfg;
  storage_actor storage;
  /// By wire::item_key: each quality of an item is shared out on its own.
  std::unordered_map<std::string, std::unique_ptr<demand::item_allocator>> allocators;
  std::unordered_map<std::string, std::int64_t> stock; ///< mirror, by item key; storage clamps anyway
};

using demand_self = demand_actor::stateful_pointer<demand_state>;

/// Each request's plan: what the policy grants of every item, within the mirrored stock.
reserve_jobs plan(demand_state& st, request_jobs& jobs) {
  auto now = st.cfg.time->mono_ms();
  reserve_jobs plans;
  plans.reserve(jobs.size());
  for (auto& job : jobs) {
    reserve_job plan{std::move(job.to), job.msg.instance_id, {}};
    for (auto& want : job.msg.items) {
      auto key = wire::item_key(want);
      auto& alloc = st.allocators[key];
      if (!alloc)
        alloc = demand::make_allocator(st.cfg.policy, st.cfg.policy_config);
      auto& stock = st.stock[key];
      auto amount = alloc->allocate(job.msg.instance_id, want.count, stock, now);
      if (amount > 0) {
        stock -= amount;
        plan.plan.push_back({want.name, amount, want.quality});
      }
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

demand_actor::behavior_type demand_fn(demand_self self, demand_config cfg, storage_actor storage) {
  auto& st = self->state;
  st.cfg = cfg;
  st.storage = storage;
  self->send(storage, subscribe_levels_atom::value, caf::actor_cast<levels_listener>(self));
  return {
    [self](request_atom, request_jobs& jobs) { self->send(self->state.storage, reserve_atom::value, plan(self->state, jobs)); },
    [self](levels_atom, const wire::item_list& levels) {
      for (auto& l : levels)
        self->state.stock[wire::item_key(l)] = l.count;
    },
    [self](drop_instance_atom, std::uint64_t instance_id) {
      for (auto& [name, alloc] : self->state.allocators)
        alloc->forget(instance_id);
    },
  };
}

} // namespace

demand_actor spawn_demand(caf::actor_system& sys, const demand_config& cfg, storage_actor storage) {
  return sys.spawn(demand_fn, cfg, std::move(storage));
}

} // namespace clusterio
