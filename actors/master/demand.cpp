#include "actors/master/demand.hpp"

#include <unordered_map>

#include <caf/all.hpp>

#include "actors/master/jobs.hpp"
#include "common/clock.hpp"

namespace clusterio {

namespace {

struct demand_state {
  static inline const char* name = "demand";
  demand::policy_kind policy = demand::policy_kind::fair;
  demand::policy_config config;
  caf::actor storage;
  std::unordered_map<std::string, std::unique_ptr<demand::item_allocator>> allocators;
  std::unordered_map<std::string, std::int64_t> stock; ///< mirror; storage clamps anyway
};

using demand_actor = caf::stateful_actor<demand_state>;

caf::behavior demand_fn(demand_actor* self, demand::policy_kind policy, demand::policy_config config, caf::actor storage) {
  auto& st = self->state;
  st.policy = policy;
  st.config = config;
  st.storage = storage;
  self->send(storage, subscribe_levels_atom::value);
  return {
    [self](request_atom, request_jobs& jobs) {
      auto& st = self->state;
      auto now = mono_ms();
      reserve_jobs plans;
      plans.reserve(jobs.size());
      for (auto& job : jobs) {
        reserve_job plan{std::move(job.to), job.msg.instance_id, {}};
        for (auto& want : job.msg.items) {
          auto& alloc = st.allocators[want.name];
          if (!alloc)
            alloc = demand::make_allocator(st.policy, st.config);
          auto& stock = st.stock[want.name];
          auto amount = alloc->allocate(job.msg.instance_id, want.count, stock, now);
          if (amount > 0) {
            stock -= amount;
            plan.plan.push_back({want.name, amount});
          }
        }
        plans.push_back(std::move(plan));
      }
      self->send(st.storage, reserve_atom::value, std::move(plans));
    },
    [self](levels_atom, const wire::item_list& levels) {
      for (auto& l : levels)
        self->state.stock[l.name] = l.count;
    },
    [self](drop_instance_atom, std::uint64_t instance_id) {
      for (auto& [name, alloc] : self->state.allocators)
        alloc->forget(instance_id);
    },
  };
}

} // namespace

caf::actor spawn_demand(caf::actor_system& sys, demand::policy_kind policy, demand::policy_config config, caf::actor storage) {
  return sys.spawn(demand_fn, policy, config, storage);
}

} // namespace clusterio
