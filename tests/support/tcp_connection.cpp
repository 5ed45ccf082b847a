#include "tests/support/tcp_connection.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.hpp"

namespace clusterio::test {

namespace {
timeval to_timeval(std::chrono::milliseconds t) {
  return timeval{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>(t.count() % 1000 * 1000)};
}
} // namespace

tcp_connection::tcp_connection(int port, const std::string& from) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0)
    return;
  timeouts(std::chrono::seconds(10), std::chrono::seconds(10));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  bool bound = ::inet_pton(AF_INET, from.c_str(), &a.sin_addr) == 1 && ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (!bound || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

tcp_connection::~tcp_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

void tcp_connection::timeouts(std::chrono::milliseconds send, std::chrono::milliseconds receive) const {
  auto s = to_timeval(send), r = to_timeval(receive);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &s, sizeof s);
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof r);
}

tcp_connection::sent tcp_connection::send_all(const std::string& bytes, std::size_t& count, std::uint64_t deadline) const {
  for (std::size_t at = 0; at < bytes.size();) {
    auto n = ::send(fd_, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
    if (n > 0) {
      at += static_cast<std::size_t>(n);
      count += static_cast<std::size_t>(n);
      continue;
    }
    bool waiting = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    if (!waiting)
      return sent::closed;
    if (mono_ms() >= deadline)
      return sent::late;
  }
  return sent::all;
}

bool tcp_connection::send(const std::string& bytes) const {
  std::size_t ignored = 0;
  return send_all(bytes, ignored, mono_ms() + 10000) == sent::all;
}

std::string tcp_connection::receive(std::chrono::milliseconds timeout) const {
  std::string got;
  auto end = mono_ms() + static_cast<std::uint64_t>(timeout.count());
  for (auto now = mono_ms(); now < end; now = mono_ms()) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(end - now)) <= 0)
      break;
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

bool tcp_connection::server_done(std::chrono::milliseconds timeout) const {
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool tcp_connection::closed_within(std::chrono::milliseconds timeout) const {
  if (!server_done(timeout))
    return false;
  char buf[4096];
  return ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) <= 0;
}

int http_status_of(const std::string& reply) {
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12)
    return 0;
  return std::atoi(reply.c_str() + 9);
}

} // namespace clusterio::test
