#include "common/files.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace clusterio {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return failure(path + ": " + std::strerror(errno), errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
failure errno_failure(const std::string& path, int err = errno) { return failure(path + ": " + std::strerror(err), err); }

/// Writes `content` to a new file `tmp` and fsyncs it.
result<void> write_synced(const std::string& tmp, const std::string& content, unsigned mode) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return errno_failure(tmp);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      auto why = errno_failure(tmp);
      ::close(fd);
      return why;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return errno_failure(tmp);
  return done();
}

std::string temp_name(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }
} // namespace

result<void> write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
  auto tmp = temp_name(path);
  if (auto written = write_synced(tmp, content, mode); !written)
    return written;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return errno_failure(path);
  return done();
}

result<bool> create_file_exclusive(const std::string& path, const std::string& content, unsigned mode) {
  auto tmp = temp_name(path);
  if (auto written = write_synced(tmp, content, mode); !written)
    return written.error();
  // link() fails if `path` exists, so two processes racing to create it agree on one content.
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err == EEXIST)
    return false;
  if (rc != 0)
    return errno_failure(path, err);
  return true;
}

result<void> make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    return failure(path + ": " + ec.message(), ec.value());
  return done();
}

result<void> make_private_dir(const std::string& path) {
  auto dir = std::filesystem::path(path).lexically_normal();
  if (!dir.has_filename())
    dir = dir.parent_path(); // "data/"
  if (dir.has_parent_path())
    if (auto made = make_dirs(dir.parent_path().string()); !made)
      return made;
  if (::mkdir(dir.c_str(), 0700) != 0)
    return errno == EEXIST ? done() : errno_failure(path);
  // The umask narrows mkdir's mode (0277 would leave 0500); chmod sets it exactly.
  if (::chmod(dir.c_str(), 0700) != 0)
    return errno_failure(path);
  return done();
}

namespace {
/// The pid written in a claimed file (0 if none yet).
int claimant_pid(int fd) {
  char text[32] = {};
  auto n = ::pread(fd, text, sizeof text - 1, 0);
  return n > 0 ? std::atoi(text) : 0;
}

std::string held_by(int pid) { return pid > 0 ? "held by process " + std::to_string(pid) : std::string("held by another process"); }

/// A write lock on the whole file (l_len 0: however long it grows).
struct flock whole_file() {
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  return lock;
}
} // namespace

result<file_claim> file_claim::take(const std::string& path) {
  // O_CLOEXEC: a game the slave starts must not inherit the claim and keep it after the slave dies.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno_failure(path);
  // Owned by the open file description: dropped when its last descriptor closes, i.e. at the
  // latest when the process ends.
  auto lock = whole_file();
  if (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    int err = errno;
    auto refused = err == EAGAIN || err == EACCES ? failure(held_by(claimant_pid(fd)), held) : errno_failure(path, err);
    ::close(fd);
    return refused;
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    auto why = errno_failure(path);
    ::close(fd);
    return why;
  }
  return file_claim(fd);
}

file_claim::~file_claim() {
  if (fd_ >= 0)
    ::close(fd_); // drops the lock
}

std::optional<int> claim_holder(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  // F_OFD_GETLK only tests: a check never makes a concurrent claim fail.
  auto lock = whole_file();
  std::optional<int> holder;
  if (::fcntl(fd, F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK)
    holder = claimant_pid(fd);
  ::close(fd);
  return holder;
}

} // namespace clusterio
