#include "messages/msgpack_reader.hpp"

namespace clusterio::wire {

const char* kind_name(msgpack_kind k) {
  switch (k) {
    case msgpack_kind::nil: return "nil";
    case msgpack_kind::boolean: return "boolean";
    case msgpack_kind::uint:
    case msgpack_kind::sint: return "integer";
    case msgpack_kind::real: return "float";
    case msgpack_kind::str: return "string";
    case msgpack_kind::bin: return "binary";
    case msgpack_kind::array: return "array";
    case msgpack_kind::map: return "map";
  }
  return "unknown";
}

const char* msgpack_reader::skip_container(const msgpack_value& v, std::uint32_t depth) {
  if (v.k == msgpack_kind::array) {
    if (v.n > max_long_list_entries)
      return "array size overflow";
    if (depth > max_depth)
      return "depth size overflow";
    if (v.n > static_cast<std::size_t>(end_ - p_))
      return truncated; // each element takes a byte at least
    for (std::uint32_t i = 0; i < v.n; ++i)
      if (auto why = skip(depth + 1))
        return why;
  } else if (v.k == msgpack_kind::map) {
    if (auto why = map_limits(v, depth))
      return why;
    for (std::uint32_t i = 0; i < 2 * v.n; ++i)
      if (auto why = skip(depth + 1))
        return why;
  }
  return nullptr;
}

bool msgpack_reader::big_endian(std::size_t n, std::uint64_t& out) {
  if (static_cast<std::size_t>(end_ - p_) < n)
    return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i)
    out = (out << 8) | p_[i];
  p_ += n;
  return true;
}

const char* msgpack_reader::head_other(msgpack_value& v) {
  if (p_ == end_)
    return truncated;
  const unsigned char b = *p_++;
  if (b >= 0xe0)
    return integer(v, static_cast<std::int8_t>(b));
  std::uint64_t x = 0;
  switch (b) {
    case 0xc0: v.k = msgpack_kind::nil; return nullptr;
    case 0xc2: case 0xc3: v.k = msgpack_kind::boolean; v.b = b == 0xc3; return nullptr;
    case 0xc4: return big_endian(1, x) ? bytes(v, msgpack_kind::bin, x) : truncated;
    case 0xc5: return big_endian(2, x) ? bytes(v, msgpack_kind::bin, x) : truncated;
    case 0xc6: return big_endian(4, x) ? bytes(v, msgpack_kind::bin, x) : truncated;
    case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
      return "ext size overflow"; // no ext values at all (docs/protocol.md §3)
    case 0xca: {
      if (!big_endian(4, x))
        return truncated;
      auto bits = static_cast<std::uint32_t>(x);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      v.k = msgpack_kind::real;
      v.f = f;
      return nullptr;
    }
    case 0xcb:
      if (!big_endian(8, x))
        return truncated;
      v.k = msgpack_kind::real;
      std::memcpy(&v.f, &x, sizeof v.f);
      return nullptr;
    case 0xcc: return big_endian(1, x) ? integer(v, static_cast<std::int64_t>(x)) : truncated;
    case 0xcd: return big_endian(2, x) ? integer(v, static_cast<std::int64_t>(x)) : truncated;
    case 0xce: return big_endian(4, x) ? integer(v, static_cast<std::int64_t>(x)) : truncated;
    case 0xcf:
      if (!big_endian(8, x))
        return truncated;
      v.k = msgpack_kind::uint;
      v.u = x;
      return nullptr;
    case 0xd0: return big_endian(1, x) ? integer(v, static_cast<std::int8_t>(x)) : truncated;
    case 0xd1: return big_endian(2, x) ? integer(v, static_cast<std::int16_t>(x)) : truncated;
    case 0xd2: return big_endian(4, x) ? integer(v, static_cast<std::int32_t>(x)) : truncated;
    case 0xd3: return big_endian(8, x) ? integer(v, static_cast<std::int64_t>(x)) : truncated;
    case 0xd9: return big_endian(1, x) ? bytes(v, msgpack_kind::str, x) : truncated;
    case 0xda: return big_endian(2, x) ? bytes(v, msgpack_kind::str, x) : truncated;
    case 0xdb: return big_endian(4, x) ? bytes(v, msgpack_kind::str, x) : truncated;
    case 0xdc: return big_endian(2, x) ? container(v, msgpack_kind::array, x) : truncated;
    case 0xdd: return big_endian(4, x) ? container(v, msgpack_kind::array, x) : truncated;
    case 0xde: return big_endian(2, x) ? container(v, msgpack_kind::map, x) : truncated;
    case 0xdf: return big_endian(4, x) ? container(v, msgpack_kind::map, x) : truncated;
    default: return "parse error"; // 0xc1, never used
  }
}

const char* read_map(msgpack_reader& r, const msgpack_value& m, std::uint32_t depth, msgpack_map& out) {
  if (auto why = msgpack_reader::map_limits(m, depth))
    return why;
  out.size = m.n;
  out.end = r.end();
  for (std::uint32_t i = 0; i < m.n; ++i) {
    auto& pair = out.pairs[i];
    msgpack_value k{};
    if (auto why = r.head(k))
      return why;
    pair.key_is_str = k.k == msgpack_kind::str;
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

} // namespace clusterio::wire
