#pragma once
// The clusterio mod as the slave handles it: zips named clusterio_<version>.zip (Factorio's
// naming), one version per mods folder. The slave owns those zips in sharedMods/ and in each
// instance's mods/; anything else there (other mods, an unzipped clusterio folder a mod
// developer put there) is the operator's.

#include <string>
#include <vector>

#include "common/mod_zip.hpp"
#include "common/result.hpp"

namespace clusterio {

/// What install_mod_zip did.
struct mod_install {
  std::string zip;                   ///< the zip installed
  bool copied = false;               ///< it was not there, or differed, and was copied
  std::vector<std::string> removed;  ///< other clusterio versions taken out (file names)
};

/// Makes `zip` the one clusterio version in `dir`: copies it there unless an identical file is
/// there already, then removes every other clusterio_<version>.zip. (Factorio would load only
/// the newest of several; a downgrade must not leave a newer one behind.)
result<mod_install> install_mod_zip(const std::string& zip, const std::string& dir);

} // namespace clusterio
