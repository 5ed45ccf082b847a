#include "messages/field_decoder.hpp"

#include "messages/limits.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <unordered_set>

namespace clusterio::wire {

void field_decoder::f64(std::string_view k, double& x, double min, double max, presence p) {
  auto* found = find(k, p);
  if (!found)
    return;
  const msgpack_value& v = *found;
  double d = 0;
  switch (v.k) {
    case msgpack_kind::real: d = v.f; break;
    case msgpack_kind::uint: d = static_cast<double>(v.u); break;
    case msgpack_kind::sint: d = static_cast<double>(v.i); break;
    default: return fail(k, std::string("must be a number, not ") + kind_name(v.k));
  }
  if (!std::isfinite(d) || d < min || d > max)
    return fail(k, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  x = d;
}

void field_decoder::flag(std::string_view k, bool& x, presence p) {
  auto* found = find(k, p);
  if (!found)
    return;
  const msgpack_value& v = *found;
  if (v.k != msgpack_kind::boolean)
    return fail(k, std::string("must be a boolean, not ") + kind_name(v.k));
  x = v.b;
}

void field_decoder::code(std::string_view k, error_code& x) {
  auto* found = find(k, presence::required);
  if (!found)
    return;
  const msgpack_value& v = *found;
  if (v.k != msgpack_kind::str)
    return fail(k, std::string("must be a string, not ") + kind_name(v.k));
  // A code this side does not know (a newer master's) is read as `internal`, as
  // docs/protocol.md §5 tells every client to: the error still reaches whoever waits for it.
  if (!from_string(v.text(), x))
    x = error_code::internal;
}

namespace {

/// An entry's identity in the frame's bytes: its name, and its quality ("" for normal).
using item_view = std::pair<std::string_view, std::string_view>;
struct item_view_hash {
  std::size_t operator()(const item_view& v) const {
    std::hash<std::string_view> h;
    return h(v.first) * 31 + h(v.second);
  }
};

/// The path of a list entry's part: "key[i]" + leaf. Every gateway message passes through the
/// lists: a path is spelled only for an error.
std::string entry_path(std::string_view k, std::uint32_t i, const char* leaf) {
  return std::string(k) + "[" + std::to_string(i) + "]" + leaf;
}

} // namespace

void field_decoder::items(std::string_view k, item_list& x, std::int64_t min, std::int64_t max, std::size_t entries,
                          presence p) {
  const msgpack_value* a = find_array(k, entries, p);
  if (!a)
    return;
  item_list out;
  out.reserve(a->n);
  // Short lists (an export or request names a few items) are checked for duplicates pairwise:
  // a hash set would cost more in allocations than it saves in comparisons.
  constexpr std::uint32_t pairwise_up_to = 16;
  std::unordered_set<item_view, item_view_hash> seen; // views into the frame, which outlives the decoder
  std::vector<item_view> seen_few;
  if (a->n > pairwise_up_to)
    seen.reserve(a->n);
  else
    seen_few.reserve(a->n);
  auto path = [k](std::uint32_t i, const char* leaf) { return entry_path(k, i, leaf); };
  msgpack_reader r(a->at, map_.end);
  for (std::uint32_t i = 0; i < a->n; ++i) {
    msgpack_value e{}, name{}, count{}, quality{};
    (void)r.head(e); // checked whole before: cannot fail
    if (e.k != msgpack_kind::array || e.n < 2 || e.n > 3)
      return fail(path(i, ""), "must be [name, count] or [name, count, quality]");
    (void)r.head(name);
    if (auto checked = check_text_value(name, text_kind::name); !checked)
      return fail(path(i, ".name"), checked.error().what());
    (void)r.head(count);
    item_count ic;
    if (auto why = int_error(count, ic.count))
      return fail(path(i, ".count"), why);
    if (ic.count < min || ic.count > max)
      return out_of_range(path(i, ".count"), min, max, ic.count);
    std::string_view quality_text;
    if (e.n == 3) {
      (void)r.head(quality);
      if (auto checked = check_quality_value(quality); !checked)
        return fail(path(i, ".quality"), checked.error().what());
      quality_text = quality.text();
    }
    item_view id{name.text(), quality_text};
    bool repeated = a->n > pairwise_up_to ? !seen.insert(id).second : std::find(seen_few.begin(), seen_few.end(), id) != seen_few.end();
    if (repeated)
      return fail(path(i, ".name"), quality_text.empty() ? "duplicate name in list" : "duplicate name and quality in list");
    if (a->n <= pairwise_up_to)
      seen_few.push_back(id);
    ic.name.assign(name.at, name.n);
    if (e.n == 3)
      ic.quality.assign(quality.at, quality.n);
    out.push_back(std::move(ic));
  }
  x = std::move(out);
}

void field_decoder::signals(std::string_view k, signal_list& x, std::size_t entries) {
  const msgpack_value* a = find_array(k, entries);
  if (!a)
    return;
  signal_list out;
  out.reserve(a->n);
  std::unordered_set<std::string> seen; // signal_key of each entry
  seen.reserve(a->n);
  auto path = [k](std::uint32_t i, const char* leaf) { return entry_path(k, i, leaf); };
  msgpack_reader r(a->at, map_.end);
  for (std::uint32_t i = 0; i < a->n; ++i) {
    msgpack_value e{}, name{}, value{}, type{}, quality{};
    (void)r.head(e); // checked whole before: cannot fail
    if (e.k != msgpack_kind::array || e.n < 2 || e.n > 4)
      return fail(path(i, ""), "must be [name, value], [name, value, type] or [name, value, type, quality]");
    (void)r.head(name);
    if (auto checked = check_text_value(name, text_kind::name); !checked)
      return fail(path(i, ".name"), checked.error().what());
    (void)r.head(value);
    circuit_signal s;
    if (auto why = int_error(value, s.value))
      return fail(path(i, ".count"), why); // a value's path, as an item count's (docs/protocol.md §5)
    if (s.value < min_signal_value || s.value > max_signal_value)
      return out_of_range(path(i, ".count"), min_signal_value, max_signal_value, s.value);
    if (e.n >= 3) {
      (void)r.head(type);
      if (type.k != msgpack_kind::str)
        return fail(path(i, ".type"), std::string("must be a string, not ") + kind_name(type.k));
      if (auto checked = check_signal_type(type.text(), e.n == 4); !checked)
        return fail(path(i, ".type"), checked.error().what());
      s.type.assign(type.at, type.n);
    }
    if (e.n == 4) {
      (void)r.head(quality);
      if (auto checked = check_quality_value(quality); !checked)
        return fail(path(i, ".quality"), checked.error().what());
      s.quality.assign(quality.at, quality.n);
    }
    s.name.assign(name.at, name.n);
    if (!seen.insert(signal_key(s)).second)
      return fail(path(i, ".name"), "duplicate signal (type, name, quality) in list");
    out.push_back(std::move(s));
  }
  x = std::move(out);
}

void field_decoder::quality(std::string_view k, std::string& x) {
  auto* found = find(k, presence::optional);
  if (!found)
    return;
  if (auto checked = check_quality_value(*found); !checked)
    return fail(k, checked.error().what());
  x = found->text();
}

void field_decoder::ids(std::string_view k, std::vector<std::uint64_t>& x, std::size_t entries) {
  const msgpack_value* a = find_array(k, entries);
  if (!a)
    return;
  std::vector<std::uint64_t> out;
  out.reserve(a->n);
  msgpack_reader r(a->at, map_.end);
  for (std::uint32_t i = 0; i < a->n; ++i) {
    msgpack_value e{};
    (void)r.head(e); // checked whole before: cannot fail
    if (e.k != msgpack_kind::uint || e.u == 0)
      return fail(std::string(k) + "[" + std::to_string(i) + "]", "must be a positive integer id");
    out.push_back(e.u);
  }
  x = std::move(out);
}

bool field_decoder::check_keys() {
  for (std::uint32_t i = 0; i < map_.size; ++i) {
    const auto& pair = map_.pairs[i];
    if (!pair.key_is_str) {
      // Inside a list, name the element: "list[i]", without the trailing dot.
      auto at = prefix();
      fail_path(at.empty() ? "(frame)" : at.substr(0, at.size() - 1), "map keys must be strings");
      return false;
    }
    for (std::uint32_t j = 0; j < i; ++j)
      if (same(pair.key_tag, key(pair), map_.pairs[j].key_tag, key(map_.pairs[j]))) {
        fail_path(prefix() + std::string(key(pair)), "key appears twice");
        return false;
      }
  }
  return true;
}

void field_decoder::fail_path(std::string path, std::string why) {
  if (failed())
    return;
  err_.code = error_code::invalid;
  err_.field = std::move(path);
  err_.message = std::move(why);
}

std::string field_decoder::prefix() const {
  if (!parent_)
    return {};
  return parent_->prefix() + std::string(key_) + "[" + std::to_string(index_) + "].";
}

const msgpack_value* field_decoder::find_array(std::string_view k, std::size_t entries, presence p) {
  auto* found = find(k, p);
  if (!found)
    return nullptr;
  if (found->k != msgpack_kind::array) {
    fail(k, std::string("must be an array, not ") + kind_name(found->k));
    return nullptr;
  }
  if (found->n > entries) {
    fail(k, "more than " + std::to_string(entries) + " entries");
    return nullptr;
  }
  return found;
}

void field_decoder::not_unsigned(std::string_view k, const msgpack_value& v) {
  fail(k, v.k == msgpack_kind::sint ? "must not be negative" : std::string("must be an unsigned integer, not ") + kind_name(v.k));
}

const char* field_decoder::not_an_integer(msgpack_kind k) {
  switch (k) { // spelled out so that the reason stays a literal
    case msgpack_kind::nil: return "must be an integer, not nil";
    case msgpack_kind::boolean: return "must be an integer, not boolean";
    case msgpack_kind::real: return "must be an integer, not float";
    case msgpack_kind::str: return "must be an integer, not string";
    case msgpack_kind::bin: return "must be an integer, not binary";
    case msgpack_kind::array: return "must be an integer, not array";
    default: return "must be an integer, not map";
  }
}

result<void> field_decoder::check_quality_value(const msgpack_value& v) {
  if (v.k != msgpack_kind::str)
    return failure(std::string("must be a string, not ") + kind_name(v.k));
  return check_quality(v.text());
}

result<void> field_decoder::check_text_value(const msgpack_value& v, text_kind kind) {
  if (v.k != msgpack_kind::str)
    return failure(std::string("must be a string, not ") + kind_name(v.k));
  auto s = v.text();
  switch (kind) {
    case text_kind::name:
      return check_name(s);
    case text_kind::label:
      return check_label(s);
    case text_kind::address:
      return check_address(s);
    case text_kind::base64:
      return check_base64(s);
    case text_kind::json:
      return check_json_object(s);
    case text_kind::text:
      break;
  }
  return check_text(s);
}

} // namespace clusterio::wire
