// The msgpack codec. Encoding and decoding both walk the `describe` listings of the family
// headers, so a message's shape is written down exactly once.
//
// Frame grammar:
//   frame  := map { "v": uint (== protocol_version), "t": str, "id": uint, <fields of t> }
//   fields := as listed by describe(); keys are strings; unknown keys are ignored so that
//             fields can be added later; a key may appear only once.
//   items  := array of [str name, int count]

#include "message.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

#include <msgpack.hpp>

namespace clusterio::wire {

namespace {

/// msgpack's output stream, writing straight into the frame's string: an sbuffer would start
/// every frame with an 8 KiB allocation, then be copied into the string anyway.
struct string_stream {
  std::string& out;
  void write(const char* p, std::size_t n) { out.append(p, n); }
};
using packer = msgpack::packer<string_stream>;

// ---- encoding -------------------------------------------------------------------------------

/// Counts the fields a message will write, for the map header.
struct field_counter {
  std::uint32_t n = 0;
  template <class T> void u64(const char*, T&, std::uint64_t = 0, std::uint64_t = UINT64_MAX, presence = presence::required) { ++n; }
  template <class T> void i64(const char*, T&, std::int64_t = INT64_MIN, std::int64_t = INT64_MAX, presence = presence::required) { ++n; }
  void f64(const char*, double&, double, double, presence = presence::required) { ++n; }
  void flag(const char*, bool&, presence = presence::required) { ++n; }
  void text(const char*, std::string&, text_kind, presence = presence::required) { ++n; }
  void items(const char*, item_list&, std::int64_t, std::int64_t, std::size_t) { ++n; }
  void ids(const char*, std::vector<std::uint64_t>&, std::size_t) { ++n; }
  template <class T> void list(const char*, std::vector<T>&, std::size_t) { ++n; }
};

class encoder {
public:
  explicit encoder(packer& pk) : pk_(pk) {}

  template <class T> void u64(const char* k, T& x, std::uint64_t = 0, std::uint64_t = UINT64_MAX, presence = presence::required) {
    key(k);
    pk_.pack_uint64(static_cast<std::uint64_t>(x));
  }
  template <class T> void i64(const char* k, T& x, std::int64_t = INT64_MIN, std::int64_t = INT64_MAX, presence = presence::required) {
    key(k);
    pk_.pack_int64(static_cast<std::int64_t>(x));
  }
  void f64(const char* k, double& x, double, double, presence = presence::required) {
    key(k);
    pk_.pack_double(x);
  }
  void flag(const char* k, bool& x, presence = presence::required) {
    key(k);
    if (x)
      pk_.pack_true();
    else
      pk_.pack_false();
  }
  void text(const char* k, std::string& x, text_kind, presence = presence::required) {
    key(k);
    str(x);
  }
  void items(const char* k, item_list& x, std::int64_t, std::int64_t, std::size_t) {
    key(k);
    pk_.pack_array(static_cast<std::uint32_t>(x.size()));
    for (auto& e : x) {
      pk_.pack_array(2);
      str(e.name);
      pk_.pack_int64(e.count);
    }
  }
  void ids(const char* k, std::vector<std::uint64_t>& x, std::size_t) {
    key(k);
    pk_.pack_array(static_cast<std::uint32_t>(x.size()));
    for (auto v : x)
      pk_.pack_uint64(v);
  }
  template <class T> void list(const char* k, std::vector<T>& x, std::size_t) {
    key(k);
    pk_.pack_array(static_cast<std::uint32_t>(x.size()));
    for (auto& e : x)
      body(e);
  }

  template <class T> void body(T& x, std::uint32_t extra = 0) {
    field_counter c;
    describe(c, x);
    pk_.pack_map(c.n + extra);
    describe(*this, x);
  }

