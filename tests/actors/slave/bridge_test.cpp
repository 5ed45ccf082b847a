// The bridge alone, on CAF's deterministic scheduler with an injected clock. Stand-ins answer
// as the master (behind the uplink's interface) and as the mod (behind the RCON link's), and
// every call either side sees goes into one timeline, checked exactly: the exactly-once
// protocol's order, what is held back while an answer is awaited, and the signal refresh.

#include <algorithm>
#include <deque>
#include <optional>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/slave/bridge.hpp"
#include "tests/support/mod_call.hpp"
#include "tests/support/manual_clock.hpp"

using namespace clusterio;
using json = nlohmann::json;

namespace {

using release_atom = caf::atom_constant<caf::atom("t_release")>;

/// The uplink's interface, plus: answer the oldest held call of this type with this.
using fake_uplink = uplink_actor::extend<caf::reacts_to<release_atom, std::string, wire::message>>;

struct held_call {
  std::string type;
  caf::typed_response_promise<wire::message> promise;
};

std::string items_text(const wire::item_list& items) {
  std::string out;
  for (auto& i : items)
    out += (out.empty() ? "" : ",") + i.name + ":" + std::to_string(i.count);
  return out;
}

std::string signals_text(const wire::signal_list& signals) {
  std::string out;
  for (auto& s : signals)
    out += (out.empty() ? "" : ",") + (s.type == wire::item_signal ? "" : s.type + "/") + s.name +
           (s.quality == wire::normal_quality ? "" : "@" + s.quality) + ":" + std::to_string(s.value);
  return out;
}

std::string ids_text(const std::vector<std::uint64_t>& ids) {
  std::string out;
  for (auto id : ids)
    out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

/// A call to the master, as one line of the timeline.
std::string describe(const wire::message& m) {
  std::ostringstream o;
  o << "master " << wire::type_of(m);
  if (auto* x = std::get_if<wire::register_instance>(&m))
    o << " " << x->name << " " << x->game_address;
  else if (auto* x = std::get_if<wire::resync>(&m))
    o << " " << x->instance_id;
  else if (auto* x = std::get_if<wire::confirm_grants>(&m))
    o << " " << x->instance_id << " applied=" << ids_text(x->applied) << " cancelled=" << ids_text(x->cancelled);
  else if (auto* x = std::get_if<wire::export_batch>(&m))
    o << " " << x->instance_id << " batch=" << x->batch << " floor=" << x->floor << " " << items_text(x->items);
  else if (auto* x = std::get_if<wire::request_items>(&m))
    o << " " << x->instance_id << " " << items_text(x->items);
  else if (auto* x = std::get_if<wire::signal_frame>(&m))
    o << " " << x->channel << " " << x->source << " seq=" << x->seq << " " << signals_text(x->signals);
  else if (auto* x = std::get_if<wire::heartbeat>(&m))
    o << " " << x->instance_id << " tick=" << x->tick << " players=" << x->players;
  return o.str();
}

struct bridge_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  // A machine up for a while (the timers that start from 0 fire at their first tick).
  test::manual_clock time{1'000'000, 1'700'000'000'000};

  std::vector<std::string> timeline;
  std::vector<instance_report> reports;
  uplink_listener listener;

  // The master: these types of call are held until released; the others answered at once.
  std::set<std::string> hold;
  std::uint64_t next_batch = 5;
  wire::pending_grants pending{7, {}, {}};
  std::vector<wire::grant> to_grant; ///< the answer to the next request

  std::vector<wire::heartbeat> heartbeats; ///< every heartbeat sent
  std::vector<channel_interest> interests; ///< every change of the channels told to the uplink

  // The mod.
  json status = {{"held_back", json::array()}, {"signals_not_shown", 0}};
  std::uint64_t grants_applied = 0;
  json pending_batches = json::array();

  fake_uplink uplink;
  rcon_link_actor link;
  report_sink sink;
  bridge_actor bridge;

  bridge_fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    uplink = sys->spawn(uplink_fn, this);
    link = sys->spawn(link_fn, this);
    sink = sys->spawn(sink_fn, this);
    bridge = spawn_bridge(*sys, {"w1", "host:34197", "slave1", 5000, 5000}, &time, uplink, sink);
    sched->run();
  }
  ~bridge_fixture() {
    for (auto a : {caf::actor_cast<caf::actor>(bridge), caf::actor_cast<caf::actor>(uplink), caf::actor_cast<caf::actor>(link),
                   caf::actor_cast<caf::actor>(sink)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }

  std::optional<wire::message> master_answer(const wire::message& m) {
    if (hold.count(std::string(wire::type_of(m))))
      return std::nullopt;
    if (std::holds_alternative<wire::register_instance>(m))
      return wire::message{wire::registered{7, next_batch}};
    if (std::holds_alternative<wire::resync>(m))
      return wire::message{pending};
    if (auto* c = std::get_if<wire::confirm_grants>(&m)) {
      auto released = c->applied;
      released.insert(released.end(), c->cancelled.begin(), c->cancelled.end());
      return wire::message{wire::confirm_ack{7, released}};
    }
    if (auto* e = std::get_if<wire::export_batch>(&m))
      return wire::message{wire::export_ack{7, e->batch, false}};
    if (std::holds_alternative<wire::request_items>(m))
      return wire::message{wire::grant_reply{7, std::exchange(to_grant, {})}};
    return wire::message{wire::ok{}};
  }

  static fake_uplink::behavior_type uplink_fn(fake_uplink::stateful_pointer<std::deque<held_call>> self, bridge_fixture* f) {
    return {
      [self, f](call_atom, wire::message& m) -> caf::result<wire::message> {
        f->timeline.push_back(describe(m));
        if (auto* hb = std::get_if<wire::heartbeat>(&m))
          f->heartbeats.push_back(*hb);
        if (auto answer = f->master_answer(m))
          return std::move(*answer);
        self->state.push_back({std::string(wire::type_of(m)), self->make_response_promise<wire::message>()});
        return self->state.back().promise;
      },
      [f](join_atom, uplink_listener& l) { f->listener = l; },
      [f](channels_atom, const uplink_listener& l, channel_interest& wants) {
        CHECK(l == f->listener);
        f->interests.push_back(std::move(wants));
      },
      [](serve_atom, command_handler&) { FAIL("a bridge takes no commands"); },
      [self](release_atom, const std::string& type, wire::message& m) {
        auto it = std::find_if(self->state.begin(), self->state.end(), [&type](const held_call& c) { return c.type == type; });
        REQUIRE(it != self->state.end());
        it->promise.deliver(std::move(m));
        self->state.erase(it);
      },
    };
  }

  /// The mod's answer, as the real one gives it (docs/mod-interface.md).
  json mod_answer(const test::mod_call& c) {
    if (c.function == "set_batch_floor")
      return {{"ok", true}, {"next_batch", c.argument["next_batch"]}};
    if (c.function == "pending_exports")
      return {{"batches", pending_batches}, {"floor", 1}};
    if (c.function == "ack_exports")
      return {{"dropped", c.argument["batches"]}};
    if (c.function == "apply_grants") {
      json results = json::array();
      for (auto& g : c.argument["grants"]) {
        ++grants_applied;
        results.push_back({{"grant_id", g["grant_id"]}, {"status", "applied"}});
      }
      return {{"results", results}, {"applied", grants_applied}};
    }
    if (c.function == "cancel_grants") {
      json results = json::array();
      for (auto& id : c.argument["grant_ids"])
        results.push_back({{"grant_id", id}, {"status", "cancelled"}});
      return {{"results", results}};
    }
    if (c.function == "forget_grants")
      return {{"forgotten", c.argument["grant_ids"].size()}};
    if (c.function == "status")
      return status;
    return {{"ok", true}};
  }

  static rcon_link_actor::behavior_type link_fn(rcon_link_actor::pointer, bridge_fixture* f) {
    return {
      [](rcon_connect_atom) -> result<void> { return done(); },
      [f](rcon_call_atom, std::string& command) -> rcon::reply {
        auto call = test::read_mod_call(command);
        f->timeline.push_back("mod " + call.function + " " + call.argument.dump());
        return f->mod_answer(call).dump() + "\n";
      },
    };
  }

  static report_sink::behavior_type sink_fn(report_sink::pointer, bridge_fixture* f) {
    return {[f](report_atom, instance_report& r) { f->reports.push_back(r); }};
  }

  /// Advances both clocks, firing the bridge's timers on the way.
  void advance(std::uint64_t ms) {
    for (std::uint64_t step; ms > 0; ms -= step) {
      step = std::min<std::uint64_t>(ms, 100);
      time.advance(step);
      sched->clock().advance_time(std::chrono::milliseconds(step));
      sched->run();
    }
  }
  void ipc(const std::string& channel, const json& payload) {
    caf::anon_send(bridge, ipc_atom::value, channel, payload.dump());
    sched->run();
  }
  void release(const std::string& type, wire::message m) {
    caf::anon_send(uplink, release_atom::value, type, std::move(m));
    sched->run();
  }
  /// The game is ready and the first sync (nothing pending) is done; the timeline is cleared.
  void ready() {
    caf::anon_send(bridge, game_ready_atom::value, link);
    sched->run();
    REQUIRE(timeline == std::vector<std::string>{"master register w1 host:34197", R"(mod set_batch_floor {"next_batch":5})", "master resync 7",
                                                 R"(mod pending_exports {})"});
    timeline.clear();
  }
  /// The timeline since the last call, without the mod's pings and the heartbeats (and the
  /// status calls that go with them).
  std::vector<std::string> take() {
    std::vector<std::string> out;
    for (auto& e : timeline)
      if (e.rfind("mod set_inventory", 0) != 0 && e.rfind("master heartbeat", 0) != 0 && e.rfind("mod status", 0) != 0)
        out.push_back(e);
    timeline.clear();
    return out;
  }
};

using lines = std::vector<std::string>;

/// A JSON list of [name, count] pairs.
json pairs(std::initializer_list<std::pair<const char*, std::int64_t>> items) {
  json out = json::array();
  for (auto& [name, count] : items)
    out.push_back(json::array({name, count}));
  return out;
}

} // namespace

TEST_CASE("bridge: a sync registers, sets the batch floor, resyncs, delivers, confirms, then forgets") {
  bridge_fixture f;
  f.pending = {7, {{11, "iron-plate", 10}, {12, "copper-plate", 5}}, {13}};
  caf::anon_send(f.bridge, game_ready_atom::value, f.link);
  f.sched->run();
  CHECK(f.take() == lines{
                      "master register w1 host:34197",
                      R"(mod set_batch_floor {"next_batch":5})",
                      "master resync 7",
                      R"(mod apply_grants {"grants":[{"count":10,"grant_id":11,"name":"iron-plate"},{"count":5,"grant_id":12,"name":"copper-plate"}]})",
                      R"(mod cancel_grants {"grant_ids":[13]})",
                      R"(mod pending_exports {})",
                      "master confirm 7 applied=11,12 cancelled=",
                      "master confirm 7 applied= cancelled=13",
                      R"(mod forget_grants {"grant_ids":[11,12]})",
                      R"(mod forget_grants {"grant_ids":[13]})",
                    });
  REQUIRE(f.reports.size() == 1);
  CHECK(f.reports[0].instance_id == 7);

  // The periodic sync resyncs only: registered already.
  f.pending = {7, {}, {}};
  f.advance(5000);
  CHECK(f.take() == lines{"master resync 7", R"(mod pending_exports {})"});
  // The master answers again after a silence: register again.
  caf::anon_send(f.listener, link_up_atom::value);
  f.sched->run();
  CHECK(f.take() == lines{"master register w1 host:34197", R"(mod set_batch_floor {"next_batch":5})", "master resync 7", R"(mod pending_exports {})"});
}

TEST_CASE("bridge: an export is acknowledged to the mod only after the master's ack") {
  bridge_fixture f;
  f.ipc("export", {{"batch", 2}, {"floor", 2}, {"items", pairs({{"iron-plate", 5}})}});
  CHECK(f.take().empty()); // not registered yet: the sync resends it from the mod

  f.ready();
  f.hold = {"export"};
  f.ipc("export", {{"batch", 3}, {"floor", 2}, {"items", pairs({{"iron-plate", 5}})}});
  CHECK(f.take() == lines{"master export 7 batch=3 floor=2 iron-plate:5"});
  f.advance(2000);
  CHECK(f.take().empty()); // held by the master: nothing to the mod
  f.release("export", wire::export_ack{7, 3, false});
  CHECK(f.take() == lines{R"(mod ack_exports {"batches":[3]})"});

  // No ack when the master did not make it durable; the next sync sends it again from the mod.
  f.ipc("export", {{"batch", 4}, {"floor", 4}, {"items", pairs({{"iron-plate", 1}})}});
  f.release("export", wire::make_error(wire::error_code::unavailable, "the master did not answer in time"));
  CHECK(f.take() == lines{"master export 7 batch=4 floor=4 iron-plate:1"});
  f.hold.clear();
  f.pending_batches = json::array({{{"batch", 4}, {"items", pairs({{"iron-plate", 1}})}}});
  f.advance(3000);
  CHECK(f.take() == lines{"master resync 7", R"(mod pending_exports {})", "master export 7 batch=4 floor=1 iron-plate:1",
                          R"(mod ack_exports {"batches":[4]})"});
  // A malformed payload is refused whole.
  f.ipc("export", {{"batch", 5}, {"floor", 5}, {"items", pairs({{"iron-plate", -1}})}});
  CHECK(f.take().empty());
}

TEST_CASE("bridge: a request is never sent twice for one need while its reply is in doubt") {
  bridge_fixture f;
  f.ready();
  f.hold = {"request"};
  json report = {{"items", pairs({{"iron-plate", 100}})}, {"applied", 0}};
  f.ipc("request", report);
  CHECK(f.take() == lines{"master request 7 iron-plate:100"});
  f.ipc("request", report);
  CHECK(f.take().empty()); // one at a time

  // The reply is lost: the master may have granted it.
  f.release("request", wire::make_error(wire::error_code::unavailable, "the master did not answer in time"));
  f.hold.clear();
  f.pending = {7, {{21, "iron-plate", 60}}, {}};
  f.ipc("request", report);
  // No request: a resync first, which delivers what the master holds.
  CHECK(f.take() == lines{"master resync 7", R"(mod apply_grants {"grants":[{"count":60,"grant_id":21,"name":"iron-plate"}]})",
                          R"(mod pending_exports {})", "master confirm 7 applied=21 cancelled=", R"(mod forget_grants {"grant_ids":[21]})"});
  // The report was made before that grant was applied (applied 0 < 1): what it gave is taken off.
  f.to_grant = {{22, "iron-plate", 40}};
  f.ipc("request", report);
  CHECK(f.take() == lines{"master request 7 iron-plate:40", R"(mod apply_grants {"grants":[{"count":40,"grant_id":22,"name":"iron-plate"}]})",
                          "master confirm 7 applied=22 cancelled=", R"(mod forget_grants {"grant_ids":[22]})"});
}

TEST_CASE("bridge: a request unanswered for 40 s is in doubt until a resync sent after that was delivered") {
  bridge_fixture f;
  f.ready();
  f.hold = {"request"};
  json report = {{"items", pairs({{"iron-plate", 100}})}, {"applied", 0}};
  f.ipc("request", report);
  f.advance(39'900); // periodic resyncs come and go meanwhile
  f.ipc("request", report);
  auto seen = f.take();
  CHECK(std::count(seen.begin(), seen.end(), "master request 7 iron-plate:100") == 1);
  CHECK(std::count(seen.begin(), seen.end(), "master resync 7") == 7);

  f.hold = {"request", "resync"};
  f.advance(600); // 40,000 ms: a periodic resync (held); 40,500 ms: the request is abandoned
  CHECK(f.take() == lines{"master resync 7"});
  f.ipc("request", report);
  CHECK(f.take().empty()); // in doubt, and a sync is in flight already
  f.release("resync", wire::pending_grants{7, {}, {}});
  CHECK(f.take() == lines{R"(mod pending_exports {})"});
  f.ipc("request", report);
  CHECK(f.take() == lines{"master resync 7"}); // that resync was sent before the doubt: another one
  f.release("resync", wire::pending_grants{7, {}, {}});
  CHECK(f.take() == lines{R"(mod pending_exports {})"});
  f.ipc("request", report);
  CHECK(f.take() == lines{"master request 7 iron-plate:100"});
}

TEST_CASE("bridge: signal frames go to the master at once, then are refreshed on the clock until withdrawn") {
  bridge_fixture f;
  f.ready();
  auto t0 = f.time.epoch_ms();
  auto seq = [t0](std::uint64_t after_ms) { return std::to_string((t0 + after_ms) * 1000); };
  f.ipc("signal", {{"channel", "red"}, {"signals", pairs({{"signal-A", 5}})}});
  f.ipc("signal", {{"channel", "red"}, {"signals", pairs({{"signal-A", 6}})}}); // same ms: the sequence number still grows
  CHECK(f.take() == lines{"master signal red w1 seq=" + seq(0) + " signal-A:5",
                          "master signal red w1 seq=" + std::to_string((t0 * 1000) + 1) + " signal-A:6"});
  f.advance(500); // the first timer refreshes at once, then every 3 s
  CHECK(f.take() == lines{"master signal red w1 seq=" + seq(500) + " signal-A:6"});
  f.advance(2900);
  CHECK(f.take().empty());
  f.advance(100);
  CHECK(f.take() == lines{"master signal red w1 seq=" + seq(3500) + " signal-A:6"});
  f.ipc("signal", {{"channel", "red"}, {"signals", json::array()}});
  CHECK(f.take() == lines{"master signal red w1 seq=" + std::to_string((t0 + 3500) * 1000 + 1) + " "});
  f.advance(6000);
  CHECK(f.take() == lines{"master resync 7", R"(mod pending_exports {})"}); // the periodic sync; no frame

}

TEST_CASE("bridge: a channel's sum reaches the mod less this world's own frame, the one of the seq the sum lists") {
  bridge_fixture f;
  f.ready();
  auto t0 = f.time.epoch_ms();
  f.ipc("signal", {{"channel", "red"}, {"signals", pairs({{"signal-A", 5}})}});
  f.ipc("signal", {{"channel", "red"}, {"signals", pairs({{"signal-A", 6}, {"x", 1}})}});
  CHECK(f.take().size() == 2);
  const std::uint64_t older = t0 * 1000, newer = t0 * 1000 + 1;
  auto sum = [](std::uint64_t gen, std::vector<wire::signal_source> sources, wire::signal_list signals) {
    return wire::frame{0, wire::signal_sum{"red", gen, std::move(sources), std::move(signals)}};
  };
  auto deliver = [&](wire::frame fr) {
    caf::anon_send(f.listener, bus_atom::value, std::string("signal/red"), std::move(fr));
    f.sched->run();
    return f.take();
  };
  // slave2/w9 transmits signal-A=10, x=2. The master's sum still holds this world's older frame
  // (the newer one in flight): that one is taken off, exactly.
  CHECK(deliver(sum(1, {{"slave1/w1", older}, {"slave2/w9", 4}}, {{"signal-A", 15}, {"x", 2}})) ==
        lines{R"(mod receive_signals {"channel":"red","signals":[["signal-A",10],["x",2]]})"});
  // Then the newer one.
  CHECK(deliver(sum(2, {{"slave1/w1", newer}, {"slave2/w9", 4}}, {{"signal-A", 16}, {"x", 3}})) ==
        lines{R"(mod receive_signals {"channel":"red","signals":[["signal-A",10],["x",2]]})"});
  // Nothing but this world's own: its receivers output nothing.
  CHECK(deliver(sum(3, {{"slave1/w1", newer}}, {{"signal-A", 6}, {"x", 1}})) ==
        lines{R"(mod receive_signals {"channel":"red","signals":[]})"});
  // A sum that does not list this world is output as it is.
  CHECK(deliver(sum(4, {{"slave2/w9", 5}}, {{"signal-A", 7}})) == lines{R"(mod receive_signals {"channel":"red","signals":[["signal-A",7]]})"});
  // A sum listing a frame this world does not know (from before the slave started): the newest
  // one it knows is taken off.
  CHECK(deliver(sum(5, {{"slave1/w1", 12345}, {"slave2/w9", 5}}, {{"signal-A", 13}, {"x", 1}})) ==
        lines{R"(mod receive_signals {"channel":"red","signals":[["signal-A",7]]})"});
  // Values add as circuit wires do: int32 wrapping, exact both ways.
  CHECK(deliver(sum(6, {{"slave1/w1", newer}, {"slave2/w9", 6}}, {{"signal-A", wire::min_signal_value + 5}, {"x", 1}})) ==
        lines{R"(mod receive_signals {"channel":"red","signals":[["signal-A",2147483647]]})"});
}

TEST_CASE("bridge: signals keep their full id from the mod to the master and from the bus to the mod") {
  bridge_fixture f;
  f.ready();
  f.ipc("signal", {{"channel", "red"}, {"signals", json::parse(R"([["water",1],["water",2,"fluid"],["iron-plate",3,"item","rare"]])")}});
  auto sent = f.take();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].substr(sent[0].rfind(' ') + 1) == "water:1,fluid/water:2,iron-plate@rare:3");

