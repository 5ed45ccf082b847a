#pragma once
#include <optional>
#include <string>

#include "common/result.hpp"

namespace clusterio {

bool file_exists(const std::string& path);
/// Reads a whole file; a failure names the path and errno's text.
result<std::string> read_file(const std::string& path);
/// Writes a file atomically (temporary file, fsync, rename).
result<void> write_file_atomic(const std::string& path, const std::string& content, unsigned mode = 0644);
/// Creates a file with this content unless it exists. True: created; false: it existed, and
/// nothing was written. Atomic: a concurrent creator either wins or finds the file complete.
result<bool> create_file_exclusive(const std::string& path, const std::string& content, unsigned mode);
/// Creates a directory and its parents.
result<void> make_dirs(const std::string& path);
/// Creates a directory for secrets, and its parents: the directory itself, if created here, gets
/// mode 0700 whatever the umask. One that exists keeps its mode: its owner may have chosen it.
result<void> make_private_dir(const std::string& path);

/// A process's exclusive claim on a file (an open file description lock, fcntl(2)
/// F_OFD_SETLK), held until the object is destroyed or the process ends. The kernel drops it
/// when the process dies, so a `kill -9` leaves no stale claim (a pid file alone can name a dead
/// process, or one that reused its pid), and two processes claiming at once cannot both win. The file holds the claimant's pid, for the messages of
/// those who find it taken; it is never removed (removing it would let a newcomer claim a new
/// file while another still holds the old one).
class file_claim {
public:
  /// The code of the failure of take() when another process holds the claim ("held by process
  /// N"); any other failure is the file's (its path and errno's text).
  static constexpr int held = 1;
  /// Claims `path` for this process.
  static result<file_claim> take(const std::string& path);

  file_claim(file_claim&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  file_claim& operator=(file_claim&&) = delete;
  file_claim(const file_claim&) = delete;
  ~file_claim();

private:
  explicit file_claim(int fd) : fd_(fd) {}
  int fd_;
};

/// The pid of the process holding a claim on `path`, or nullopt when none does. 0 when the
/// holder has claimed it but not written its pid yet (a moment after claiming).
std::optional<int> claim_holder(const std::string& path);

} // namespace clusterio