  void key(std::string_view k) { str(k); }
  void str(std::string_view s) {
    pk_.pack_str(static_cast<std::uint32_t>(s.size()));
    pk_.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
  }

private:
  packer& pk_;
};

// ---- decoding -------------------------------------------------------------------------------

const char* kind_name(msgpack::type::object_type t) {
  switch (t) {
    case msgpack::type::NIL: return "nil";
    case msgpack::type::BOOLEAN: return "boolean";
    case msgpack::type::POSITIVE_INTEGER:
    case msgpack::type::NEGATIVE_INTEGER: return "integer";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: return "float";
    case msgpack::type::STR: return "string";
    case msgpack::type::BIN: return "binary";
    case msgpack::type::ARRAY: return "array";
    case msgpack::type::MAP: return "map";
    case msgpack::type::EXT: return "extension";
  }
  return "unknown";
}

/// Reads the fields of one map. The first error wins; later calls do nothing.
class decoder {
public:
  decoder(const msgpack::object_map& map, std::string prefix, wire::error& err)
    : map_(map), prefix_(std::move(prefix)), err_(err) {}

  bool failed() const { return !err_.message.empty(); }

  template <class T> void u64(std::string_view k, T& x, std::uint64_t min = 0, std::uint64_t max = UINT64_MAX, presence p = presence::required) {
    auto* o = find(k, p);
    if (!o)
      return;
    if (o->type != msgpack::type::POSITIVE_INTEGER)
      return fail(k, o->type == msgpack::type::NEGATIVE_INTEGER ? "must not be negative" : std::string("must be an unsigned integer, not ") + kind_name(o->type));
    max = std::min<std::uint64_t>(max, std::numeric_limits<T>::max());
    if (o->via.u64 < min || o->via.u64 > max)
      return fail(k, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + std::to_string(o->via.u64));
    x = static_cast<T>(o->via.u64);
  }

  template <class T> void i64(std::string_view k, T& x, std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX, presence p = presence::required) {
    auto* o = find(k, p);
    if (!o)
      return;
    std::int64_t v = 0;
    if (!as_int(*o, v, k))
      return;
    if (v < min || v > max)
      return fail(k, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + std::to_string(v));
    x = static_cast<T>(v);
  }