  wire::signal_list in{{"signal-A", 4, "virtual"}, {"iron-plate", 5, "item", "rare"}, {"iron-plate", 6}};
  caf::anon_send(f.listener, bus_atom::value, std::string("signal/red"), wire::frame{0, wire::signal_sum{"red", 1, {{"slave2/w9", 1}}, in}});
  f.sched->run();
  CHECK(f.take() == lines{R"(mod receive_signals {"channel":"red","signals":[["signal-A",4,"virtual"],["iron-plate",5,"item","rare"],["iron-plate",6]]})"});
}

TEST_CASE("bridge: after the game stopped, answers for its run are dropped and the next run registers again") {
  bridge_fixture f;
  f.ready();
  f.hold = {"request"};
  f.ipc("request", {{"items", pairs({{"iron-plate", 100}})}, {"applied", 0}});
  CHECK(f.take() == lines{"master request 7 iron-plate:100"});
  caf::anon_send(f.bridge, game_stopped_atom::value);
  caf::anon_send(f.bridge, game_ready_atom::value, f.link);
  f.sched->run();
  CHECK(f.take() == lines{"master register w1 host:34197", R"(mod set_batch_floor {"next_batch":5})", "master resync 7", R"(mod pending_exports {})"});
  // The old run's grant reaches the new run's mod by the resync, never by this reply.
  f.release("request", wire::grant_reply{7, {{31, "iron-plate", 100}}});
  CHECK(f.take().empty());
}

