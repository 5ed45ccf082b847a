#pragma once

// Finding mods the way Factorio does: folders and zips in the mods directory, each with an
// info.json, filtered by mods/mod-list.json when present. Zips hold one top-level folder. Of
// several versions of one mod, the one mod-list.json pins is loaded, else the newest.

#include "sim/lua_host.hpp"

#include <optional>
#include <string>
#include <vector>

namespace clusterio::sim {

/// Appends the base mod (from read-data) and every enabled mod in `mod_dir`, sorted by name.
std::optional<std::string> find_mods(const std::string& read_data, const std::string& mod_dir,
                                     std::vector<mod_source>& out);

} // namespace clusterio::sim
