#include "sim/rcon_server.hpp"

#include "rcon/packet.hpp"
#include "sim/log.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace clusterio::sim {

struct rcon_server::connection {
  int fd = -1;
  std::string peer;
  bool authed = false;
  bool close_after_write = false;
  rcon::decoder dec;
  std::string out; // guarded by rcon_server::mtx_
};

rcon_server::~rcon_server() { stop(); }

std::optional<std::string> rcon_server::start(const std::string& address, uint16_t port, std::string password) {
  password_ = std::move(password);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1)
    return "Can't bind socket: '" + address + "' is not an IPv4 address";
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0)
    return std::string("Can't create socket: ") + std::strerror(errno);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::listen(listen_fd_, 16) != 0) {
    std::string err = std::string("Can't bind socket: ") + std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return err;
  }
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
    return std::string("pipe: ") + std::strerror(errno);
  thread_ = std::thread([this] { loop(); });
  return std::nullopt;
}

void rcon_server::stop() {
  {
    std::lock_guard<std::mutex> g(mtx_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable())
    thread_.join();
  for (auto& [id, c] : conns_)
    ::close(c->fd);
  conns_.clear();
  for (int* fd : {&listen_fd_, &wake_pipe_[0], &wake_pipe_[1]})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
}

void rcon_server::wake() {
  if (wake_pipe_[1] >= 0) {
    char c = 1;
    [[maybe_unused]] auto n = ::write(wake_pipe_[1], &c, 1);
  }
}

std::vector<rcon_server::command> rcon_server::take_commands() {
  std::lock_guard<std::mutex> g(mtx_);
  std::vector<command> out;
  out.swap(queue_);
  return out;
}

void rcon_server::reply(uint64_t conn, int32_t id, std::string body) {
  {
    std::lock_guard<std::mutex> g(mtx_);
    auto it = conns_.find(conn);
    if (it == conns_.end())
      return;
    rcon::encode(rcon::packet{id, rcon::response_value, std::move(body)}, it->second->out);
  }
  wake();
}

void rcon_server::accept_one() {
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  auto c = std::make_shared<connection>();
  c->fd = fd;
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
  c->peer = std::string(ip) + ":" + std::to_string(ntohs(peer.sin_port));
  log_at("Info", "RemoteCommandProcessor.cpp:252", "New RCON connection from IP ADDR:({" + c->peer + "})");
  std::lock_guard<std::mutex> g(mtx_);
  conns_[next_conn_++] = std::move(c);
}

bool rcon_server::take_packets(uint64_t id, connection& c) {
  rcon::packet p;
  rcon::decoder::status st = rcon::decoder::status::need_more;
  std::lock_guard<std::mutex> g(mtx_);
  while (!c.close_after_write && (st = c.dec.next(p)) == rcon::decoder::status::ok) {
    if (!c.authed) {
      // Factorio: one type-2 reply; a wrong password gets id -1 and the socket closes.
      bool ok = p.type == rcon::auth && p.body == password_;
      rcon::encode(rcon::packet{ok ? p.id : -1, rcon::auth_response, {}}, c.out);
      c.authed = ok;
      c.close_after_write = !ok;
    } else if (p.type == rcon::exec_command && !p.body.empty()) {
      queue_.push_back(command{id, p.id, std::move(p.body)});
    }
    // Empty commands and other packet types get no reply, as in Factorio.
  }
  if (st == rcon::decoder::status::error) {
    log_at("Error", "RemoteCommandProcessor.cpp:326", "Couldn't parse RCON data: " + c.dec.error());
    return false;
  }
  return true;
}

bool rcon_server::serve_connection(uint64_t id, connection& c, short revents, std::vector<char>& buf) {
  if (revents & POLLOUT) {
    std::lock_guard<std::mutex> g(mtx_);
    ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0)
      c.out.erase(0, static_cast<size_t>(n));
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
      return false;
    if (c.out.empty() && c.close_after_write)
      return false;
  }
  if (!(revents & (POLLIN | POLLHUP | POLLERR)))
    return true;
  ssize_t n = ::recv(c.fd, buf.data(), buf.size(), 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
    return false;
  if (n < 0)
    return true;
  c.dec.feed(std::string_view(buf.data(), static_cast<size_t>(n)));
  return take_packets(id, c);
}

void rcon_server::loop() {
  std::vector<char> buf(65536);
  for (;;) {
    std::vector<pollfd> fds{{wake_pipe_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    std::vector<uint64_t> ids;
    {
      std::lock_guard<std::mutex> g(mtx_);
      if (stopping_)
        return;
      for (auto& [id, c] : conns_) {
        fds.push_back({c->fd, static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
        ids.push_back(id);
      }
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR)
      return;
    if (fds[0].revents & POLLIN)
      while (::read(wake_pipe_[0], buf.data(), buf.size()) > 0) {
      }
    if (fds[1].revents & POLLIN)
      accept_one();
    for (size_t i = 0; i < ids.size(); ++i) {
      std::shared_ptr<connection> c;
      {
        std::lock_guard<std::mutex> g(mtx_);
        auto it = conns_.find(ids[i]);
        if (it == conns_.end())
          continue;
        c = it->second;
      }
      if (!serve_connection(ids[i], *c, fds[i + 2].revents, buf)) {
        std::lock_guard<std::mutex> g(mtx_);
        ::close(c->fd);
        conns_.erase(ids[i]);
      }
    }
  }
}

} // namespace clusterio::sim
