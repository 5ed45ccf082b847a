// The uplink's bus link against a stand-in bus (an XPUB socket on loopback, no CURVE): after a
// frame over the size a slave accepts, ZeroMQ closes the connection and would not open it again;
// the uplink must connect and subscribe again by itself, and go on receiving. It subscribes to
// the channels its members receive on, and only to those, and gives each member only its own.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
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

/// Records the topics of the bus messages the uplink hands to a member.
uplink_listener::behavior_type recording_listener(uplink_listener::pointer, std::vector<std::string>* topics, std::mutex* mu) {
  return {
    [topics, mu](bus_atom, const std::string& topic, const wire::frame&) {
      std::lock_guard<std::mutex> lock(*mu);
      topics->push_back(topic);
    },
    [](link_up_atom) {},
  };
}

/// The subscription messages (a byte, 1 or 0, then the topic) that reach the stand-in bus until
/// `enough` says so, or 10 s passed.
std::vector<std::string> subscriptions(zmq::socket_t& bus, const std::function<bool(const std::vector<std::string>&)>& enough) {
  std::vector<std::string> got;
  zmq::pollitem_t item{bus.handle(), 0, ZMQ_POLLIN, 0};
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!enough(got) && std::chrono::steady_clock::now() < until) {
    if (zmq::poll(&item, 1, 100ms) <= 0)
      continue;
    zmq::message_t m;
    while (bus.recv(m, zmq::recv_flags::dontwait)) {
      auto text = m.to_string();
      got.push_back((text[0] == 1 ? "+" : "-") + text.substr(1));
    }
  }
  return got;
}

/// A predicate: `got` holds these, in this order among the rest.
auto holds(std::vector<std::string> wanted) {
  return [wanted](const std::vector<std::string>& got) {
    auto it = got.begin();
    for (auto& w : wanted)
      if ((it = std::find(it, got.end(), w)) == got.end())
        return false;
    return true;
  };
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

TEST_CASE("the uplink subscribes to the channels its members receive on, and gives each member only its channels") {
  zmq::context_t ctx;
  zmq::socket_t bus(ctx, zmq::socket_type::xpub);
  bus.set(zmq::sockopt::linger, 0);
  bus.set(zmq::sockopt::xpub_verbose, 1);
  bus.bind("tcp://127.0.0.1:*");
  auto bus_endpoint = bus.get(zmq::sockopt::last_endpoint);

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<uplink_sockets> sockets;
  auto uplink = spawn_uplink(sys, {"tcp://127.0.0.1:" + std::to_string(test::free_port()), bus_endpoint, std::nullopt, "slave1"}, sockets);
  std::mutex mu;
  std::vector<std::string> got_a, got_b;
  auto a = sys.spawn(recording_listener, &got_a, &mu);
  auto b = sys.spawn(recording_listener, &got_b, &mu);
  auto a_got = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return got_a;
  };

  caf::anon_send(uplink, join_atom::value, uplink_listener{a});
  caf::anon_send(uplink, channels_atom::value, uplink_listener{a}, channel_interest{false, {"red"}});
  // Nothing of `signal/` but the channel: a frame on another channel never leaves the master.
  auto subs = subscriptions(bus, holds({"+inventory", "+signal/red"}));
  CHECK(subs == std::vector<std::string>{"+inventory", "+signal/red"});

  // Subscriptions are prefixes: `signal/red` brings `signal/redder` too, which a member does not get.
  auto frame = wire::encode({0, wire::signal_frame{"red", "slave2/w", 1, {{"x", 1}}}});
  CHECK(test::eventually([&] {
    publish(bus, "signal/redder", frame);
    publish(bus, "signal/red", frame);
    return !a_got().empty();
  }, 10s, 200ms));
  for (auto& t : a_got())
    CHECK(t == "signal/red");

  // Another channel: the old one is given up.
  caf::anon_send(uplink, channels_atom::value, uplink_listener{a}, channel_interest{false, {"blue"}});
  subs = subscriptions(bus, holds({"+signal/blue"}));
  CHECK(std::count(subs.begin(), subs.end(), "-signal/red") == 1);

  // A second member receiving a channel the bus has already: subscribed to again, so that the
  // master sends its current frames once more; and an inventory snapshot for the newcomer.
  caf::anon_send(uplink, join_atom::value, uplink_listener{b});
  caf::anon_send(uplink, channels_atom::value, uplink_listener{b}, channel_interest{false, {"blue"}});
  subs = subscriptions(bus, holds({"+signal/blue"}));
  CHECK(std::count(subs.begin(), subs.end(), "+inventory") == 1);
  CHECK(std::count(subs.begin(), subs.end(), "-signal/blue") == 1);

  // After the connection closed, the new one subscribes to the current set, once each.
  publish(bus, "inventory", std::string(wire::max_frame_bytes + 1, 'x'));
  subs = subscriptions(bus, holds({"+signal/blue"}));
  CHECK(std::count(subs.begin(), subs.end(), "+inventory") == 1);
  CHECK(std::count(subs.begin(), subs.end(), "+signal/blue") == 1);

  // A member that ends receives nothing any more; when no member is left, nothing is subscribed.
  caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(b, caf::exit_reason::user_shutdown);
  subs = subscriptions(bus, holds({"-signal/blue"}));
  CHECK(std::count(subs.begin(), subs.end(), "-inventory") == 1);

  caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown);
}
