// zmq-ceiling: what ZeroMQ with CURVE alone does on this machine, with none of the master's
// work (no decoding, no actors, no SQLite): the upper bound for master-load and signal-bus.
//
//   round-trips: a ROUTER that echoes every message (CURVE server, two I/O threads, as the
//     gateway), 10 DEALER clients with 32 messages of 100 bytes in flight each (master-load's
//     shape at N=100). Prints round trips per second and their latency.
//   paced round-trips (--rate R): the same echo, but the clients send R messages a second in all,
//     one per frame, each on its schedule (master-load --rate's shape). Prints also the CPU the
//     server side (echo thread and its I/O threads) spent per message: the floor under the
//     master's cost per message at a real cluster's rate, where nothing batches.
//   fan-out: an XPUB (CURVE server) publishing 850-byte messages 3,000 times a second to 100 SUB
//     clients (signal-bus's shape). Prints deliveries per second, latency and deliveries missing.
//
// usage: zmq-ceiling [--seconds 10] [--insecure] [--rate R]     (one JSON line per mode)

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <dirent.h>
#include <set>
#include <sys/syscall.h>
#include <unistd.h>

#include <zmq.hpp>

#include "common/credentials.hpp"
#include "tests/support/process.hpp"

using namespace clusterio;
using namespace std::chrono;

namespace {

constexpr int io_threads = 2;
constexpr int client_threads = 2;
constexpr int hwm = 100000;

std::uint64_t now_us() { return static_cast<std::uint64_t>(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count()); }

struct keys {
  key_pair server = make_key_pair(), client = make_key_pair();
};

void as_server(zmq::socket_t& s, const keys& k, bool insecure) {
  if (insecure)
    return;
  s.set(zmq::sockopt::curve_server, 1);
  s.set(zmq::sockopt::curve_secretkey, k.server.secret_key);
}

void as_client(zmq::socket_t& s, const keys& k, bool insecure) {
  if (insecure)
    return;
  s.set(zmq::sockopt::curve_serverkey, k.server.public_key);
  s.set(zmq::sockopt::curve_publickey, k.client.public_key);
  s.set(zmq::sockopt::curve_secretkey, k.client.secret_key);
}

double percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))] / 1000.0;
}

/// Payload: the send time (8 bytes) then filler.
std::string stamped(std::size_t size) {
  std::string m(size, 'x');
  auto t = now_us();
  std::memcpy(m.data(), &t, sizeof t);
  return m;
}

std::uint64_t stamp_of(const zmq::message_t& m) {
  std::uint64_t t = 0;
  if (m.size() >= sizeof t)
    std::memcpy(&t, m.data(), sizeof t);
  return t;
}

/// The latencies of every thread in one list, and their count of messages.
std::pair<std::vector<std::uint32_t>, std::uint64_t> merged(const std::vector<std::vector<std::uint32_t>>& latencies,
                                                            const std::vector<std::uint64_t>& counts) {
  std::vector<std::uint32_t> all;
  for (const auto& l : latencies)
    all.insert(all.end(), l.begin(), l.end());
  std::uint64_t total = 0;
  for (auto c : counts)
    total += c;
  return {std::move(all), total};
}

/// This process's threads.
std::set<long> threads_now() {
  std::set<long> tids;
  if (auto* dir = opendir("/proc/self/task")) {
    while (auto* e = readdir(dir))
      if (e->d_name[0] != '.')
        tids.insert(std::atol(e->d_name));
    closedir(dir);
  }
  return tids;
}

/// CPU seconds these threads of this process used so far.
double cpu_of(const std::set<long>& tids) {
  double seconds = 0;
  for (auto tid : tids)
    seconds += test::thread_cpu_seconds(static_cast<pid_t>(tid));
  return seconds;
}