TEST_CASE("bridge: the heartbeat carries what the mod's previous status reply says the world holds back") {
  bridge_fixture f;
  f.status["held_back"] = json::parse(R"({"modular-armor":{"normal":1},"steel-chest":{"rare":2}})");
  f.status["signals_not_shown"] = 4;
  f.ready();
  f.advance(500);
  // The first heartbeat goes before any status reply: nothing known yet.
  REQUIRE(f.heartbeats.size() == 1);
  CHECK(f.heartbeats[0].held_back == wire::held_back_report{});
  CHECK(std::count(f.timeline.begin(), f.timeline.end(), "mod status {}") == 1);
  f.advance(5000);
  REQUIRE(f.heartbeats.size() == 2);
  auto& h = f.heartbeats[1].held_back;
  CHECK(h.items == wire::item_list{{"steel-chest", 2, "rare"}, {"modular-armor", 1}});
  CHECK(h.items_total == 3);
  CHECK(h.signals_not_shown == 4);

  // A reply the slave cannot read leaves the last one it could: the heartbeat still goes.
  f.status = {{"error", "busy"}};
  f.advance(10000);
  REQUIRE(f.heartbeats.size() == 4);
  CHECK(f.heartbeats[3].held_back.items_total == 3);
  // The next run's mod reports its own.
  caf::anon_send(f.bridge, game_stopped_atom::value);
  f.sched->run();
  f.timeline.clear();
  f.ready();
  f.advance(500);
  CHECK(f.heartbeats.back().held_back == wire::held_back_report{});
}

