#pragma once
// Writes msgpack values into a buffer: the wire codec's frames (codec.cpp) and the commit log's
// records (store/commit_record.cpp). Every value takes its shortest form, as msgpack-c's packer
// writes it, whole-number doubles as integers (other implementations accept both:
// docs/protocol.md §3). The writer knows nothing of messages.
//
//   std::string buf;            // kept by the caller from use to use: no allocation once grown
//   msgpack_writer w(buf);
//   w.array(2); w.str("iron-plate"); w.sint(40);
//   send(w.view());

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace clusterio::wire {

/// Appends msgpack values to `buf`, whose size is the room written into (it grows, doubling,
/// when full); only the first size() bytes are the values. The small methods are inline: a
/// frame's encoding is a few dozen of them.
class msgpack_writer {
public:
  /// Writes from the start of `buf`, which it does not clear (its size is only room).
  explicit msgpack_writer(std::string& buf) : buf_(buf) {}

  /// The bytes written so far: valid until the next write.
  std::string_view view() const { return {buf_.data(), used_}; }
  std::size_t size() const { return used_; }
  /// A copy of the bytes written so far.
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

  /// Non-negative values as uint() writes them (as msgpack-c does).
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

  /// A whole number as an integer, anything else as a float64.
  void real(double d);

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

  /// The header of an array of `n` values (the caller writes them next).
  void array(std::uint32_t n) { container(0x90, 0xdc, n); }
  /// The header of a map of `n` pairs (the caller writes key, value, key, value, ...).
  void map(std::uint32_t n) { container(0x80, 0xde, n); }

private:
  char* room(std::size_t n) {
    if (used_ + n > buf_.size())
      grow(n);
    char* at = buf_.data() + used_;
    used_ += n;
    return at;
  }
  /// Makes room for `n` more bytes: the buffer at least doubles.
  void grow(std::size_t n);
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

} // namespace clusterio::wire