  void f64(std::string_view k, double& x, double min, double max, presence p = presence::required) {
    auto* o = find(k, p);
    if (!o)
      return;
    double v = 0;
    switch (o->type) {
      case msgpack::type::FLOAT32:
      case msgpack::type::FLOAT64: v = o->via.f64; break;
      case msgpack::type::POSITIVE_INTEGER: v = static_cast<double>(o->via.u64); break;
      case msgpack::type::NEGATIVE_INTEGER: v = static_cast<double>(o->via.i64); break;
      default: return fail(k, std::string("must be a number, not ") + kind_name(o->type));
    }
    if (!std::isfinite(v) || v < min || v > max)
      return fail(k, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    x = v;
  }

  void flag(std::string_view k, bool& x, presence p = presence::required) {
    auto* o = find(k, p);
    if (!o)
      return;
    if (o->type != msgpack::type::BOOLEAN)
      return fail(k, std::string("must be a boolean, not ") + kind_name(o->type));
    x = o->via.boolean;
  }

  void text(std::string_view k, std::string& x, text_kind kind, presence p = presence::required) {
    auto* o = find(k, p);
    if (!o)
      return;
    std::string v;
    if (!as_text(*o, v, kind, k))
      return;
    x = std::move(v);
  }

  void items(std::string_view k, item_list& x, std::int64_t min, std::int64_t max, std::size_t entries) {
    auto* o = find(k, presence::required);
    if (!o)
      return;
    if (o->type != msgpack::type::ARRAY)
      return fail(k, std::string("must be an array, not ") + kind_name(o->type));
    const auto& a = o->via.array;
    if (a.size > entries)
      return fail(k, "more than " + std::to_string(entries) + " entries");
    item_list out;
    out.reserve(a.size);
    // Short lists (an export or request names a few items) are checked for duplicates pairwise:
    // a hash set would cost more in allocations than it saves in comparisons.
    constexpr std::uint32_t pairwise_up_to = 16;
    std::unordered_set<std::string_view> seen; // views into the frame, which outlives the decoder
    if (a.size > pairwise_up_to)
      seen.reserve(a.size);
    // Every gateway message passes here: the field's path is spelled only for an error.
    auto path = [k](std::uint32_t i, const char* leaf) { return std::string(k) + "[" + std::to_string(i) + "]" + leaf; };
    for (std::uint32_t i = 0; i < a.size; ++i) {
      const auto& e = a.ptr[i];
      if (e.type != msgpack::type::ARRAY || e.via.array.size != 2)
        return fail(path(i, ""), "must be a [name, count] pair");
      item_count ic;
      if (auto why = text_error(e.via.array.ptr[0], ic.name, text_kind::name); !why.empty())
        return fail(path(i, ".name"), std::move(why));
      if (auto why = int_error(e.via.array.ptr[1], ic.count); !why.empty())
        return fail(path(i, ".count"), std::move(why));
      if (ic.count < min || ic.count > max)
        return fail(path(i, ".count"), "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + std::to_string(ic.count));
      bool repeated = false;
      if (a.size > pairwise_up_to)
        repeated = !seen.insert(std::string_view(e.via.array.ptr[0].via.str.ptr, e.via.array.ptr[0].via.str.size)).second;
      else
        for (const auto& before : out)
          repeated = repeated || before.name == ic.name;
      if (repeated)
        return fail(path(i, ".name"), "duplicate name in list");
      out.push_back(std::move(ic));
    }
    x = std::move(out);
  }

  void ids(std::string_view k, std::vector<std::uint64_t>& x, std::size_t entries) {
    auto* o = find(k, presence::required);
    if (!o)
      return;
    if (o->type != msgpack::type::ARRAY)
      return fail(k, std::string("must be an array, not ") + kind_name(o->type));
    const auto& a = o->via.array;
    if (a.size > entries)
      return fail(k, "more than " + std::to_string(entries) + " entries");
    std::vector<std::uint64_t> out;
    out.reserve(a.size);
    for (std::uint32_t i = 0; i < a.size; ++i) {
      if (a.ptr[i].type != msgpack::type::POSITIVE_INTEGER || a.ptr[i].via.u64 == 0)
        return fail(std::string(k) + "[" + std::to_string(i) + "]", "must be a positive integer id");
      out.push_back(a.ptr[i].via.u64);
    }
    x = std::move(out);
  }

  template <class T> void list(std::string_view k, std::vector<T>& x, std::size_t entries) {
    auto* o = find(k, presence::required);
    if (!o)
      return;
    if (o->type != msgpack::type::ARRAY)
      return fail(k, std::string("must be an array, not ") + kind_name(o->type));
    const auto& a = o->via.array;
    if (a.size > entries)
      return fail(k, "more than " + std::to_string(entries) + " entries");
    std::vector<T> out(a.size);
    for (std::uint32_t i = 0; i < a.size; ++i) {
      std::string path = prefix_ + std::string(k) + "[" + std::to_string(i) + "].";
      if (a.ptr[i].type != msgpack::type::MAP)
        return fail_path(path.substr(0, path.size() - 1), "must be a map");
      decoder sub(a.ptr[i].via.map, path, err_);
      if (!sub.check_keys())
        return;
      describe(sub, out[i]);
      if (failed())
        return;
    }
    x = std::move(out);
  }

  /// Rejects non-string and duplicate keys.
  bool check_keys() {
    for (std::uint32_t i = 0; i < map_.size; ++i) {
      const auto& key = map_.ptr[i].key;
      if (key.type != msgpack::type::STR) {
        // prefix_ is "list[i]." inside a list: name the element, without the trailing dot.
        fail_path(prefix_.empty() ? "(frame)" : prefix_.substr(0, prefix_.size() - 1), "map keys must be strings");
        return false;
      }
      // Compare as string_views: msgpack-c's operator== passes an empty string's null pointer to
      // memcmp (undefined behaviour; found by fuzz/wire_decode_fuzz.cpp). Keys before i are strings.
      std::string_view text(key.via.str.ptr, key.via.str.size);
      for (std::uint32_t j = 0; j < i; ++j)
        if (text == std::string_view(map_.ptr[j].key.via.str.ptr, map_.ptr[j].key.via.str.size)) {
          fail_path(prefix_ + std::string(key.via.str.ptr, key.via.str.size), "key appears twice");
          return false;
        }
    }
    return true;
  }

  const msgpack::object* lookup(std::string_view k) const {
    for (std::uint32_t i = 0; i < map_.size; ++i) {
      const auto& key = map_.ptr[i].key;
      if (key.type == msgpack::type::STR && std::string_view(key.via.str.ptr, key.via.str.size) == k)
        return &map_.ptr[i].val;
    }
    return nullptr;
  }

  void fail(std::string_view field, std::string why) { fail_path(prefix_ + std::string(field), std::move(why)); }

  void fail_path(std::string path, std::string why) {
    if (failed())
      return;
    err_.code = error_code::invalid;
    err_.field = std::move(path);
    err_.message = std::move(why);
  }

private:
  const msgpack::object* find(std::string_view k, presence p) {
    if (failed())
      return nullptr;
    auto* o = lookup(k);
    if (!o && p == presence::required)
      fail(k, "missing field");
    return o;
  }

  bool as_int(const msgpack::object& o, std::int64_t& v, std::string_view path) {
    auto why = int_error(o, v);
    if (!why.empty())
      fail(path, std::move(why));
    return why.empty();
  }

  bool as_text(const msgpack::object& o, std::string& v, text_kind kind, std::string_view path) {
    auto why = text_error(o, v, kind);
    if (!why.empty())
      fail(path, std::move(why));
    return why.empty();
  }

  /// Reads an integer; empty, or why it is not one.
  static std::string int_error(const msgpack::object& o, std::int64_t& v) {
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
      if (o.via.u64 > static_cast<std::uint64_t>(INT64_MAX))
        return "integer too large";
      v = static_cast<std::int64_t>(o.via.u64);
      return {};
    }
    if (o.type == msgpack::type::NEGATIVE_INTEGER) {
      v = o.via.i64;
      return {};
    }
    return std::string("must be an integer, not ") + kind_name(o.type);
  }

  /// Reads a text of the given kind; empty, or why it is not one.
  static std::string text_error(const msgpack::object& o, std::string& v, text_kind kind) {
    if (o.type != msgpack::type::STR)
      return std::string("must be a string, not ") + kind_name(o.type);
    v.assign(o.via.str.ptr, o.via.str.size);
    return kind == text_kind::name ? check_name(v) : kind == text_kind::label ? check_label(v) : check_text(v);
  }

  const msgpack::object_map& map_;
  std::string prefix_;
  wire::error& err_;
};

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n; // continuation bytes
    std::uint32_t cp;
    if (c < 0x80) {
      n = 0;
      cp = c;
    } else if ((c >> 5) == 0x6) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c >> 4) == 0xe) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c >> 3) == 0x1e) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size() && n > 0)
      return false;
    for (std::size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2)
        return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

