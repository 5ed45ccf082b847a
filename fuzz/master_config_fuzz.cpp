// Fuzzes the master's config file reader (master/config.cpp) with arbitrary file text.
// Invariants: no crash or uncaught exception; a config it accepts passes validate().
#include <cstdint>
#include <cstdlib>
#include <string>

#include "master/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = clusterio::parse_master_config(text, "master.json");
  if (cfg && !cfg->validate())
    std::abort();
  return 0;
}
