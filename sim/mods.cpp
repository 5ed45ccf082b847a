#include "sim/mods.hpp"

#include "common/version.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace clusterio::sim {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::optional<std::string> read_dir_files(const fs::path& root, zip_entries& out) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    if (!it->is_regular_file())
      continue;
    std::ifstream f(it->path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    out[fs::relative(it->path(), root).generic_string()] = ss.str();
  }
  if (ec)
    return root.string() + ": " + ec.message();
  return std::nullopt;
}

std::optional<std::string> finish(mod_source& m, const std::string& where) {
  auto it = m.files.find("info.json");
  if (it == m.files.end())
    return where + ": no info.json";
  json info = json::parse(it->second, nullptr, false);
  if (!info.is_object() || !info.contains("name") || !info["name"].is_string()
      || !info.contains("version") || !info["version"].is_string())
    return where + ": info.json lacks a string name and version";
  m.name = info["name"].get<std::string>();
  m.version = info["version"].get<std::string>();
  return std::nullopt;
}

} // namespace

std::optional<std::string> find_mods(const std::string& read_data, const std::string& mod_dir,
                                     std::vector<mod_source>& out) {
  mod_source base;
  if (auto err = read_dir_files(fs::path(read_data) / "base", base.files))
    return err;
  if (auto err = finish(base, "base"))
    return err;
  out.push_back(std::move(base));

  std::set<std::string> disabled;
  std::map<std::string, std::string> pinned; // name -> the version mod-list.json asks for
  std::ifstream list(fs::path(mod_dir) / "mod-list.json");
  if (list) {
    json j = json::parse(list, nullptr, false);
    if (j.is_object() && j.contains("mods") && j["mods"].is_array())
      for (auto& m : j["mods"]) {
        if (!m.is_object() || !m.contains("name") || !m["name"].is_string())
          continue;
        auto name = m["name"].get<std::string>();
        if (m.value("enabled", true) == false)
          disabled.insert(name);
        if (m.contains("version") && m["version"].is_string())
          pinned[name] = m["version"].get<std::string>();
      }
  }
  std::vector<mod_source> found;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(mod_dir, ec)) {
    mod_source m;
    std::string where = e.path().string();
    if (e.is_directory()) {
      if (!fs::exists(e.path() / "info.json"))
        continue;
      if (auto err = read_dir_files(e.path(), m.files))
        return err;
    } else if (e.path().extension() == ".zip") {
      zip_entries raw;
      if (auto err = read_zip(where, raw))
        return err;
      for (auto& [name, data] : raw) {
        auto slash = name.find('/');
        if (slash != std::string::npos)
          m.files[name.substr(slash + 1)] = data;
      }
    } else {
      continue;
    }
    if (auto err = finish(m, where))
      return err;
    if (m.name != "base" && !disabled.count(m.name))
      found.push_back(std::move(m));
  }
  // Several versions of one mod (an upgrade that left the old zip): Factorio loads one, the
  // version mod-list.json pins if it is there, else the newest.
  auto preferred = [&pinned](const mod_source& a, const mod_source& b) {
    auto pin = pinned.find(a.name);
    if (pin != pinned.end() && (a.version == pin->second) != (b.version == pin->second))
      return a.version == pin->second;
    return version_parts(a.version) > version_parts(b.version);
  };
  std::sort(found.begin(), found.end(), [&](const mod_source& a, const mod_source& b) {
    return a.name != b.name ? a.name < b.name : preferred(a, b);
  });
  for (auto& m : found)
    if (out.back().name != m.name)
      out.push_back(std::move(m));
  return std::nullopt;
}

} // namespace clusterio::sim
