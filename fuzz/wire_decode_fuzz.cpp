// Fuzzes the master's and the slaves' frame decoder (messages/codec.cpp, on msgpack_reader.cpp)
// with arbitrary bytes, as one message (decode) and as a frame that may be a batch (decode_frame).
// Invariants: neither throws or crashes; a message either one accepts encodes to bytes that decode
// again to the same encoding (nothing is lost or invented by a round trip); a frame that is one
// message decodes the same both ways.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "messages/message.hpp"

namespace {

void check_round_trip(const clusterio::wire::decoded& d) {
  using namespace clusterio::wire;
  if (!d.ok)
    return;
  auto once = encode(d.value);
  auto again = decode(once);
  if (!again.ok || encode(again.value) != once || again.value.id != d.value.id)
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace clusterio::wire;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto d = decode(bytes);
  check_round_trip(d);
  std::vector<decoded> all;
  bool batch = decode_frame(bytes, all);
  if (all.empty() || (!batch && (all.size() != 1 || all[0].ok != d.ok || all[0].id != d.id)))
    std::abort();
  for (auto& m : all)
    check_round_trip(m);
  return 0;
}
