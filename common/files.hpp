#pragma once
#include <optional>
#include <string>

namespace clusterio {

bool file_exists(const std::string& path);
/// Reads a whole file; on failure returns nullopt and sets `why` (with the path and errno text).
std::optional<std::string> read_file(const std::string& path, std::string& why);
/// Writes a file atomically (temporary file, fsync, rename). Returns "" or the reason it failed.
std::string write_file_atomic(const std::string& path, const std::string& content, unsigned mode = 0644);
/// Creates a file with this content unless it exists (then `existed` is set and nothing is
/// written). Atomic: a concurrent creator either wins or finds the file complete.
std::string create_file_exclusive(const std::string& path, const std::string& content, unsigned mode, bool& existed);
/// Creates a directory and its parents. Returns "" or the reason it failed.
std::string make_dirs(const std::string& path);

} // namespace clusterio
