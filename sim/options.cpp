#include "sim/options.hpp"

#include "sim/log.hpp"

#include <functional>
#include <map>
#include <stdexcept>

namespace clusterio::sim {

namespace {

std::optional<std::string> to_u64(const std::string& flag, const std::string& v, uint64_t max,
                                  uint64_t& out) {
  try {
    size_t used = 0;
    unsigned long long n = std::stoull(v, &used);
    if (used != v.size() || n > max)
      throw std::out_of_range(v);
    out = n;
    return std::nullopt;
  } catch (const std::exception&) {
    return flag + ": '" + v + "' is not a number in 0.." + std::to_string(max);
  }
}

} // namespace

std::optional<std::string> parse_options(int argc, char** argv, options& o) {
  using setter = std::function<std::optional<std::string>(const std::string&)>;
  auto str = [](std::string& dst) { return setter([&dst](const std::string& v) { dst = v; return std::optional<std::string>(); }); };
  auto port = [](const char* flag, uint16_t& dst) {
    return setter([flag, &dst](const std::string& v) -> std::optional<std::string> {
      uint64_t n;
      if (auto err = to_u64(flag, v, 65535, n))
        return err;
      dst = static_cast<uint16_t>(n);
      return std::nullopt;
    });
  };
  auto u64 = [](const char* flag, uint64_t& dst) {
    return setter([flag, &dst](const std::string& v) { return to_u64(flag, v, UINT64_MAX, dst); });
  };
  std::string ignored;
  std::map<std::string, setter> with_value{
      {"-c", str(o.config)}, {"--config", str(o.config)}, {"--create", str(o.create)},
      {"--start-server", str(o.start_server)}, {"--port", port("--port", o.port)},
      {"--rcon-port", port("--rcon-port", o.rcon_port)},
      {"--rcon-bind", [&o, port](const std::string& v) -> std::optional<std::string> {
         auto colon = v.rfind(':');
         if (colon == std::string::npos || colon == 0)
           return "--rcon-bind: '" + v + "' is not ADDRESS:PORT";
         o.rcon_address = v.substr(0, colon);
         return port("--rcon-bind", o.rcon_port)(v.substr(colon + 1));
       }},
      {"--rcon-password", str(o.rcon_password)}, {"--server-settings", str(o.server_settings)},
      {"--mod-directory", str(o.mod_directory)}, {"--scenario", str(o.scenario)},
      {"--dump-api", str(o.dump_api)},
      {"--map-gen-settings", str(o.map_gen_settings)}, {"--map-settings", str(o.map_settings)},
      {"--map-gen-seed", [&o](const std::string& v) { return to_u64("--map-gen-seed", v, UINT32_MAX, o.map_gen_seed); }},
      {"--stop-after-ticks", u64("--stop-after-ticks", o.stop_after_ticks)},
      {"--autosave-interval-ticks", u64("--autosave-interval-ticks", o.autosave_ticks)},
      {"--ups", [&o](const std::string& v) -> std::optional<std::string> {
         try {
           o.ups = std::stod(v);
           if (o.ups < 0)
             throw std::out_of_range(v);
           return std::nullopt;
         } catch (const std::exception&) {
           return "--ups: '" + v + "' is not a number >= 0";
         }
       }},
      // Real flags the sim accepts and does not need.
      {"--bind", str(ignored)},
      {"--console-log", str(ignored)},
      {"--server-adminlist", str(ignored)}, {"--server-banlist", str(ignored)},
      {"--server-whitelist", str(ignored)}, {"--server-id", str(ignored)},
      {"--executable-path", str(ignored)}};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    o.args.push_back(a);
    std::string value;
    bool has_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    if (a == "--start-server-load-latest") {
      o.start_latest = true;
    } else if (a == "-v" || a == "--verbose" || a == "--use-server-whitelist"
               || a == "--use-authserver-bans") {
      // accepted, no effect in the sim
    } else if (auto it = with_value.find(a); it != with_value.end()) {
      if (!has_value) {
        if (i + 1 >= argc)
          return a + " needs a value";
        value = argv[++i];
        o.args.push_back(a == "--rcon-password" ? "<private>" : value);
      }
      if (auto err = it->second(value))
        return err;
    } else {
      log_at("Warning", "CommandLine.cpp:0", "factorio-sim ignores unknown argument: " + a);
    }
  }
  if (o.create.empty() && o.start_server.empty() && !o.start_latest && o.dump_api.empty())
    return std::string("nothing to do: give --create, --start-server or --start-server-load-latest");
  return std::nullopt;
}

} // namespace clusterio::sim
