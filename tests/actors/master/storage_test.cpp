// The storage actor in-process, on CAF's deterministic scheduler with an injected clock and a
// real SQLite file in a temporary folder: the exact replies it sends through the outbox for
// exports, requests (granted by each demand policy, at the clock's time), confirmations, a
// failed commit and the statistics' minutes.

#include "actors/master/storage.hpp"
#include "common/sqlite.hpp"
#include "control/metrics.hpp"
#include "tests/actors/master/actor_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;

namespace {

constexpr std::uint64_t instance = 7;

struct storage_fixture : actor_fixture {
  metrics counters;
  storage_config scfg;
  storage_actor storage;
  std::uint64_t next_id = 1;

  /// First-come unless told: a request is granted min(ask, stock), which most tests here want.
  explicit storage_fixture(std::size_t max_item_names = 100000, demand::policy_kind policy = demand::policy_kind::first_come) {
    scfg.db_path = dir.path + "/master.db";
    scfg.policy = policy;
    scfg.policy_config.demand_window_ms = 5000;
    scfg.full_sync = false;
    scfg.counters = &counters;
    scfg.max_item_names = max_item_names;
    scfg.time = &time;
    scfg.own_thread = false;
    start();
  }

  void start() {
    auto spawned = spawn_storage(*sys, scfg, out);
    REQUIRE(spawned);
    storage = keep(*spawned);
  }
  /// Stops the actor (it commits what it holds) and starts a new one on the same file.
  void restart() {
    caf::anon_send_exit(storage, caf::exit_reason::user_shutdown);
    run();
    start();
  }

  /// The one reply to the last request.
  sent_reply one_reply() {
    auto r = take_replies();
    REQUIRE(r.size() == 1);
    CHECK(r[0].peer == "peer");
    CHECK(r[0].id == next_id - 1);
    return r[0];
  }
  route to() { return {"peer", next_id++}; }

  sent_reply export_batch(std::uint64_t batch, wire::item_list items, std::uint64_t floor = 0, std::uint64_t of = instance) {
    caf::anon_send(storage, export_atom::value, export_jobs{{to(), wire::export_batch{of, batch, floor ? floor : batch, std::move(items)}}});
    run();
    return one_reply();
  }
  sent_reply request(wire::item_list asks, std::uint64_t of = instance) {
    caf::anon_send(storage, request_atom::value, request_jobs{{to(), wire::request_items{of, std::move(asks)}}});
    run();
    return one_reply();
  }
  /// What a request was granted, as a list of items.
  wire::item_list granted(wire::item_list asks, std::uint64_t of) {
    wire::item_list got;
    auto reply = request(std::move(asks), of);
    for (auto& g : as<wire::grant_reply>(reply).grants)
      got.push_back({g.name, g.count, g.quality});
    return got;
  }
  sent_reply confirm(std::vector<std::uint64_t> applied, std::vector<std::uint64_t> cancelled, std::uint64_t of = instance) {
    caf::anon_send(storage, confirm_atom::value, confirm_jobs{{to(), wire::confirm_grants{of, std::move(applied), std::move(cancelled)}}});
    run();
    return one_reply();
  }
  sent_reply query(wire::message q) {
    caf::anon_send(storage, query_atom::value, query_job{to(), std::move(q)});
    run();
    return one_reply();
  }
  wire::item_list levels() { return as<wire::inventory_levels>(query(wire::inventory_query{})).levels; }
  std::int64_t level_of(const std::string& name, const std::string& quality) {
    for (auto& l : levels())
      if (l.name == name && l.quality == quality)
        return l.count;
    return 0;
  }

  /// Asks as the registry does; the wire error it was refused with.
  template <class Atom> wire::error_reply refusal(Atom which, std::uint64_t instance_id) {
    auto answer = ask_or_error<std::uint64_t>(storage, which, instance_id);
    REQUIRE(std::holds_alternative<caf::error>(answer));
    return error_reply_of(std::get<caf::error>(answer), "storage");
  }
};

void check_error(const sent_reply& r, wire::error_code code, const std::string& text) {
  auto& e = as<wire::error_reply>(r);
  CHECK(e.code == code);
  CHECK_THAT(e.message, Catch::Contains(text));
}

/// Makes every commit that writes the state fail, as a full disk would, from a second connection.
void break_commits(const std::string& db_path, bool broken) {
  auto db = sql::database::open(db_path, false);
  REQUIRE(db);
  for (const char* table : {"commit_log", "items"})
    for (const char* op : {"INSERT", "UPDATE"}) {
      auto name = std::string("test_full_") + table + "_" + op;
      auto made = (*db)->exec(broken ? "CREATE TRIGGER " + name + " BEFORE " + op + " ON " + table +
                                         " BEGIN SELECT RAISE(ABORT, 'disk is full (test)'); END"
                                     : "DROP TRIGGER " + name);
      REQUIRE(made);
    }
}

} // namespace

