#pragma once
// Reads msgpack values straight from their bytes, without building a tree of them: the wire
// codec's frames (codec.cpp) and the commit log's records (store/commit_record.cpp). The reader
// knows nothing of messages.
//
//   msgpack_reader r(bytes.data(), bytes.data() + bytes.size());
//   msgpack_value v;
//   if (auto why = r.head(v)) ...           // why: a literal saying what is wrong
//   if (v.k == msgpack_kind::array) ...     // v.n entries follow, each read with head() again
//
// head() reads one value's header and checks only that its bytes are there. skip() and
// read_map() also apply the parser limits of docs/protocol.md §3 (map pairs, nesting depth,
// array entries), which a frame must keep.
//
// Errors are static literals and success is a null pointer, not result<>: head() runs for every
// value of every frame, and these texts become the frame's error ("not a valid msgpack value:
// insufficient bytes", the texts msgpack-c gave before).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "messages/limits.hpp"

namespace clusterio::wire {

/// What a msgpack value is, as far as a decoder cares (an integer >= 0 is `uint` whatever its
/// encoding; float32 and float64 are both `real`).
enum class msgpack_kind : unsigned char { nil, boolean, uint, sint, real, str, bin, array, map };

/// The kind's name in errors: "integer", "string", ...
const char* kind_name(msgpack_kind k);

/// One value's header: its kind and scalar, or where its bytes or children start. Not
/// initialized by itself: a msgpack_map holds 64 that read_map fills in as far as the map goes.
struct msgpack_value {
  msgpack_kind k;
  std::uint32_t n; ///< str/bin: bytes; array: entries; map: pairs
  const char* at;  ///< str/bin: the bytes (in the buffer read); array/map: the first child
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

/// Two strings with their tags: equal?
inline bool same(std::uint32_t tag_a, std::string_view a, std::uint32_t tag_b, std::string_view b) {
  return tag_a == tag_b && a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

/// A cursor over msgpack bytes. It never reads past `end`.
class msgpack_reader {
public:
  msgpack_reader(const char* p, const char* end)
    : p_(reinterpret_cast<const unsigned char*>(p)), end_(reinterpret_cast<const unsigned char*>(end)) {}

  /// The parser limits of docs/protocol.md §3 (arrays: max_long_list_entries).
  static constexpr std::uint32_t max_map_pairs = 64, max_depth = 8;

  const char* pos() const { return reinterpret_cast<const char*>(p_); }
  const char* end() const { return reinterpret_cast<const char*>(end_); }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }

  /// Reads the header of the value at the cursor and moves past it: past a string's bytes, to
  /// an array's or map's first child. nullptr, or why the bytes are not a value.
  [[gnu::always_inline]] const char* head(msgpack_value& v) {
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
        return bytes(v, msgpack_kind::str, b & 0x1f);
      }
      if ((b & 0xe0) == 0x80) { // fixmap 0x80..0x8f, fixarray 0x90..0x9f
        ++p_;
        return container(v, b & 0x10 ? msgpack_kind::array : msgpack_kind::map, b & 0x0f);
      }
    }
    return head_other(v);
  }

  /// Reads a whole value at `depth` (a frame's map is at 1), checking the limits of its arrays
  /// and maps, and moves past it.
  const char* skip(std::uint32_t depth) {
    msgpack_value v{};
    if (auto why = head(v))
      return why;
    return skip_children(v, depth);
  }

  /// After head(v): checks v's limits and moves past its children, if it has any.
  [[gnu::always_inline]] const char* skip_children(const msgpack_value& v, std::uint32_t depth) {
    return v.k == msgpack_kind::array || v.k == msgpack_kind::map ? skip_container(v, depth) : nullptr;
  }

  /// The limits of a map at `depth` (read_map checks them too).
  static const char* map_limits(const msgpack_value& m, std::uint32_t depth) {
    if (m.n > max_map_pairs)
      return "map size overflow";
    if (depth > max_depth)
      return "depth size overflow";
    return nullptr;
  }

  static constexpr const char* truncated = "insufficient bytes";

private:
  const char* skip_container(const msgpack_value& v, std::uint32_t depth);
  /// head() for every other first byte (and for no byte at all).
  [[gnu::noinline]] const char* head_other(msgpack_value& v);
  /// Reads the next `n` bytes as a big-endian number; false if there are not that many.
  bool big_endian(std::size_t n, std::uint64_t& out);
  static const char* integer(msgpack_value& v, std::int64_t x) {
    if (x >= 0) {
      v.k = msgpack_kind::uint;
      v.u = static_cast<std::uint64_t>(x);
    } else {
      v.k = msgpack_kind::sint;
      v.i = x;
    }
    return nullptr;
  }
  const char* bytes(msgpack_value& v, msgpack_kind k, std::uint64_t size) {
    if (static_cast<std::uint64_t>(end_ - p_) < size)
      return truncated;
    if (k == msgpack_kind::bin && size > 0)
      return "bin size overflow";
    v.k = k;
    v.n = static_cast<std::uint32_t>(size);
    v.at = reinterpret_cast<const char*>(p_);
    p_ += size;
    return nullptr;
  }
  const char* container(msgpack_value& v, msgpack_kind k, std::uint64_t size) {
    v.k = k;
    v.n = static_cast<std::uint32_t>(size);
    v.at = reinterpret_cast<const char*>(p_);
    return nullptr;
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

/// The pairs of one map, in wire order: each key (if a string) and its value's header. Filled
/// in by read_map; the array is not initialized before.
struct msgpack_map {
  struct pair {
    const char* key;
    std::uint32_t key_size;
    std::uint32_t key_tag; ///< tag_of(key); 0 for a key that is not a string
    bool key_is_str;
    msgpack_value v;
  };
  pair pairs[msgpack_reader::max_map_pairs];
  std::uint32_t size;
  const char* end; ///< the end of the bytes read
};

/// Reads map `m` (just read with r.head(m), at `depth`) into `out`, checking each key and value
/// within the parser's limits, and moves r past it.
const char* read_map(msgpack_reader& r, const msgpack_value& m, std::uint32_t depth, msgpack_map& out);

} // namespace clusterio::wire
