// The registry actor in-process, on CAF's deterministic scheduler with an injected clock, with
// the real storage actor on one SQLite file in a temporary folder: ids, liveness,
// deletion and the replies and events they send, exactly.

#include "actors/master/registry.hpp"
#include "control/instance_owners.hpp"
#include "tests/actors/master/actor_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;

namespace {

constexpr std::uint64_t timeout_ms = 15000;

struct registry_fixture : actor_fixture {
  instance_owners owners;
  storage_actor storage;
  registry_actor registry;
  std::uint64_t next_id = 1;
  std::uint64_t max_instances_per_slave = 3;

  registry_fixture() {
    storage_config s;
    s.db_path = dir.path + "/master.db";
    s.full_sync = false;
    s.time = &time;
    s.own_thread = false;
    s.policy = demand::policy_kind::first_come;
    auto spawned = spawn_storage(*sys, s, out);
    REQUIRE(spawned);
    storage = keep(*spawned);
    start();
  }

  void start() {
    registry_config r;
    r.db_path = dir.path + "/master.db";
    r.instance_timeout_ms = timeout_ms;
    r.max_instances_per_slave = max_instances_per_slave;
    r.time = &time;
    r.own_thread = false;
    auto spawned = spawn_registry(*sys, r, out, owners, {storage});
    REQUIRE(spawned);
    registry = keep(*spawned);
  }
  void restart() {
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    run();
    start();
  }

  route to() { return {"peer", next_id++}; }
  /// The one reply to the last request, and the instance events published meanwhile.
  sent_reply one_reply(std::vector<wire::instance_info>* events = nullptr) {
    std::vector<sent_reply> r;
    std::vector<sent_bus> b;
    take(r, b);
    REQUIRE(r.size() == 1);
    CHECK(r[0].peer == "peer");
    CHECK(r[0].id == next_id - 1);
    for (auto& x : b) {
      CHECK(x.topic == wire::topic_instance_event);
      if (events)
        events->push_back(as<wire::instance_info>(x));
    }
    return r[0];
  }

  sent_reply do_register(const std::string& slave, const std::string& name, std::vector<wire::instance_info>* events = nullptr) {
    caf::anon_send(registry, register_atom::value, register_job{to(), slave, wire::register_instance{name, "10.0.0.1:34197"}});
    run();
    return one_reply(events);
  }
  std::uint64_t id_of(const std::string& slave, const std::string& name) {
    auto r = as<wire::registered>(do_register(slave, name));
    return r.instance_id;
  }
  sent_reply heartbeat(std::uint64_t id, double ups = 60, wire::held_back_report held_back = {}, std::vector<wire::instance_info>* events = nullptr) {
    caf::anon_send(registry, heartbeat_atom::value, to(), wire::heartbeat{id, ups, 100, 2, "running", std::move(held_back)});
    run();
    return one_reply(events);
  }
  /// Runs the liveness sweep; the instance events it published.
  std::vector<wire::instance_info> sweep() {
    caf::anon_send(registry, tick_atom::value);
    run();
    std::vector<wire::instance_info> events;
    for (auto& b : take_bus())
      events.push_back(as<wire::instance_info>(b));
    return events;
  }
  web_instances_view view(std::uint64_t offset = 0, std::uint64_t limit = UINT64_MAX) {
    return ask<web_instances_view>(registry, web_instances_atom::value, offset, limit);
  }
};

} // namespace

TEST_CASE("registry: registering gives an id per (slave, name) that stays, across restarts") {
  registry_fixture f;
  std::vector<wire::instance_info> events;
  auto first = as<wire::registered>(f.do_register("s1", "world", &events));
  CHECK(first.instance_id == 1);
  CHECK(first.next_batch == 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].instance_id == 1);
  CHECK(events[0].slave == "s1");
  CHECK(events[0].game_address == "10.0.0.1:34197");
  CHECK(events[0].online);
  CHECK(events[0].state == "starting");
  CHECK(events[0].last_seen_ms == f.time.epoch_ms());

  CHECK(f.id_of("s1", "world") == 1);
  CHECK(f.id_of("s1", "other") == 2);
  CHECK(f.id_of("s2", "world") == 3);
  CHECK(f.owners.owner(2) == std::optional<std::string>("s1"));
  CHECK(f.owners.owner(3) == std::optional<std::string>("s2"));

  // The batch to send next comes from the storage: above every batch it applied.
  caf::anon_send(f.storage, export_atom::value, export_jobs{{route{"x", 1}, wire::export_batch{1, 5, 5, {{"iron", 1}}}}});
  f.run();
  f.take_replies();
  f.restart();
  auto again = as<wire::registered>(f.do_register("s1", "world"));
  CHECK(again.instance_id == 1);
  CHECK(again.next_batch == 6);
  CHECK(f.id_of("s2", "world") == 3);
  CHECK(f.id_of("s2", "new") == 4);
}

