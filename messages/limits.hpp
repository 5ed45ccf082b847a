#pragma once
// Limits of the wire protocol. They are part of the contract (docs/protocol.md mirrors them): a
// frame that breaks one is rejected whole with an `invalid` error, and nothing of it is applied.

#include <cstddef>
#include <cstdint>

namespace clusterio::wire {

/// Protocol version carried in every frame as `v`. A frame with another version gets
/// `unsupported`.
inline constexpr std::uint32_t protocol_version = 1;

/// Largest frame a client accepts from the master, in bytes. A full inventory always fits (see
/// max_stored_key_bytes).
inline constexpr std::size_t max_frame_bytes = 16u << 20;

/// Largest frame the master accepts from a client, in bytes: 4,096 entries of 200-byte names.
inline constexpr std::size_t max_request_bytes = 1u << 20;

/// Messages in one batch frame (a msgpack array of messages, docs/protocol.md §3).
inline constexpr std::size_t max_batch_messages = 1024;

/// Item, fluid and signal names: 1..200 bytes of valid UTF-8 with no control characters.
inline constexpr std::size_t max_name_bytes = 200;

/// Labels: names of instances, slaves and tools, roles, states: 1..64 bytes of [A-Za-z0-9_.-], not starting with '.'.
inline constexpr std::size_t max_label_bytes = 64;

/// The host of an address (`game_address`): a DNS name's longest, or an IPv6 address.
inline constexpr std::size_t max_host_bytes = 255;

/// Free text (error messages, states): at most this many bytes of valid UTF-8.
inline constexpr std::size_t max_text_bytes = 1024;

/// A JSON object carried as text (a new map's settings): at most this many bytes, nested at most
/// this deep. Factorio's full map-gen-settings are a few KiB and four levels deep.
inline constexpr std::size_t max_json_text_bytes = 65536;
inline constexpr std::size_t max_json_depth = 32;

/// `source` of a signal frame as a client sends it. The master publishes it as
/// `<client name>/<source>`, which must stay free text (max_text_bytes), the longest client name
/// (a label) included: receivers drop a frame they cannot decode.
inline constexpr std::size_t max_signal_source_bytes = max_text_bytes - max_label_bytes - 1;

/// `seq` of a signal frame as a client sends it. The master clears a silent source with an empty
/// frame of seq + 1, which receivers apply only if it is above every seq of the source.
inline constexpr std::uint64_t max_signal_seq = UINT64_MAX - 1;

/// A signal frame as the master keeps and publishes it (msgpack, `source` rewritten): a source's
/// latest frame is kept until it falls silent, so this bounds what one source costs the master
/// and every receiver. 4,096 signals with names of some 50 bytes fit; a longer frame is
/// `invalid` (field `signals`).
inline constexpr std::size_t max_signal_frame_bytes = 256u << 10;

/// A channel's sum (`signal_sum`): sources it includes, distinct signals, and its bytes as
/// published. A frame that would take its channel past one is `overloaded` (field `signals`):
/// every receiver of the channel takes the whole sum in each message, so it stays small enough
/// to publish a hundred times a second.
inline constexpr std::size_t max_sum_sources = 4096;
inline constexpr std::size_t max_sum_signals = 16384;
inline constexpr std::size_t max_signal_sum_bytes = 1u << 20;

/// Entries in one list of items, grants or signals.
inline constexpr std::size_t max_list_entries = 4096;

/// Entries in a full inventory or an instance list (read-only replies may be long).
inline constexpr std::size_t max_long_list_entries = 100000;

/// Entries in the list of what an instance holds back (heartbeat and instance: held_back). Small,
/// because every instance of a `slaves` reply carries it: the slave keeps the largest ones, and
/// held_back_total beside the list counts every unit.
inline constexpr std::size_t max_report_entries = 32;

/// Instances in one `slaves` reply: a longer listing comes in pages (`slaves_query.after`).
inline constexpr std::size_t max_page_instances = 1000;

/// An `instance` map at its largest, in msgpack bytes: every text, name and held-back entry at
/// its longest, with room for keys and numbers. With it a full page fits a frame clients accept.
inline constexpr std::size_t max_instance_info_bytes =
  512 + 2 * (max_label_bytes + 3) + (max_host_bytes + 9) + (max_text_bytes + 3) + max_report_entries * (2 * (max_name_bytes + 3) + 16);
static_assert(max_page_instances * max_instance_info_bytes + 4096 <= max_frame_bytes);

/// A count in one transfer (export entry, request, grant): 1..max_transfer_count. Larger is
/// "absurd": no chest or tank holds a trillion of anything.
inline constexpr std::int64_t max_transfer_count = 1'000'000'000'000;

/// Bytes of the keys (the name, and the quality when it is not normal) of everything stored at
/// once. With it, a full inventory (the `inventory` snapshot on the bus, the reply to
/// `inventory_query`) fits a frame clients accept whatever the names: at most
/// max_long_list_entries entries of at most 32 bytes of msgpack around their key.
inline constexpr std::size_t max_stored_key_bytes = 8u << 20;
static_assert(max_stored_key_bytes + max_long_list_entries * 32 + 4096 <= max_frame_bytes);

/// Unconfirmed grants (reservations) one instance may hold at once. A `pending` reply lists
/// them all, so it must fit a frame clients accept whatever the names: at most some 7.6 MB.
/// A slave that confirms what its world applied holds a handful.
inline constexpr std::size_t max_outstanding_grants = 16384;
static_assert(max_outstanding_grants * (2 * max_name_bytes + 64) + 4096 <= max_frame_bytes);

/// Levels in one `inventory` message on the bus; more come in parts (`part` of `parts`). With
/// CURVE, ZeroMQ holds an encrypted copy of a message per subscriber while it sends it: a whole
/// 8 MB snapshot to twenty subscribers would cost the master 160 MB at once, a part of at most
/// some 860 KB (4,096 names of 200 bytes) costs a twentieth of that.
inline constexpr std::size_t max_bus_levels = max_list_entries;
inline constexpr std::uint64_t max_bus_parts = (max_long_list_entries + max_bus_levels - 1) / max_bus_levels;

/// A stored level never exceeds this (2^62): sums of transfers can't overflow int64.
inline constexpr std::int64_t max_stock = std::int64_t{1} << 62;

/// A save an admin uploads to an instance, or downloads from it (instance_command
/// `save-upload`, `save-download`): at most max_save_bytes in all, carried in pieces of at most
/// max_save_chunk_bytes (base64 in a `data` field: some 700 KB, so that a piece and its
/// command fit max_request_bytes).
inline constexpr std::uint64_t max_save_bytes = std::uint64_t{1} << 30;
inline constexpr std::size_t max_save_chunk_bytes = 512u << 10;
inline constexpr std::size_t max_save_chunk_text = (max_save_chunk_bytes + 2) / 3 * 4;
static_assert(max_save_chunk_text + 4096 <= max_request_bytes);

/// Circuit signal values are int32, as in Factorio.
inline constexpr std::int64_t min_signal_value = -2147483648LL;
inline constexpr std::int64_t max_signal_value = 2147483647LL;

} // namespace clusterio::wire
