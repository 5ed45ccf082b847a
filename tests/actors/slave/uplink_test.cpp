// The uplink's bus link against a stand-in bus (an XPUB socket on loopback, no CURVE): after a
// frame over the size a slave accepts, ZeroMQ closes the connection and would not open it again;
// the uplink must connect and subscribe again by itself, and go on receiving.

#include <atomic>
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <zmq.hpp>

#include "actors/slave/uplink.hpp"
#include "messages/limits.hpp"
#include "tests/support/process.hpp"

using namespace clusterio;
using namespace std::chrono_literals;

namespace {
/// Counts the bus messages the uplink hands to its members.
uplink_listener::behavior_type counting_listener(uplink_listener::pointer, std::atomic<int>* received) {
  return {
    [received](bus_atom, const std::string&, const wire::frame&) { ++*received; },
    [](link_up_atom) {},
  };
}

/// Waits (at most 10 s) for a subscription to `topic` on the stand-in bus.
bool subscription_arrives(zmq::socket_t& bus, const std::string& topic) {
  zmq::pollitem_t item{bus.handle(), 0, ZMQ_POLLIN, 0};
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    if (zmq::poll(&item, 1, 100ms) <= 0)
      continue;
    zmq::message_t m;
    while (bus.recv(m, zmq::recv_flags::dontwait))
      if (m.to_string() == '\1' + topic)
        return true;
  }
  return false;
}

void publish(zmq::socket_t& bus, const std::string& topic, const std::string& body) {
  bus.send(zmq::buffer(topic), zmq::send_flags::sndmore);
  bus.send(zmq::buffer(body));
}
} // namespace

TEST_CASE("after a frame too large, the uplink connects to the bus again and receives") {
  zmq::context_t ctx;
  zmq::socket_t bus(ctx, zmq::socket_type::xpub);
  bus.set(zmq::sockopt::linger, 0);
  bus.set(zmq::sockopt::xpub_verbose, 1);
  bus.bind("tcp://127.0.0.1:*");
  auto bus_endpoint = bus.get(zmq::sockopt::last_endpoint);

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<uplink_sockets> sockets;
  // The control socket goes nowhere: only the bus is under test.
  auto uplink = spawn_uplink(sys, {"tcp://127.0.0.1:" + std::to_string(test::free_port()), bus_endpoint, std::nullopt, "slave1"}, sockets);
  std::atomic<int> received{0};
  auto listener = sys.spawn(counting_listener, &received);
  caf::anon_send(uplink, join_atom::value, listener);

  auto inventory = wire::encode({0, wire::inventory_levels{1, true, {{"iron-plate", 1}}}});
  REQUIRE(subscription_arrives(bus, "inventory"));
  publish(bus, "inventory", inventory);
  REQUIRE(test::eventually([&] { return received == 1; }, 10s, 50ms));

  publish(bus, "inventory", std::string(wire::max_frame_bytes + 1, 'x'));
  // The uplink notices the closed connection and subscribes again on a new one.
  REQUIRE(subscription_arrives(bus, "inventory"));
  CHECK(test::eventually([&] {
    publish(bus, "inventory", inventory);
    return received >= 2;
  }, 10s, 200ms));

  caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
}
