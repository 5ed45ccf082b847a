#include "tests/support/hostile.hpp"

#include <algorithm>
#include <memory>
#include <thread>

#include <zmq.hpp>

#include "common/clock.hpp"
#include "messages/inventory_parts.hpp"
#include "messages/limits.hpp"
#include "tests/support/tcp_connection.hpp"

namespace clusterio::test {

void subscribe_long_topics(bus_subscriber& sub, std::size_t count, std::size_t bytes) {
  std::string topic(bytes, 'x');
  for (std::size_t i = 0; i < count; ++i) {
    auto n = std::to_string(1000 + i);
    topic.replace(0, n.size(), n);
    sub.subscribe(topic);
  }
}

std::optional<wire::inventory_levels> next_full_inventory(bus_subscriber& sub, std::chrono::milliseconds timeout, std::size_t* most_levels) {
  wire::inventory_joiner joiner;
  auto until = mono_ms() + static_cast<std::uint64_t>(timeout.count());
  for (auto now = mono_ms(); now < until; now = mono_ms()) {
    auto m = sub.recv(std::chrono::milliseconds(until - now));
    auto* inv = m ? std::get_if<wire::inventory_levels>(&m->second.body) : nullptr;
    if (inv == nullptr)
      continue;
    if (most_levels != nullptr)
      *most_levels = std::max(*most_levels, inv->levels.size());
    if (auto whole = joiner.add(std::move(*inv)); whole && whole->full)
      return whole;
  }
  return std::nullopt;
}

long_names_result export_long_names(wire_client& slave, std::uint64_t instance, std::uint64_t first_batch, std::size_t batches) {
  long_names_result out;
  for (std::size_t k = 1; k <= batches; ++k) {
    wire::item_list items;
    // 194 bytes of padding and a six-digit number, distinct over every batch.
    for (std::size_t i = 0; i < wire::max_list_entries; ++i)
      items.push_back({std::string(wire::max_name_bytes - 6, 'n') + std::to_string(100000 + k * wire::max_list_entries + i), 1});
    auto batch = first_batch + k - 1;
    auto r = slave.call(wire::export_batch{instance, batch, batch, items}, std::chrono::seconds(20));
    if (r && std::holds_alternative<wire::export_ack>(r->body))
      out.accepted += items.size();
    else if (auto* e = r ? std::get_if<wire::error_reply>(&r->body) : nullptr)
      out.refusals.push_back(e->message);
    else
      out.refusals.push_back(r ? "another reply" : "no reply");
  }
  return out;
}

std::size_t send_bad_frames(wire_client& c, std::size_t count) {
  std::size_t invalid = 0;
  for (std::size_t sent = 0; sent < count;) {
    auto round = std::min<std::size_t>(100, count - sent);
    for (std::size_t i = 1; i <= round; ++i)
      c.send_raw(wire::encode({sent + i, wire::hello{"not a label!", "test"}}));
    sent += round;
    for (std::size_t i = 0; i < round; ++i) {
      auto r = c.recv(std::chrono::seconds(5));
      if (!r)
        break;
      auto* e = std::get_if<wire::error_reply>(&r->body);
      invalid += e && e->code == wire::error_code::invalid;
    }
  }
  return invalid;
}

void knock_with_unknown_keys(const std::string& endpoint, const credential& known, std::size_t count, std::chrono::milliseconds duration) {
  std::vector<std::unique_ptr<wire_client>> strangers;
  for (std::size_t i = 0; i < count; ++i) {
    credential stranger = known;
    stranger.keys = make_key_pair(); // the right master key, but not on the allow-list
    strangers.push_back(std::make_unique<wire_client>(endpoint, stranger));
    strangers.back()->send(wire::hello{"stranger", "test"});
  }
  std::this_thread::sleep_for(duration);
}

std::vector<std::optional<wire::frame>> call_pipelined(wire_client& c, std::size_t count, const std::function<wire::message(std::size_t)>& make,
                                                       std::size_t window, std::chrono::milliseconds timeout) {
  std::vector<std::optional<wire::frame>> replies(count);
  std::vector<std::uint64_t> ids(count);
  std::uint64_t first_id = 0;
  std::size_t sent = 0, answered = 0;
  while (answered < count) {
    while (sent < count && sent - answered < window) {
      ids[sent] = c.send(make(sent));
      if (sent == 0)
        first_id = ids[0];
      ++sent;
    }
    auto r = c.recv(timeout);
    if (!r)
      break;
    // Ids are consecutive from the first: the reply's index is its id's distance from it.
    if (r->id < first_id || r->id - first_id >= count)
      continue;
    auto& slot = replies[r->id - first_id];
    if (!slot) {
      slot = std::move(*r);
      ++answered;
    }
  }
  return replies;
}

namespace {

/// A socket of `cred` whose receive queue holds one message: once that is full, its ZeroMQ
/// stops reading the connection, as a peer that does not read would.
zmq::socket_t non_reading_socket(zmq::context_t& ctx, zmq::socket_type type, const credential& cred) {
  zmq::socket_t s(ctx, type);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::rcvhwm, 1);
  s.set(zmq::sockopt::rcvbuf, 4096);
  s.set(zmq::sockopt::sndtimeo, 1000);
  apply_curve(s, cred);
  return s;
}

} // namespace