/// Parses one msgpack value into msgpack-c's object tree (what `decoder` reads), with the
/// parser limits of docs/protocol.md §3. Its nodes live in vectors reused from frame to frame
/// and its strings point into the frame: the gateway parses every message it receives, and
/// msgpack-c's own unpack allocated a parse stack and zone chunks for each.
class frame_parser {
public:
  /// Empty, or why `bytes` does not start with a valid value within the limits. `used` is set to
  /// the value's length.
  std::string parse(std::string_view bytes, msgpack::object& root, std::size_t& used) {
    p_ = reinterpret_cast<const unsigned char*>(bytes.data());
    end_ = p_ + bytes.size();
    begin_ = p_;
    // A huge frame's nodes are not kept for the rest of the thread's life.
    if (objects_.capacity() > keep_nodes)
      objects_ = {};
    if (pairs_.capacity() > keep_nodes)
      pairs_ = {};
    objects_.clear();
    pairs_.clear();
    std::string why = value(root, 1);
    if (!why.empty())
      return why;
    // Children were placed by index while the vectors grew: now they are pointers.
    for (auto& o : objects_)
      link(o);
    for (auto& kv : pairs_) {
      link(kv.key);
      link(kv.val);
    }
    link(root);
    used = static_cast<std::size_t>(p_ - begin_);
    return {};
  }

private:
  static constexpr std::uint32_t max_map_pairs = 64, max_depth = 8;
  static constexpr std::size_t keep_nodes = 4096;

