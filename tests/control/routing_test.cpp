// Routing (control/routing.cpp) against docs/protocol.md §2, written out again here by hand:
// every message type from every kind of peer is routed where it belongs or refused with the
// exact error; a message acting for an instance is checked against the instance's owner exactly
// once, and no other message consults the owners at all.

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

#include "control/routing.hpp"

using namespace clusterio;

namespace {

/// What docs/protocol.md §2 says of one message type.
struct expectation {
  std::set<std::string> senders; ///< kinds of peer that may send it (none: a reply type)
  destination to = destination::refused;
  bool checks_owner = false; ///< the sender must run the instance it names (admins aside: `admin_any`)
  bool admin_any = false;
  bool large_reply = false; ///< its reply is charged to the client's reply budget (docs/protocol.md §1.1)
};

const std::set<std::string> everyone{"subscriber", "publisher", "slave", "admin", "insecure"};

const std::map<std::string, expectation> table{
  {"hello", {everyone, destination::welcome}},
  {"slaves_query", {everyone, destination::registry_query, false, false, true}},
  {"inventory_query", {everyone, destination::storage_query, false, false, true}},
  {"stats_query", {everyone, destination::storage_query, false, false, true}}, // its instance_id is a filter, not an owner
  {"signal", {{"publisher", "slave", "admin", "insecure"}, destination::signals}},
  {"register", {{"slave", "insecure"}, destination::register_instance}},
  {"heartbeat", {{"slave", "insecure"}, destination::heartbeat, true}},
  {"export", {{"slave", "insecure"}, destination::exports, true}},
  {"request", {{"slave", "insecure"}, destination::requests, true}},
  {"confirm", {{"slave", "insecure"}, destination::confirms, true}},
  {"resync", {{"slave", "insecure"}, destination::storage_query, true}},
  {"delete_instance", {{"slave", "admin", "insecure"}, destination::drop_instance, true, true}},
  {"reclaim", {{"admin", "insecure"}, destination::storage_query}},
  {"welcome", {}},
  {"ok", {}},
  {"error", {}},
  {"registered", {}},
  {"slaves", {}},
  {"export_ack", {}},
  {"grant", {}},
  {"confirm_ack", {}},
  {"pending", {}},
  {"inventory", {}},
  {"stats", {}},
  {"instance", {}},
  {"signal_sum", {}},
  {"host_report", {{"slave", "insecure"}, destination::host_report}},
  {"instance_command", {{"admin", "insecure"}, destination::command}},
  {"command_result", {{"slave", "insecure"}, destination::command_result}},
};

/// The peers, by kind, as authentication makes them. Every one is named "slave1", the owner of
/// instance 5, so that only rights tell them apart.
peer peer_of(const std::string& kind) {
  if (kind == "insecure")
    return {"slave1", role::admin, rights::all};
  role r = kind == "subscriber" ? role::subscriber : kind == "publisher" ? role::publisher : kind == "slave" ? role::slave : role::admin;
  return {"slave1", r, rights_of(r)};
}

constexpr std::uint64_t own_instance = 5, others_instance = 6, unknown_instance = 7;

template <class T, class = void> struct has_instance_id : std::false_type {};
template <class T> struct has_instance_id<T, std::void_t<decltype(T::instance_id)>> : std::true_type {};

/// A message of every type, acting for `instance` where it names one.
template <std::size_t... I> std::vector<wire::message> every_message(std::uint64_t instance, std::index_sequence<I...>) {
  std::vector<wire::message> all;
  auto add = [&](auto m) {
    if constexpr (has_instance_id<decltype(m)>::value)
      m.instance_id = instance;
    if constexpr (std::is_same_v<decltype(m), wire::export_batch> || std::is_same_v<decltype(m), wire::request_items>)
      m.items = {{"iron-plate", 1}}; // an empty one is refused (below)
    all.push_back(std::move(m));
  };
  (add(std::variant_alternative_t<I, wire::message>{}), ...);
  return all;
}
std::vector<wire::message> every_message(std::uint64_t instance) {
  return every_message(instance, std::make_index_sequence<std::variant_size_v<wire::message>>{});
}

/// A router over instances 5 (slave1's) and 6 (slave2's), counting its owner lookups.
struct counted_router {
  int lookups = 0;
  router r{[this](std::uint64_t id) -> std::optional<std::string> {
    ++lookups;
    if (id == own_instance)
      return "slave1";
    if (id == others_instance)
      return "slave2";
    return std::nullopt;
  }};
};

void check_refused(const routing_decision& d, wire::error_code code, const std::string& field, const std::string& message) {
  CHECK(d.to == destination::refused);
  CHECK(d.refusal.code == code);
  CHECK(d.refusal.field == field);
  CHECK(d.refusal.message == message);
}

} // namespace

