// Fuzzes the slave's config reader (slave/config.cpp): slave.json's text, then, for a
// config that validates, what the slave derives from it (endpoints, paths). Input after a NUL
// byte is a `config set` key=value pair applied to the result.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "slave/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string all(reinterpret_cast<const char*>(data), size);
  auto nul = all.find('\0');
  std::string text = all.substr(0, nul);
  clusterio::slave_config cfg;
  cfg.path = "/srv/clusterio/slave.json";
  if (!clusterio::parse_slave_config(text, cfg.path, cfg))
    return 0;
  if (!clusterio::validate_slave_config(cfg))
    return 0;
  (void)cfg.control_endpoint();
  (void)cfg.bus_endpoint();
  (void)cfg.resolve(cfg.instances_dir);
  (void)clusterio::slave_config_keys().to_json(cfg).dump();
  if (nul != std::string::npos) {
    auto set = all.substr(nul + 1);
    auto eq = set.find('=');
    if (eq != std::string::npos && clusterio::set_slave_config_key(cfg, set.substr(0, eq), set.substr(eq + 1))) {
      if (!clusterio::validate_slave_config(cfg))
        std::abort();
      (void)cfg.bus_endpoint();
    }
  }
  return 0;
}
