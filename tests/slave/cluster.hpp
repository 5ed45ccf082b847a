#pragma once
// A whole cluster for tests: a real master (CURVE), a producer world on slave A and a consumer
// world on slave B (factorio-sim running the real mod), and the exact conservation ledger of
// DESIGN §5 for iron plates and water.

#include <catch2/catch.hpp>

#include <map>
#include <thread>

#include "common/wire_client.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/slave_fixture.hpp"

namespace clusterio::test {

struct cluster {
  master_fixture master;
  credential cred_a, cred_b;
  std::unique_ptr<slave_fixture> a, b;

  cluster() {
    master.start();
    cred_a = master.add_client("slave-a", "slave");
    cred_b = master.add_client("slave-b", "slave");
    a = std::make_unique<slave_fixture>("a", master, cred_a);
    b = std::make_unique<slave_fixture>("b", master, cred_b);
    a->create("producer", "producer");
    b->create("consumer", "consumer");
    a->start("producer");
    b->start("consumer");
    a->wait_running("producer");
    b->wait_running("consumer");
  }

  /// Where every unit of each name is. `double_counted` is true while something is in flight.
  struct ledger {
    std::map<std::string, double> produced, producer_world, pending_exports, stock, reserved, consumer_world, buffered, consumed;
    std::string describe(const std::string& name) {
      std::ostringstream s;
      s << name << ": produced " << produced[name] << " = producer world " << producer_world[name] << " + unacknowledged batches "
        << pending_exports[name] << " + storage " << stock[name] << " + reservations " << reserved[name] << " + consumer world "
        << consumer_world[name] << " + mod buffer " << buffered[name] << " + consumed " << consumed[name];
      return s.str();
    }
    double accounted(const std::string& n) {
      return producer_world[n] + pending_exports[n] + stock[n] + reserved[n] + consumer_world[n] + buffered[n] + consumed[n];
    }
  };

  /// A world's chests and tanks of one kind, plus the scenario's counter (produced/consumed).
  static nlohmann::json world_contents(slave_fixture& s, const std::string& inst, const std::string& chest, const std::string& tank,
                                       const std::string& counter) {
    return nlohmann::json::parse(s.lua(inst, "local r = {plates = 0, water = 0} "
                                             "for _, c in pairs(game.surfaces[1].find_entities_filtered{name = '" + chest + "'}) do "
                                             "r.plates = r.plates + c.get_inventory(defines.inventory.chest).get_item_count('iron-plate') end "
                                             "for _, t in pairs(game.surfaces[1].find_entities_filtered{name = '" + tank + "'}) do "
                                             "local f = t.fluidbox[1]; r.water = r.water + (f and f.amount or 0) end "
                                             "r.counter = storage." + counter + " or {} "
                                             "rcon.print(helpers.table_to_json(r))"));
  }

  ledger count() {
    ledger l;
    auto produced = world_contents(*a, "producer", "put-chest", "put-tank", "produced");
    l.producer_world["iron-plate"] = produced["plates"];
    l.producer_world["water"] = produced["water"];
    for (auto& [k, v] : produced["counter"].items())
      l.produced[k] = v;
    // A named reply: a range-for over a member of the temporary reply would outlive the reply.
    auto exports = a->mod("producer", "pending_exports");
    for (auto& batch : exports["batches"])
      for (auto& it : batch["items"])
        l.pending_exports[it[0]] += it[1].get<double>();
    auto consumed = world_contents(*b, "consumer", "get-chest", "get-tank", "consumed");
    l.consumer_world["iron-plate"] = consumed["plates"];
    l.consumer_world["water"] = consumed["water"];
    for (auto& [k, v] : consumed["counter"].items())
      l.consumed[k] = v;
    auto st = b->mod("consumer", "status");
    if (st["buffered"].is_object())
      for (auto& [k, v] : st["buffered"].items())
        l.buffered[k] = v;
    wire_client q(master.control_endpoint(), cred_b);
    auto inv = q.call(wire::inventory_query{}, std::chrono::seconds(10));
    REQUIRE(inv);
    REQUIRE(std::holds_alternative<wire::inventory_levels>(inv->body));
    for (auto& lv : std::get<wire::inventory_levels>(inv->body).levels)
      l.stock[lv.name] = static_cast<double>(lv.count);
    auto pending = q.call(wire::resync{b->status("consumer")["instance_id"].get<std::uint64_t>()}, std::chrono::seconds(10));
    REQUIRE(pending);
    REQUIRE(std::holds_alternative<wire::pending_grants>(pending->body));
    for (auto& g : std::get<wire::pending_grants>(pending->body).grants)
      l.reserved[g.name] += static_cast<double>(g.count);
    return l;
  }

  /// Stops production and consumption, then waits until nothing is in flight, and checks that
  /// every unit produced is accounted for exactly once.
  void check_conservation() {
    a->lua("producer", "storage.halt = true rcon.print('ok')");
    b->lua("consumer", "storage.halt = true rcon.print('ok')");
    // The ledger is read piece by piece, so it is exact only once nothing moves: wait until two
    // readings a second apart agree and nothing is in flight.
    ledger l, previous;
    for (int i = 0; i < 60; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
      previous = l;
      l = count();
      bool quiet = true;
      for (auto& n : {"iron-plate", "water"})
        quiet = quiet && l.pending_exports[n] == 0 && l.reserved[n] == 0 && l.describe(n) == previous.describe(n);
      if (quiet)
        break;
    }
    for (auto& n : {"iron-plate", "water"}) {
      INFO(l.describe(n));
      CHECK(l.produced[n] > 0);
      CHECK(l.pending_exports[n] == 0);
      CHECK(l.reserved[n] == 0);
      CHECK(l.accounted(n) == l.produced[n]);
    }
  }

  /// Waits until the consumer has received at least `units` iron plates in total.
  void wait_for_flow(double units, int timeout_s = 40) {
    for (int i = 0; i < timeout_s * 2; ++i) {
      auto l = count();
      if (l.consumer_world["iron-plate"] + l.consumed["iron-plate"] + l.buffered["iron-plate"] >= units)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    FAIL("items did not flow from producer to consumer\nproducer log:\n" << a->log("producer") << "\nconsumer log:\n" << b->log("consumer"));
  }
};

} // namespace clusterio::test
