#pragma once
// The vocabulary every message family uses to list its fields once. The codec walks these
// listings to encode and to decode strictly; nothing else describes a message's shape.
//
// A family header declares, per message, a struct and a free function
//     template <class V> void describe(V& v, T& x);
// that calls, for each field in wire order, one of the visitor's methods below:
//     v.u64(key, x.f, min, max, presence)     unsigned integer
//     v.i64(key, x.f, min, max, presence)     signed integer
//     v.f64(key, x.f, min, max, presence)     number (integers accepted)
//     v.flag(key, x.f, presence)              boolean
//     v.text(key, x.f, text_kind, presence)   string, checked by kind
//     v.code(key, x.f)                        error code: its name (error.hpp) as a string
//     v.items(key, x.f, min, max, entries, presence)
//                                             list of [name, count] or [name, count, quality];
//                                             unique by (name, quality)
//     v.signals(key, x.f, entries)            list of [name, value], [name, value, type] or
//                                             [name, value, type, quality]; values int32;
//                                             unique by (type, name, quality)
//     v.quality(key, x.f)                     optional quality name, left out when normal
//     v.ids(key, x.f, entries)                list of unsigned integers
//     v.list(key, x.f, entries, presence)     list of maps, each a described struct
// An optional field left out keeps the struct's default; the encoder writes every field but a
// normal quality and an empty optional label or base64 field (left_out).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace clusterio::wire {

/// How a string field is checked.
enum class text_kind {
  name,    ///< item, fluid or signal name: 1..max_name_bytes, UTF-8, no control characters
  label,   ///< instance/slave/tool/channel name: 1..max_label_bytes of [A-Za-z0-9_.-]
  text,    ///< free text: 0..max_text_bytes of UTF-8 without NUL
  address, ///< "" or host:port, a host of 1..max_host_bytes of [A-Za-z0-9._:[]-] and a port 1..65535
  base64,  ///< bytes as standard base64 (RFC 4648, padded): 0..max_save_chunk_text characters
  json,    ///< a JSON object as text: 2..max_json_text_bytes of UTF-8, nested at most max_json_depth
};

enum class presence { required, optional };

/// Whether a text field is left out of a message: an empty optional label, base64 or JSON field
/// (a label or JSON object is never empty, so "" would not decode; empty data says nothing).
inline bool left_out(const std::string& x, text_kind kind, presence p) {
  return p == presence::optional && kind != text_kind::text && kind != text_kind::name && kind != text_kind::address && x.empty();
}

/// The quality of an item that names none. It is never spelled on the wire: an item of normal
/// quality is [name, count], so that peers and files from before qualities read the same.
inline constexpr std::string_view normal_quality = "normal";

/// One entry of an item or level list: on the wire [name, count], or [name, count, quality] for
/// an item of any quality but normal.
struct item_count {
  std::string name;
  std::int64_t count = 0;
  std::string quality{normal_quality}; ///< a quality prototype's name, any mod's
  friend bool operator==(const item_count& a, const item_count& b) {
    return a.name == b.name && a.count == b.count && a.quality == b.quality;
  }
};
using item_list = std::vector<item_count>;

/// The one key of an item wherever it is kept by it: the master's stock, demand, reservations,
/// statistics and commit log, and the slave's book of requests. Normal quality is the bare
/// name, so a master.db from before qualities keeps its meaning; any other quality is the name,
/// U+001F and the quality. No name contains U+001F (check_name refuses control characters), so
/// such a key is never a real name, and it splits back in one way only.
std::string item_key(std::string_view name, std::string_view quality);
inline std::string item_key(const item_count& item) { return item_key(item.name, item.quality); }
/// The item a key stands for, with `count`.
item_count item_of_key(std::string_view key, std::int64_t count);
/// An item as an operator reads it in a message: 'name', or 'name' of quality 'q'.
std::string item_text(std::string_view key);

/// The type of a signal that names none: an item. Like normal quality it is spelled only where
/// a quality follows it, so a normal item signal is [name, value], as before signal types.
inline constexpr std::string_view item_signal = "item";

/// One circuit signal: its full id (type, name, quality) and value. On the wire [name, value]
/// for a normal-quality item, [name, value, type] for another type of normal quality, and
/// [name, value, type, quality] for any other quality: one spelling per signal.
struct circuit_signal {
  std::string name;
  std::int64_t value = 0;              ///< int32
  std::string type{item_signal};       ///< one of signal_types
  std::string quality{normal_quality}; ///< a quality prototype's name, any mod's
  friend bool operator==(const circuit_signal& a, const circuit_signal& b) {
    return a.name == b.name && a.value == b.value && a.type == b.type && a.quality == b.quality;
  }
};
using signal_list = std::vector<circuit_signal>;

/// Factorio 2.0's signal types (SignalIDType): a signal of any other type is refused.
inline constexpr std::string_view signal_types[] = {"item",   "fluid",          "virtual",        "entity",
                                                    "recipe", "space-location", "asteroid-chunk", "quality"};

/// The one key of a signal wherever signals are kept or compared by id (lists are unique by it,
/// receivers sum by it): type, U+001F, name, U+001F, quality. No name, type or quality contains
/// U+001F, so two ids never share a key.
std::string signal_key(std::string_view type, std::string_view name, std::string_view quality);
inline std::string signal_key(const circuit_signal& s) { return signal_key(s.type, s.name, s.quality); }
/// A signal as an operator reads it in a message: 'name' (type, quality).
std::string signal_text(const circuit_signal& s);

/// Checks a signal type as the wire carries it: one of signal_types, and with `quality_follows`
/// false (a normal-quality signal), not "item" (which is left out then).
result<void> check_signal_type(std::string_view s, bool quality_follows);

/// Checks a name (text_kind::name); a failure says what is wrong with it.
result<void> check_name(std::string_view s);
/// Checks a label (text_kind::label); a failure says what is wrong with it.
result<void> check_label(std::string_view s);
/// Checks a quality as the wire carries it: a name, and not "normal" (which is left out, so
/// that there is one spelling of each item).
result<void> check_quality(std::string_view s);
/// Checks free text (text_kind::text); a failure says what is wrong with it.
result<void> check_text(std::string_view s);
/// Any bytes as free text: NUL and what is not UTF-8 become '?', and past max_text_bytes the
/// text is cut (marked " [cut]"), so that the result always passes check_text.
std::string fit_text(std::string_view s);
/// Checks an address players join (text_kind::address); a failure says what is wrong with it.
result<void> check_address(std::string_view s);
/// Checks base64 (text_kind::base64); a failure says what is wrong with it.
result<void> check_base64(std::string_view s);
/// Checks a JSON object as text (text_kind::json); a failure says what is wrong with it.
result<void> check_json_object(std::string_view s);

} // namespace clusterio::wire
