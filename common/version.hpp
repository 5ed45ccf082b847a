#pragma once
// Dotted version numbers as Factorio uses them for mods ("1.10.2"), shared by factorio-sim
// (which of several versions of a mod to load) and the slave (which clusterio zip to install).

#include <string_view>
#include <vector>

namespace clusterio {

/// "1.10.2" -> {1, 10, 2}; vectors compare part by part, so 1.10.0 > 1.9.0 (as text it is the
/// other way round). A part's digits end at its first non-digit; past 12 digits they are ignored.
inline std::vector<long> version_parts(std::string_view v) {
  std::vector<long> parts{0};
  bool in_digits = true;
  for (char c : v) {
    if (c == '.') {
      parts.push_back(0);
      in_digits = true;
    } else if (in_digits && c >= '0' && c <= '9') {
      if (parts.back() < 100000000000L) // more digits than any real version: no overflow
        parts.back() = parts.back() * 10 + (c - '0');
    } else {
      in_digits = false;
    }
  }
  return parts;
}

} // namespace clusterio
