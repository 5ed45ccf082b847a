#include "messages/msgpack_writer.hpp"

#include <algorithm>

namespace clusterio::wire {

void msgpack_writer::real(double d) {
  if (d >= 0 && d < 18446744073709551616.0 && d == static_cast<double>(static_cast<std::uint64_t>(d)))
    return uint(static_cast<std::uint64_t>(d));
  if (d < 0 && d >= -9223372036854775808.0 && d == static_cast<double>(static_cast<std::int64_t>(d)))
    return sint(static_cast<std::int64_t>(d));
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  tagged(0xcb, bits, 8);
}

void msgpack_writer::grow(std::size_t n) {
  buf_.resize(std::max(buf_.size() * 2, used_ + n));
}

} // namespace clusterio::wire