/// rate 0: closed loop (a window of 32 per connection); otherwise `rate` messages a second in all.
void round_trips(double seconds, bool insecure, double rate) {
  constexpr int connections = 10, window = 32;
  constexpr std::size_t size = 100;
  keys k;
  auto before_server = threads_now();
  zmq::context_t server_ctx(io_threads), client_ctx(io_threads);
  zmq::socket_t router(server_ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::rcvhwm, hwm);
  router.set(zmq::sockopt::sndhwm, hwm);
  as_server(router, k, insecure);
  router.bind("tcp://127.0.0.1:*");
  auto endpoint = router.get(zmq::sockopt::last_endpoint);
  // The server's threads: its context's I/O threads (started with its first socket) and the echo.
  std::set<long> server_threads;
  for (auto tid : threads_now())
    if (!before_server.count(tid))
      server_threads.insert(tid);
  std::atomic<long> echo_tid{0};
  std::atomic<bool> stop{false};
  std::thread echo([&] {
    echo_tid = static_cast<long>(syscall(SYS_gettid));
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop) {
      if (zmq::poll(&item, 1, milliseconds(100)) <= 0)
        continue;
      zmq::message_t rid, body;
      while (router.recv(rid, zmq::recv_flags::dontwait)) {
        (void)router.recv(body);
        router.send(rid, zmq::send_flags::sndmore);
        router.send(body, zmq::send_flags::dontwait);
      }
    }
  });
  std::vector<zmq::socket_t> dealers;
  for (int i = 0; i < connections; ++i) {
    dealers.emplace_back(client_ctx, zmq::socket_type::dealer);
    dealers.back().set(zmq::sockopt::linger, 0);
    as_client(dealers.back(), k, insecure);
    dealers.back().connect(endpoint);
  }
  std::vector<std::vector<std::uint32_t>> latencies(client_threads);
  std::vector<std::uint64_t> counts(client_threads, 0);
  std::atomic<bool> measuring{false};
  std::vector<std::thread> clients;
  for (int t = 0; t < client_threads; ++t)
    clients.emplace_back([&, t] {
      std::vector<zmq::pollitem_t> items;
      std::vector<zmq::socket_t*> mine;
      for (std::size_t i = static_cast<std::size_t>(t); i < dealers.size(); i += client_threads) {
        mine.push_back(&dealers[i]);
        items.push_back({dealers[i].handle(), 0, ZMQ_POLLIN, 0});
        for (int w = 0; w < window && rate == 0; ++w)
          dealers[i].send(zmq::buffer(stamped(size)));
      }
      // Paced: this thread's share of the schedule, each message on its own frame.
      auto start_us = now_us();
      double per_us = rate / client_threads / 1e6;
      std::uint64_t scheduled = 0;
      std::size_t next = 0;
      while (!stop) {
        for (auto due = static_cast<std::uint64_t>(static_cast<double>(now_us() - start_us) * per_us); rate > 0 && scheduled < due; ++scheduled)
          mine[next++ % mine.size()]->send(zmq::buffer(stamped(size)), zmq::send_flags::dontwait);
        if (zmq::poll(items.data(), items.size(), milliseconds(rate > 0 ? 1 : 100)) <= 0)
          continue;
        for (std::size_t i = 0; i < mine.size(); ++i) {
          zmq::message_t reply;
          while (mine[i]->recv(reply, zmq::recv_flags::dontwait)) {
            if (measuring) {
              latencies[static_cast<std::size_t>(t)].push_back(static_cast<std::uint32_t>(now_us() - stamp_of(reply)));
              ++counts[static_cast<std::size_t>(t)];
            }
            if (rate == 0)
              mine[i]->send(zmq::buffer(stamped(size)), zmq::send_flags::dontwait);
          }
        }
      }
    });
  std::this_thread::sleep_for(seconds * 0.2 * 1s); // handshakes and warm-up
  server_threads.insert(echo_tid);
  auto cpu_before = cpu_of(server_threads);
  measuring = true;
  auto started = steady_clock::now();
  std::this_thread::sleep_for(seconds * 1s);
  measuring = false;
  double elapsed = duration<double>(steady_clock::now() - started).count();
  auto server_cpu = cpu_of(server_threads) - cpu_before;
  stop = true;
  for (auto& c : clients)
    c.join();
  echo.join();
  auto [all, total] = merged(latencies, counts);
  std::printf("{\"bench\":\"zmq-ceiling\",\"mode\":\"%s\",\"curve\":%s,\"connections\":%d,", rate > 0 ? "paced-round-trips" : "round-trips",
              insecure ? "false" : "true", connections);
  if (rate > 0)
    std::printf("\"offered_per_s\":%.0f,", rate);
  else
    std::printf("\"in_flight\":%d,", connections * window);
  std::printf("\"msgs_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"server_cpu_us_per_msg\":%.2f}\n", static_cast<double>(total) / elapsed,
              percentile(all, 0.5), percentile(all, 0.99), total ? server_cpu * 1e6 / static_cast<double>(total) : 0.0);
  std::fflush(stdout);
}

