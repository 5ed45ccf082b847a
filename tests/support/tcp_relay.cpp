#include "tests/support/tcp_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace clusterio::test {

namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  return a;
}

/// Writes all of a buffer to a blocking socket; false once it fails.
bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    auto w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

} // namespace

tcp_relay::tcp_relay(int server_port) : server_port_(server_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto a = loopback(0); // the relay keeps its port bound for its life: the kernel's choice is safe
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0 || ::pipe(wake_) != 0)
    throw std::runtime_error("tcp_relay: cannot listen on 127.0.0.1");
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { run(); });
}

tcp_relay::~tcp_relay() {
  stop_ = true;
  (void)!::write(wake_[1], "x", 1);
  thread_.join();
  for (auto [c, s] : links_) {
    ::close(c);
    ::close(s);
  }
  ::close(listen_fd_);
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void tcp_relay::cut() {
  cut_ = true;
  (void)!::write(wake_[1], "x", 1);
  while (cut_) // done when the relay thread has closed them
    std::this_thread::yield();
}

void tcp_relay::run() {
  char buf[65536];
  while (!stop_) {
    std::vector<pollfd> fds{{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (auto [c, s] : links_) {
      fds.push_back({c, POLLIN, 0});
      fds.push_back({s, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0)
      continue;
    if (fds[0].revents & POLLIN)
      (void)!::read(wake_[0], buf, sizeof buf);
    if (cut_) {
      for (auto [c, s] : links_) {
        ::shutdown(c, SHUT_RDWR);
        ::close(c);
        ::close(s);
      }
      links_.clear();
      lose_from_client_ = lose_from_server_ = false;
      cut_ = false;
      continue;
    }
    if (fds[1].revents & POLLIN) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      auto a = loopback(server_port_);
      if (c >= 0 && s >= 0 && ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        links_.emplace_back(c, s);
      } else {
        if (c >= 0)
          ::close(c);
        if (s >= 0)
          ::close(s);
      }
      continue; // the poll set changed
    }
    std::vector<std::size_t> ended;
    for (std::size_t i = 0; i < links_.size(); ++i) {
      auto [c, s] = links_[i];
      bool alive = true;
      for (auto [from, to, lose, revents] : {std::tuple{c, s, lose_from_client_.load(), fds[2 + 2 * i].revents},
                                             std::tuple{s, c, lose_from_server_.load(), fds[3 + 2 * i].revents}}) {
        if (!alive || !(revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        auto n = ::recv(from, buf, sizeof buf, 0);
        if (n <= 0)
          alive = false;
        else if (lose)
          lost_ += static_cast<std::size_t>(n);
        else
          alive = write_all(to, buf, static_cast<std::size_t>(n));
      }
      if (!alive)
        ended.push_back(i);
    }
    for (auto i = ended.rbegin(); i != ended.rend(); ++i) {
      ::close(links_[*i].first);
      ::close(links_[*i].second);
      links_.erase(links_.begin() + static_cast<std::ptrdiff_t>(*i));
    }
  }
}

} // namespace clusterio::test
