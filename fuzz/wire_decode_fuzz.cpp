// Fuzzes the master's and the slaves' frame decoder (messages/codec.cpp) with arbitrary bytes.
// Invariants: decode never throws or crashes; a frame it accepts encodes to bytes that decode
// again to the same encoding (nothing is lost or invented by a round trip).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "messages/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace clusterio::wire;
  auto d = decode(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!d.ok)
    return 0;
  auto once = encode(d.value);
  auto again = decode(once);
  if (!again.ok || encode(again.value) != once || again.value.id != d.value.id)
    std::abort();
  return 0;
}
