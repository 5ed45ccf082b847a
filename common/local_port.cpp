#include "common/local_port.hpp"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <netinet/in.h>
#include <random>
#include <set>
#include <sys/socket.h>
#include <unistd.h>

namespace clusterio {

namespace {

bool can_bind(int type, int port) {
  int fd = ::socket(AF_INET, type, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

/// The lowest port the kernel hands out for outgoing connections and binds to port 0.
int ephemeral_low() {
  int low = 32768, high = 60999;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
  return low;
}

} // namespace

result<int> free_local_port() {
  static std::mutex mtx;
  static std::set<int> handed_out;
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  std::lock_guard<std::mutex> g(mtx);
  int high = ephemeral_low() - 1;
  int low = std::max(1024, high - 20000);
  if (high - low < 1000)
    return failure("no free port: fewer than 1,000 ports below the ephemeral range "
                   "(/proc/sys/net/ipv4/ip_local_port_range)");
  std::uniform_int_distribution<int> pick(low, high);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int port = pick(rng);
    if (handed_out.count(port) == 0 && can_bind(SOCK_STREAM, port) && can_bind(SOCK_DGRAM, port)) {
      handed_out.insert(port);
      return port;
    }
  }
  return failure("no free port in " + std::to_string(low) + ".." + std::to_string(high) + " after 1,000 tries");
}

} // namespace clusterio
