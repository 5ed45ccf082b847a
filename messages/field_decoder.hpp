#pragma once
// The decoding visitor of the describe() listings (field.hpp): reads one map's fields into a
// message struct, strictly, naming the offending field of the first error. Internal to the
// codec (codec.cpp); it reads maps that msgpack_reader checked whole before, so reading their
// values again cannot fail. The methods every frame calls are inline here; the rest, and every
// error's wording, are in field_decoder.cpp.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "messages/error.hpp"
#include "messages/field.hpp"
#include "messages/msgpack_reader.hpp"

namespace clusterio::wire {

/// Reads the fields of one map. The first error wins; later calls do nothing.
class field_decoder {
public:
  /// The frame's map.
  field_decoder(const msgpack_map& map, wire::error& err) : map_(map), err_(err) {}
  /// Element `index` of list `key` of `parent`: error paths start "key[index].".
  field_decoder(const msgpack_map& map, wire::error& err, const field_decoder& parent, std::string_view key, std::uint32_t index)
    : map_(map), err_(err), parent_(&parent), key_(key), index_(index), depth_(parent.depth_ + 2) {}

  /// An error was met. (The error's message is never empty: testing it is the cheapest latch.)
  bool failed() const { return !err_.message.empty(); }

  template <class T>
  void u64(std::string_view k, T& x, std::uint64_t min = 0, std::uint64_t max = UINT64_MAX, presence p = presence::required) {
    auto* found = find(k, p);
    if (!found)
      return;
    const msgpack_value& v = *found;
    if (v.k != msgpack_kind::uint)
      return not_unsigned(k, v);
    max = std::min<std::uint64_t>(max, std::numeric_limits<T>::max());
    if (v.u < min || v.u > max)
      return out_of_range(k, min, max, v.u);
    x = static_cast<T>(v.u);
  }

  template <class T>
  void i64(std::string_view k, T& x, std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX, presence p = presence::required) {
    auto* found = find(k, p);
    if (!found)
      return;
    std::int64_t n = 0;
    if (auto why = int_error(*found, n))
      return fail(k, why);
    if (n < min || n > max)
      return out_of_range(k, min, max, n);
    x = static_cast<T>(n);
  }

  void f64(std::string_view k, double& x, double min, double max, presence p = presence::required);
  void flag(std::string_view k, bool& x, presence p = presence::required);

  /// Into a std::string, or a view of the frame's bytes (the message type: no copy).
  template <class Text> void text(std::string_view k, Text& x, text_kind kind, presence p = presence::required) {
    auto* found = find(k, p);
    if (!found)
      return;
    if (auto checked = check_text_value(*found, kind); !checked)
      return fail(k, checked.error().what());
    x = found->text();
  }

  void code(std::string_view k, error_code& x);
  void items(std::string_view k, item_list& x, std::int64_t min, std::int64_t max, std::size_t entries,
             presence p = presence::required);
  void signals(std::string_view k, signal_list& x, std::size_t entries);
  /// Optional; absent is normal, and "normal" itself is refused (it is never spelled).
  void quality(std::string_view k, std::string& x);
  void ids(std::string_view k, std::vector<std::uint64_t>& x, std::size_t entries);

  template <class T> void list(std::string_view k, std::vector<T>& x, std::size_t entries, presence p = presence::required) {
    const msgpack_value* a = find_array(k, entries, p);
    if (!a)
      return;
    std::vector<T> out(a->n);
    msgpack_reader r(a->at, map_.end);
    for (std::uint32_t i = 0; i < a->n; ++i) {
      msgpack_value e{};
      (void)r.head(e); // checked whole before: cannot fail
      if (e.k != msgpack_kind::map)
        return fail_path(prefix() + std::string(k) + "[" + std::to_string(i) + "]", "must be a map");
      msgpack_map m;
      (void)read_map(r, e, depth_ + 2, m); // this map, the list, the element; checked whole before
      field_decoder sub(m, err_, *this, k, i);
      if (!sub.check_keys())
        return;
      describe(sub, out[i]);
      if (failed())
        return;
    }
    x = std::move(out);
  }

  /// Rejects non-string and duplicate keys.
  bool check_keys();

  /// The value of string key `k`, or nullptr. Fields are usually in the order describe() lists
  /// them, so the search starts after the last one found.
  const msgpack_value* lookup(std::string_view k) {
    auto tag = tag_of(k); // never 0, the tag of non-string keys: k is not empty
    // The tag first: a non-string key (tag 0) has no text to compare.
    auto match = [&](std::uint32_t i) { return map_.pairs[i].key_tag == tag && same(tag, key(map_.pairs[i]), tag, k); };
    for (std::uint32_t i = next_; i < map_.size; ++i)
      if (match(i))
        return found(i);
    for (std::uint32_t i = 0; i < next_ && i < map_.size; ++i)
      if (match(i))
        return found(i);
    return nullptr;
  }

  void fail(std::string_view field, std::string why) { fail_path(prefix() + std::string(field), std::move(why)); }
  void fail_path(std::string path, std::string why);

private:
  /// "" for the frame's map; "list[i]." for an element of a list (spelled only for errors).
  std::string prefix() const;

  static std::string_view key(const msgpack_map::pair& p) { return {p.key, p.key_size}; }

  const msgpack_value* found(std::uint32_t i) {
    next_ = i + 1;
    return &map_.pairs[i].v;
  }

  const msgpack_value* find(std::string_view k, presence p) {
    if (failed())
      return nullptr;
    auto* found = lookup(k);
    if (!found && p == presence::required)
      fail(k, "missing field");
    return found;
  }

  /// The array of field `k` holding at most `entries`, or nullptr (failed, or absent and optional).
  const msgpack_value* find_array(std::string_view k, std::size_t entries, presence p = presence::required);

  void not_unsigned(std::string_view k, const msgpack_value& v);
  template <class N> void out_of_range(std::string_view k, N min, N max, N value) {
    fail(k, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + std::to_string(value));
  }

  /// Reads an integer: nullptr, or why it is not one. A literal rather than a result<>: item
  /// counts pass here by the thousand, and the reason must cost nothing until it is needed.
  static const char* int_error(const msgpack_value& v, std::int64_t& out) {
    if (v.k == msgpack_kind::uint) {
      if (v.u > static_cast<std::uint64_t>(INT64_MAX))
        return "integer too large";
      out = static_cast<std::int64_t>(v.u);
      return nullptr;
    }
    if (v.k == msgpack_kind::sint) {
      out = v.i;
      return nullptr;
    }
    return not_an_integer(v.k);
  }
  static const char* not_an_integer(msgpack_kind k);

  /// Whether v is a text of the given kind, and why not.
  static result<void> check_text_value(const msgpack_value& v, text_kind kind);
  /// Whether v is a quality as the wire spells it (check_quality), and why not.
  static result<void> check_quality_value(const msgpack_value& v);

  const msgpack_map& map_;
  wire::error& err_;
  const field_decoder* parent_ = nullptr;
  std::string_view key_;
  std::uint32_t index_ = 0;
  std::uint32_t depth_ = 1; ///< of this map: the frame's is 1
  std::uint32_t next_ = 0;
};

} // namespace clusterio::wire
