// Real processes on loopback: a master, two slaves, two factorio-sim worlds running the mod.

#include <csignal>

#include "tests/slave/cluster.hpp"

using namespace clusterio;
using namespace clusterio::test;
using namespace std::chrono_literals;

TEST_CASE("items and fluids put into the producer world arrive in the consumer world, conserved exactly") {
  cluster c;
  c.wait_for_flow(300);
  c.check_conservation();
}

TEST_CASE("kill -9 of a slave in the middle of transfers loses and duplicates nothing") {
  cluster c;
  c.wait_for_flow(100);
  for (int round = 0; round < 3; ++round) {
    c.a->kill_hard("producer");
    c.b->kill_hard("consumer");
    std::this_thread::sleep_for(1500ms); // the games run on, unsupervised
    c.a->start("producer");
    c.b->start("consumer");
    std::this_thread::sleep_for(3s);
  }
  c.wait_for_flow(400);
  c.check_conservation();
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
  c.check_conservation();
}
