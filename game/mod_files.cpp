#include "game/mod_files.hpp"

#include <filesystem>

#include "common/files.hpp"
#include "common/mod_zip.hpp"

namespace clusterio {

namespace fs = std::filesystem;

result<mod_install> install_mod_zip(const std::string& zip, const std::string& dir) {
  mod_install r;
  r.zip = zip;
  auto name = fs::path(zip).filename().string();
  if (mod_zip_version(name).empty())
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
