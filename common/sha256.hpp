#pragma once
// SHA-256 (libsodium's), as lowercase hex: how a mod zip and a save are named by their content.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace clusterio {

std::string sha256_hex(std::string_view bytes);
/// Of a file's bytes, read a piece at a time (a save may be a gigabyte).
result<std::string> file_sha256_hex(const std::string& path);

} // namespace clusterio