void ask_without_reading(const std::string& endpoint, const credential& cred, const wire::message& request, std::size_t connections,
                         std::size_t per_connection, std::chrono::milliseconds hold, std::chrono::milliseconds trickle_every) {
  zmq::context_t ctx(1);
  std::vector<zmq::socket_t> sockets;
  for (std::size_t i = 0; i < connections; ++i) {
    sockets.push_back(non_reading_socket(ctx, zmq::socket_type::dealer, cred));
    sockets.back().connect(endpoint);
  }
  auto until = mono_ms() + static_cast<std::uint64_t>(hold.count());
  std::uint64_t id = 1;
  for (std::size_t n = 0; n < per_connection && mono_ms() < until; ++n)
    for (auto& s : sockets) {
      auto frame = wire::encode({id++, request});
      (void)s.send(zmq::buffer(frame), zmq::send_flags::none); // at most 1 s (sndtimeo), then skipped
    }
  for (auto next = mono_ms(); trickle_every.count() > 0 && next + static_cast<std::uint64_t>(trickle_every.count()) < until;) {
    next += static_cast<std::uint64_t>(trickle_every.count());
    std::this_thread::sleep_for(std::chrono::milliseconds(next - std::min(next, mono_ms())));
    for (auto& s : sockets) {
      auto frame = wire::encode({id++, request});
      (void)s.send(zmq::buffer(frame), zmq::send_flags::dontwait);
    }
  }
  if (auto now = mono_ms(); now < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(until - now));
}

void publish_busy_channel(const std::string& endpoint, const credential& cred, const std::string& channel, const std::atomic<bool>& stop) {
  wire_client pub(endpoint, cred);
  for (std::uint64_t seq = 1; !stop && seq <= 10000; ++seq) {
    wire::signal_list values;
    for (int i = 0; i < 50; ++i)
      values.push_back({"signal-" + std::to_string(i), static_cast<std::int64_t>(seq), "virtual"});
    (void)pub.call(wire::signal_frame{channel, "", seq, std::move(values)}, std::chrono::seconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void subscribe_without_reading(const std::string& endpoint, const credential& cred, const std::string& topic, std::size_t connections,
                               std::chrono::milliseconds hold) {
  zmq::context_t ctx(1);
  std::vector<zmq::socket_t> sockets;
  for (std::size_t i = 0; i < connections; ++i) {
    sockets.push_back(non_reading_socket(ctx, zmq::socket_type::sub, cred));
    sockets.back().set(zmq::sockopt::subscribe, topic);
    sockets.back().connect(endpoint);
  }
  std::this_thread::sleep_for(hold);
}

namespace {

/// A request's first lines, without the empty line that ends the head.
const std::string request_line = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";

} // namespace

std::vector<header_flood_result> http_header_flood(int port, std::size_t connections, std::size_t bytes, std::chrono::milliseconds limit) {
  std::vector<header_flood_result> out(connections);
  std::vector<std::thread> threads;
  auto deadline = mono_ms() + static_cast<std::uint64_t>(limit.count());
  for (std::size_t i = 0; i < connections; ++i)
    threads.emplace_back([&, i] {
      auto& r = out[i];
      tcp_connection c(port);
      if (!c.ok()) {
        r.closed_by_server = true;
        return;
      }
      // A server that stops reading without closing makes a send wait: the deadline bounds it.
      c.timeouts(std::chrono::milliseconds(200), std::chrono::seconds(5));
      const std::string line = "X-Flood: " + std::string(8000, 'a') + "\r\n";
      auto state = c.send_all(request_line, r.bytes_sent, deadline);
      while (state == tcp_connection::sent::all && r.bytes_sent < bytes && mono_ms() < deadline)
        state = c.send_all(line, r.bytes_sent, deadline);
      r.closed_by_server = state == tcp_connection::sent::closed;
      std::size_t ignored = 0;
      if (state == tcp_connection::sent::all)
        c.send_all("\r\n", ignored, mono_ms() + 1000);
      r.status = http_status_of(c.receive(std::chrono::seconds(5)));
    });
  for (auto& t : threads)
    t.join();
  return out;
}

std::size_t http_slow_headers(int port, std::size_t connections, std::chrono::milliseconds every, std::chrono::milliseconds duration) {
  std::vector<std::unique_ptr<tcp_connection>> conns;
  std::vector<bool> done(connections, false);
  for (std::size_t i = 0; i < connections; ++i) {
    conns.push_back(std::make_unique<tcp_connection>(port));
    conns.back()->timeouts(std::chrono::milliseconds(200), std::chrono::milliseconds(200));
  }
  auto until = mono_ms() + static_cast<std::uint64_t>(duration.count());
  for (int line = 0; mono_ms() < until; ++line) {
    for (std::size_t i = 0; i < connections; ++i) {
      if (done[i])
        continue;
      std::size_t ignored = 0;
      auto& c = *conns[i];
      done[i] = !c.ok() || c.server_done() ||
                c.send_all(line == 0 ? request_line : "X-Slow-" + std::to_string(line) + ": x\r\n", ignored, mono_ms() + 1000) ==
                  tcp_connection::sent::closed;
    }
    auto left = until - std::min(until, mono_ms());
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::uint64_t>(left, static_cast<std::uint64_t>(every.count()))));
  }
  std::size_t closed = 0;
  for (std::size_t i = 0; i < connections; ++i)
    closed += done[i] || conns[i]->server_done();
  return closed;
}

std::size_t http_idle_connections(int port, std::size_t connections, std::chrono::milliseconds duration) {
  std::vector<std::unique_ptr<tcp_connection>> conns;
  for (std::size_t i = 0; i < connections; ++i)
    conns.push_back(std::make_unique<tcp_connection>(port));
  std::this_thread::sleep_for(duration);
  std::size_t closed = 0;
  for (auto& c : conns)
    closed += !c->ok() || c->server_done();
  return closed;
}

} // namespace clusterio::test