TEST_CASE("registry: a slave registers at most max_instances_per_slave instances; known ones always come back") {
  registry_fixture f;
  for (auto* name : {"a", "b", "c"})
    f.id_of("s1", name);
  auto refused = as<wire::error_reply>(f.do_register("s1", "d"));
  CHECK(refused.code == wire::error_code::overloaded);
  CHECK(refused.message == "slave 's1' has the maximum of 3 instances (max_instances_per_slave); delete one first");
  CHECK(refused.field == "name");
  CHECK(f.id_of("s1", "b") == 2); // re-registering is no new instance
  CHECK(f.id_of("s2", "d") == 4); // another slave's count is its own
  CHECK(f.view().instances.size() == 4);
}

TEST_CASE("registry: an instance silent for the timeout on the injected clock goes offline") {
  registry_fixture f;
  auto id = f.id_of("s1", "world");
  as<wire::ok>(f.heartbeat(id));
  f.time.advance(timeout_ms - 1);
  CHECK(f.sweep().empty());
  CHECK(f.view().instances.at(0).info.online);
  f.time.advance(1);
  auto events = f.sweep();
  REQUIRE(events.size() == 1);
  CHECK(events[0].instance_id == id);
  CHECK_FALSE(events[0].online);
  CHECK(f.sweep().empty()); // said once
  CHECK_FALSE(f.view().instances.at(0).info.online);
  // A heartbeat brings it back.
  as<wire::ok>(f.heartbeat(id, 30));
  auto v = f.view();
  CHECK(v.instances.at(0).info.online);
  CHECK(v.instances.at(0).info.ups == 30);
  REQUIRE(v.instances.at(0).recent_ups.size() == 2);
  CHECK(v.instances.at(0).recent_ups[1] == std::make_pair(f.time.epoch_ms(), 30.0));

  // A slave is online while its traffic is recent.
  caf::anon_send(f.registry, seen_atom::value, std::string("s1"));
  f.run();
  f.time.advance(timeout_ms);
  f.sweep();
  v = f.view();
  REQUIRE(v.slaves.size() == 1);
  CHECK(v.slaves[0].name == "s1");
  CHECK(v.slaves[0].silent_ms == timeout_ms);
  CHECK_FALSE(v.slaves[0].online);

  auto unknown = as<wire::error_reply>(f.heartbeat(99));
  CHECK(unknown.code == wire::error_code::not_found);
}

TEST_CASE("registry: slaves_query answers a page at a time, by instance_id, and says where the next begins") {
  registry_fixture f;
  f.max_instances_per_slave = 10;
  f.restart();
  std::vector<std::uint64_t> ids;
  for (auto name : {"a", "b", "c", "d", "e"})
    ids.push_back(f.id_of("s1", name));
  auto page = [&](std::uint64_t after, std::uint64_t limit) {
    caf::anon_send(f.registry, query_atom::value, query_job{f.to(), wire::slaves_query{after, limit}});
    f.run();
    return as<wire::slaves_reply>(f.one_reply());
  };
  std::vector<std::uint64_t> seen;
  std::uint64_t after = 0;
  int pages = 0;
  for (; pages < 10; ++pages) { // bounded: 3 pages expected
    auto r = page(after, 2);
    CHECK(r.instances.size() <= 2);
    for (auto& i : r.instances)
      seen.push_back(i.instance_id);
    if (r.next_after == 0)
      break;
    CHECK(r.next_after == r.instances.back().instance_id);
    after = r.next_after;
  }
  CHECK(pages == 2);
  CHECK(seen == ids);
  // The default page holds them all and says it is the last.
  auto all = page(0, wire::max_page_instances);
  CHECK(all.instances.size() == 5);
  CHECK(all.next_after == 0);
  // Past the end: an empty last page.
  auto none = page(ids.back(), 2);
  CHECK(none.instances.empty());
  CHECK(none.next_after == 0);
}

TEST_CASE("registry: what an instance holds back is its latest heartbeat's, in the view, the events and slaves_query") {
  registry_fixture f;
  auto id = f.id_of("s1", "world");
  auto other = f.id_of("s1", "other");
  wire::held_back_report held;
  held.items = {{"modular-armor", 1}, {"steel-chest", 3, "rare"}};
  held.items_total = 4;
  held.signals_not_shown = 2;
  std::vector<wire::instance_info> events;
  as<wire::ok>(f.heartbeat(id, 60, held, &events));
  REQUIRE(events.size() == 1);
  CHECK(events[0].held_back == held);
  CHECK(f.view().instances.at(0).info.held_back == held);
  CHECK(f.view().instances.at(1).info.held_back == wire::held_back_report{});

  caf::anon_send(f.registry, query_atom::value, query_job{f.to(), wire::slaves_query{}});
  f.run();
  auto listed = as<wire::slaves_reply>(f.one_reply());
  REQUIRE(listed.instances.size() == 2);
  CHECK(listed.instances[0].instance_id == id);
  CHECK(listed.instances[0].held_back == held);
  CHECK(listed.instances[1].instance_id == other);
  CHECK(listed.instances[1].held_back == wire::held_back_report{});

  // The latest replaces it: taken out of the chest, nothing is held back any more.
  as<wire::ok>(f.heartbeat(id, 60));
  CHECK(f.view().instances.at(0).info.held_back == wire::held_back_report{});
  // Kept in memory only: after a restart, nothing until the next heartbeat says.
  as<wire::ok>(f.heartbeat(id, 60, held));
  f.restart();
  CHECK(f.view().instances.at(0).info.held_back == wire::held_back_report{});
}

