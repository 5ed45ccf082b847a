#pragma once
// The slave's side of the clusterio mod's interface, in one place: every IPC payload the mod
// prints and every RCON reply the slave reads, parsed strictly into the structs below, and the
// RCON commands of the calls the slave makes. The contract is docs/mod-interface.md.
//
// Parsing is strict and whole: a payload or reply that breaks the schema is refused with a
// failure naming the field, and nothing of it is used. The rules:
//   - the JSON text is an object; fields not listed here are ignored (the mod may add some);
//   - counters, batch numbers and grant ids are JSON integers 0..2^53 (a Lua number holds no
//     larger integer exactly); batch numbers and grant ids are at least 1;
//   - item lists are arrays of [name, count], or [name, count, quality] for an item of a quality
//     other than normal (never "normal" itself), with valid names and qualities
//     (messages/field.hpp's check_name, check_quality), unique by (name, quality), at most
//     wire::max_list_entries entries; transfer counts are 1..wire::max_transfer_count;
//   - signal lists are arrays of [name, value] (a normal-quality item), [name, value, type] or
//     [name, value, type, quality], spelled as on the wire (type "item" only before a quality,
//     never "normal"; messages/field.hpp's check_signal_type), unique by (type, name, quality),
//     values int32;
//   - a channel is a label (wire::check_label), as the master requires; a list of channels may
//     repeat one, and may be empty as [] or {};
//   - `status` spells quality "normal" ({name: {quality: count}}).
//   - a reply {"error": reason} is the mod refusing the call: a failure "the mod refused: reason".

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "messages/instance.hpp"
#include "messages/transfer.hpp"

namespace clusterio::mod {

// ---- mod -> slave: IPC payloads ------------------------------------------------------------------

/// Channel `export`: a closed batch of what put-chests and put-tanks took out of the world.
struct export_report {
  std::uint64_t batch = 0; ///< >= 1
  std::uint64_t floor = 0; ///< lowest batch the mod still holds
  wire::item_list items;   ///< counts 1..max_transfer_count; may be empty
};

/// Channel `request`: what the world misses now (a level, not an increment).
struct request_report {
  wire::item_list items;     ///< counts 1..max_transfer_count
  std::uint64_t applied = 0; ///< the mod's count of grants ever applied when it made the report
};

/// Channel `signal`: the sum of this world's transmitters on one channel; empty: none left.
struct signal_report {
  std::string channel;
  wire::signal_list signals; ///< values int32
};

/// Channel `status`: about once a second.
struct status_report {
  std::uint64_t tick = 0;
  std::uint64_t players = 0;
};

/// Channel `receivers`: the channels this world's receivers use, whenever that set changes.
struct receivers_report {
  std::set<std::string> channels; ///< labels, at most wire::max_list_entries
};

using ipc_payload = std::variant<export_report, request_report, signal_report, status_report, receivers_report>;

/// The payload of an IPC line (game/ipc.hpp gives its channel and JSON text).
result<ipc_payload> parse_ipc(std::string_view channel, std::string_view json);

// ---- slave -> mod: the calls of the remote interface `clusterio` -----------------------------------

/// The mod's answer about one grant.
enum class grant_status { applied, duplicate, cancelled, rejected };

struct grant_result {
  /// 0 only for a rejected grant whose id the mod could not read (it then echoes none).
  std::uint64_t grant_id = 0;
  grant_status status = grant_status::rejected;
  std::string reason; ///< why it was rejected
};

/// The grant ids of `results` whose status is one of `statuses`.
std::vector<std::uint64_t> grant_ids(const std::vector<grant_result>& results, std::initializer_list<grant_status> statuses);

/// An empty reply: {"ok":true}.
struct ok_reply {};

struct set_batch_floor {
  static constexpr std::string_view function = "set_batch_floor";
  std::uint64_t next_batch = 1;
  struct reply {
    std::uint64_t next_batch = 0; ///< the mod's counter now (it never goes down)
  };
};

struct pending_exports {
  static constexpr std::string_view function = "pending_exports";
  struct reply {
    std::vector<export_report> batches; ///< every unacknowledged batch (their `floor` is the reply's)
    std::uint64_t floor = 0;
  };
};

struct ack_exports {
  static constexpr std::string_view function = "ack_exports";
  std::vector<std::uint64_t> batches;
  struct reply {
    std::vector<std::uint64_t> dropped; ///< the batches the mod held
  };
};

struct apply_grants {
  static constexpr std::string_view function = "apply_grants";
  std::vector<wire::grant> grants;
  struct reply {
    std::vector<grant_result> results;
    std::uint64_t applied = 0; ///< grants this world ever applied
  };
};

struct cancel_grants {
  static constexpr std::string_view function = "cancel_grants";
  std::vector<std::uint64_t> grant_ids;
  struct reply {
    std::vector<grant_result> results; ///< each cancelled (never to be applied) or applied
  };
};

struct forget_grants {
  static constexpr std::string_view function = "forget_grants";
  std::vector<std::uint64_t> grant_ids;
  struct reply {
    std::uint64_t forgotten = 0;
  };
};

struct set_inventory {
  static constexpr std::string_view function = "set_inventory";
  std::uint64_t time_ms = 0; ///< Unix epoch ms: the inventory combinators' signal-unixtime
  bool full = false;         ///< true: replaces every level; false: merges (count 0 removes)
  wire::item_list levels;
  using reply = ok_reply;
};

/// The channel's whole input: what its receivers output (mod 0.7.0 and later; it replaces every
/// source's frame the world held for the channel).
struct receive_signals {
  static constexpr std::string_view function = "receive_signals";
  std::string channel;
  wire::signal_list signals;
  using reply = ok_reply;
};

/// What the world keeps from the cluster and the channels it receives on (docs/mod-interface.md,
/// `status`). The reply's other fields are not read.
struct status {
  static constexpr std::string_view function = "status";
  struct reply {
    wire::item_list held_back; ///< items left in put-chests, counts 1..max_transfer_count
    std::uint64_t signals_not_shown = 0;
    /// The channels the world's receivers use, as in receivers_report; none: a mod older than
    /// 0.6.0, which does not say (its world is given every channel).
    std::optional<std::set<std::string>> receivers;
  };
};

/// What a heartbeat carries of a status reply: the largest held-back entries,
/// wire::max_report_entries of them, and the total over all of them.
wire::held_back_report held_back_of(status::reply r);

/// The RCON command making the call: its argument is JSON inside a Lua string literal
/// (game/lua_call.hpp), so no name can become code. Defined for the calls above.
template <class Call> std::string command(const Call& call);

/// The mod's reply to a call of type Call (the RCON reply's text), parsed.
template <class Call> result<typename Call::reply> parse_reply(std::string_view text);

} // namespace clusterio::mod
