#pragma once
// The clusterio mod's zips, as Factorio names them (clusterio_<version>.zip): finding them, and
// what names one zip for the master and its slaves alike (version and SHA-256). The one place
// that naming is written; the slave's handling of mods folders is game/mod_files.hpp.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace clusterio {

/// The version in "clusterio_<version>.zip" (digits and dots), or "" for any other name.
std::string mod_zip_version(const std::string& file_name);

/// The clusterio zips in `dir`: (version, path).
std::vector<std::pair<std::string, std::filesystem::path>> mod_zips(const std::string& dir);

/// The newest clusterio_<version>.zip in `dir` by version number, or "" (none, or no such dir).
std::string newest_mod_zip(const std::string& dir);

/// A mod zip as the master serves it (/api/mod) and slaves compare theirs with it.
struct mod_identity {
  std::string file;    ///< clusterio_<version>.zip
  std::string version; ///< e.g. "0.7.0"
  std::string sha256;  ///< of the bytes, lowercase hex
  std::uint64_t size = 0;
};

/// Reads a mod zip: its identity and its bytes.
result<std::pair<mod_identity, std::string>> read_mod_zip(const std::string& path);

/// The mod zip that came with these programs: the newest in <build>/mod/ (the build tree the
/// running executable is in) or in /usr/share/clusterio/mod (a package or the Docker image);
/// "" if there is none.
std::string bundled_mod_zip();

} // namespace clusterio
