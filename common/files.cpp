#include "common/files.hpp"

#include <cerrno>
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

std::optional<std::string> read_file(const std::string& path, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

namespace {
/// Writes `content` to a new file `tmp` and fsyncs it. Returns "" or the reason.
std::string write_synced(const std::string& tmp, const std::string& content, unsigned mode) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return tmp + ": " + std::strerror(errno);
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      std::string why = tmp + ": " + std::strerror(errno);
      ::close(fd);
      return why;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0)
    return tmp + ": " + std::strerror(errno);
  return {};
}

std::string temp_name(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }
} // namespace

std::string write_file_atomic(const std::string& path, const std::string& content, unsigned mode) {
  auto tmp = temp_name(path);
  if (auto why = write_synced(tmp, content, mode); !why.empty())
    return why;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return path + ": " + std::strerror(errno);
  return {};
}

std::string create_file_exclusive(const std::string& path, const std::string& content, unsigned mode, bool& existed) {
  auto tmp = temp_name(path);
  existed = false;
  if (auto why = write_synced(tmp, content, mode); !why.empty())
    return why;
  // link() fails if `path` exists, so two processes racing to create it agree on one content.
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err == EEXIST) {
    existed = true;
    return {};
  }
  return rc == 0 ? std::string() : path + ": " + std::strerror(err);
}

std::string make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec)
    return path + ": " + ec.message();
  return {};
}

} // namespace clusterio
