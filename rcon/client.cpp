#include "rcon/client.hpp"

#include "rcon/packet.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace clusterio::rcon {

namespace {

using clock_type = std::chrono::steady_clock;

/// How often the reader wakes to expire timed-out commands.
constexpr int reader_poll_ms = 50;

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

int ms_until(clock_type::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

/// Connects with a deadline; returns the fd (blocking mode).
result<int> dial(const client_options& o) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(o.port);
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1)
    return failure("bad IPv4 address '" + o.host + "' (Factorio's RCON listens on IPv4 only)");
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return failure(errno_text("socket"));
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      failure err(errno_text("connect"));
      ::close(fd);
      return err;
    }
    pollfd p{fd, POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(o.connect_timeout.count()));
    int soerr = 0;
    socklen_t len = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (n <= 0 || soerr != 0) {
      ::close(fd);
      return failure(n <= 0 ? "connect: timeout" : std::string("connect: ") + std::strerror(soerr));
    }
  }
  fcntl(fd, F_SETFL, flags);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

} // namespace

client::client(client_options opts) : opts_(std::move(opts)) {
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
    wake_pipe_[0] = wake_pipe_[1] = -1;
}

client::~client() {
  close();
  for (int fd : wake_pipe_)
    if (fd >= 0)
      ::close(fd);
}

bool client::connected() const {
  std::lock_guard<std::mutex> g(mtx_);
  return connected_;
}

result<void> client::connect() {
  close();
  auto dialed = dial(opts_);
  if (!dialed)
    return dialed.error();
  int fd = *dialed;
  // Authenticate synchronously before the reader thread owns the socket.
  packet auth_req{0, auth, opts_.password};
  if (auto written = write_all(fd, encode(auth_req)); !written) {
    ::close(fd);
    return written.error().in("auth");
  }
  decoder dec(opts_.max_packet_size);
  auto deadline = clock_type::now() + opts_.connect_timeout;
  packet p;
  for (;;) {
    auto st = dec.next(p);
    if (st == decoder::status::error) {
      ::close(fd);
      return failure("auth: " + dec.error());
    }
    if (st == decoder::status::ok) {
      if (p.type == auth_response)
        break;
      continue; // SRCDS sends an empty type-0 packet first
    }
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, ms_until(deadline)) <= 0) {
      ::close(fd);
      return failure("auth: no reply within the connect timeout");
    }
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(fd);
      return failure(n == 0 ? "auth: connection closed (wrong password?)" : errno_text("auth: recv"));
    }
    dec.feed(std::string_view(buf, static_cast<size_t>(n)));
  }
  if (p.id == -1 || p.id != auth_req.id) {
    ::close(fd);
    return failure("auth: authentication failed (wrong password)");
  }
  if (dec.buffered() != 0) {
    ::close(fd);
    return failure("auth: unexpected data after the auth reply");
  }
  {
    std::lock_guard<std::mutex> g(mtx_);
    fd_ = fd;
    connected_ = true;
  }
  reader_ = std::thread([this, fd] { reader_loop(fd); });
  return done();
}

void client::close() {
  int fd;
  {
    std::lock_guard<std::mutex> g(mtx_);
    fd = fd_;
    fd_ = -1;
    connected_ = false;
  }
  if (fd >= 0) {
    ::shutdown(fd, SHUT_RDWR);
    if (wake_pipe_[1] >= 0) {
      char c = 1;
      [[maybe_unused]] auto n = ::write(wake_pipe_[1], &c, 1);
    }
  }
  if (reader_.joinable())
    reader_.join();
  if (fd >= 0)
    ::close(fd);
  if (wake_pipe_[0] >= 0) {
    char buf[64];
    while (::read(wake_pipe_[0], buf, sizeof buf) > 0) {
    }
  }
  fail_all("disconnected: closed by the client");
}