TEST_CASE("every message type from every kind of peer, acting for its own instance") {
  REQUIRE(table.size() == std::variant_size_v<wire::message>);
  for (auto& m : every_message(own_instance)) {
    std::string type(wire::type_of(m));
    REQUIRE(table.count(type) == 1);
    auto& expected = table.at(type);
    for (auto& kind : everyone) {
      INFO(kind << " sends " << type);
      counted_router c;
      auto d = c.r.route(peer_of(kind), m);
      if (expected.senders.empty()) {
        check_refused(d, wire::error_code::unsupported, "t", "'" + type + "' is not a request the master serves");
      } else if (!expected.senders.count(kind)) {
        check_refused(d, wire::error_code::unauthorized, "", "'slave1' (role " + kind + ") may not send '" + type + "'");
      } else {
        CHECK(d.to == expected.to);
        CHECK(d.refusal.message.empty());
        CHECK(d.large_reply == expected.large_reply);
      }
      // Exactly one look at the owners, and only where the sender must run the instance.
      bool checked = expected.senders.count(kind) && expected.checks_owner && !(expected.admin_any && (kind == "admin" || kind == "insecure"));
      CHECK(c.lookups == (checked ? 1 : 0));
    }
  }
}

TEST_CASE("acting for another slave's instance is unauthorized, for an unknown one not_found") {
  for (auto instance : {others_instance, unknown_instance}) {
    for (auto& m : every_message(instance)) {
      std::string type(wire::type_of(m));
      auto& expected = table.at(type);
      for (auto& kind : expected.senders) {
        INFO(kind << " sends " << type << " for instance " << instance);
        counted_router c;
        auto d = c.r.route(peer_of(kind), m);
        bool admin = kind == "admin" || kind == "insecure";
        if (!expected.checks_owner || (expected.admin_any && admin)) {
          CHECK(d.to == expected.to); // not its business whose instance it is
          CHECK(c.lookups == 0);
        } else if (instance == others_instance) {
          check_refused(d, wire::error_code::unauthorized, "instance_id", "instance 6 belongs to another slave");
          CHECK(c.lookups == 1);
        } else {
          check_refused(d, wire::error_code::not_found, "instance_id", "unknown instance 7; register it first");
          CHECK(c.lookups == 1);
        }
      }
    }
  }
}

TEST_CASE("a peer named differently from the owner does not own the instance") {
  counted_router c;
  peer other{"slave2", role::slave, rights_of(role::slave)};
  wire::heartbeat beat;
  beat.instance_id = own_instance;
  auto d = c.r.route(other, beat);
  check_refused(d, wire::error_code::unauthorized, "instance_id", "instance 5 belongs to another slave");
  CHECK(c.lookups == 1);
}

TEST_CASE("a signal frame whose source or seq the bus could not carry as the master makes it is invalid") {
  counted_router c;
  auto pub = peer_of("publisher");
  wire::signal_frame f{"ch", std::string(wire::max_signal_source_bytes, 's'), wire::max_signal_seq, {}};
  CHECK(c.r.route(pub, f).to == destination::signals);

  f.source += 's';
  check_refused(c.r.route(pub, f), wire::error_code::invalid, "source",
                "source of 960 bytes is longer than 959: the bus carries '<client name>/<source>', at most 1024 bytes");
  f.source.pop_back();
  f.seq = UINT64_MAX;
  check_refused(c.r.route(pub, f), wire::error_code::invalid, "seq",
                "seq 18446744073709551615 is above 18446744073709551614: the master clears a silent source with its last seq + 1");
  // Rights come first: a subscriber is told it may not send signals at all.
  check_refused(c.r.route(peer_of("subscriber"), f), wire::error_code::unauthorized, "", "'slave1' (role subscriber) may not send 'signal'");
}

TEST_CASE("an export or request with no item is refused naming items: an export would use up its batch number for nothing") {
  counted_router c;
  check_refused(c.r.route(peer_of("slave"), wire::export_batch{own_instance, 1, 1, {}}), wire::error_code::invalid, "items",
                "'export' must carry at least one item");
  check_refused(c.r.route(peer_of("slave"), wire::request_items{own_instance, {}}), wire::error_code::invalid, "items",
                "'request' must carry at least one item");
  CHECK(c.r.route(peer_of("slave"), wire::export_batch{own_instance, 1, 1, {{"iron-plate", 1}}}).refusal.message.empty());
}
