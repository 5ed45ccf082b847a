#pragma once

// Minimal ZIP archive reading (stored and deflated entries) and writing (stored entries), enough
// for save files and mod zips. No ZIP64, no encryption, no multi-disk archives.

#include <map>
#include <optional>
#include <string>

namespace clusterio::sim {

/// Entry name (as stored, with '/' separators) to contents.
using zip_entries = std::map<std::string, std::string>;

/// Reads every file entry of the archive at `path` into `out`. Returns an error text on failure.
std::optional<std::string> read_zip(const std::string& path, zip_entries& out);

/// Writes `entries` to `path` atomically (a temporary file, then rename).
std::optional<std::string> write_zip(const std::string& path, const zip_entries& entries);

} // namespace clusterio::sim
