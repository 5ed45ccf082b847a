#pragma once
// Random bytes from the kernel (getrandom), as lowercase hex: session tokens, the admin token,
// and what makes a slave process's routing id its own.

#include <cstddef>
#include <string>

namespace clusterio {

/// `bytes` random bytes, as 2 × `bytes` lowercase hex digits.
std::string random_hex(std::size_t bytes);

} // namespace clusterio