  bool take(std::size_t n, const unsigned char*& at) {
    if (static_cast<std::size_t>(end_ - p_) < n)
      return false;
    at = p_;
    p_ += n;
    return true;
  }
  template <class T> bool big_endian(T& out) {
    const unsigned char* at;
    if (!take(sizeof(T), at))
      return false;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
      v = (v << 8) | at[i];
    out = static_cast<T>(v);
    return true;
  }
  // Child blocks are stored as an index (+1: 0 is an empty block) until link().
  static void set_block(msgpack::object& o, std::size_t index) {
    if (o.type == msgpack::type::ARRAY)
      o.via.array.ptr = reinterpret_cast<msgpack::object*>(index + 1);
    else
      o.via.map.ptr = reinterpret_cast<msgpack::object_kv*>(index + 1);
  }
  void link(msgpack::object& o) {
    if (o.type == msgpack::type::ARRAY) {
      auto index = reinterpret_cast<std::size_t>(o.via.array.ptr);
      o.via.array.ptr = index ? &objects_[index - 1] : nullptr;
    } else if (o.type == msgpack::type::MAP) {
      auto index = reinterpret_cast<std::size_t>(o.via.map.ptr);
      o.via.map.ptr = index ? &pairs_[index - 1] : nullptr;
    }
  }

  std::string integer(msgpack::object& o, std::int64_t v) {
    if (v >= 0) {
      o.type = msgpack::type::POSITIVE_INTEGER;
      o.via.u64 = static_cast<std::uint64_t>(v);
    } else {
      o.type = msgpack::type::NEGATIVE_INTEGER;
      o.via.i64 = v;
    }
    return {};
  }

  std::string text(msgpack::object& o, std::uint32_t size, msgpack::type::object_type type) {
    const unsigned char* at;
    if (!take(size, at))
      return "insufficient bytes";
    if (type == msgpack::type::BIN && size > 0)
      return "bin size overflow";
    o.type = type;
    o.via.str.size = size;
    o.via.str.ptr = reinterpret_cast<const char*>(at);
    return {};
  }

  std::string array(msgpack::object& o, std::uint32_t size, std::uint32_t depth) {
    if (size > max_long_list_entries)
      return "array size overflow";
    if (depth > max_depth)
      return "depth size overflow";
    if (size > static_cast<std::size_t>(end_ - p_))
      return "insufficient bytes"; // each element takes a byte at least
    o.type = msgpack::type::ARRAY;
    o.via.array.size = size;
    auto first = objects_.size();
    objects_.resize(first + size);
    set_block(o, size ? first : static_cast<std::size_t>(-1));
    for (std::uint32_t i = 0; i < size; ++i) {
      msgpack::object element;
      if (auto why = value(element, depth + 1); !why.empty())
        return why;
      objects_[first + i] = element;
    }
    return {};
  }

  std::string map(msgpack::object& o, std::uint32_t size, std::uint32_t depth) {
    if (size > max_map_pairs)
      return "map size overflow";
    if (depth > max_depth)
      return "depth size overflow";
    o.type = msgpack::type::MAP;
    o.via.map.size = size;
    auto first = pairs_.size();
    pairs_.resize(first + size);
    set_block(o, size ? first : static_cast<std::size_t>(-1));
    for (std::uint32_t i = 0; i < size; ++i) {
      msgpack::object key, val;
      if (auto why = value(key, depth + 1); !why.empty())
        return why;
      if (auto why = value(val, depth + 1); !why.empty())
        return why;
      pairs_[first + i].key = key;
      pairs_[first + i].val = val;
    }
    return {};
  }

