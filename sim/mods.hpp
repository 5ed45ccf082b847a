#pragma once

// Finding mods the way Factorio does: base (and the shipped quality mod) from read-data, then
// folders and zips in the mods directory, each with an info.json, filtered by
// mods/mod-list.json when present. Zips hold one top-level folder. Of several versions of one
// mod, the one mod-list.json pins is loaded, else the newest. A mod whose factorio_version is
// not the game's, or whose dependencies are not met, refuses the whole start, as the headless
// server does; the rest load dependencies first, then by name.

#include "sim/lua_host.hpp"

#include <optional>
#include <string>
#include <vector>

namespace clusterio::sim {

/// Fills `out` with the mods to load, in load order, or returns why the game would refuse them.
std::optional<std::string> find_mods(const std::string& read_data, const std::string& mod_dir,
                                     const std::string& game_version, std::vector<mod_source>& out);

} // namespace clusterio::sim