TEST_CASE("bridge: a full snapshot reaches the world as what changed since it was last told") {
  bridge_fixture f;
  f.ready();
  auto publish = [&](bool full, wire::item_list levels) {
    f.timeline.clear();
    caf::anon_send(f.listener, bus_atom::value, std::string(wire::topic_inventory), wire::frame{0, wire::inventory_levels{42, full, std::move(levels)}});
    f.sched->run();
    lines out; // the set_inventory calls, the time aside
    for (auto& e : f.timeline)
      if (e.rfind("mod set_inventory", 0) == 0) {
        auto arg = json::parse(e.substr(18));
        out.push_back(std::string(arg["full"] ? "full " : "merge ") + arg["levels"].dump());
      }
    return out;
  };
  // The first is whole: the world may know anything.
  CHECK(publish(true, {{"a", 1}, {"b", 2}}) == lines{R"(full [["a",1],["b",2]])"});
  // The same again (another subscriber's snapshot): nothing to tell.
  CHECK(publish(true, {{"a", 1}, {"b", 2}}).empty());
  CHECK(publish(true, {{"a", 1}, {"b", 3}, {"c", 4, "rare"}}) == lines{R"(merge [["b",3],["c",4,"rare"]])"});
  auto removed = publish(true, {{"a", 1}}); // count 0 removes, in no particular order
  CHECK((removed == lines{R"(merge [["b",0],["c",0,"rare"]])"} || removed == lines{R"(merge [["c",0,"rare"],["b",0]])"}));
  // Changed levels go as they come, and count for the next snapshot.
  CHECK(publish(false, {{"a", 5}}) == lines{R"(merge [["a",5]])"});
  CHECK(publish(true, {{"a", 5}}).empty());
  // A new game run may know other levels: whole again.
  caf::anon_send(f.bridge, game_ready_atom::value, f.link);
  f.sched->run();
  CHECK(publish(true, {{"a", 5}}) == lines{R"(full [["a",5]])"});
}