  std::string value(msgpack::object& o, std::uint32_t depth) {
    const unsigned char* at;
    if (!take(1, at))
      return "insufficient bytes";
    const unsigned char b = *at;
    o = msgpack::object();
    if (b <= 0x7f)
      return integer(o, b);
    if (b >= 0xe0)
      return integer(o, static_cast<std::int8_t>(b));
    if ((b & 0xf0) == 0x80)
      return map(o, b & 0x0f, depth);
    if ((b & 0xf0) == 0x90)
      return array(o, b & 0x0f, depth);
    if ((b & 0xe0) == 0xa0)
      return text(o, b & 0x1f, msgpack::type::STR);
    std::uint8_t u8;
    std::uint16_t u16;
    std::uint32_t u32;
    std::uint64_t u64;
    const char* truncated = "insufficient bytes";
    switch (b) {
      case 0xc0: o.type = msgpack::type::NIL; return {};
      case 0xc2: case 0xc3: o.type = msgpack::type::BOOLEAN; o.via.boolean = b == 0xc3; return {};
      case 0xc4: return big_endian(u8) ? text(o, u8, msgpack::type::BIN) : truncated;
      case 0xc5: return big_endian(u16) ? text(o, u16, msgpack::type::BIN) : truncated;
      case 0xc6: return big_endian(u32) ? text(o, u32, msgpack::type::BIN) : truncated;
      case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        return "ext size overflow"; // no ext values at all (§3)
      case 0xca: {
        if (!big_endian(u32))
          return truncated;
        float f;
        std::memcpy(&f, &u32, sizeof f);
        o.type = msgpack::type::FLOAT32;
        o.via.f64 = f;
        return {};
      }
      case 0xcb: {
        if (!big_endian(u64))
          return truncated;
        double d;
        std::memcpy(&d, &u64, sizeof d);
        o.type = msgpack::type::FLOAT64;
        o.via.f64 = d;
        return {};
      }
      case 0xcc: return big_endian(u8) ? integer(o, u8) : truncated;
      case 0xcd: return big_endian(u16) ? integer(o, u16) : truncated;
      case 0xce: return big_endian(u32) ? integer(o, u32) : truncated;
      case 0xcf:
        if (!big_endian(u64))
          return truncated;
        o.type = msgpack::type::POSITIVE_INTEGER;
        o.via.u64 = u64;
        return {};
      case 0xd0: return big_endian(u8) ? integer(o, static_cast<std::int8_t>(u8)) : truncated;
      case 0xd1: return big_endian(u16) ? integer(o, static_cast<std::int16_t>(u16)) : truncated;
      case 0xd2: return big_endian(u32) ? integer(o, static_cast<std::int32_t>(u32)) : truncated;
      case 0xd3: return big_endian(u64) ? integer(o, static_cast<std::int64_t>(u64)) : truncated;
      case 0xd9: return big_endian(u8) ? text(o, u8, msgpack::type::STR) : truncated;
      case 0xda: return big_endian(u16) ? text(o, u16, msgpack::type::STR) : truncated;
      case 0xdb: return big_endian(u32) ? text(o, u32, msgpack::type::STR) : truncated;
      case 0xdc: return big_endian(u16) ? array(o, u16, depth) : truncated;
      case 0xdd: return big_endian(u32) ? array(o, u32, depth) : truncated;
      case 0xde: return big_endian(u16) ? map(o, u16, depth) : truncated;
      case 0xdf: return big_endian(u32) ? map(o, u32, depth) : truncated;
      default: return "parse error"; // 0xc1, never used
    }
  }

  const unsigned char *begin_ = nullptr, *p_ = nullptr, *end_ = nullptr;
  std::vector<msgpack::object> objects_;
  std::vector<msgpack::object_kv> pairs_;
};

template <class T> bool decode_as(decoder& d, message& out) {
  T x{};
  describe(d, x);
  if (d.failed())
    return false;
  out = std::move(x);
  return true;
}

using decode_fn = bool (*)(decoder&, message&);

template <std::size_t... I> constexpr auto make_decode_table(std::index_sequence<I...>) {
  return std::array<std::pair<std::string_view, decode_fn>, sizeof...(I)>{
    {{std::variant_alternative_t<I, message>::type, &decode_as<std::variant_alternative_t<I, message>>}...}};
}
constexpr auto decode_table = make_decode_table(std::make_index_sequence<std::variant_size_v<message>>{});

} // namespace

std::string check_name(const std::string& s) {
  if (s.empty())
    return "name is empty";
  if (s.size() > max_name_bytes)
    return "name longer than " + std::to_string(max_name_bytes) + " bytes";
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f)
      return "name contains a control character";
  if (!valid_utf8(s))
    return "name is not valid UTF-8";
  // The C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F): U+009B, for one, starts a terminal
  // escape sequence, and names end up in logs and on operators' terminals.
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) == 0xc2 && static_cast<unsigned char>(s[i + 1]) <= 0x9f)
      return "name contains a control character";
  return {};
}