TEST_CASE("storage: an export is applied once per (instance, batch); a duplicate is acknowledged, not applied") {
  storage_fixture f;
  auto ack = as<wire::export_ack>(f.export_batch(1, {{"iron", 10}}));
  CHECK(ack.instance_id == instance);
  CHECK(ack.batch == 1);
  CHECK_FALSE(ack.duplicate);
  CHECK(as<wire::export_ack>(f.export_batch(1, {{"iron", 10}})).duplicate);
  // Out of order: 3 before 2 (floor 2: batch 2 may still come), then both again.
  CHECK_FALSE(as<wire::export_ack>(f.export_batch(3, {{"iron", 1}}, 2)).duplicate);
  CHECK_FALSE(as<wire::export_ack>(f.export_batch(2, {{"copper", 4}})).duplicate);
  CHECK(as<wire::export_ack>(f.export_batch(3, {{"iron", 1}}, 2)).duplicate);
  CHECK(as<wire::export_ack>(f.export_batch(2, {{"copper", 4}})).duplicate);
  CHECK(f.levels() == wire::item_list{{"copper", 4}, {"iron", 11}});
  CHECK(f.counters.export_batches == 3);
  CHECK(f.counters.duplicate_batches == 3);
  CHECK(f.counters.exported_units == 15);
  CHECK(f.ask<std::uint64_t>(f.storage, next_batch_atom::value, instance) == 4);
  CHECK(f.ask<std::uint64_t>(f.storage, next_batch_atom::value, std::uint64_t{99}) == 1);

  // What was acknowledged is on disk: a new actor on the file knows the stock and the batches.
  f.restart();
  CHECK(f.levels() == wire::item_list{{"copper", 4}, {"iron", 11}});
  CHECK(as<wire::export_ack>(f.export_batch(2, {{"copper", 4}})).duplicate);
  CHECK_FALSE(as<wire::export_ack>(f.export_batch(4, {{"copper", 1}})).duplicate);
  CHECK(f.levels() == wire::item_list{{"copper", 5}, {"iron", 11}});
}

TEST_CASE("storage: an export past a limit is refused whole") {
  storage_fixture f(2);
  check_error(f.export_batch(1, {{"a", 1}, {"b", 1}, {"c", 1}}), wire::error_code::overloaded,
              "storage holds the maximum of 2 distinct items (each quality of a name counts); this export adds 3 new (first 'a')");
  check_error(f.export_batch(3, {{"a", 1}}, 4), wire::error_code::invalid, "floor must not exceed batch");
  CHECK(as<wire::export_ack>(f.export_batch(1, {{"a", wire::max_stock}})).batch == 1);
  check_error(f.export_batch(2, {{"a", 1}}), wire::error_code::invalid, "storage of 'a' would exceed its limit");
  CHECK(f.levels() == wire::item_list{{"a", wire::max_stock}});
  CHECK(f.counters.storage_errors == 3);
}

TEST_CASE("storage: a reservation is clamped to the stock; confirming drops it, cancelling returns it") {
  storage_fixture f;
  f.export_batch(1, {{"iron", 10}, {"coal", 3}});
  auto granted = as<wire::grant_reply>(f.request({{"iron", 25}, {"copper", 5}, {"coal", 1}}));
  CHECK(granted.instance_id == instance);
  REQUIRE(granted.grants == std::vector<wire::grant>{{1, "iron", 10}, {2, "coal", 1}});
  CHECK(as<wire::grant_reply>(f.request({{"iron", 5}})).grants.empty()); // none left
  CHECK(f.levels() == wire::item_list{{"coal", 2}});

  auto pending = as<wire::pending_grants>(f.query(wire::resync{instance}));
  CHECK(pending.grants == std::vector<wire::grant>{{1, "iron", 10}, {2, "coal", 1}});

  // Another instance cannot settle this instance's grants.
  CHECK(as<wire::confirm_ack>(f.confirm({1}, {}, instance + 1)).released.empty());
  CHECK(as<wire::confirm_ack>(f.confirm({2}, {1})).released == std::vector<std::uint64_t>{2, 1});
  CHECK(f.levels() == wire::item_list{{"coal", 2}, {"iron", 10}});
  CHECK(as<wire::confirm_ack>(f.confirm({2}, {})).released == std::vector<std::uint64_t>{2}); // again: harmless
  CHECK(f.levels() == wire::item_list{{"coal", 2}, {"iron", 10}});
  CHECK(as<wire::pending_grants>(f.query(wire::resync{instance})).grants.empty());

  // A deleted instance's reservations go back to the stock.
  f.request({{"iron", 4}});
  CHECK(f.levels() == wire::item_list{{"coal", 2}, {"iron", 6}});
  CHECK(f.ask<std::uint64_t>(f.storage, drop_instance_atom::value, instance) == 1);
  CHECK(f.levels() == wire::item_list{{"coal", 2}, {"iron", 10}});
  CHECK(f.counters.grants == 3);
  CHECK(f.counters.granted_units == 15);
  CHECK(f.counters.returned_units == 14);
}