TEST_CASE("registry: the web view comes in pages of both lists, slaves by name and instances by id") {
  registry_fixture f;
  for (auto* slave : {"s3", "s1", "s2"})
    for (auto* name : {"a", "b", "c"})
      f.id_of(slave, name);
  auto names = [](const web_instances_view& v) {
    std::vector<std::string> out;
    for (auto& s : v.slaves)
      out.push_back(s.name);
    return out;
  };
  auto ids = [](const web_instances_view& v) {
    std::vector<std::uint64_t> out;
    for (auto& i : v.instances)
      out.push_back(i.info.instance_id);
    return out;
  };
  auto first = f.view(0, 4);
  CHECK(names(first) == std::vector<std::string>{"s1", "s2", "s3"});
  CHECK(ids(first) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK(first.more);
  auto second = f.view(4, 4);
  CHECK(second.slaves.empty());
  CHECK(ids(second) == std::vector<std::uint64_t>{5, 6, 7, 8});
  CHECK(second.more);
  auto last = f.view(8, 4);
  CHECK(ids(last) == std::vector<std::uint64_t>{9});
  CHECK_FALSE(last.more);
  CHECK_FALSE(f.view(9, 4).more);
  CHECK(f.view(100, 4).instances.empty());
  // A page that ends exactly at the end says so.
  CHECK_FALSE(f.view(5, 4).more);
  // The slaves' list alone can go on: two slaves a page.
  auto slaves_only = f.view(0, 2);
  CHECK(names(slaves_only) == std::vector<std::string>{"s1", "s2"});
  CHECK(names(f.view(2, 2)) == std::vector<std::string>{"s3"});
  CHECK(f.view(0, 0).more);
}

TEST_CASE("registry: UPS history is kept per minute of the injected clock") {
  registry_fixture f;
  auto id = f.id_of("s1", "world");
  const std::uint64_t minute = 30'000'000;
  f.time.set_epoch(minute * 60000);
  f.heartbeat(id, 60);
  f.heartbeat(id, 30);
  f.time.advance(60'000);
  f.heartbeat(id, 10);
  auto series = f.ask<web_ups_series>(f.registry, web_ups_atom::value, id, std::uint64_t{5});
  REQUIRE(series.size() == 2);
  CHECK(series[0].minute == minute);
  CHECK(series[0].ups == 45);
  CHECK(series[1].minute == minute + 1);
  CHECK(series[1].ups == 10);
}

TEST_CASE("registry: deleting an instance forgets it and returns its reservations; the reply waits for the storage") {
  registry_fixture f;
  auto id = f.id_of("s1", "world");
  caf::anon_send(f.storage, export_atom::value, export_jobs{{route{"x", 1}, wire::export_batch{id, 1, 1, {{"iron", 10}}}}});
  caf::anon_send(f.storage, request_atom::value, request_jobs{{route{"x", 2}, wire::request_items{id, {{"iron", 4}}}}});
  f.run();
  CHECK(f.take_replies().size() == 2);

  caf::anon_send(f.registry, drop_instance_atom::value, f.to(), id);
  f.run();
  std::vector<wire::instance_info> events;
  as<wire::ok>(f.one_reply(&events));
  REQUIRE(events.size() == 1);
  CHECK(events[0].state == "deleted");
  CHECK_FALSE(events[0].online);
  CHECK_FALSE(f.owners.owner(id));
  CHECK(f.view().instances.empty());

  caf::anon_send(f.storage, query_atom::value, query_job{route{"x", 3}, wire::inventory_query{}});
  f.run();
  auto r = f.take_replies();
  REQUIRE(r.size() == 1);
  CHECK(as<wire::inventory_levels>(r[0]).levels == wire::item_list{{"iron", 10}});

  CHECK(as<wire::error_reply>(f.heartbeat(id)).code == wire::error_code::not_found);
  caf::anon_send(f.registry, drop_instance_atom::value, f.to(), id);
  f.run();
  CHECK(as<wire::error_reply>(f.one_reply()).code == wire::error_code::not_found);
  // The name is free again: it gets a new id.
  CHECK(f.id_of("s1", "world") == id + 1);
}