TEST_CASE("bridge: the uplink learns the channels the world receives on, from the mod's announcement and its status") {
  bridge_fixture f;
  f.status["receivers"] = json::array({"blue", "red"});
  f.ipc("receivers", {{"channels", json::array({"red"})}});
  REQUIRE(f.interests.size() == 1);
  CHECK(f.interests[0] == channel_interest{false, {"red"}});
  f.ipc("receivers", {{"channels", json::array({"red", "red"})}}); // the same set: nothing new to tell
  CHECK(f.interests.size() == 1);
  f.ready();
  f.advance(1000); // the heartbeat's status reply: after a restart of the slave this is how it learns
  REQUIRE(f.interests.size() == 2);
  CHECK(f.interests[1] == channel_interest{false, {"blue", "red"}});
  // A mod too old to say gets every channel.
  f.status.erase("receivers");
  f.advance(5000);
  REQUIRE(f.interests.size() == 3);
  CHECK(f.interests[2] == channel_interest{true, {}});
  // A stopped game receives nothing.
  caf::anon_send(f.bridge, game_stopped_atom::value);
  f.sched->run();
  REQUIRE(f.interests.size() == 4);
  CHECK(f.interests[3] == channel_interest{});
}

TEST_CASE("bridge: a flood of sums reaches the world as the latest of each channel, never as a queue") {
  bridge_fixture f;
  f.ready();
  auto sum = [](const char* channel, std::int64_t v) {
    return wire::frame{0, wire::signal_sum{channel, static_cast<std::uint64_t>(v), {{"slave2/a", static_cast<std::uint64_t>(v)}}, {{"x", v}}}};
  };
  // All arrive while the first call is in flight (nothing runs in between).
  for (int i = 1; i <= 1000; ++i)
    caf::anon_send(f.listener, bus_atom::value, std::string("signal/") + (i % 10 ? "red" : "blue"), sum(i % 10 ? "red" : "blue", i));
  f.sched->run();
  CHECK(f.take() == lines{R"(mod receive_signals {"channel":"red","signals":[["x",1]]})",
                          R"(mod receive_signals {"channel":"blue","signals":[["x",1000]]})",
                          R"(mod receive_signals {"channel":"red","signals":[["x",999]]})"});
}
