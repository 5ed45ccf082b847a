#include "sim/mods.hpp"

#include "common/version.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace clusterio::sim {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// The official mod shipped in read-data besides base, loaded unless mod-list.json disables it.
const std::string shipped_mod = "quality";

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

/// A dependency as info.json states it: "[! | ? | (?) | ~] name [<|<=|=|>=|> version]".
struct dependency {
  enum kind_t { required, optional, incompatible } kind = required;
  bool orders = true; // loads before the dependent mod ("~" does not)
  std::string name, op, version;
  std::string text;
};

std::optional<dependency> parse_dependency(const std::string& s) {
  static const std::regex re(R"(^\s*(!|\?|\(\?\)|~)?\s*(.+?)\s*(?:(<=|>=|<|>|=)\s*(\d+(?:\.\d+)*))?\s*$)");
  std::smatch m;
  if (!std::regex_match(s, m, re))
    return std::nullopt;
  dependency d;
  std::string prefix = m[1];
  d.kind = prefix == "!" ? dependency::incompatible
           : prefix == "?" || prefix == "(?)" ? dependency::optional : dependency::required;
  d.orders = prefix != "~" && d.kind != dependency::incompatible;
  d.name = m[2];
  d.op = m[3];
  d.version = m[4];
  d.text = s;
  return d;
}

std::vector<long> padded(const std::string& v) {
  auto p = version_parts(v);
  p.resize(std::max<size_t>(p.size(), 3), 0);
  return p;
}

bool satisfies(const std::string& have, const dependency& d) {
  if (d.op.empty())
    return true;
  auto a = padded(have), b = padded(d.version);
  if (d.op == "<")
    return a < b;
  if (d.op == "<=")
    return a <= b;
  if (d.op == "=")
    return a == b;
  if (d.op == ">=")
    return a >= b;
  return a > b;
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
  m.factorio_version = info.value("factorio_version", "");
  // A mod that states no dependencies depends on base, as in the game.
  json deps = info.contains("dependencies") ? info["dependencies"] : json::array({"base"});
  if (!deps.is_array())
    return where + ": info.json dependencies must be an array";
  for (auto& d : deps) {
    if (!d.is_string() || !parse_dependency(d.get<std::string>()))
      return where + ": info.json has a malformed dependency " + d.dump();
    m.dependencies.push_back(d.get<std::string>());
  }
  return std::nullopt;
}

/// Why the game would refuse `m` among `loaded` (name -> version), or nothing.
std::optional<std::string> refusal(const mod_source& m, const std::map<std::string, std::string>& loaded,
                                   const std::string& game_version) {
  auto major_minor = [](const std::string& v) {
    auto p = padded(v);
    return std::to_string(p[0]) + "." + std::to_string(p[1]);
  };
  std::string why;
  if (m.factorio_version.empty() || major_minor(m.factorio_version) != major_minor(game_version))
    why += "\n    • Mod is for Factorio " + (m.factorio_version.empty() ? "0.12" : m.factorio_version)
           + ", this is Factorio " + game_version;
  for (auto& text : m.dependencies) {
    auto d = *parse_dependency(text);
    auto have = loaded.find(d.name);
    if (d.kind == dependency::incompatible) {
      if (have != loaded.end())
        why += "\n    • Incompatible with " + d.name + " " + have->second;
    } else if (have == loaded.end()) {
      if (d.kind == dependency::required)
        why += "\n    • Dependency " + d.text + " is not satisfied (" + d.name + " is not active)";
    } else if (!satisfies(have->second, d)) {
      why += "\n    • Dependency " + d.text + " is not satisfied (active: " + d.name + " "
             + have->second + ")";
    }
  }
  if (why.empty())
    return std::nullopt;
  return "Failed to load mod \"" + m.name + "\":\n• " + m.name + why;
}

/// Dependencies first, otherwise by name, as the game orders mods.
std::vector<mod_source> load_order(std::vector<mod_source> mods) {
  std::vector<mod_source> out;
  std::set<std::string> names, placed;
  for (auto& m : mods)
    names.insert(m.name);
  std::sort(mods.begin(), mods.end(), [](auto& a, auto& b) { return a.name < b.name; });
  while (!mods.empty()) {
    auto ready = std::find_if(mods.begin(), mods.end(), [&](const mod_source& m) {
      return std::all_of(m.dependencies.begin(), m.dependencies.end(), [&](const std::string& t) {
        auto d = *parse_dependency(t);
        return !d.orders || !names.count(d.name) || placed.count(d.name);
      });
    });
    if (ready == mods.end())
      ready = mods.begin(); // a dependency cycle: the game refuses it too, by name order here
    placed.insert(ready->name);
    out.push_back(std::move(*ready));
    mods.erase(ready);
  }
  return out;
}

} // namespace

std::optional<std::string> find_mods(const std::string& read_data, const std::string& mod_dir,
                                     const std::string& game_version, std::vector<mod_source>& out) {
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
  for (const std::string& name : {std::string("base"), shipped_mod}) {
    fs::path dir = fs::path(read_data) / name;
    if (name != "base" && (disabled.count(name) || !fs::exists(dir / "info.json")))
      continue;
    mod_source m;
    if (auto err = read_dir_files(dir, m.files))
      return err;
    if (auto err = finish(m, name))
      return err;
    found.push_back(std::move(m));
  }
  std::error_code ec;
  std::vector<mod_source> user;
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
    if (m.name != "base" && m.name != shipped_mod && !disabled.count(m.name))
      user.push_back(std::move(m));
  }
  // Several versions of one mod (an upgrade that left the old zip): Factorio loads one, the
  // version mod-list.json pins if it is there, else the newest.
  auto preferred = [&pinned](const mod_source& a, const mod_source& b) {
    auto pin = pinned.find(a.name);
    if (pin != pinned.end() && (a.version == pin->second) != (b.version == pin->second))
      return a.version == pin->second;
    return version_parts(a.version) > version_parts(b.version);
  };
  std::sort(user.begin(), user.end(), [&](const mod_source& a, const mod_source& b) {
    return a.name != b.name ? a.name < b.name : preferred(a, b);
  });
  for (auto& m : user)
    if (found.back().name != m.name)
      found.push_back(std::move(m));
  std::map<std::string, std::string> loaded;
  for (auto& m : found)
    loaded[m.name] = m.version;
  for (auto& m : found)
    if (auto why = refusal(m, loaded, game_version))
      return why;
  out = load_order(std::move(found));
  return std::nullopt;
}

} // namespace clusterio::sim
