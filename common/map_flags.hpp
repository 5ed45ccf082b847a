#pragma once
// Command-line flags for a new map's Factorio settings, as `clusterio-slave create` and
// `clusterio-ctl instance create` take them: the files' text is read as the flags are parsed (an
// unreadable file is a usage error, as CLI11 reports them). Only the programs' command lines
// include this.

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

#include "common/files.hpp"

namespace clusterio {

/// Adds `--map-gen-settings FILE`, `--map-settings FILE` (JSON objects, read into `gen` and
/// `settings`) and `--map-gen-seed N` (1..2^32-1) to `cmd`.
inline void add_map_flags(CLI::App& cmd, std::string& gen, std::string& settings, std::uint64_t& seed) {
  auto file_into = [](std::string& into) {
    return [&into](const std::string& file) {
      auto text = read_file(file);
      if (!text)
        throw CLI::ValidationError(text.why());
      into = std::move(*text);
    };
  };
  cmd.add_option_function<std::string>("--map-gen-settings", file_into(gen), "Factorio's map-gen-settings.json for the new map (a JSON object)")
    ->check(CLI::ExistingFile);
  cmd.add_option_function<std::string>("--map-settings", file_into(settings), "Factorio's map-settings.json for the new map (a JSON object)")
    ->check(CLI::ExistingFile);
  cmd.add_option("--map-gen-seed", seed, "The new map's seed (overrides the map gen settings' seed)")
    ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{UINT32_MAX}));
}

} // namespace clusterio