void client::fail_all(const std::string& why) {
  std::map<int32_t, pending> failed;
  {
    std::lock_guard<std::mutex> g(mtx_);
    failed.swap(pending_);
  }
  for (auto& [id, pe] : failed)
    pe.cb(failure(why));
}

result<void> client::write_all(int fd, const std::string& bytes) {
  std::lock_guard<std::mutex> g(write_mtx_);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return failure(errno_text("send"));
    }
    off += static_cast<size_t>(n);
  }
  return done();
}

void client::send(std::string command, callback cb) {
  send(std::move(command), opts_.request_timeout, std::move(cb));
}

void client::send(std::string command, std::chrono::milliseconds timeout, callback cb) {
  if (command.empty()) {
    cb(failure("empty command: Factorio never answers one"));
    return;
  }
  int fd;
  int32_t id;
  {
    std::lock_guard<std::mutex> g(mtx_);
    if (!connected_) {
      fd = -1;
      id = 0;
    } else if (pending_.size() >= max_pending) {
      fd = -2;
      id = 0;
    } else {
      fd = fd_;
      id = next_id_;
      next_id_ = next_id_ == INT32_MAX ? 1 : next_id_ + 1;
      pending_[id] = pending{clock_type::now() + timeout, std::move(cb)};
    }
  }
  if (fd < 0) {
    cb(failure(fd == -1 ? "not connected" : "overloaded: " + std::to_string(max_pending) + " commands already wait for an answer"));
    return;
  }
  if (auto written = write_all(fd, encode(packet{id, exec_command, std::move(command)})); !written) {
    callback failed;
    {
      std::lock_guard<std::mutex> g(mtx_);
      auto it = pending_.find(id);
      if (it != pending_.end()) {
        failed = std::move(it->second.cb);
        pending_.erase(it);
      }
    }
    if (failed)
      failed(written.error().in("disconnected"));
  }
}

std::future<reply> client::send(std::string command) {
  return send(std::move(command), opts_.request_timeout);
}

std::future<reply> client::send(std::string command, std::chrono::milliseconds timeout) {
  auto prom = std::make_shared<std::promise<reply>>();
  auto fut = prom->get_future();
  send(std::move(command), timeout, [prom](reply r) { prom->set_value(std::move(r)); });
  return fut;
}

void client::reader_loop(int fd) {
  decoder dec(opts_.max_packet_size);
  std::vector<char> buf(65536);
  std::string why;
  for (;;) {
    pollfd pf[2] = {{fd, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int n = ::poll(pf, wake_pipe_[0] >= 0 ? 2 : 1, reader_poll_ms);
    if (n < 0 && errno != EINTR) {
      why = errno_text("poll");
      break;
    }
    if (n > 0 && (pf[1].revents & POLLIN)) {
      why = "closed by the client";
      break;
    }
    if (n > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
      if (r <= 0) {
        why = r == 0 ? "connection closed by the server" : errno_text("recv");
        break;
      }
      dec.feed(std::string_view(buf.data(), static_cast<size_t>(r)));
      packet p;
      decoder::status st;
      while ((st = dec.next(p)) == decoder::status::ok) {
        callback cb;
        {
          std::lock_guard<std::mutex> g(mtx_);
          auto it = pending_.find(p.id);
          if (it != pending_.end()) {
            cb = std::move(it->second.cb);
            pending_.erase(it);
          }
        }
        // A reply to an expired command is dropped: its caller already got "timeout".
        if (cb)
          cb(reply(std::move(p.body)));
      }
      if (st == decoder::status::error) {
        why = "bad packet from the server: " + dec.error();
        break;
      }
    }
    std::vector<callback> expired;
    {
      std::lock_guard<std::mutex> g(mtx_);
      auto now = clock_type::now();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.deadline <= now) {
          expired.push_back(std::move(it->second.cb));
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& cb : expired)
      cb(failure("timeout"));
  }
  {
    std::lock_guard<std::mutex> g(mtx_);
    connected_ = false;
  }
  fail_all("disconnected: " + why);
}

} // namespace clusterio::rcon
