#pragma once
// Command-line flags for a program's configuration keys (config_keys.hpp): one flag per key,
// named after it (`control_port` -> `--control-port`). A flag given on the command line wins
// over the config file. CLI11 is header-only; only the programs' command lines include this.

#include <vector>

#include <CLI/CLI.hpp>

#include "common/config_keys.hpp"

namespace clusterio {

template <class Config> class config_flags {
public:
  /// Adds a flag for every key to `cmd`. `keys` must outlive this object.
  config_flags(CLI::App& cmd, const config_keys<Config>& keys) : keys_(keys) {
    for (auto& k : keys.keys()) {
      auto names = k.flag() + (k.flag_alias ? std::string(",") + k.flag_alias : "");
      options_.push_back(std::visit(
        [&](auto member) -> CLI::Option* {
          if constexpr (std::is_same_v<decltype(member), bool Config::*>)
            return cmd.add_flag(names, given_.*member, k.meaning);
          else
            return cmd.add_option(names, given_.*member, k.meaning);
        },
        k.member));
    }
  }

  /// Copies the flags given on the command line into `c`.
  void apply(Config& c) const {
    for (std::size_t i = 0; i < options_.size(); ++i)
      if (options_[i]->count() > 0)
        std::visit([&](auto member) { c.*member = given_.*member; }, keys_.keys()[i].member);
  }

private:
  const config_keys<Config>& keys_;
  Config given_;
  std::vector<CLI::Option*> options_;
};

} // namespace clusterio
