#include "common/mod_zip.hpp"

#include <algorithm>
#include <unistd.h>

#include "common/files.hpp"
#include "common/sha256.hpp"
#include "common/version.hpp"

namespace clusterio {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view prefix = "clusterio_", suffix = ".zip";
} // namespace

std::string mod_zip_version(const std::string& file_name) {
  if (file_name.size() <= prefix.size() + suffix.size() || file_name.compare(0, prefix.size(), prefix) != 0 ||
      file_name.compare(file_name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return {};
  auto version = file_name.substr(prefix.size(), file_name.size() - prefix.size() - suffix.size());
  bool ok = std::all_of(version.begin(), version.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  return ok ? version : std::string();
}

std::vector<std::pair<std::string, std::filesystem::path>> mod_zips(const std::string& dir) {
  std::vector<std::pair<std::string, std::filesystem::path>> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (auto v = mod_zip_version(e.path().filename().string()); !v.empty() && e.is_regular_file(ec))
      out.emplace_back(v, e.path());
  return out;
}

std::string newest_mod_zip(const std::string& dir) {
  auto zips = mod_zips(dir);
  auto newest = std::max_element(zips.begin(), zips.end(),
                                 [](const auto& a, const auto& b) { return version_parts(a.first) < version_parts(b.first); });
  return newest == zips.end() ? std::string() : newest->second.string();
}

result<std::pair<mod_identity, std::string>> read_mod_zip(const std::string& path) {
  auto file = fs::path(path).filename().string();
  auto version = mod_zip_version(file);
  if (version.empty())
    return failure(path + ": not a clusterio mod zip (clusterio_<version>.zip)");
  auto bytes = read_file(path);
  if (!bytes)
    return bytes.error();
  mod_identity id{file, version, sha256_hex(*bytes), bytes->size()};
  return std::pair{std::move(id), std::move(*bytes)};
}

std::string bundled_mod_zip() {
  char self[4096];
  auto n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  std::vector<fs::path> dirs;
  if (n > 0) // <build>/<program folder>/<program>
    dirs.push_back(fs::path(std::string(self, static_cast<std::size_t>(n))).parent_path().parent_path() / "mod");
  dirs.push_back("/usr/share/clusterio/mod");
  for (auto& dir : dirs)
    if (auto zip = newest_mod_zip(dir.string()); !zip.empty())
      return zip;
  return {};
}

} // namespace clusterio
