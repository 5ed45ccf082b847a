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
//     v.items(key, x.f, min, max, entries)    list of [name, count] pairs, names unique
//     v.ids(key, x.f, entries)                list of unsigned integers
//     v.list(key, x.f, entries)               list of maps, each a described struct

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
};

enum class presence { required, optional };

/// One entry of an item, level or signal list: on the wire a two-element array [name, count].
struct item_count {
  std::string name;
  std::int64_t count = 0;
  friend bool operator==(const item_count& a, const item_count& b) {
    return a.name == b.name && a.count == b.count;
  }
};
using item_list = std::vector<item_count>;

/// Checks a name (text_kind::name); a failure says what is wrong with it.
result<void> check_name(std::string_view s);
/// Checks a label (text_kind::label); a failure says what is wrong with it.
result<void> check_label(std::string_view s);
/// Checks free text (text_kind::text); a failure says what is wrong with it.
result<void> check_text(std::string_view s);

} // namespace clusterio::wire