void fan_out(double seconds, bool insecure) {
  constexpr int subscribers = 100, rate = 3000;
  constexpr std::size_t size = 850;
  keys k;
  zmq::context_t server_ctx(io_threads), client_ctx(io_threads);
  zmq::socket_t pub(server_ctx, zmq::socket_type::xpub);
  pub.set(zmq::sockopt::linger, 0);
  pub.set(zmq::sockopt::sndhwm, hwm);
  pub.set(zmq::sockopt::xpub_verbose, 1); // every subscription reported, not only the first
  as_server(pub, k, insecure);
  pub.bind("tcp://127.0.0.1:*");
  auto endpoint = pub.get(zmq::sockopt::last_endpoint);
  std::vector<zmq::socket_t> subs;
  for (int i = 0; i < subscribers; ++i) {
    subs.emplace_back(client_ctx, zmq::socket_type::sub);
    subs.back().set(zmq::sockopt::linger, 0);
    subs.back().set(zmq::sockopt::rcvhwm, hwm);
    as_client(subs.back(), k, insecure);
    subs.back().set(zmq::sockopt::subscribe, "");
    subs.back().connect(endpoint);
  }
  // Wait for every subscription to arrive at the XPUB.
  for (int seen = 0; seen < subscribers;) {
    zmq::message_t m;
    if (pub.recv(m))
      ++seen;
  }
  // One thread per subscriber, blocked in recv: cheaper than polling many sockets from one
  // thread (a zmq poll costs a system call and a getpid per socket).
  std::atomic<bool> stop{false}, measuring{false};
  std::vector<std::vector<std::uint32_t>> latencies(subscribers);
  std::vector<std::uint64_t> counts(subscribers, 0);
  std::vector<std::thread> receivers;
  for (int i = 0; i < subscribers; ++i) {
    subs[static_cast<std::size_t>(i)].set(zmq::sockopt::rcvtimeo, 100);
    receivers.emplace_back([&, i] {
      auto& s = subs[static_cast<std::size_t>(i)];
      auto& lat = latencies[static_cast<std::size_t>(i)];
      while (!stop) {
        zmq::message_t m;
        if (!s.recv(m))
          continue;
        auto sent = stamp_of(m);
        if (sent != 0 && measuring) {
          lat.push_back(static_cast<std::uint32_t>(now_us() - sent));
          ++counts[static_cast<std::size_t>(i)];
        }
      }
    });
  }
  // Messages sent while measuring carry a stamp; the others a zero (not counted).
  auto send_for = [&](double secs, bool stamp) {
    std::uint64_t sent = 0;
    auto start = steady_clock::now();
    auto end = start + duration<double>(secs);
    for (auto next = start; next < end; next += microseconds(1000000 / rate)) {
      std::this_thread::sleep_until(next);
      auto m = stamped(size);
      if (!stamp)
        std::memset(m.data(), 0, sizeof(std::uint64_t));
      pub.send(zmq::buffer(m), zmq::send_flags::dontwait);
      ++sent;
    }
    return sent;
  };
  send_for(seconds * 0.2, false);
  measuring = true;
  auto started = steady_clock::now();
  auto sent = send_for(seconds, true);
  double elapsed = duration<double>(steady_clock::now() - started).count();
  send_for(1.0, false); // late deliveries of the window still count
  measuring = false;
  stop = true;
  for (auto& r : receivers)
    r.join();
  auto [all, total] = merged(latencies, counts);
  auto due = sent * subscribers;
  std::printf("{\"bench\":\"zmq-ceiling\",\"mode\":\"fan-out\",\"curve\":%s,\"subscribers\":%d,\"deliveries_per_s\":%.0f,\"p50_ms\":%.3f,"
              "\"p99_ms\":%.3f,\"dropped\":%llu}\n",
              insecure ? "false" : "true", subscribers, static_cast<double>(total) / elapsed, percentile(all, 0.5), percentile(all, 0.99),
              static_cast<unsigned long long>(due > total ? due - total : 0));
}

} // namespace

int main(int argc, char** argv) {
  double seconds = 10;
  bool insecure = false;
  double rate = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--insecure")
      insecure = true;
    else if (a == "--rate" && i + 1 < argc && std::atof(argv[i + 1]) > 0)
      rate = std::atof(argv[++i]);
    else {
      std::fprintf(stderr, "usage: zmq-ceiling [--seconds 10] [--insecure] [--rate R]\n");
      return 2;
    }
  }
  if (rate > 0)
    return round_trips(seconds, insecure, rate), 0;
  round_trips(seconds, insecure, 0);
  fan_out(seconds, insecure);
  return 0;
}
