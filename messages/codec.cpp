// The msgpack codec. Encoding and decoding both walk the `describe` listings of the family
// headers, so a message's shape is written down exactly once.
//
// Frame grammar:
//   frame  := map { "v": uint (== protocol_version), "t": str, "id": uint, <fields of t> }
//   fields := as listed by describe(); keys are strings; unknown keys are ignored so that
//             fields can be added later; a key may appear only once.
//   items  := array of [str name, int count]
//
// Every message the master receives and every reply it sends passes here, and so does every
// message of a slave: the codec reads and writes msgpack itself, straight between the frame's
// bytes and the message structs. Decoding checks the whole frame in one pass that also notes
// where each key's value is; fields are then read from those notes (no tree of values, no
// allocation but the message's own). docs/benchmarks.md, "codec", has what this saved.

#include "message.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>
#include <utility>

namespace clusterio::wire {

namespace {

// ---- writing msgpack ------------------------------------------------------------------------

/// Appends msgpack values to a buffer (its size is the room; it grows when full), each in its
/// shortest form (as msgpack-c writes them, whole-number doubles as integers: other
/// implementations accept both, §3 of docs/protocol.md). encode() keeps its buffer per thread
/// from frame to frame, so that a frame costs one allocation: the string take() copies it into.
class writer {
public:
  explicit writer(std::string& buf) : buf_(buf) {}

  std::string take() const { return std::string(buf_.data(), used_); }

  void uint(std::uint64_t v) {
    if (v < 128)
      return byte(static_cast<unsigned char>(v));
    if (v < 256)
      return tagged(0xcc, v, 1);
    if (v < 65536)
      return tagged(0xcd, v, 2);
    if (v < (std::uint64_t{1} << 32))
      return tagged(0xce, v, 4);
    tagged(0xcf, v, 8);
  }

  void sint(std::int64_t v) {
    if (v >= 0)
      return uint(static_cast<std::uint64_t>(v));
    auto bits = static_cast<std::uint64_t>(v);
    if (v >= -32)
      return byte(static_cast<unsigned char>(bits)); // negative fixint
    if (v >= -128)
      return tagged(0xd0, bits, 1);
    if (v >= -32768)
      return tagged(0xd1, bits, 2);
    if (v >= -2147483648LL)
      return tagged(0xd2, bits, 4);
    tagged(0xd3, bits, 8);
  }

  void real(double d) {
    if (d >= 0 && d < 18446744073709551616.0 && d == static_cast<double>(static_cast<std::uint64_t>(d)))
      return uint(static_cast<std::uint64_t>(d));
    if (d < 0 && d >= -9223372036854775808.0 && d == static_cast<double>(static_cast<std::int64_t>(d)))
      return sint(static_cast<std::int64_t>(d));
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    tagged(0xcb, bits, 8);
  }

  void boolean(bool b) { byte(b ? 0xc3 : 0xc2); }

  void str(std::string_view s) {
    auto n = static_cast<std::uint32_t>(s.size());
    if (n < 32)
      byte(static_cast<unsigned char>(0xa0 | n));
    else if (n < 256)
      tagged(0xd9, n, 1);
    else if (n < 65536)
      tagged(0xda, n, 2);
    else
      tagged(0xdb, n, 4);
    std::memcpy(room(n), s.data(), n);
  }

