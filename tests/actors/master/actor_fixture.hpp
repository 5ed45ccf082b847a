#pragma once
// What the in-process tests of the master's actors share: an actor system on CAF's deterministic
// test coordinator, a clock the test moves, the outbox decoded, and a temporary data folder.
// Nothing runs until the test says so: run() delivers every queued message, fire_timers() every
// delayed one (timers, request timeouts).

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "common/outbox.hpp"
#include "tests/support/manual_clock.hpp"
#include "messages/message.hpp"

namespace clusterio::test {

/// A folder under /tmp, removed with everything in it at the end.
struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/clusterio-actor-test-XXXXXX";
    char* made = mkdtemp(tmpl);
    REQUIRE(made != nullptr);
    path = made;
  }
  ~temp_dir() { std::filesystem::remove_all(path); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// One reply the actors queued for a client, decoded.
struct sent_reply {
  std::string peer;
  std::uint64_t id = 0;
  wire::message msg;
};

/// One bus message the actors queued, decoded.
struct sent_bus {
  std::string topic;
  wire::message msg;
};

/// Declared before anything that spawns actors, so that it outlives them (the clock, the
/// outbox and the folder are destroyed after the actor system).
struct actor_fixture {
  manual_clock time;
  outbox out;
  temp_dir dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;

  std::vector<caf::actor> spawned; ///< stopped at the end

  actor_fixture() {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
  }
  ~actor_fixture() {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }
  actor_fixture(const actor_fixture&) = delete;
  actor_fixture& operator=(const actor_fixture&) = delete;

  /// Remembers an actor to stop at the end, and runs what its start queued.
  template <class Handle> Handle keep(Handle h) {
    spawned.push_back(caf::actor_cast<caf::actor>(h));
    run();
    return h;
  }

  /// Delivers every queued message (and what they cause), timers aside.
  void run() { sched->run(); }
  /// Fires every pending timer (delayed sends, request timeouts), then runs.
  void fire_timers() {
    sched->trigger_timeouts();
    sched->run();
  }

  /// Everything queued in the outbox since the last take, decoded: replies and bus messages.
  void take(std::vector<sent_reply>& replies, std::vector<sent_bus>& bus) {
    std::vector<outbox::item> items;
    out.drain(items);
    for (auto& it : items) {
      auto d = wire::decode(it.payload);
      REQUIRE(d.ok);
      if (it.publish)
        bus.push_back({it.address, std::move(d.value.body)});
      else
        replies.push_back({it.address, d.value.id, std::move(d.value.body)});
    }
  }
  std::vector<sent_reply> take_replies() {
    std::vector<sent_reply> r;
    std::vector<sent_bus> b;
    take(r, b);
    return r;
  }
  std::vector<sent_bus> take_bus() {
    std::vector<sent_reply> r;
    std::vector<sent_bus> b;
    take(r, b);
    return b;
  }

  /// Asks `whom` from outside (a scoped actor, as the web server does): its answer, or the error
  /// it answered with. Fails the test if it has not answered once everything queued has run.
  template <class T, class Handle, class... Ts> std::variant<T, caf::error> ask_or_error(const Handle& whom, Ts&&... xs) {
    caf::scoped_actor self{*sys};
    self->send(whom, std::forward<Ts>(xs)...);
    run();
    std::optional<std::variant<T, caf::error>> answer;
    self->receive([&](T& x) { answer.emplace(std::move(x)); }, [&](caf::error& e) { answer.emplace(std::move(e)); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    REQUIRE(answer);
    return std::move(*answer);
  }
  template <class T, class Handle, class... Ts> T ask(const Handle& whom, Ts&&... xs) {
    auto answer = ask_or_error<T>(whom, std::forward<Ts>(xs)...);
    INFO("error: " << (std::holds_alternative<caf::error>(answer) ? caf::to_string(std::get<caf::error>(answer)) : ""));
    REQUIRE(std::holds_alternative<T>(answer));
    return std::get<T>(std::move(answer));
  }
};

/// The reply's message as a T (fails the test if it is something else).
template <class T> const T& as(const sent_reply& r) {
  INFO("reply is '" << wire::type_of(r.msg) << "'");
  REQUIRE(std::holds_alternative<T>(r.msg));
  return std::get<T>(r.msg);
}
template <class T> const T& as(const sent_bus& b) {
  INFO("bus message on '" << b.topic << "' is '" << wire::type_of(b.msg) << "'");
  REQUIRE(std::holds_alternative<T>(b.msg));
  return std::get<T>(b.msg);
}

} // namespace clusterio::test
