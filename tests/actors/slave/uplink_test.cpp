// The uplink's links against a stand-in master (an XPUB and a ROUTER socket on loopback, no
// CURVE): after a frame over the size a slave accepts, on the bus or the control connection,
// ZeroMQ closes the connection and would not open it again; the uplink must connect (and
// subscribe) again by itself, and go on. It subscribes to the channels its members receive on,
// and only to those, and gives each member only its own. It joins the parts of a full inventory
// snapshot, and gives its members none with a part missing.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
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

/// The bus messages the uplink handed to a member, by topic.
struct recorded {
  std::mutex mu;
  std::vector<std::pair<std::string, wire::frame>> got;
  std::vector<std::pair<std::string, wire::frame>> now() {
    std::lock_guard<std::mutex> lock(mu);
    return got;
  }
};

uplink_listener::behavior_type recording_listener(uplink_listener::pointer, recorded* into) {
  return {
    [into](bus_atom, const std::string& topic, const wire::frame& f) {
      std::lock_guard<std::mutex> lock(into->mu);
      into->got.emplace_back(topic, f);
    },
    [](link_up_atom) {},
  };
}

/// A bare XPUB and ROUTER on loopback standing in for the master's bus and control socket (which
/// answers nothing), and an uplink connected to them.
struct stand_in_bus {
  zmq::context_t ctx;
  zmq::socket_t bus{ctx, zmq::socket_type::xpub};
  zmq::socket_t control{ctx, zmq::socket_type::router};
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<uplink_sockets> sockets;
  uplink_actor uplink;

  stand_in_bus() {
    bus.set(zmq::sockopt::linger, 0);
    bus.set(zmq::sockopt::xpub_verbose, 1);
    bus.bind("tcp://127.0.0.1:*");
    control.set(zmq::sockopt::linger, 0);
    control.set(zmq::sockopt::router_handover, 1); // as the master's: a new connection takes over its routing id
    control.bind("tcp://127.0.0.1:*");
    sys = std::make_unique<caf::actor_system>(cfg);
    uplink = spawn_uplink(*sys, {control.get(zmq::sockopt::last_endpoint), bus.get(zmq::sockopt::last_endpoint), std::nullopt, "slave1"}, sockets);
  }
  ~stand_in_bus() { caf::anon_send_exit(uplink, caf::exit_reason::user_shutdown); }

  /// The routing id of the next frame the uplink sends on its control connection (it probes an
  /// unanswering master with hellos), or "" when none comes within 10 s.
  std::string next_control_frame() {
    zmq::pollitem_t item{control.handle(), 0, ZMQ_POLLIN, 0};
    auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until) {
      if (zmq::poll(&item, 1, 100ms) <= 0)
        continue;
      zmq::message_t id, body;
      if (control.recv(id, zmq::recv_flags::dontwait) && id.more() && control.recv(body))
        return id.to_string();
    }
    return "";
  }
};

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
  stand_in_bus b;
  auto& bus = b.bus;
  auto& uplink = b.uplink;
  std::atomic<int> received{0};
  auto listener = b.sys->spawn(counting_listener, &received);
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

  caf::anon_send_exit(listener, caf::exit_reason::user_shutdown);
}

TEST_CASE("after a frame too large on the control connection, the uplink connects again") {
  stand_in_bus b;
  auto id = b.next_control_frame();
  REQUIRE(!id.empty());
  b.control.send(zmq::buffer(id), zmq::send_flags::sndmore);
  b.control.send(zmq::buffer(std::string(wire::max_frame_bytes + 1, 'x')));
  // ZeroMQ closes that connection for good; the uplink sees it and makes its DEALER anew, whose
  // probes (a hello a second) reach the master again. What came before the cut is passed over.
  auto drained_until = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < drained_until) {
    zmq::message_t m;
    if (!b.control.recv(m, zmq::recv_flags::dontwait)) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    while (m.more() && b.control.recv(m)) {
    }
  }
  CHECK(b.next_control_frame() == id); // the same process, the same routing id
}

TEST_CASE("the uplink subscribes to the channels its members receive on, and gives each member only its channels") {
  stand_in_bus s;
  auto& bus = s.bus;
  auto& uplink = s.uplink;
  recorded got_a, got_b;
  auto a = s.sys->spawn(recording_listener, &got_a);
  auto b = s.sys->spawn(recording_listener, &got_b);

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
    return !got_a.now().empty();
  }, 10s, 200ms));
  for (auto& [topic, f] : got_a.now())
    CHECK(topic == "signal/red");

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
}

TEST_CASE("the uplink gives its members a full inventory snapshot whole, joined from its parts, or not at all") {
  stand_in_bus s;
  recorded got;
  auto member = s.sys->spawn(recording_listener, &got);
  caf::anon_send(s.uplink, join_atom::value, uplink_listener{member});
  REQUIRE(subscription_arrives(s.bus, "inventory"));
  auto part = [](std::uint64_t time, std::uint64_t part, std::uint64_t parts, bool full = true) {
    return wire::encode({0, wire::inventory_levels{time, full, {{"item-" + std::to_string(part), 1}}, part, parts}});
  };
  auto levels = [&] {
    std::vector<std::size_t> out;
    for (auto& [topic, f] : got.now())
      out.push_back(std::get<wire::inventory_levels>(f.body).levels.size());
    return out;
  };
  // A snapshot with its second part lost, then a change, then a whole one of three parts.
  publish(s.bus, "inventory", part(7, 1, 3));
  publish(s.bus, "inventory", part(7, 3, 3));
  publish(s.bus, "inventory", part(8, 1, 1, false));
  for (std::uint64_t p = 1; p <= 3; ++p)
    publish(s.bus, "inventory", part(9, p, 3));
  REQUIRE(test::eventually([&] { return levels().size() >= 2; }, 10s, 50ms));
  std::this_thread::sleep_for(200ms); // nothing more comes
  CHECK(levels() == std::vector<std::size_t>{1, 3});
  CHECK(std::get<wire::inventory_levels>(got.now().back().second.body).full);
  caf::anon_send_exit(member, caf::exit_reason::user_shutdown);
}
