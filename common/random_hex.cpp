#include "common/random_hex.hpp"

#include <random>

namespace clusterio {

std::string random_hex(std::size_t bytes) {
  std::random_device rd; // getrandom(2) on Linux
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes; ++i) {
    auto b = rd() & 0xff;
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

} // namespace clusterio
