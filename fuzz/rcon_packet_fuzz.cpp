// Fuzzes the RCON packet decoder (rcon/packet.cpp), used on both sides: by the slave's RCON
// client reading the server, and by factorio-sim's RCON server reading clients. The first byte
// chooses how the rest is cut into reads (1..256 bytes), as a TCP stream would deliver it.
// Invariants: no crash; every decoded packet re-encodes to exactly the bytes it came from; after
// an error the decoder keeps answering error; it never holds more than one oversized packet.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rcon/packet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace clusterio::rcon;
  if (size == 0)
    return 0;
  std::size_t chunk = std::size_t{data[0]} + 1;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr std::size_t max_size = 4096;
  decoder dec(max_size);
  std::size_t consumed = 0;
  bool failed = false;
  for (std::size_t off = 0; off < rest.size() && !failed; off += chunk) {
    dec.feed(rest.substr(off, chunk));
    packet p;
    decoder::status st;
    while ((st = dec.next(p)) == decoder::status::ok) {
      auto bytes = encode(p);
      if (rest.substr(consumed, bytes.size()) != bytes)
        std::abort();
      consumed += bytes.size();
    }
    if (st == decoder::status::error) {
      failed = true;
      if (dec.error().empty() || dec.next(p) != decoder::status::error)
        std::abort();
    } else if (dec.buffered() > max_size + 4 + chunk) {
      std::abort();
    }
  }
  return 0;
}
