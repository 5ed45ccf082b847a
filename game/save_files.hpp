#pragma once
// An instance's saves as the master's admins move them (instance_command `save-upload` and
// `save-download`, docs/protocol.md §11.9): in pieces of at most wire::max_save_chunk_bytes.
//
// An upload is staged beside saves/, as
//   instances/<name>/upload.part   the bytes received so far
//   instances/<name>/upload.json   what they are: {"save", "size", "sha256"}
// and moves into saves/ only once it is whole and checked (size, SHA-256, a zip's form), so a
// start never loads half a save. One upload at a time per instance; piece 0 starts a new one.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace clusterio {

/// The newest save in <instance_dir>/saves: the one a start loads (Factorio's
/// --start-server-load-latest takes the same); "" when there is none.
std::string latest_save(const std::string& instance_dir);

/// A save's file name: a label ending in ".zip", and not a save being written (".tmp.zip").
result<void> check_save_name(const std::string& save);

struct upload_progress {
  std::uint64_t received = 0; ///< bytes of the upload received so far
  bool complete = false;      ///< it is whole, checked and in saves/
};

/// Writes one piece at `offset`. Offset 0 starts a new upload (an unfinished one is dropped);
/// a later piece must continue the same upload (same save, size, sha256) at or before the bytes
/// received (a piece sent again writes the same bytes again). The piece that completes it
/// checks SHA-256 and form and moves it to saves/<save>. A failure carries a
/// wire::error_code (wire::code_of): invalid (the piece or the save is wrong), conflict (another upload is in
/// progress), unavailable (the disk).
result<upload_progress> write_save_piece(const std::string& instance_dir, const std::string& save, std::uint64_t offset,
                                         std::uint64_t size, const std::string& sha256, std::string_view bytes);

struct save_piece {
  std::string save;   ///< its file name in saves/
  std::uint64_t size = 0;
  std::string sha256; ///< with offset 0 only (the whole file is read for it)
  std::string bytes;  ///< up to max_save_chunk_bytes from the offset; empty at the end
};

/// Reads a piece of a save (`save` "" for the latest) from `offset`. A failure carries a
/// wire::error_code (wire::code_of): not_found (no such save), invalid (offset past the end).
result<save_piece> read_save_piece(const std::string& instance_dir, const std::string& save, std::uint64_t offset);

} // namespace clusterio
