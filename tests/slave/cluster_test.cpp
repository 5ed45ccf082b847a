// Real processes on loopback: a master, two slaves, two factorio-sim worlds running the mod.

#include "tests/slave/cluster.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("items and fluids put into the producer world arrive in the consumer world, conserved exactly") {
  cluster c;
  c.wait_for_flow(300);
  check_conservation(c);
}

TEST_CASE("kill -9 of a slave in the middle of transfers loses and duplicates nothing") {
  cluster c;
  c.wait_for_flow(100);
  for (int round = 0; round < 3; ++round) {
    for (auto& s : c.slaves)
      s->kill_service();
    std::this_thread::sleep_for(1500ms); // the games, unsupervised, save and exit
    for (auto& s : c.slaves)
      s->run();
    std::this_thread::sleep_for(3s);
  }
  c.wait_for_flow(400);
  check_conservation(c);
}

TEST_CASE("kill -9 of the master in the middle of transfers loses and duplicates nothing") {
  cluster c;
  c.wait_for_flow(100);
  for (int round = 0; round < 2; ++round) {
    c.master.kill_hard();
    std::this_thread::sleep_for(2s);
    c.master.start();
    std::this_thread::sleep_for(4s);
  }
  c.wait_for_flow(400);
  check_conservation(c);
}

TEST_CASE("the master down for a minute: the games keep running, transfers resume, nothing lost") {
  cluster c;
  c.wait_for_flow(100);
  auto& producer = c.slave_of("producer");
  auto tick_before = std::stoull(producer.lua("producer", "rcon.print(game.tick)"));
  c.master.kill_hard();
  std::this_thread::sleep_for(60s);
  // The worlds kept running, and the producer's exports wait, unacknowledged, in its mod.
  CHECK(std::stoull(producer.lua("producer", "rcon.print(game.tick)")) > tick_before + 50 * 60);
  CHECK(c.slave_of("consumer").status("consumer").value("state", "") == "running");
  CHECK(producer.mod("producer", "pending_exports")["batches"].size() > 10);
  c.master.start();
  c.wait_for_flow(c.count().delivered("iron-plate") + 300);
  check_conservation(c);
}

TEST_CASE("a world killed with kill -9 restarts from its save and conserves what the save holds") {
  // The save is made while the world's slave is frozen, so it holds the mod's unacknowledged
  // batches and its record of applied grants as they are when the game dies: nothing is lost or
  // duplicated. (A save older than the last transfers would roll the world back; see
  // docs/transfers.md for what that does and does not conserve.)
  cluster c;
  c.wait_for_flow(100);
  for (auto& w : c.worlds) {
    auto& s = c.slave_of(w.name);
    auto killed = s.game_pid(w.name);
    c.kill_world_after_save(w.name);
    // The slave restarts it from that save.
    for (int i = 0; i < 150 && (s.game_pid(w.name) == 0 || s.game_pid(w.name) == killed); ++i)
      std::this_thread::sleep_for(200ms);
    REQUIRE(s.game_pid(w.name) > 0);
    REQUIRE(s.game_pid(w.name) != killed);
  }
  c.wait_for_flow(c.count().delivered("iron-plate") + 200);
  check_conservation(c);
}
