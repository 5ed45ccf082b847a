#pragma once
// A frame on the wire: one msgpack map holding the envelope (`v`, `t`, `id`) and the fields of
// one message, as listed by the family headers. Bus frames are two ZeroMQ frames: the topic,
// then such a map.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "command.hpp"
#include "common/result.hpp"
#include "error.hpp"
#include "instance.hpp"
#include "inventory.hpp"
#include "limits.hpp"
#include "session.hpp"
#include "signal.hpp"
#include "transfer.hpp"

namespace clusterio::wire {

/// Every message type. Order is irrelevant on the wire (the `t` string is), but never remove an
/// entry: type strings are never reused.
using message = std::variant<hello, welcome, ok, error_reply,                          //
                             register_instance, registered, heartbeat, slaves_query,    //
                             slaves_reply, delete_instance,                             //
                             export_batch, export_ack, request_items, grant_reply,      //
                             confirm_grants, confirm_ack, resync, pending_grants,       //
                             reclaim_grant, signal_frame, inventory_query,              //
                             inventory_levels, stats_query, stats_reply, instance_info, //
                             signal_sum, host_report, instance_command, command_result>;

/// Envelope plus message.
struct frame {
  /// Request id chosen by the sender; a reply echoes it. 0 for bus frames and events.
  std::uint64_t id = 0;
  message body;
};

/// Encodes a frame (always protocol_version).
std::string encode(const frame& f);

/// Result of decoding: either a frame, or an error naming the offending field. When the
/// envelope was readable, `id` holds the request id so the error can be replied to it.
struct decoded {
  bool ok = false;
  frame value;
  wire::error err;
  std::uint64_t id = 0;
};

/// The request id of a frame refused before its fields were read (too large, bytes after the
/// value, a bin or ext value, a parser limit passed), so that its error can still answer it:
/// read as far as the fault goes, from a root map whose "id" (an unsigned integer) comes before
/// the fault; 0 if there is none to read.
std::uint64_t readable_id(std::string_view bytes);

/// Decodes one frame holding one message strictly: size, version, type, every field's type and
/// limits. Never throws; nothing is partially decoded into the result.
decoded decode(std::string_view bytes);

/// Decodes a frame that holds one message (a msgpack map) or a batch of them (a msgpack array
/// of 1..max_batch_messages maps; docs/protocol.md §3): one result per message, in order, each
/// decoded as strictly as decode() does. A batch that is not valid as a whole (size, msgpack,
/// limits, message count) gives one error for the frame. Returns true for a batch. `out` is
/// cleared first (a caller reuses it from frame to frame).
bool decode_frame(std::string_view bytes, std::vector<decoded>& out);

/// A batch frame of these messages (each one frame as encode() makes it), in order. Send a
/// batch only to a peer that may read one: the master, when its welcome says `batch`; a
/// client, when it sent one itself.
std::string batch_of(const std::vector<std::string_view>& messages);

/// The `t` string of a message.
std::string_view type_of(const message& m);

/// Makes an error reply message.
error_reply make_error(const wire::error& e);
error_reply make_error(error_code code, std::string message, std::string field = {});

// Bus topics.
inline constexpr std::string_view topic_inventory = "inventory";
inline constexpr std::string_view topic_instance_event = "event/instance";
inline constexpr std::string_view topic_signal_prefix = "signal/";            ///< + channel: signal_sum
inline constexpr std::string_view topic_signal_source_prefix = "signal-src/"; ///< + channel: signal_frame
/// The longest topic the master publishes: a channel's per-source topic.
inline constexpr std::size_t max_topic_bytes = topic_signal_source_prefix.size() + max_label_bytes;

/// Whether a subscription to `prefix` can match a topic above (subscriptions are prefixes, so
/// "" and "sig" can, and so can "signal/ab", a prefix of the channel "abc"). A failure says why
/// not.
result<void> check_subscription(std::string_view prefix);

} // namespace clusterio::wire