TEST_CASE("storage: a failed commit latches; everything is refused with unavailable until the reload") {
  storage_fixture f;
  f.export_batch(1, {{"iron", 10}});
  break_commits(f.scfg.db_path, true);
  check_error(f.export_batch(2, {{"iron", 5}}), wire::error_code::unavailable, "storage failed: ");
  check_error(f.export_batch(3, {{"iron", 5}}), wire::error_code::unavailable, "disk is full (test)");
  check_error(f.request({{"iron", 1}}), wire::error_code::unavailable, "storage failed: ");
  auto refused = f.refusal(drop_instance_atom::value, instance);
  CHECK(refused.code == wire::error_code::unavailable);
  CHECK_THAT(refused.message, Catch::Contains("disk is full (test)"));
  CHECK(f.counters.storage_errors == 3); // refused at once; the export the commit failed is not counted
  auto view = f.ask<web_storage_view>(f.storage, web_storage_atom::value, std::uint64_t{1});
  CHECK(view.failed);
  CHECK_THAT(view.failure, Catch::Contains("disk is full (test)"));

  // The reload after recover_interval drops what the failed commit held: batch 2 was never
  // acknowledged, so it is not applied.
  break_commits(f.scfg.db_path, false);
  f.fire_timers();
  f.take_replies();
  CHECK(f.levels() == wire::item_list{{"iron", 10}});
  CHECK_FALSE(as<wire::export_ack>(f.export_batch(2, {{"iron", 5}})).duplicate);
  CHECK(f.levels() == wire::item_list{{"iron", 15}});
  CHECK_FALSE(f.ask<web_storage_view>(f.storage, web_storage_atom::value, std::uint64_t{1}).failed);
}

