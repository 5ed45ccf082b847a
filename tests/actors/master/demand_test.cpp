// The demand actor in-process, on CAF's deterministic scheduler with an injected clock, against
// a stand-in storage that records the plans it is sent: each plan is what the policy grants on
// the mirrored stock at the clock's time, exactly.

#include <map>

#include "actors/master/demand.hpp"
#include "tests/actors/master/actor_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;

namespace {

/// What the stand-in storage was sent.
struct storage_log {
  std::vector<reserve_jobs> sweeps;
  levels_listener listener;
};

caf::behavior fake_storage(caf::event_based_actor*, std::shared_ptr<storage_log> log) {
  return {
    [log](subscribe_levels_atom, levels_listener& l) { log->listener = std::move(l); },
    [log](reserve_atom, reserve_jobs& jobs) { log->sweeps.push_back(std::move(jobs)); },
  };
}

/// The policy run by hand on the same inputs: what the actor should plan.
struct reference {
  demand::policy_kind policy;
  demand::policy_config config;
  std::map<std::string, std::unique_ptr<demand::item_allocator>> allocators;
  std::map<std::string, std::int64_t> stock;

  wire::item_list plan(std::uint64_t instance, const wire::item_list& asks, std::uint64_t now) {
    wire::item_list out;
    for (auto& a : asks) {
      auto& alloc = allocators[a.name];
      if (!alloc)
        alloc = demand::make_allocator(policy, config);
      auto amount = alloc->allocate(instance, a.count, stock[a.name], now);
      stock[a.name] -= amount;
      if (amount > 0)
        out.push_back({a.name, amount});
    }
    return out;
  }
};

struct demand_fixture : actor_fixture {
  std::shared_ptr<storage_log> log = std::make_shared<storage_log>();
  demand_actor demand;
  std::uint64_t next_id = 1;

  explicit demand_fixture(demand::policy_kind policy) {
    auto storage = keep(sys->spawn(fake_storage, log));
    demand_config c;
    c.policy = policy;
    c.policy_config.demand_window_ms = 5000;
    c.time = &time;
    demand = keep(spawn_demand(*sys, c, caf::actor_cast<storage_actor>(storage)));
  }

  /// Storage's levels, as it sends them after a commit.
  void levels(wire::item_list l) {
    REQUIRE(log->listener);
    caf::anon_send(log->listener, levels_atom::value, std::move(l));
    run();
  }
  /// One gateway sweep of requests; the one reserve_jobs it turned into.
  reserve_jobs sweep(const std::vector<std::pair<std::uint64_t, wire::item_list>>& asks) {
    request_jobs jobs;
    for (auto& [instance, items] : asks)
      jobs.push_back({route{"peer", next_id++}, wire::request_items{instance, items}});
    caf::anon_send(demand, request_atom::value, std::move(jobs));
    run();
    REQUIRE(log->sweeps.size() == 1);
    auto plans = std::move(log->sweeps[0]);
    log->sweeps.clear();
    REQUIRE(plans.size() == asks.size());
    for (std::size_t i = 0; i < plans.size(); ++i) {
      CHECK(plans[i].to.id == next_id - asks.size() + i);
      CHECK(plans[i].instance_id == asks[i].first);
    }
    return plans;
  }
};

} // namespace

