#pragma once
// SHA-256 (libsodium's), as lowercase hex: how a mod zip is named by its content.

#include <string>
#include <string_view>

namespace clusterio {

std::string sha256_hex(std::string_view bytes);

} // namespace clusterio