std::string check_label(const std::string& s) {
  if (s.empty())
    return "name is empty";
  if (s.size() > max_label_bytes)
    return "name longer than " + std::to_string(max_label_bytes) + " bytes";
  if (s[0] == '.')
    return "name starts with '.'";
  // Explicit ASCII ranges: std::isalnum depends on the C locale and accepts bytes >= 0x80 in
  // single-byte locales.
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return "name may contain only letters, digits, '_', '-' and '.'";
  return {};
}

std::string check_text(const std::string& s) {
  if (s.size() > max_text_bytes)
    return "text longer than " + std::to_string(max_text_bytes) + " bytes";
  if (s.find('\0') != std::string::npos)
    return "text contains NUL";
  if (!valid_utf8(s))
    return "text is not valid UTF-8";
  return {};
}

std::string_view type_of(const message& m) {
  return std::visit([](const auto& x) -> std::string_view { return std::decay_t<decltype(x)>::type; }, m);
}

std::string encode(const frame& f) {
  std::string bytes;
  bytes.reserve(128); // most frames fit; a longer one grows the string as it goes
  string_stream stream{bytes};
  packer pk(stream);
  encoder enc(pk);
  std::visit(
    [&](const auto& x) {
      auto& body = const_cast<std::decay_t<decltype(x)>&>(x);
      field_counter c;
      describe(c, body);
      pk.pack_map(c.n + 3);
      enc.key("v");
      pk.pack_uint32(protocol_version);
      enc.key("t");
      enc.str(std::decay_t<decltype(x)>::type);
      enc.key("id");
      pk.pack_uint64(f.id);
      describe(enc, body);
    },
    f.body);
  return bytes;
}

decoded decode(std::string_view bytes) {
  decoded out;
  auto fail = [&out](error_code code, std::string field, std::string why) {
    out.ok = false;
    out.err = wire::error{code, std::move(field), std::move(why)};
    return out;
  };
  if (bytes.size() > max_frame_bytes)
    return fail(error_code::invalid, "(frame)", "frame larger than " + std::to_string(max_frame_bytes) + " bytes");
  thread_local frame_parser parser;
  msgpack::object root;
  std::size_t offset = 0;
  if (auto why = parser.parse(bytes, root, offset); !why.empty())
    return fail(error_code::invalid, "(frame)", "not a valid msgpack value: " + why);
  if (offset != bytes.size())
    return fail(error_code::invalid, "(frame)", "trailing bytes after the msgpack map");
  if (root.type != msgpack::type::MAP)
    return fail(error_code::invalid, "(frame)", "a frame must be a msgpack map");
  wire::error err;
  decoder d(root.via.map, "", err);
  // Read the request id first, so that every later error (a duplicate or non-string key too)
  // can be replied to it.
  if (auto* id = d.lookup("id"); id && id->type == msgpack::type::POSITIVE_INTEGER)
    out.id = id->via.u64;
  if (!d.check_keys())
    return fail(err.code, err.field, err.message);
  std::uint64_t id = 0, version = 0;
  d.u64("id", id);
  d.u64("v", version);
  if (d.failed())
    return fail(err.code, err.field, err.message);
  // The version is checked before anything else of the frame: another version may spell `t`
  // (or anything past the envelope) differently, and must still get `unsupported`.
  if (version != protocol_version)
    return fail(error_code::unsupported, "v", "protocol version " + std::to_string(version) + " is not supported (this side speaks " + std::to_string(protocol_version) + ")");
  std::string type;
  d.text("t", type, text_kind::label);
  if (d.failed())
    return fail(err.code, err.field, err.message);
  for (auto& [name, fn] : decode_table) {
    if (name != type)
      continue;
    if (!fn(d, out.value.body))
      return fail(err.code, err.field, err.message);
    out.value.id = id;
    out.ok = true;
    return out;
  }
  return fail(error_code::unsupported, "t", "unknown message type '" + type + "'");
}

error_reply make_error(const wire::error& e) {
  return error_reply{std::string(to_string(e.code)), e.field, e.message};
}

error_reply make_error(error_code code, std::string message, std::string field) {
  return error_reply{std::string(to_string(code)), std::move(field), std::move(message)};
}

} // namespace clusterio::wire
