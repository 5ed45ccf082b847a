#include "common/open_files.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

namespace clusterio {

namespace {

/// The kernel's most per process (fs.nr_open): an unlimited hard limit cannot be the soft one.
std::uint64_t kernel_max_open_files() {
  std::uint64_t n = 1048576; // the kernel's default
  std::ifstream("/proc/sys/fs/nr_open") >> n;
  return n;
}

} // namespace

void raise_open_files_limit() {
  rlimit l{};
  if (::getrlimit(RLIMIT_NOFILE, &l) != 0) {
    spdlog::warn("cannot read the limit on open files: getrlimit: {}", std::strerror(errno));
    return;
  }
  auto before = l.rlim_cur;
  auto target = l.rlim_max == RLIM_INFINITY ? kernel_max_open_files() : l.rlim_max;
  if (before == RLIM_INFINITY || before >= target)
    return;
  l.rlim_cur = target;
  if (::setrlimit(RLIMIT_NOFILE, &l) != 0) {
    spdlog::warn("cannot raise the limit on open files from {} to {}: setrlimit: {}; each connection takes one, so raise the hard limit "
                 "(ulimit -Hn, LimitNOFILE= in a systemd unit, --ulimit nofile= for docker)",
                 before, target, std::strerror(errno));
    return;
  }
  spdlog::info("limit on open files raised from {} to {} (each connection takes one)", before, target);
}

} // namespace clusterio