TEST_CASE("demand: plans follow the policy on the mirrored stock, at the injected clock's time") {
  for (auto policy : {demand::policy_kind::fair, demand::policy_kind::first_come, demand::policy_kind::dole}) {
    INFO("policy " << demand::to_string(policy));
    demand_fixture f(policy);
    reference ref{policy, {5000}, {}, {}};
    f.levels({{"iron", 10}, {"coal", 3}});
    ref.stock = {{"iron", 10}, {"coal", 3}};
    // Scarcity and plenty, several instances, time passing within and beyond the window.
    const std::vector<std::pair<std::uint64_t, std::vector<std::pair<std::uint64_t, wire::item_list>>>> rounds = {
      {0, {{1, {{"iron", 6}}}, {2, {{"iron", 6}, {"coal", 2}}}}},
      {1000, {{3, {{"iron", 4}, {"coal", 4}}}}},
      {1000, {{1, {{"iron", 6}}}, {2, {{"copper", 1}}}}},
      {6000, {{2, {{"iron", 1}}}, {1, {{"coal", 1}}}}},
    };
    for (auto& [advance, asks] : rounds) {
      f.time.advance(advance);
      auto plans = f.sweep(asks);
      for (std::size_t i = 0; i < asks.size(); ++i)
        CHECK(plans[i].plan == ref.plan(asks[i].first, asks[i].second, f.time.mono_ms()));
    }
    // The stock arrives (storage's next levels) and is planned from.
    f.levels({{"iron", 20}});
    ref.stock["iron"] = 20;
    auto plans = f.sweep({{3, {{"iron", 2}}}});
    CHECK(plans[0].plan == ref.plan(3, {{"iron", 2}}, f.time.mono_ms()));
  }
}

TEST_CASE("demand: first-come plans are exactly min(ask, mirrored stock); levels replace only the names they carry") {
  demand_fixture f(demand::policy_kind::first_come);
  f.levels({{"iron", 10}, {"coal", 3}});
  auto plans = f.sweep({{1, {{"iron", 6}, {"coal", 5}}}, {2, {{"iron", 6}, {"copper", 1}}}});
  CHECK(plans[0].plan == wire::item_list{{"iron", 6}, {"coal", 3}});
  CHECK(plans[1].plan == wire::item_list{{"iron", 4}}); // nothing of copper: no stock known
  // Storage's next levels say what is true now; a name not in them keeps its mirrored level.
  f.levels({{"coal", 2}});
  plans = f.sweep({{1, {{"iron", 1}, {"coal", 5}}}});
  CHECK(plans[0].plan == wire::item_list{{"coal", 2}});
  f.levels({{"iron", 7}});
  plans = f.sweep({{1, {{"iron", 9}}}});
  CHECK(plans[0].plan == wire::item_list{{"iron", 7}});
}

TEST_CASE("demand: a deleted instance drops out of the fair division") {
  demand_fixture f(demand::policy_kind::fair);
  f.levels({{"iron", 10}});
  // Instance 1 asks for 10 and gets it; its claim (its ask) stays reserved for its next request.
  CHECK(f.sweep({{1, {{"iron", 10}}}})[0].plan == wire::item_list{{"iron", 10}});
  f.levels({{"iron", 10}});
  auto shared = f.sweep({{2, {{"iron", 10}}}})[0].plan;
  REQUIRE(shared.size() == 1);
  CHECK(shared[0].count < 10); // shares with instance 1
  f.levels({{"iron", 10}});
  caf::anon_send(f.demand, drop_instance_atom::value, std::uint64_t{1});
  f.run();
  CHECK(f.sweep({{2, {{"iron", 10}}}})[0].plan == wire::item_list{{"iron", 10}});
}

TEST_CASE("demand: each quality of an item has its own stock and its own fair share") {
  demand_fixture f(demand::policy_kind::first_come);
  f.levels({{"iron", 10}, {"iron", 3, "rare"}});
  auto plans = f.sweep({{1, {{"iron", 5, "rare"}, {"iron", 4}}}});
  // The rare plates' stock bounds the rare ask alone; the plan keeps each ask's quality.
  CHECK(plans[0].plan == wire::item_list{{"iron", 3, "rare"}, {"iron", 4}});
  plans = f.sweep({{2, {{"iron", 1, "rare"}, {"iron", 9}}}});
  CHECK(plans[0].plan == wire::item_list{{"iron", 6}});

  // Fair: a claim on normal plates does not shrink another instance's share of rare ones.
  demand_fixture fair(demand::policy_kind::fair);
  fair.levels({{"iron", 10}, {"iron", 10, "rare"}});
  CHECK(fair.sweep({{1, {{"iron", 10}}}})[0].plan == wire::item_list{{"iron", 10}});
  CHECK(fair.sweep({{2, {{"iron", 10, "rare"}}}})[0].plan == wire::item_list{{"iron", 10, "rare"}});
}
