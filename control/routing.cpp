#include "control/routing.hpp"

#include <optional>
#include <tuple>
#include <type_traits>

namespace clusterio {

namespace {

using wire::error_code;

/// How the master serves messages of type T.
template <class T> struct rule {
  std::uint8_t needs;     ///< any one of these rights (peer.hpp) lets a peer send it
  destination to;         ///< who serves it (refused: the master serves no such request)
  /// The instance it acts for, which the sender must run; null: none.
  std::uint64_t T::*instance = nullptr;
  /// A peer with rights::administer acts for any instance (no ownership check).
  bool admin_any_instance = false;
  bool large_reply = false; ///< see routing_decision::large_reply
};

constexpr bool large_reply = true;

/// Every message type's rule, one line each (exempt from the length rule: a table). A type of
/// wire::message missing here, or listed twice, does not compile (std::get in route()).
namespace r = rights;
constexpr std::tuple rules{
  rule<wire::hello>{r::query, destination::welcome},
  rule<wire::slaves_query>{r::query, destination::registry_query, nullptr, false, large_reply},
  rule<wire::inventory_query>{r::query, destination::storage_query, nullptr, false, large_reply},
  rule<wire::stats_query>{r::query, destination::storage_query, nullptr, false, large_reply},
  rule<wire::signal_frame>{r::publish, destination::signals},
  rule<wire::register_instance>{r::run_instances, destination::register_instance},
  rule<wire::heartbeat>{r::run_instances, destination::heartbeat, &wire::heartbeat::instance_id},
  rule<wire::export_batch>{r::run_instances, destination::exports, &wire::export_batch::instance_id},
  rule<wire::request_items>{r::run_instances, destination::requests, &wire::request_items::instance_id},
  rule<wire::confirm_grants>{r::run_instances, destination::confirms, &wire::confirm_grants::instance_id},
  rule<wire::resync>{r::run_instances, destination::storage_query, &wire::resync::instance_id},
  rule<wire::delete_instance>{r::run_instances | r::administer, destination::drop_instance, &wire::delete_instance::instance_id, true},
  rule<wire::reclaim_grant>{r::administer, destination::storage_query},
  rule<wire::host_report>{r::run_instances, destination::host_report},
  rule<wire::instance_command>{r::administer, destination::command},
  rule<wire::command_result>{r::run_instances, destination::command_result},
  // Replies and bus frames: the master sends them and serves none (no right is needed to be
  // told so).
  rule<wire::welcome>{0, destination::refused},
  rule<wire::ok>{0, destination::refused},
  rule<wire::error_reply>{0, destination::refused},
  rule<wire::registered>{0, destination::refused},
  rule<wire::slaves_reply>{0, destination::refused},
  rule<wire::export_ack>{0, destination::refused},
  rule<wire::grant_reply>{0, destination::refused},
  rule<wire::confirm_ack>{0, destination::refused},
  rule<wire::pending_grants>{0, destination::refused},
  rule<wire::inventory_levels>{0, destination::refused},
  rule<wire::stats_reply>{0, destination::refused},
  rule<wire::instance_info>{0, destination::refused},
  rule<wire::signal_sum>{0, destination::refused},
};
static_assert(std::tuple_size_v<decltype(rules)> == std::variant_size_v<wire::message>, "one rule per message type");

routing_decision refuse(error_code code, std::string why, std::string field = {}) {
  return {destination::refused, wire::error{code, std::move(field), std::move(why)}};
}

/// What a client may not put in a signal frame although the codec, which also reads the master's
/// frames, lets it through (messages/signal.hpp): the master makes the bus frame of it.
std::optional<routing_decision> refuse_sent(const wire::signal_frame& f) {
  if (f.source.size() > wire::max_signal_source_bytes)
    return refuse(error_code::invalid,
                  "source of " + std::to_string(f.source.size()) + " bytes is longer than " + std::to_string(wire::max_signal_source_bytes) +
                    ": the bus carries '<client name>/<source>', at most " + std::to_string(wire::max_text_bytes) + " bytes",
                  "source");
  if (f.seq > wire::max_signal_seq)
    return refuse(error_code::invalid,
                  "seq " + std::to_string(f.seq) + " is above " + std::to_string(wire::max_signal_seq) +
                    ": the master clears a silent source with its last seq + 1",
                  "seq");
  return std::nullopt;
}

/// An export or request with no item: nothing to do, and an export would use up its batch
/// number for nothing (a sender numbering wrongly would not notice).
template <class T> std::optional<routing_decision> refuse_empty(const T& m) {
  if (m.items.empty())
    return refuse(error_code::invalid, std::string("'") + T::type + "' must carry at least one item", "items");
  return std::nullopt;
}

} // namespace

routing_decision router::route(const peer& who, const wire::message& m) const {
  return std::visit(
    [&](const auto& body) {
      using T = std::decay_t<decltype(body)>;
      constexpr const rule<T>& how = std::get<rule<T>>(rules);
      if (how.to == destination::refused)
        return refuse(error_code::unsupported, "'" + std::string(T::type) + "' is not a request the master serves", "t");
      if (!who.may(how.needs))
        return refuse(error_code::unauthorized,
                      "'" + who.name + "' (role " + to_string(who.role) + ") may not send '" + std::string(T::type) + "'");
      if constexpr (std::is_same_v<T, wire::signal_frame>)
        if (auto refused = refuse_sent(body))
          return *refused;
      if constexpr (std::is_same_v<T, wire::export_batch> || std::is_same_v<T, wire::request_items>)
        if (auto refused = refuse_empty(body))
          return *refused;
      routing_decision out{how.to, {}, how.large_reply};
      if constexpr (how.instance != nullptr) {
        if (!(how.admin_any_instance && who.may(rights::administer)))
          owns(who, body.*how.instance, out);
      }
      return out;
    },
    m);
}

bool router::owns(const peer& who, std::uint64_t id, routing_decision& out) const {
  auto owner = owner_of_(id);
  if (!owner)
    out = refuse(error_code::not_found, "unknown instance " + std::to_string(id) + "; register it first", "instance_id");
  else if (*owner != who.name)
    out = refuse(error_code::unauthorized, "instance " + std::to_string(id) + " belongs to another slave", "instance_id");
  return out.to != destination::refused;
}

} // namespace clusterio
