#pragma once
// Mods written as folders for factorio-sim worlds in tests and benchmarks: into a sim's own
// mods/ (tests/sim/sim_process.hpp) or a slave's sharedMods/, which every instance it creates
// takes. Header-only, so the sim's tests need no other support library.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace clusterio::test {

/// A mod: its name, its info.json (name, version and factorio_version are filled in unless
/// given) and its files, by path inside the mod.
struct mod_folder {
  std::string name;
  nlohmann::json info = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> files;
};

/// Writes `mods_dir/<name>/`, replacing what was there.
inline void write_mod_folder(const std::string& mods_dir, mod_folder m) {
  namespace fs = std::filesystem;
  if (!m.info.contains("name"))
    m.info["name"] = m.name;
  if (!m.info.contains("version"))
    m.info["version"] = "1.0.0";
  if (!m.info.contains("factorio_version"))
    m.info["factorio_version"] = "2.0";
  fs::path root = fs::path(mods_dir) / m.name;
  fs::remove_all(root);
  fs::create_directories(root);
  std::ofstream(root / "info.json") << m.info.dump();
  for (auto& [file, text] : m.files) {
    fs::create_directories((root / file).parent_path());
    std::ofstream(root / file, std::ios::binary) << text;
  }
}

/// The bytes of the 64x64 icon of the factorio-sim in `sim_dir` (build/factorio-sim), for the
/// prototypes of test mods.
inline std::string sim_icon_png(const std::string& sim_dir) {
  std::ifstream f(sim_dir + "/data/base/graphics/icon.png", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

/// A mod with a spoiling item, `jelly` (the base game has none; Space Age's are like it).
inline mod_folder spoiling_mod(const std::string& icon_png) {
  return {"spoiling", nlohmann::json::object(),
          {{"data.lua", R"(data:extend({
      {type = "item", name = "jelly", stack_size = 50, spoil_ticks = 36000, spoil_result = "spoilage",
       icon = "__spoiling__/icon.png"},
      {type = "item", name = "spoilage", stack_size = 50, icon = "__spoiling__/icon.png"},
    }))"},
           {"icon.png", icon_png}}};
}

} // namespace clusterio::test