  void array(std::uint32_t n) { container(0x90, 0xdc, n); }
  void map(std::uint32_t n) { container(0x80, 0xde, n); }

private:
  char* room(std::size_t n) {
    if (used_ + n > buf_.size())
      buf_.resize(std::max(buf_.size() * 2, used_ + n));
    char* at = buf_.data() + used_;
    used_ += n;
    return at;
  }
  void byte(unsigned char b) { *room(1) = static_cast<char>(b); }
  /// A tag byte, then the low `bytes` bytes of `v`, big-endian.
  void tagged(unsigned char tag, std::uint64_t v, std::size_t bytes) {
    char* at = room(1 + bytes);
    at[0] = static_cast<char>(tag);
    for (std::size_t i = 0; i < bytes; ++i)
      at[bytes - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  /// fixarray/fixmap below 16 entries, else the 16- or 32-bit form (tag16 + 1).
  void container(unsigned char fix, unsigned char tag16, std::uint32_t n) {
    if (n < 16)
      byte(static_cast<unsigned char>(fix | n));
    else if (n < 65536)
      tagged(tag16, n, 2);
    else
      tagged(static_cast<unsigned char>(tag16 + 1), n, 4);
  }

  std::string& buf_;
  std::size_t used_ = 0;
};

/// Counts the fields a message will write, for the map header.
struct field_counter {
  std::uint32_t n = 0;
  template <class T> void u64(const char*, T&, std::uint64_t = 0, std::uint64_t = UINT64_MAX, presence = presence::required) { ++n; }
  template <class T> void i64(const char*, T&, std::int64_t = INT64_MIN, std::int64_t = INT64_MAX, presence = presence::required) { ++n; }
  void f64(const char*, double&, double, double, presence = presence::required) { ++n; }
  void flag(const char*, bool&, presence = presence::required) { ++n; }
  void text(const char*, std::string&, text_kind, presence = presence::required) { ++n; }
  void code(const char*, error_code&) { ++n; }
  void items(const char*, item_list&, std::int64_t, std::int64_t, std::size_t) { ++n; }
  void ids(const char*, std::vector<std::uint64_t>&, std::size_t) { ++n; }
  template <class T> void list(const char*, std::vector<T>&, std::size_t) { ++n; }
};

class encoder {
public:
  explicit encoder(writer& w) : w_(w) {}

  template <class T> void u64(const char* k, T& x, std::uint64_t = 0, std::uint64_t = UINT64_MAX, presence = presence::required) {
    w_.str(k);
    w_.uint(static_cast<std::uint64_t>(x));
  }
  template <class T> void i64(const char* k, T& x, std::int64_t = INT64_MIN, std::int64_t = INT64_MAX, presence = presence::required) {
    w_.str(k);
    w_.sint(static_cast<std::int64_t>(x));
  }
  void f64(const char* k, double& x, double, double, presence = presence::required) {
    w_.str(k);
    w_.real(x);
  }
  void flag(const char* k, bool& x, presence = presence::required) {
    w_.str(k);
    w_.boolean(x);
  }
  void text(const char* k, std::string& x, text_kind, presence = presence::required) {
    w_.str(k);
    w_.str(x);
  }
  void code(const char* k, error_code& x) {
    w_.str(k);
    w_.str(to_string(x));
  }
  void items(const char* k, item_list& x, std::int64_t, std::int64_t, std::size_t) {
    w_.str(k);
    w_.array(static_cast<std::uint32_t>(x.size()));
    for (auto& e : x) {
      w_.array(2);
      w_.str(e.name);
      w_.sint(e.count);
    }
  }
  void ids(const char* k, std::vector<std::uint64_t>& x, std::size_t) {
    w_.str(k);
    w_.array(static_cast<std::uint32_t>(x.size()));
    for (auto v : x)
      w_.uint(v);
  }
  template <class T> void list(const char* k, std::vector<T>& x, std::size_t) {
    w_.str(k);
    w_.array(static_cast<std::uint32_t>(x.size()));
    for (auto& e : x)
      body(e);
  }

  /// A map of the fields of `x`.
  template <class T> void body(T& x) {
    field_counter c;
    describe(c, x);
    w_.map(c.n);
    describe(*this, x);
  }

private:
  writer& w_;
};

// ---- reading msgpack ------------------------------------------------------------------------

/// What a msgpack value is, as far as the decoder cares (an integer >= 0 is `uint` whatever
/// its encoding; float32 and float64 are both `real`).
enum class kind : unsigned char { nil, boolean, uint, sint, real, str, bin, array, map };

const char* kind_name(kind k) {
  switch (k) {
    case kind::nil: return "nil";
    case kind::boolean: return "boolean";
    case kind::uint:
    case kind::sint: return "integer";
    case kind::real: return "float";
    case kind::str: return "string";
    case kind::bin: return "binary";
    case kind::array: return "array";
    case kind::map: return "map";
  }
  return "unknown";
}

/// One value's header: its kind and scalar, or where its bytes or children start. Not
/// initialized by itself: a map_view holds 64 that read_map fills in as far as the map goes.
struct value {
  kind k;
  std::uint32_t n; ///< str/bin: bytes; array: entries; map: pairs
  const char* at;  ///< str/bin: the bytes (in the frame); array/map: the first child
  union {
    std::uint64_t u; ///< uint
    std::int64_t i;  ///< sint (< 0)
    double f;        ///< real
    bool b;          ///< boolean
  };
  std::string_view text() const { return {at, n}; }
};

/// A key's length (its low 16 bits), first and last bytes: two keys with different tags differ,
/// so most comparisons of keys (and of type names) are one comparison of integers.
constexpr std::uint32_t tag_of(std::string_view s) {
  if (s.empty())
    return 0;
  return static_cast<std::uint32_t>(s.size() & 0xffff) << 16 | static_cast<std::uint32_t>(static_cast<unsigned char>(s.front())) << 8 |
         static_cast<unsigned char>(s.back());
}

bool same(std::uint32_t tag_a, std::string_view a, std::uint32_t tag_b, std::string_view b) {
  return tag_a == tag_b && a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

/// Reads msgpack values from a frame, within the parser limits of docs/protocol.md §3. Errors
/// are the literals below (the frame's error adds "not a valid msgpack value: ").
class reader {
public:
  reader(const char* p, const char* end) : p_(reinterpret_cast<const unsigned char*>(p)), end_(reinterpret_cast<const unsigned char*>(end)) {}

  static constexpr std::uint32_t max_map_pairs = 64, max_depth = 8;

  const char* pos() const { return reinterpret_cast<const char*>(p_); }
  const char* end() const { return reinterpret_cast<const char*>(end_); }

  /// Reads the header of the value at the cursor and moves past it: past a string's bytes, to
  /// an array's or map's first child. nullptr, or why the bytes are not a value.
  [[gnu::always_inline]] const char* head(value& v) {
    // The kinds that make up nearly all of a frame, inline: small uints, short strings, small
    // arrays and maps.
    if (p_ != end_) {
      const unsigned char b = *p_;
      if (b <= 0x7f) {
        ++p_;
        return integer(v, b);
      }
      if ((b & 0xe0) == 0xa0) {
        ++p_;
        return bytes(v, kind::str, b & 0x1f);
      }
      if ((b & 0xe0) == 0x80) { // fixmap 0x80..0x8f, fixarray 0x90..0x9f
        ++p_;
        return container(v, b & 0x10 ? kind::array : kind::map, b & 0x0f);
      }
    }
    return head_other(v);
  }

  /// Reads a whole value at `depth` (the frame's map is at 1), checking the limits of its
  /// arrays and maps, and moves past it.
  const char* skip(std::uint32_t depth) {
    value v{};
    if (auto why = head(v))
      return why;
    return skip_children(v, depth);
  }

  /// After head(v): checks v's limits and moves past its children, if it has any.
  [[gnu::always_inline]] const char* skip_children(const value& v, std::uint32_t depth) {
    return v.k == kind::array || v.k == kind::map ? skip_container(v, depth) : nullptr;
  }

  /// The limits of a map at `depth` (read_map checks them too).
  static const char* map_limits(const value& m, std::uint32_t depth) {
    if (m.n > max_map_pairs)
      return "map size overflow";
    if (depth > max_depth)
      return "depth size overflow";
    return nullptr;
  }

private:
  const char* skip_container(const value& v, std::uint32_t depth) {
    if (v.k == kind::array) {
      if (v.n > max_long_list_entries)
        return "array size overflow";
      if (depth > max_depth)
        return "depth size overflow";
      if (v.n > static_cast<std::size_t>(end_ - p_))
        return truncated; // each element takes a byte at least
      for (std::uint32_t i = 0; i < v.n; ++i)
        if (auto why = skip(depth + 1))
          return why;
    } else if (v.k == kind::map) {
      if (auto why = map_limits(v, depth))
        return why;
      for (std::uint32_t i = 0; i < 2 * v.n; ++i)
        if (auto why = skip(depth + 1))
          return why;
    }
    return nullptr;
  }

  [[gnu::noinline]] const char* head_other(value& v) {
    if (p_ == end_)
      return truncated;
    const unsigned char b = *p_++;
    if (b >= 0xe0)
      return integer(v, static_cast<std::int8_t>(b));
    std::uint64_t x = 0;
    switch (b) {
      case 0xc0: v.k = kind::nil; return nullptr;
      case 0xc2: case 0xc3: v.k = kind::boolean; v.b = b == 0xc3; return nullptr;
      case 0xc4: return big_endian(1, x) ? bytes(v, kind::bin, x) : truncated;
      case 0xc5: return big_endian(2, x) ? bytes(v, kind::bin, x) : truncated;
      case 0xc6: return big_endian(4, x) ? bytes(v, kind::bin, x) : truncated;
      case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        return "ext size overflow"; // no ext values at all (§3)
      case 0xca: {
        if (!big_endian(4, x))
          return truncated;
        auto bits = static_cast<std::uint32_t>(x);
        float f;
        std::memcpy(&f, &bits, sizeof f);
        v.k = kind::real;
        v.f = f;
        return nullptr;
      }
      case 0xcb:
        if (!big_endian(8, x))
          return truncated;
        v.k = kind::real;
        std::memcpy(&v.f, &x, sizeof v.f);
        return nullptr;
      case 0xcc: return big_endian(1, x) ? integer(v, static_cast<std::int64_t>(x)) : truncated;
      case 0xcd: return big_endian(2, x) ? integer(v, static_cast<std::int64_t>(x)) : truncated;
      case 0xce: return big_endian(4, x) ? integer(v, static_cast<std::int64_t>(x)) : truncated;
      case 0xcf:
        if (!big_endian(8, x))
          return truncated;
        v.k = kind::uint;
        v.u = x;
        return nullptr;
      case 0xd0: return big_endian(1, x) ? integer(v, static_cast<std::int8_t>(x)) : truncated;
      case 0xd1: return big_endian(2, x) ? integer(v, static_cast<std::int16_t>(x)) : truncated;
      case 0xd2: return big_endian(4, x) ? integer(v, static_cast<std::int32_t>(x)) : truncated;
      case 0xd3: return big_endian(8, x) ? integer(v, static_cast<std::int64_t>(x)) : truncated;
      case 0xd9: return big_endian(1, x) ? bytes(v, kind::str, x) : truncated;
      case 0xda: return big_endian(2, x) ? bytes(v, kind::str, x) : truncated;
      case 0xdb: return big_endian(4, x) ? bytes(v, kind::str, x) : truncated;
      case 0xdc: return big_endian(2, x) ? container(v, kind::array, x) : truncated;
      case 0xdd: return big_endian(4, x) ? container(v, kind::array, x) : truncated;
      case 0xde: return big_endian(2, x) ? container(v, kind::map, x) : truncated;
      case 0xdf: return big_endian(4, x) ? container(v, kind::map, x) : truncated;
      default: return "parse error"; // 0xc1, never used
    }
  }

  static constexpr const char* truncated = "insufficient bytes";

  bool big_endian(std::size_t n, std::uint64_t& out) {
    if (static_cast<std::size_t>(end_ - p_) < n)
      return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i)
      out = (out << 8) | p_[i];
    p_ += n;
    return true;
  }
  static const char* integer(value& v, std::int64_t x) {
    if (x >= 0) {
      v.k = kind::uint;
      v.u = static_cast<std::uint64_t>(x);
    } else {
      v.k = kind::sint;
      v.i = x;
    }
    return nullptr;
  }
  const char* bytes(value& v, kind k, std::uint64_t size) {
    if (static_cast<std::uint64_t>(end_ - p_) < size)
      return truncated;
    if (k == kind::bin && size > 0)
      return "bin size overflow";
    v.k = k;
    v.n = static_cast<std::uint32_t>(size);
    v.at = reinterpret_cast<const char*>(p_);
    p_ += size;
    return nullptr;
  }
  const char* container(value& v, kind k, std::uint64_t size) {
    v.k = k;
    v.n = static_cast<std::uint32_t>(size);
    v.at = reinterpret_cast<const char*>(p_);
    return nullptr;
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

/// The pairs of one map of a frame, in wire order: each key (if a string) and its value's
/// header. Filled in by read_map; the array is not initialized before.
struct map_view {
  struct pair {
    const char* key;
    std::uint32_t key_size;
    std::uint32_t key_tag; ///< tag_of(key); 0 for a key that is not a string
    bool key_is_str;
    value v;
  };
  pair pairs[reader::max_map_pairs];
  std::uint32_t size;
  const char* end; ///< the frame's end
};

/// Reads map `m` (just read with r.head(m), at `depth`) into `out`, checking each key and value
/// within the parser's limits, and moves r past it.
const char* read_map(reader& r, const value& m, std::uint32_t depth, map_view& out) {
  if (auto why = reader::map_limits(m, depth))
    return why;
  out.size = m.n;
  out.end = r.end();
  for (std::uint32_t i = 0; i < m.n; ++i) {
    auto& pair = out.pairs[i];
    value k{};
    if (auto why = r.head(k))
      return why;
    pair.key_is_str = k.k == kind::str;
    pair.key_tag = 0;
    if (pair.key_is_str) {
      pair.key = k.at;
      pair.key_size = k.n;
      pair.key_tag = tag_of(k.text());
    } else if (auto why = r.skip_children(k, depth + 1)) {
      return why;
    }
    if (auto why = r.head(pair.v))
      return why;
    if (auto why = r.skip_children(pair.v, depth + 1))
      return why;
  }
  return nullptr;
}

// ---- decoding -------------------------------------------------------------------------------

/// Reads the fields of one map. The first error wins; later calls do nothing.
class decoder {
public:
  /// The frame's map.
  decoder(const map_view& map, wire::error& err) : map_(map), err_(err) {}
  /// Element `index` of list `key` of `parent`: error paths start "key[index].".
  decoder(const map_view& map, wire::error& err, const decoder& parent, std::string_view key, std::uint32_t index)
    : map_(map), err_(err), parent_(&parent), key_(key), index_(index), depth_(parent.depth_ + 2) {}

  bool failed() const { return !err_.message.empty(); }

  template <class T> void u64(std::string_view k, T& x, std::uint64_t min = 0, std::uint64_t max = UINT64_MAX, presence p = presence::required) {
    auto* found = find(k, p);
    if (!found)
      return;
    const value& v = *found;
    if (v.k != kind::uint)
      return fail(k, v.k == kind::sint ? "must not be negative" : std::string("must be an unsigned integer, not ") + kind_name(v.k));
    max = std::min<std::uint64_t>(max, std::numeric_limits<T>::max());
    if (v.u < min || v.u > max)
      return fail(k, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + std::to_string(v.u));
    x = static_cast<T>(v.u);
  }

  template <class T> void i64(std::string_view k, T& x, std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX, presence p = presence::required) {
    auto* found = find(k, p);
    if (!found)
      return;
    const value& v = *found;
    std::int64_t n = 0;
    if (auto why = int_error(v, n))
      return fail(k, why);
    if (n < min || n > max)
      return fail(k, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + std::to_string(n));
    x = static_cast<T>(n);
  }

  void f64(std::string_view k, double& x, double min, double max, presence p = presence::required) {
    auto* found = find(k, p);
    if (!found)
      return;
    const value& v = *found;
    double d = 0;
    switch (v.k) {
      case kind::real: d = v.f; break;
      case kind::uint: d = static_cast<double>(v.u); break;
      case kind::sint: d = static_cast<double>(v.i); break;
      default: return fail(k, std::string("must be a number, not ") + kind_name(v.k));
    }
    if (!std::isfinite(d) || d < min || d > max)
      return fail(k, "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    x = d;
  }

  void flag(std::string_view k, bool& x, presence p = presence::required) {
    auto* found = find(k, p);
    if (!found)
      return;
    const value& v = *found;
    if (v.k != kind::boolean)
      return fail(k, std::string("must be a boolean, not ") + kind_name(v.k));
    x = v.b;
  }

  /// Into a std::string, or a view of the frame's bytes (the message type: no copy).
  template <class Text> void text(std::string_view k, Text& x, text_kind kind, presence p = presence::required) {
    auto* found = find(k, p);
    if (!found)
      return;
    const value& v = *found;
    if (auto why = text_error(v, kind); !why.empty())
      return fail(k, std::move(why));
    x = v.text();
  }

  void code(std::string_view k, error_code& x) {
    auto* found = find(k, presence::required);
    if (!found)
      return;
    const value& v = *found;
    if (v.k != kind::str)
      return fail(k, std::string("must be a string, not ") + kind_name(v.k));
    if (!from_string(v.text(), x))
      return fail(k, "unknown error code (see docs/protocol.md §5)");
  }

  void items(std::string_view k, item_list& x, std::int64_t min, std::int64_t max, std::size_t entries) {
    auto* found = find(k, presence::required);
    if (!found)
      return;
    const value& a = *found;
    if (a.k != kind::array)
      return fail(k, std::string("must be an array, not ") + kind_name(a.k));
    if (a.n > entries)
      return fail(k, "more than " + std::to_string(entries) + " entries");
    item_list out;
    out.reserve(a.n);
    // Short lists (an export or request names a few items) are checked for duplicates pairwise:
    // a hash set would cost more in allocations than it saves in comparisons.
    constexpr std::uint32_t pairwise_up_to = 16;
    std::unordered_set<std::string_view> seen; // views into the frame, which outlives the decoder
    if (a.n > pairwise_up_to)
      seen.reserve(a.n);
    // Every gateway message passes here: the field's path is spelled only for an error.
    auto path = [k](std::uint32_t i, const char* leaf) { return std::string(k) + "[" + std::to_string(i) + "]" + leaf; };
    reader r(a.at, map_.end);
    for (std::uint32_t i = 0; i < a.n; ++i) {
      value e{}, name{}, count{};
      (void)r.head(e); // checked whole before: cannot fail
      if (e.k != kind::array || e.n != 2)
        return fail(path(i, ""), "must be a [name, count] pair");
      (void)r.head(name);
      if (auto why = text_error(name, text_kind::name); !why.empty())
        return fail(path(i, ".name"), std::move(why));
      (void)r.head(count);
      item_count ic;
      if (auto why = int_error(count, ic.count))
        return fail(path(i, ".count"), why);
      if (ic.count < min || ic.count > max)
        return fail(path(i, ".count"), "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + std::to_string(ic.count));
      bool repeated = false;
      if (a.n > pairwise_up_to)
        repeated = !seen.insert(name.text()).second;
      else
        for (const auto& before : out)
          repeated = repeated || before.name == name.text();
      if (repeated)
        return fail(path(i, ".name"), "duplicate name in list");
      ic.name.assign(name.at, name.n);
      out.push_back(std::move(ic));
    }
    x = std::move(out);
  }

  void ids(std::string_view k, std::vector<std::uint64_t>& x, std::size_t entries) {
    auto* found = find(k, presence::required);
    if (!found)
      return;
    const value& a = *found;
    if (a.k != kind::array)
      return fail(k, std::string("must be an array, not ") + kind_name(a.k));
    if (a.n > entries)
      return fail(k, "more than " + std::to_string(entries) + " entries");
    std::vector<std::uint64_t> out;
    out.reserve(a.n);
    reader r(a.at, map_.end);
    for (std::uint32_t i = 0; i < a.n; ++i) {
      value e{};
      (void)r.head(e); // checked whole before: cannot fail
      if (e.k != kind::uint || e.u == 0)
        return fail(std::string(k) + "[" + std::to_string(i) + "]", "must be a positive integer id");
      out.push_back(e.u);
    }
    x = std::move(out);
  }

  template <class T> void list(std::string_view k, std::vector<T>& x, std::size_t entries) {
    auto* found = find(k, presence::required);
    if (!found)
      return;
    const value& a = *found;
    if (a.k != kind::array)
      return fail(k, std::string("must be an array, not ") + kind_name(a.k));
    if (a.n > entries)
      return fail(k, "more than " + std::to_string(entries) + " entries");
    std::vector<T> out(a.n);
    reader r(a.at, map_.end);
    for (std::uint32_t i = 0; i < a.n; ++i) {
      value e{};
      (void)r.head(e); // checked whole before: cannot fail
      if (e.k != kind::map)
        return fail_path(prefix() + std::string(k) + "[" + std::to_string(i) + "]", "must be a map");
      map_view m;
      (void)read_map(r, e, depth_ + 2, m); // this map, the list, the element; checked whole before
      decoder sub(m, err_, *this, k, i);
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

  /// The value of string key `k`, or nullptr. Fields are usually in the order describe() lists
  /// them, so the search starts after the last one found.
  const value* lookup(std::string_view k) {
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

  void fail_path(std::string path, std::string why) {
    if (failed())
      return;
    err_.code = error_code::invalid;
    err_.field = std::move(path);
    err_.message = std::move(why);
  }

private:
  /// "" for the frame's map; "list[i]." for an element of a list (spelled only for errors).
  std::string prefix() const {
    if (!parent_)
      return {};
    return parent_->prefix() + std::string(key_) + "[" + std::to_string(index_) + "].";
  }

  static std::string_view key(const map_view::pair& p) { return {p.key, p.key_size}; }

  const value* found(std::uint32_t i) {
    next_ = i + 1;
    return &map_.pairs[i].v;
  }

  const value* find(std::string_view k, presence p) {
    if (failed())
      return nullptr;
    auto* found = lookup(k);
    if (!found && p == presence::required)
      fail(k, "missing field");
    return found;
  }

  /// Reads an integer; nullptr, or why it is not one.
  static const char* int_error(const value& v, std::int64_t& out) {
    if (v.k == kind::uint) {
      if (v.u > static_cast<std::uint64_t>(INT64_MAX))
        return "integer too large";
      out = static_cast<std::int64_t>(v.u);
      return nullptr;
    }
    if (v.k == kind::sint) {
      out = v.i;
      return nullptr;
    }
    switch (v.k) { // spelled out so that the reason stays a literal
      case kind::nil: return "must be an integer, not nil";
      case kind::boolean: return "must be an integer, not boolean";
      case kind::real: return "must be an integer, not float";
      case kind::str: return "must be an integer, not string";
      case kind::bin: return "must be an integer, not binary";
      case kind::array: return "must be an integer, not array";
      default: return "must be an integer, not map";
    }
  }

  /// Empty, or why v is not a text of the given kind.
  static std::string text_error(const value& v, text_kind kind) {
    if (v.k != kind::str)
      return std::string("must be a string, not ") + kind_name(v.k);
    auto s = v.text();
    return (kind == text_kind::name ? check_name(s) : kind == text_kind::label ? check_label(s) : check_text(s)).why();
  }

  const map_view& map_;
  wire::error& err_;
  const decoder* parent_ = nullptr;
  std::string_view key_;
  std::uint32_t index_ = 0;
  std::uint32_t depth_ = 1; ///< of this map: the frame's is 1
  std::uint32_t next_ = 0;
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

template <class T> bool decode_as(decoder& d, message& out) {
  describe(d, out.emplace<T>());
  return !d.failed();
}

struct decode_entry {
  std::uint32_t tag; ///< tag_of(type)
  std::string_view type;
  bool (*fn)(decoder&, message&);
};

template <std::size_t... I> constexpr auto make_decode_table(std::index_sequence<I...>) {
  return std::array<decode_entry, sizeof...(I)>{{{tag_of(std::variant_alternative_t<I, message>::type), std::variant_alternative_t<I, message>::type,
                                                  &decode_as<std::variant_alternative_t<I, message>>}...}};
}
constexpr auto decode_table = make_decode_table(std::make_index_sequence<std::variant_size_v<message>>{});

} // namespace

result<void> check_name(std::string_view s) {
  if (s.empty())
    return failure("name is empty");
  if (s.size() > max_name_bytes)
    return failure("name longer than " + std::to_string(max_name_bytes) + " bytes");
  bool ascii = true;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f)
      return failure("name contains a control character");
    ascii = ascii && c < 0x80;
  }
  if (ascii) // most names: nothing more to check
    return done();
  if (!valid_utf8(s))
    return failure("name is not valid UTF-8");
  // The C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F): U+009B, for one, starts a terminal
  // escape sequence, and names end up in logs and on operators' terminals.
  for (std::size_t i = 0; i + 1 < s.size(); ++i)
    if (static_cast<unsigned char>(s[i]) == 0xc2 && static_cast<unsigned char>(s[i + 1]) <= 0x9f)
      return failure("name contains a control character");
  return done();
}

result<void> check_label(std::string_view s) {
  if (s.empty())
    return failure("name is empty");
  if (s.size() > max_label_bytes)
    return failure("name longer than " + std::to_string(max_label_bytes) + " bytes");
  if (s[0] == '.')
    return failure("name starts with '.'");
  // Explicit ASCII ranges: std::isalnum depends on the C locale and accepts bytes >= 0x80 in
  // single-byte locales.
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
      return failure("name may contain only letters, digits, '_', '-' and '.'");
  return done();
}

result<void> check_text(std::string_view s) {
  if (s.size() > max_text_bytes)
    return failure("text longer than " + std::to_string(max_text_bytes) + " bytes");
  if (s.find('\0') != std::string_view::npos)
    return failure("text contains NUL");
  if (!valid_utf8(s))
    return failure("text is not valid UTF-8");
  return done();
}

std::string_view type_of(const message& m) {
  return std::visit([](const auto& x) -> std::string_view { return std::decay_t<decltype(x)>::type; }, m);
}

std::string encode(const frame& f) {
  // A huge frame (a full inventory) does not keep its buffer for the rest of the thread's life.
  constexpr std::size_t keep_bytes = 64 * 1024;
  thread_local std::string scratch(256, '\0');
  writer w(scratch);
  std::visit(
    [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      auto& body = const_cast<T&>(x);
      field_counter c;
      describe(c, body);
      w.map(c.n + 3);
      w.str("v");
      w.uint(protocol_version);
      w.str("t");
      w.str(T::type);
      w.str("id");
      w.uint(f.id);
      encoder enc(w);
      describe(enc, body);
    },
    f.body);
  std::string out = w.take();
  if (scratch.size() > keep_bytes)
    scratch = std::string(256, '\0');
  return out;
}

namespace {

/// `out` failed: no message, only the error (an id already read stays, to reply to).
decoded& failed(decoded& out, error_code code, std::string field, std::string why) {
  out.ok = false;
  out.value = frame{};
  out.err = wire::error{code, std::move(field), std::move(why)};
  return out;
}

decoded frame_error(std::string why) {
  decoded out;
  failed(out, error_code::invalid, "(frame)", std::move(why));
  return out;
}

/// The message held by `map`, a map of a frame that was checked whole.
decoded decode_message(const map_view& map) {
  decoded out;
  wire::error err;
  decoder d(map, err);
  auto fail = [&](error_code code, std::string field, std::string why) { return std::move(failed(out, code, std::move(field), std::move(why))); };
  // Read the request id first, so that every later error (a duplicate or non-string key too)
  // can be replied to it.
  if (auto* id = d.lookup("id"); id && id->k == kind::uint)
    out.id = id->u;
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
  std::string_view type;
  d.text("t", type, text_kind::label);
  if (d.failed())
    return fail(err.code, err.field, err.message);
  auto tag = tag_of(type);
  for (auto& entry : decode_table) {
    if (!same(entry.tag, entry.type, tag, type))
      continue;
    if (!entry.fn(d, out.value.body))
      return fail(err.code, err.field, err.message);
    out.value.id = id;
    out.ok = true;
    return out;
  }
  return fail(error_code::unsupported, "t", "unknown message type '" + std::string(type) + "'");
}

} // namespace

namespace {

/// Checks a frame as a whole: its size, one msgpack value within the parser's limits, nothing
/// after it (`root_noun` names the value in that error). Reads the root's header into `root`
/// and, for a map, its pairs into `map`. Empty, or why the frame is refused.
std::string check_whole(std::string_view bytes, const char* root_noun, value& root, map_view& map) {
  if (bytes.size() > max_frame_bytes)
    return "frame larger than " + std::to_string(max_frame_bytes) + " bytes";
  const char* end = bytes.data() + bytes.size();
  // One pass reads a map's pairs and checks the whole frame; only then are keys and fields
  // looked at.
  reader r(bytes.data(), end);
  const char* why = r.head(root);
  if (!why)
    why = root.k == kind::map ? read_map(r, root, 1, map) : r.skip_children(root, 1);
  if (why)
    return std::string("not a valid msgpack value: ") + why;
  if (r.pos() != end)
    return std::string("trailing bytes after the msgpack ") + root_noun;
  return {};
}

} // namespace

decoded decode(std::string_view bytes) {
  value root{};
  map_view map;
  if (auto why = check_whole(bytes, "map", root, map); !why.empty())
    return frame_error(std::move(why));
  if (root.k != kind::map)
    return frame_error("a frame must be a msgpack map");
  return decode_message(map);
}

bool decode_frame(std::string_view bytes, std::vector<decoded>& out) {
  out.clear();
  // A batch is an array (fixarray 0x90..0x9f, array16 0xdc, array32 0xdd); anything else is
  // one message, or not a frame at all, as decode() tells.
  auto first = bytes.empty() ? 0 : static_cast<unsigned char>(bytes[0]);
  if (!((first & 0xf0) == 0x90 || first == 0xdc || first == 0xdd)) {
    out.push_back(decode(bytes));
    return false;
  }
  value root{};
  map_view unused; // the root is an array
  if (auto why = check_whole(bytes, "array", root, unused); !why.empty()) {
    out.push_back(frame_error(std::move(why)));
    return true;
  }
  if (root.n == 0 || root.n > max_batch_messages) {
    out.push_back(frame_error("a batch holds 1 to " + std::to_string(max_batch_messages) + " messages, not " + std::to_string(root.n)));
    return true;
  }
  out.reserve(root.n);
  reader messages(root.at, bytes.data() + bytes.size());
  for (std::uint32_t i = 0; i < root.n; ++i) {
    value m{};
    (void)messages.head(m); // checked whole above: cannot fail
    if (m.k != kind::map) {
      (void)messages.skip_children(m, 2);
      out.push_back(frame_error("message " + std::to_string(i) + " of the batch is not a msgpack map"));
      continue;
    }
    map_view map;
    (void)read_map(messages, m, 2, map); // the batch's array is level 1, its maps level 2
    out.push_back(decode_message(map));
  }
  return true;
}

std::string batch_of(const std::vector<std::string_view>& messages) {
  std::string header(5, '\0'); // an array's header takes 5 bytes at most
  writer w(header);
  w.array(static_cast<std::uint32_t>(messages.size()));
  std::string out = w.take();
  std::size_t size = out.size();
  for (auto m : messages)
    size += m.size();
  out.reserve(size);
  for (auto m : messages)
    out.append(m);
  return out;
}

error_reply make_error(const wire::error& e) {
  return error_reply{e.code, e.field, e.message};
}

error_reply make_error(error_code code, std::string message, std::string field) {
  return error_reply{code, std::move(field), std::move(message)};
}

} // namespace clusterio::wire