TEST_CASE("storage: statistics fall in the minute of the injected clock") {
  storage_fixture f;
  const std::uint64_t minute = 30'000'000;
  f.time.set_epoch(minute * 60000 + 59'000);
  f.export_batch(1, {{"iron", 10}});
  f.request({{"iron", 2}});
  f.time.advance(1000); // the next minute
  f.export_batch(2, {{"iron", 5}, {"coal", 1}});
  auto g = as<wire::grant_reply>(f.request({{"iron", 3}}));
  REQUIRE(g.grants.size() == 1);
  f.confirm({}, {g.grants[0].grant_id}); // a cancelled grant counts against this minute's imports
  f.request({{"iron", 4}});

  auto iron = as<wire::stats_reply>(f.query(wire::stats_query{"iron", 0, 5}));
  REQUIRE(iron.points.size() == 2);
  CHECK(iron.points[0].minute == minute);
  CHECK(iron.points[0].exported == 10);
  CHECK(iron.points[0].imported == 2);
  CHECK(iron.points[1].minute == minute + 1);
  CHECK(iron.points[1].exported == 5);
  CHECK(iron.points[1].imported == 4);
  // One minute back from the current one is this minute alone.
  auto all = as<wire::stats_reply>(f.query(wire::stats_query{"", instance, 1}));
  REQUIRE(all.points.size() == 1);
  CHECK(all.points[0].exported == 6);

  auto view = f.ask<web_storage_view>(f.storage, web_storage_atom::value, std::uint64_t{1});
  REQUIRE(view.items.size() == 2);
  CHECK(view.items[1].name == "iron");
  CHECK(view.items[1].count == 9);
  CHECK(view.items[1].exported == 5);
  CHECK(view.items[1].imported == 4);
  CHECK(view.reservations == 2);
  CHECK(view.reserved_units == 6);

  // Statistics survive a restart (a clean stop writes the unflushed ones).
  f.time.advance(60'000);
  f.export_batch(3, {{"iron", 1}});
  f.restart();
  auto series = f.ask<web_series>(f.storage, web_stats_atom::value, web_stats_query{"iron", instance, 3});
  CHECK(series.error.empty());
  REQUIRE(series.points.size() == 3);
  CHECK(series.points[2].minute == minute + 2);
  CHECK(series.points[2].exported == 1);
}

TEST_CASE("storage: each quality of an item is stocked, reserved, returned and counted on its own") {
  storage_fixture f;
  f.export_batch(1, {{"iron-plate", 10}, {"iron-plate", 4, "rare"}, {"iron-plate", 1, "a modded quality"}});
  CHECK(f.levels() == wire::item_list{{"iron-plate", 10}, {"iron-plate", 1, "a modded quality"}, {"iron-plate", 4, "rare"}});
  // A request for rare plates is granted rare plates, never normal ones, and says so.
  auto g = as<wire::grant_reply>(f.request({{"iron-plate", 6, "rare"}}));
  REQUIRE(g.grants.size() == 1);
  CHECK(g.grants[0].name == "iron-plate");
  CHECK(g.grants[0].quality == "rare");
  CHECK(g.grants[0].count == 4);
  CHECK(f.levels() == wire::item_list{{"iron-plate", 10}, {"iron-plate", 1, "a modded quality"}});
  // Resync delivers it again with its quality; cancelled, it comes back as rare.
  auto pending = as<wire::pending_grants>(f.query(wire::resync{instance}));
  REQUIRE(pending.grants.size() == 1);
  CHECK(pending.grants[0] == g.grants[0]);
  f.confirm({}, {g.grants[0].grant_id});
  CHECK(f.level_of("iron-plate", "rare") == 4);
  CHECK(f.level_of("iron-plate", "normal") == 10);
  // Statistics per quality; an item named with the key's separator cannot reach them.
  CHECK(as<wire::stats_reply>(f.query(wire::stats_query{"iron-plate", 0, 5, "rare"})).points.at(0).exported == 4);
  CHECK(as<wire::stats_reply>(f.query(wire::stats_query{"iron-plate", 0, 5})).points.at(0).exported == 10);
  // The web view lists each quality apart, normal first.
  auto view = f.ask<web_storage_view>(f.storage, web_storage_atom::value, std::uint64_t{5});
  REQUIRE(view.items.size() == 3);
  CHECK(view.items[0].quality == "normal");
  CHECK(view.items[2].quality == "rare");
  CHECK(view.items[2].count == 4);
  // After a restart (the commit log replayed) every quality keeps its count.
  f.restart();
  CHECK(f.levels() == wire::item_list{{"iron-plate", 10}, {"iron-plate", 1, "a modded quality"}, {"iron-plate", 4, "rare"}});
}

TEST_CASE("storage: the name limit counts each quality, and its refusal names the quality") {
  storage_fixture f(2);
  f.export_batch(1, {{"iron-plate", 1}, {"iron-plate", 1, "rare"}});
  check_error(f.export_batch(2, {{"iron-plate", 1, "epic"}}), wire::error_code::overloaded,
              "this export adds 1 new (first 'iron-plate' of quality 'epic')");
  // The ledger takes any count (the codec bounds one transfer): fill the rare plates to the limit.
  CHECK(as<wire::export_ack>(f.export_batch(3, {{"iron-plate", wire::max_stock - 1, "rare"}})).batch == 3);
  check_error(f.export_batch(4, {{"iron-plate", 1, "rare"}}), wire::error_code::invalid,
              "storage of 'iron-plate' of quality 'rare' would exceed its limit");
  // The normal plates are another item, far from their limit.
  CHECK(as<wire::export_ack>(f.export_batch(5, {{"iron-plate", 1}})).batch == 5);
}

TEST_CASE("storage: the names' bytes are bounded, so that a full inventory always fits a frame") {
  storage_fixture f;
  // Exports of 4,096 new 200-byte names each, until the bound refuses one (the count limit,
  // 100,000, is not reached first).
  auto batch_of_names = [](std::size_t first) {
    wire::item_list items;
    for (auto i = first; i < first + wire::max_list_entries; ++i)
      items.push_back({std::string(wire::max_name_bytes - 6, 'n') + std::to_string(100000 + i), 1});
    return items;
  };
  std::uint64_t batch = 1;
  for (; batch <= 12; ++batch) {
    auto r = f.export_batch(batch, batch_of_names((batch - 1) * wire::max_list_entries));
    if (std::holds_alternative<wire::error_reply>(r.msg)) {
      check_error(r, wire::error_code::overloaded, "the names of the distinct items in storage take the maximum of 8388608 bytes");
      break;
    }
  }
  auto fit = wire::max_stored_key_bytes / wire::max_name_bytes / wire::max_list_entries;
  CHECK(batch == fit + 1);
  auto full = f.levels();
  CHECK(full.size() == fit * wire::max_list_entries);
  CHECK(wire::encode({0, wire::inventory_levels{1, true, full}}).size() < wire::max_frame_bytes);
  // Known names still come in, and the bytes are counted again from master.db on a restart.
  CHECK(as<wire::export_ack>(f.export_batch(batch, {{full[0].name, 5}})).batch == batch);
  f.restart();
  check_error(f.export_batch(batch + 1, batch_of_names(fit * wire::max_list_entries)), wire::error_code::overloaded, "8388608 bytes");
}

TEST_CASE("storage: subscriptions arriving together share one full snapshot") {
  storage_fixture f;
  f.export_batch(1, {{"iron", 3}});
  f.take_bus();
  auto fulls = [&] {
    int n = 0;
    for (auto& b : f.take_bus())
      n += as<wire::inventory_levels>(b).full ? 1 : 0;
    return n;
  };
  for (int i = 0; i < 20; ++i)
    caf::anon_send(f.storage, publish_full_atom::value);
  f.run();
  CHECK(fulls() == 1);
  // The others' is sent when a second has passed since, by the storage's timer.
  f.time.advance(999);
  f.fire_timers();
  CHECK(fulls() == 0);
  f.time.advance(1);
  f.fire_timers();
  CHECK(fulls() == 1);
  f.time.advance(5000);
  f.fire_timers();
  CHECK(fulls() == 0); // none asked
  caf::anon_send(f.storage, publish_full_atom::value);
  f.run();
  CHECK(fulls() == 1); // long enough since the last: at once
}

TEST_CASE("storage: a master.db written before qualities opens with its counts and grants") {
  // tests/actors/master/fixtures/master-before-qualities.db was written by clusterio-master at
  // commit 2d79604 (the last without qualities), insecure, from one instance (id 1): export 1
  // [iron-plate 120, copper-plate 7], export 2 [water 5000], a request for 20 iron-plate
  // (grant 1), then SIGTERM. Its changes are in the commit log (no fold yet): the replay reads
  // the records of that build.
  storage_fixture f;
  caf::anon_send_exit(f.storage, caf::exit_reason::user_shutdown);
  f.run();
  std::filesystem::remove(f.scfg.db_path);
  const char* source = std::getenv("CLUSTERIO_SOURCE_DIR"); // set by ctest
  REQUIRE(source != nullptr);
  std::filesystem::copy_file(std::string(source) + "/tests/actors/master/fixtures/master-before-qualities.db", f.scfg.db_path);
  f.start();
  CHECK(f.levels() == wire::item_list{{"copper-plate", 7}, {"iron-plate", 100}, {"water", 5000}});
  auto pending = as<wire::pending_grants>(f.query(wire::resync{1}));
  CHECK(pending.grants == std::vector<wire::grant>{{1, "iron-plate", 20}});
  CHECK(as<wire::stats_reply>(f.query(wire::stats_query{"iron-plate", 1, 10080})).points.size() <= 1);
  // Its normal items stay what they were when rare ones arrive; batches numbered on.
  CHECK(as<wire::export_ack>(f.export_batch(2, {{"water", 1}}, 0, 1)).duplicate);
  CHECK_FALSE(as<wire::export_ack>(f.export_batch(3, {{"iron-plate", 5, "rare"}}, 0, 1)).duplicate);
  CHECK(f.levels() == wire::item_list{{"copper-plate", 7}, {"iron-plate", 100}, {"iron-plate", 5, "rare"}, {"water", 5000}});
  f.confirm({}, {1}, 1);
  CHECK(f.level_of("iron-plate", "normal") == 120);
}

namespace {

/// The policy run by hand on the same inputs: what the storage should grant.
struct reference {
  demand::policy_kind policy;
  std::map<std::string, std::unique_ptr<demand::item_allocator>> allocators;
  std::map<std::string, std::int64_t> stock;

  wire::item_list grant(std::uint64_t instance_id, const wire::item_list& asks, std::uint64_t now) {
    wire::item_list out;
    for (auto& a : asks) {
      auto& alloc = allocators[a.name];
      if (!alloc)
        alloc = demand::make_allocator(policy, demand::policy_config{5000});
      auto amount = alloc->allocate(instance_id, a.count, stock[a.name], now);
      stock[a.name] -= amount;
      if (amount > 0)
        out.push_back({a.name, amount});
    }
    return out;
  }
};

} // namespace

TEST_CASE("storage: requests are granted what the demand policy gives on the stock, at the injected clock's time") {
  for (auto policy : {demand::policy_kind::fair, demand::policy_kind::first_come, demand::policy_kind::dole}) {
    INFO("policy " << demand::to_string(policy));
    storage_fixture f(100000, policy);
    reference ref{policy, {}, {}};
    f.export_batch(1, {{"iron", 10}, {"coal", 3}});
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
      for (auto& [of, items] : asks)
        CHECK(f.granted(items, of) == ref.grant(of, items, f.time.mono_ms()));
    }
    // New stock is shared from the next request on.
    f.export_batch(2, {{"iron", 20}});
    ref.stock["iron"] += 20;
    CHECK(f.granted({{"iron", 2}}, 3) == ref.grant(3, {{"iron", 2}}, f.time.mono_ms()));
    CHECK(f.level_of("iron", "normal") == ref.stock["iron"]);
  }
}

TEST_CASE("storage: a request is granted from the stock of the exports handed over with it") {
  storage_fixture f;
  // One gateway sweep: the export first, then the request (the order the gateway hands them over).
  caf::anon_send(f.storage, export_atom::value, export_jobs{{f.to(), wire::export_batch{1, 1, 1, {{"iron", 5}}}}});
  caf::anon_send(f.storage, request_atom::value, request_jobs{{f.to(), wire::request_items{2, {{"iron", 3}}}}});
  f.run();
  auto replies = f.take_replies();
  REQUIRE(replies.size() == 2);
  auto& g = as<wire::grant_reply>(replies[1]);
  REQUIRE(g.grants.size() == 1);
  CHECK(g.grants[0].count == 3);
}

TEST_CASE("storage: a deleted instance drops out of the fair division") {
  storage_fixture f(100000, demand::policy_kind::fair);
  // Instance 1 asks for 10 and gets it; its claim (its ask) stays for its next request.
  f.export_batch(1, {{"iron", 10}});
  CHECK(f.granted({{"iron", 10}}, 1) == wire::item_list{{"iron", 10}});
  f.confirm({1}, {}, 1);
  f.export_batch(2, {{"iron", 10}});
  auto shared = f.granted({{"iron", 10}}, 2);
  REQUIRE(shared.size() == 1);
  CHECK(shared[0].count < 10); // shared with instance 1's claim
  // Back to 10 in stock; instance 1 deleted: instance 2 alone asks, and gets all it asks.
  f.export_batch(3, {{"iron", shared[0].count}});
  CHECK(f.ask<std::uint64_t>(f.storage, drop_instance_atom::value, std::uint64_t{1}) == 0);
  CHECK(f.granted({{"iron", 10}}, 2) == wire::item_list{{"iron", 10}});
}

TEST_CASE("storage: each quality of an item has its own stock and its own fair share") {
  storage_fixture f;
  f.export_batch(1, {{"iron", 10}, {"iron", 3, "rare"}});
  // The rare plates' stock bounds the rare ask alone; the grant keeps each ask's quality.
  CHECK(f.granted({{"iron", 5, "rare"}, {"iron", 4}}, 1) == wire::item_list{{"iron", 3, "rare"}, {"iron", 4}});
  CHECK(f.granted({{"iron", 1, "rare"}, {"iron", 9}}, 2) == wire::item_list{{"iron", 6}});

  // Fair: a claim on normal plates does not shrink another instance's share of rare ones.
  storage_fixture fair(100000, demand::policy_kind::fair);
  fair.export_batch(1, {{"iron", 10}, {"iron", 10, "rare"}});
  CHECK(fair.granted({{"iron", 10}}, 1) == wire::item_list{{"iron", 10}});
  CHECK(fair.granted({{"iron", 10, "rare"}}, 2) == wire::item_list{{"iron", 10, "rare"}});
}
