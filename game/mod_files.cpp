#include "game/mod_files.hpp"

#include <algorithm>
#include <filesystem>

#include "common/files.hpp"
#include "common/version.hpp"

namespace clusterio {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view prefix = "clusterio_", suffix = ".zip";

/// The version in "clusterio_<version>.zip" (digits and dots), or "" for any other name.
std::string version_in(const std::string& file_name) {
  if (file_name.size() <= prefix.size() + suffix.size() || file_name.compare(0, prefix.size(), prefix) != 0 ||
      file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return {};
  auto version = file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size());
  bool ok = std::all_of(version.begin(), version.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  return ok ? version : std::string();
}

/// The clusterio zips in `dir`: (version, path).
std::vector<std::pair<std::string, fs::path>> mod_zips(const std::string& dir) {
  std::vector<std::pair<std::string, fs::path>> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (auto v = version_in(e.path().filename().string()); !v.empty() && e.is_regular_file(ec))
      out.emplace_back(v, e.path());
  return out;
}

} // namespace

std::string newest_mod_zip(const std::string& dir) {
  auto zips = mod_zips(dir);
  auto newest = std::max_element(zips.begin(), zips.end(),
                                 [](const auto& a, const auto& b) { return version_parts(a.first) < version_parts(b.first); });
  return newest == zips.end() ? std::string() : newest->second.string();
}

result<mod_install> install_mod_zip(const std::string& zip, const std::string& dir) {
  mod_install r;
  r.zip = zip;
  auto name = fs::path(zip).filename().string();
  if (version_in(name).empty())
    return failure(zip + ": not a clusterio mod zip (clusterio_<version>.zip)");
  auto bytes = read_file(zip);
  if (!bytes)
    return bytes.error();
  if (auto made = make_dirs(dir); !made)
    return made.error();
  auto target = (fs::path(dir) / name).string();
  if (auto there = read_file(target); !there || *there != *bytes) {
    if (auto written = write_file_atomic(target, *bytes); !written)
      return written.error();
    r.copied = true;
  }
  for (auto& [version, path] : mod_zips(dir)) {
    if (path.filename() == name)
      continue;
    std::error_code ec;
    if (fs::remove(path, ec))
      r.removed.push_back(path.filename().string());
    else if (ec)
      return failure(path.string() + ": " + ec.message());
  }
  return r;
}

} // namespace clusterio
