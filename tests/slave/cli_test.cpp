// The slave's command line: create, list, start, stop, delete, config, and the clear errors for
// bad names, unknown instances and a missing factorio directory.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/wire_client.hpp"
#include "tests/support/master_fixture.hpp"
#include "tests/support/slave_fixture.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

namespace {
/// A master address nothing listens on: the slave must run its games anyway.
std::string dead_master() { return "127.0.0.1:" + std::to_string(free_port()); }

bool eventually(const std::function<bool()>& pred, int timeout_ms = 30000) {
  for (int waited = 0; waited < timeout_ms; waited += 200) {
    if (pred())
      return true;
    std::this_thread::sleep_for(200ms);
  }
  return false;
}
} // namespace

TEST_CASE("slave CLI: bad names and unknown instances get clear errors") {
  slave_fixture s("cli", dead_master(), std::nullopt);
  for (const std::string& bad : std::vector<std::string>{"../escape", "a/b", ".hidden", "..", "with space", std::string(65, 'x')}) {
    INFO("name: " << bad);
    auto [code, out] = s.cli({"create", bad});
    CHECK(code == 1);
    CHECK(out.find("clusterio-slave:") != std::string::npos);
    CHECK(out.find("name") != std::string::npos);
  }
  for (auto cmd : {"start", "stop", "delete"}) {
    INFO("command: " << cmd);
    auto [code, out] = s.cli({cmd, "nosuch"});
    CHECK(code == 1);
    CHECK(out.find("nosuch") != std::string::npos);
  }
  auto [c1, o1] = s.cli({"config", "set", "no_such_key", "1"});
  CHECK(c1 == 1);
  CHECK(o1.find("unknown key") != std::string::npos);
  auto [c2, o2] = s.cli({"config", "set", "game_port_first", "\"x\""});
  CHECK(c2 == 1);
  auto [c3, o3] = s.cli({"config", "show"});
  CHECK(c3 == 0);
  CHECK(o3.find("\"factorio_dir\"") != std::string::npos);
}

TEST_CASE("slave CLI: a missing factorio directory is named in the error") {
  slave_fixture s("nofactorio", dead_master(), std::nullopt);
  REQUIRE(s.cli({"config", "set", "factorio_dir", "/nonexistent/factorio"}).first == 0);
  auto [code, out] = s.cli({"create", "w"});
  CHECK(code == 1);
  CHECK(out.find("/nonexistent/factorio/bin/x64/factorio") != std::string::npos);
}

TEST_CASE("slave CLI: create, list, start, stop, delete") {
  slave_fixture s("life", dead_master(), std::nullopt);
  s.create("world", "producer");
  auto [lc, list] = s.cli({"list"});
  CHECK(lc == 0);
  CHECK(list.find("world") != std::string::npos);
  CHECK(list.find("stopped") != std::string::npos);
  CHECK(s.cli({"create", "world"}).first == 1); // exists already

  s.start("world"); // the master is unreachable: the game runs anyway
  REQUIRE(eventually([&] { return s.status("world").value("state", "") == "running"; }));
  CHECK(s.cli({"list"}).second.find("running") != std::string::npos);
  auto [dc, dout] = s.cli({"delete", "world"});
  CHECK(dc == 1);
  CHECK(dout.find("running") != std::string::npos);

  auto [sc, sout] = s.cli({"stop", "world"});
  CHECK(sc == 0);
  REQUIRE(eventually([&] { return !s.running("world"); }));
  CHECK(s.status("world").value("state", "") == "stopped");
  CHECK(s.cli({"list"}).second.find("stopped") != std::string::npos);
  CHECK(s.cli({"delete", "world"}).first == 0);
  CHECK(s.cli({"list"}).second.find("world") == std::string::npos);
}

TEST_CASE("slave: with no master in its config, it links to the address in its credential file") {
  master_fixture m;
  m.start();
  auto cred = m.add_client("credhost", "slave");
  cred.master_address = m.control_endpoint().substr(std::string("tcp://").size());
  auto bus = m.bus_endpoint();
  slave_fixture s("credaddr", "", cred, std::stoi(bus.substr(bus.rfind(':') + 1)));
  s.create("world", "producer");
  s.start("world");
  wire_client admin(m.control_endpoint(), m.add_client("cred-admin", "admin"));
  REQUIRE(eventually([&] {
    auto r = admin.call(wire::slaves_query{});
    auto* list = r ? std::get_if<wire::slaves_reply>(&r->body) : nullptr;
    return list && std::any_of(list->instances.begin(), list->instances.end(),
                               [](const wire::instance_info& i) { return i.slave == "credhost" && i.name == "world" && i.online; });
  }));

  // An unusable address in the credential file is an error that names the file.
  cred.master_address = "no-port-here";
  slave_fixture bad("credbad", "", cred);
  bad.create("world", "producer");
  auto [code, out] = bad.cli({"start", "world"});
  CHECK(code == 1);
  CHECK(out.find("slave.cred.json: the credential file's master must be host:port") != std::string::npos);
}
