// The external tools against a real master: clusterio-ctl (C++) and examples/signals.py (Python,
// Debian's python3-zmq and python3-msgpack), each speaking only the documented protocol.

#include <sys/wait.h>
#include <unistd.h>

#include "tests/master/helpers.hpp"
#include "tests/signals/helpers.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {

constexpr const char* python = "/usr/bin/python3"; // Debian's, which has zmq and msgpack

struct run_result {
  int status = -1; ///< exit status, -1 if it did not end in time
  std::string output;
};

/// Runs a program to its end (bounded), returning its exit status and output.
run_result run(std::vector<std::string> argv, const std::string& log, int timeout_ms = 15000) {
  ::unlink(log.c_str());
  child_process p(std::move(argv), log);
  auto st = p.wait(timeout_ms);
  return {st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(log)};
}

std::string cred_path(master_fixture& m, const std::string& name) { return m.data_dir() + "/" + name + ".cred.json"; }

std::vector<std::string> ctl(master_fixture& m, const std::string& cred, std::vector<std::string> args) {
  std::vector<std::string> argv{exe("tools/clusterio-ctl"), "--credential", cred_path(m, cred), "--master", m.control_endpoint(),
                                "--bus", m.bus_endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> py(master_fixture& m, const std::string& cred, std::vector<std::string> args) {
  std::vector<std::string> argv{python, source_dir() + "/examples/signals.py", "--credential", cred_path(m, cred), "--master",
                                m.control_endpoint(), "--bus", m.bus_endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

/// Starts a watcher process, then sends `frame` (seq increasing) until the watcher ends.
/// Returns the watcher's output.
std::string watch_while_sending(std::vector<std::string> watcher_argv, const std::string& log, wire_client& pub, wire::signal_frame frame) {
  ::unlink(log.c_str());
  child_process watcher(std::move(watcher_argv), log);
  bool ended = false;
  static std::uint64_t next_seq = 0; // one publisher may serve several watchers: seq keeps rising
  for (int attempt = 1; attempt <= 40 && !ended; ++attempt) {
    frame.seq = ++next_seq;
    auto r = pub.call(frame);
    REQUIRE(r);
    REQUIRE(std::holds_alternative<wire::ok>(r->body));
    ended = watcher.wait(250) == 0;
  }
  CHECK(ended);
  return slurp(log);
}

} // namespace

TEST_CASE("clusterio-ctl: signals send and watch, inventory, slaves") {
  master_fixture m;
  m.start();
  add_client(m, "ctl-pub", "publisher");
  add_client(m, "ctl-watch", "subscriber");
  auto log = m.data_dir() + "/ctl.log";

  // send -> a C++ subscriber sees it, with the master's source.
  bus_subscriber sub(m.bus_endpoint(), add_client(m, "cpp-watch", "subscriber"), "signal-src/ctl");
  bool seen = false;
  for (int attempt = 0; attempt < 10 && !seen; ++attempt) {
    auto r = run(ctl(m, "ctl-pub", {"signals", "send", "ctl", "signal-A=7:virtual", "copper-plate=-2", "copper-plate=3:item:rare", "a=b=4:fluid"}), log);
    REQUIRE(r.status == 0);
    CHECK(r.output.find("sent ctl") != std::string::npos);
    seen = wait_signal(sub, [](const wire::signal_frame& f) {
      return f.source == "ctl-pub" &&
             f.signals == wire::signal_list{{"signal-A", 7, "virtual"}, {"copper-plate", -2}, {"copper-plate", 3, "item", "rare"}, {"a=b", 4, "fluid"}};
    }, 500ms).has_value();
  }
  CHECK(seen);

  // watch --count 1 prints the sum of a channel a C++ publisher sent on (signals sorted by
  // type, name, quality); with --sources the publisher's frame as it sent it.
  wire_client pub(m.control_endpoint(), add_client(m, "cpp-pub", "publisher"));
  const wire::signal_frame sent{"from-cpp", "", 0, {{"signal-B", 42, "virtual"}, {"iron-plate", 1}, {"iron-plate", 2, "item", "epic"}}};
  auto out = watch_while_sending(ctl(m, "ctl-watch", {"signals", "watch", "from-cpp", "--count", "1"}), log, pub, sent);
  CHECK(out.find("from-cpp gen=") != std::string::npos);
  CHECK(out.find(" sources=cpp-pub:") != std::string::npos);
  CHECK(out.find(" iron-plate=2:item:epic iron-plate=1 signal-B=42:virtual") != std::string::npos);
  out = watch_while_sending(ctl(m, "ctl-watch", {"signals", "watch", "from-cpp", "--count", "1", "--sources"}), log, pub, sent);
  CHECK(out.find("from-cpp cpp-pub seq=") != std::string::npos);
  CHECK(out.find(" signal-B=42:virtual iron-plate=1 iron-plate=2:item:epic") != std::string::npos);
  // A value that is not one, or an unknown type, is refused before anything is sent.
  for (auto* bad : {"signal-A=x", "signal-A=1:virtul", "signal-A"}) {
    auto r = run(ctl(m, "ctl-pub", {"signals", "send", "ctl", bad}), log);
    CHECK(r.status != 0);
  }

  // A subscriber's send is refused, with the master's reason.
  auto refused = run(ctl(m, "ctl-watch", {"signals", "send", "ctl", "signal-A=1"}), log);
  CHECK(refused.status == 1);
  CHECK(refused.output.find("unauthorized") != std::string::npos);

  // inventory and slaves.
  wire_client slave(m.control_endpoint(), add_client(m, "slave1", "slave"));
  auto inst = expect_reply<wire::registered>(slave, wire::register_instance{"world-a", "127.0.0.1:34197"}).instance_id;
  expect_reply<wire::export_ack>(slave, wire::export_batch{inst, 1, 1, {{"iron-plate", 10}, {"iron-plate", 4, "epic"}}});
  auto inv = run(ctl(m, "ctl-watch", {"inventory"}), log);
  CHECK(inv.status == 0);
  // As the wire lists them: each quality but normal names itself after the count.
  CHECK(inv.output.find("iron-plate 10\niron-plate 4 epic\n") != std::string::npos);
  CHECK(inv.output.find("(2 item kinds)") != std::string::npos);
  auto sl = run(ctl(m, "ctl-watch", {"slaves"}), log);
  CHECK(sl.status == 0);
  CHECK(sl.output.find("slave1") != std::string::npos);
  CHECK(sl.output.find("world-a") != std::string::npos);
  CHECK(sl.output.find("held back in put-chests") == std::string::npos); // nothing held back: nothing said
  // What the world holds back, under its line.
  wire::held_back_report held;
  held.items = {{"modular-armor", 2}, {"steel-chest", 1, "rare"}};
  held.items_total = 5;
  held.signals_not_shown = 3;
  expect_reply<wire::ok>(slave, wire::heartbeat{inst, 60, 1, 0, "running", held});
  sl = run(ctl(m, "ctl-watch", {"slaves"}), log);
  CHECK(sl.status == 0);
  CHECK(sl.output.find("held back in put-chests: 2 modular-armor, 1 steel-chest rare, and 2 more, 5 in all\n") != std::string::npos);
  CHECK(sl.output.find("signals not shown (no room in combinators): 3\n") != std::string::npos);

  // --help on each command.
  for (auto args : {std::vector<std::string>{"--help"}, {"signals", "watch", "--help"}, {"signals", "send", "--help"}, {"inventory", "--help"},
                    {"slaves", "--help"}}) {
    args.insert(args.begin(), exe("tools/clusterio-ctl"));
    auto h = run(args, log);
    CHECK(h.status == 0);
    CHECK(h.output.find("Usage") != std::string::npos);
  }
}

TEST_CASE("clusterio-ctl slaves lists every instance, over several pages") {
  master_fixture m(false, "\"max_instances_per_slave\":2000,\"durability\":\"process\",\"max_msgs_per_s_per_client\":100000");
  m.start();
  add_client(m, "ctl-watch", "subscriber");
  wire_client slave(m.control_endpoint(), add_client(m, "host1", "slave"));
  const std::size_t n = wire::max_page_instances + 5;
  // Pipelined in windows of 100, so registering takes a second, not a round trip each.
  for (std::size_t first = 0; first < n; first += 100) {
    std::size_t sent = 0;
    for (std::size_t i = first; i < std::min(n, first + 100); ++i, ++sent)
      slave.send(wire::register_instance{"w" + std::to_string(i), ""});
    for (std::size_t i = 0; i < sent; ++i) {
      auto r = slave.recv(5s);
      REQUIRE(r);
      REQUIRE(std::holds_alternative<wire::registered>(r->body));
    }
  }
  auto sl = run(ctl(m, "ctl-watch", {"slaves"}), m.data_dir() + "/ctl.log");
  CHECK(sl.status == 0);
  CHECK(sl.output.find("(" + std::to_string(n) + " instances)") != std::string::npos);
  CHECK(sl.output.find(" w" + std::to_string(n - 1) + " ") != std::string::npos);
}

TEST_CASE("clusterio-ctl and signals.py: a dead master is a clear error within a few seconds") {
  master_fixture m;
  m.start();
  add_client(m, "ctl-watch", "subscriber");
  m.stop();
  auto log = m.data_dir() + "/ctl.log";
  for (auto args : {std::vector<std::string>{"inventory"}, {"slaves"}, {"signals", "watch", "--count", "1"}}) {
    args.insert(args.begin(), {"--timeout", "1000"});
    auto t0 = mono_ms();
    auto r = run(ctl(m, "ctl-watch", args), log, 5000);
    CHECK(r.status == 2);
    CHECK(r.output.find("no answer from the master") != std::string::npos);
    CHECK(mono_ms() - t0 < 4000);
  }
  // The Python tool too.
  add_client(m, "py-pub", "publisher");
  auto t0 = mono_ms();
  auto r = run(py(m, "py-pub", {"--timeout", "1000", "send", "ch", "signal-A=1"}), log, 5000);
  CHECK(r.status == 2);
  CHECK(r.output.find("no answer from the master") != std::string::npos);
  CHECK(mono_ms() - t0 < 4000);
}

TEST_CASE("examples/signals.py publishes a frame a subscriber receives, and receives frames another client published") {
  REQUIRE(::access(python, X_OK) == 0);
  master_fixture m;
  m.start();
  add_client(m, "py-pub", "publisher");
  add_client(m, "py-watch", "subscriber");
  auto log = m.data_dir() + "/py.log";

  bus_subscriber sub(m.bus_endpoint(), add_client(m, "cpp-watch", "subscriber"), "signal-src/py");
  bool seen = false;
  for (int attempt = 0; attempt < 10 && !seen; ++attempt) {
    auto r = run(py(m, "py-pub", {"send", "py", "signal-A=5:virtual", "[virtual]=-9", "iron-plate=2:item:rare", "--source", "tool"}), log);
    REQUIRE(r.status == 0);
    seen = wait_signal(sub, [](const wire::signal_frame& f) {
      return f.source == "py-pub/tool" && f.signals == wire::signal_list{{"signal-A", 5, "virtual"}, {"[virtual]", -9}, {"iron-plate", 2, "item", "rare"}};
    }, 500ms).has_value();
  }
  CHECK(seen);

  wire_client pub(m.control_endpoint(), add_client(m, "cpp-pub", "publisher"));
  const wire::signal_frame sent{"from-cpp", "", 0, {{"signal-C", -3, "virtual"}, {"water", 4, "fluid", "rare"}}};
  auto out = watch_while_sending(py(m, "py-watch", {"watch", "from-cpp", "--count", "1"}), log, pub, sent);
  CHECK(out.find("from-cpp gen=") != std::string::npos);
  CHECK(out.find(" sources=cpp-pub:") != std::string::npos);
  CHECK(out.find(" water=4:fluid:rare signal-C=-3:virtual") != std::string::npos);
  out = watch_while_sending(py(m, "py-watch", {"watch", "from-cpp", "--count", "1", "--sources"}), log, pub, sent);
  CHECK(out.find("from-cpp cpp-pub seq=") != std::string::npos);
  CHECK(out.find(" signal-C=-3:virtual water=4:fluid:rare") != std::string::npos);

  // The subscriber credential cannot publish through the Python tool either.
  auto refused = run(py(m, "py-watch", {"send", "py", "signal-A=1"}), log);
  CHECK(refused.status == 1);
  CHECK(refused.output.find("unauthorized") != std::string::npos);
}

TEST_CASE("clusterio-ctl: operator commands reclaim a reservation and delete an instance, admin only") {
  master_fixture m;
  m.start();
  wire_client slave(m.control_endpoint(), add_client(m, "slave1", "slave"));
  add_client(m, "ops", "admin");
  add_client(m, "viewer", "subscriber");
  auto reg = slave.call(wire::register_instance{"w", ""});
  REQUIRE(reg);
  auto inst = std::get<wire::registered>(reg->body).instance_id;
  REQUIRE(slave.call(wire::export_batch{inst, 1, 1, {{"coal", 10}}}));
  auto g = slave.call(wire::request_items{inst, {{"coal", 10}}});
  REQUIRE(g);
  auto grant = std::get<wire::grant_reply>(g->body).grants.at(0).grant_id;
  auto log = m.data_dir() + "/ctl-ops.log";

  auto refused = run(ctl(m, "viewer", {"reclaim", std::to_string(grant)}), log);
  CHECK(refused.status == 1);
  CHECK(refused.output.find("unauthorized") != std::string::npos);
  auto ok = run(ctl(m, "ops", {"reclaim", std::to_string(grant)}), log);
  CHECK(ok.status == 0);
  auto p = slave.call(wire::resync{inst});
  REQUIRE(p);
  CHECK(std::get<wire::pending_grants>(p->body).reclaim == std::vector<std::uint64_t>{grant});

  auto del = run(ctl(m, "ops", {"delete-instance", std::to_string(inst)}), log);
  CHECK(del.status == 0);
  auto inv = run(ctl(m, "ops", {"inventory"}), log);
  CHECK(inv.output.find("coal 10") != std::string::npos); // the reservation came back
}
