// signal-bus: P publishing instances each send a frame of S signals F times a second to a real
// clusterio-master (CURVE on, unless --insecure); N subscribers receive them. With --channels 1
// (the default) every subscriber receives every frame (N x P x F deliveries a second); with
// --channels K publisher i sends on channel i mod K and subscriber j listens to channel j mod K.
// Prints one JSON line:
//   {"bench":"signal-bus","frames_per_s":..,"p50_ms":..,"p99_ms":..,"dropped":..,...}
// frames_per_s: frames the publishers got `ok` for, per second, in the measured window;
// p50/p99: publisher send -> subscriber receive (one clock: same process), over every delivery;
// dropped: deliveries missing = deliveries due for the frames sent in the window - deliveries made.
//
// usage: signal-bus [--seconds 10] [--publishers 50] [--rate 60] [--signals 50] [--subscribers 100]
//                   [--channels 1] [--insecure]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>
#include <unistd.h>
#include <unordered_map>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/credentials.hpp"
#include "messages/message.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace std::chrono;

namespace {

constexpr int socket_hwm = 100000;

struct params {
  double seconds = 10;
  int publishers = 50, rate = 60, signals = 50, subscribers = 100, channels = 1;
  bool insecure = false;
};

std::uint64_t now_us() { return static_cast<std::uint64_t>(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count()); }

std::unique_ptr<zmq::socket_t> make_socket(zmq::context_t& ctx, zmq::socket_type type, const std::optional<credential>& cred) {
  auto s = std::make_unique<zmq::socket_t>(ctx, type);
  s->set(zmq::sockopt::linger, 0);
  s->set(zmq::sockopt::rcvhwm, socket_hwm);
  s->set(zmq::sockopt::sndhwm, socket_hwm);
  if (cred) {
    s->set(zmq::sockopt::curve_serverkey, cred->master_public_key);
    s->set(zmq::sockopt::curve_publickey, cred->keys.public_key);
    s->set(zmq::sockopt::curve_secretkey, cred->keys.secret_key);
  }
  return s;
}

/// Reads `seq` and `source` of a bus frame without decoding it: the bench's own CPU competes
/// with the master's on the same machine, and 300,000 full decodes a second would dominate.
/// Relies on the C++ encoder's layout (fields in wire order; `source` and `seq` before the
/// signals); a real client decodes the frame (messages/codec.cpp, docs/protocol.md).
bool peek(const zmq::message_t& body, std::uint64_t& seq, std::string& source) {
  std::string_view b(static_cast<const char*>(body.data()), std::min<std::size_t>(body.size(), 256));
  auto s = b.find("\xa6source");
  auto q = b.find("\xa3seq");
  if (s == std::string_view::npos || q == std::string_view::npos || q + 4 >= b.size())
    return false;
  auto len_at = s + 7;
  if (len_at >= b.size())
    return false;
  auto tag = static_cast<unsigned char>(b[len_at]);
  std::size_t len = 0, off = len_at + 1;
  if ((tag & 0xe0) == 0xa0)
    len = tag & 0x1f;
  else if (tag == 0xd9 && off < b.size())
    len = static_cast<unsigned char>(b[off++]);
  else
    return false;
  if (off + len > b.size())
    return false;
  source.assign(b.substr(off, len));
  auto p = q + 4;
  auto t = static_cast<unsigned char>(b[p]);
  int n = t == 0xcf ? 8 : t == 0xce ? 4 : t == 0xcd ? 2 : t == 0xcc ? 1 : 0;
  if (n == 0) {
    if (t > 0x7f)
      return false;
    seq = t;
    return true;
  }
  if (p + 1 + static_cast<std::size_t>(n) > b.size())
    return false;
  seq = 0;
  for (int i = 1; i <= n; ++i)
    seq = (seq << 8) | static_cast<unsigned char>(b[p + static_cast<std::size_t>(i)]);
  return true;
}

/// "bench-3." : the dot keeps "signal/bench-1." from being a prefix of "signal/bench-10.".
std::string channel_name(int i) { return "bench-" + std::to_string(i) + "."; }

struct subscriber_result {
  std::vector<std::uint32_t> latency_us;
  std::uint64_t delivered = 0; ///< deliveries of frames sent in the window
  std::uint64_t first_seen = 0;
};

/// Parses the command line into `p`; false (after printing why) on a bad one.
bool parse_params(int argc, char** argv, params& p) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atof(argv[++i]) : 0.0; };
    if (a == "--seconds") p.seconds = next();
    else if (a == "--publishers") p.publishers = static_cast<int>(next());
    else if (a == "--rate") p.rate = static_cast<int>(next());
    else if (a == "--signals") p.signals = static_cast<int>(next());
    else if (a == "--subscribers") p.subscribers = static_cast<int>(next());
    else if (a == "--channels") p.channels = static_cast<int>(next());
    else if (a == "--insecure") p.insecure = true;
    else {
      std::cerr << "usage: signal-bus [--seconds S] [--publishers P] [--rate F] [--signals S] [--subscribers N] [--channels K] [--insecure]\n";
      return false;
    }
  }
  if (p.publishers < 1 || p.rate < 1 || p.subscribers < 1 || p.channels < 1 || p.seconds <= 0) {
    std::cerr << "signal-bus: every count must be positive\n";
    return false;
  }
  return true;
}

/// What the publisher and the subscriber threads share.
struct shared_run {
  std::atomic<bool> stop_pub{false}, stop_sub{false};
  /// The measured window, in the publishers' sequence numbers (µs); none until it starts.
  std::atomic<std::uint64_t> window_start{~0ULL}, window_end{~0ULL};
  std::atomic<int> subscribers_live{0};
  std::atomic<std::uint64_t> sent_in_window{0}, refused{0}, expected{0};
  std::vector<std::uint64_t> subs_on; ///< subscribers per channel
};

/// One subscriber, blocked in recv (as a real subscriber process would be): cheaper than polling
/// many sockets from one thread, where every zmq poll costs a system call and a getpid per
/// socket, and the bench's own overhead would count as the master's drops.
void subscribe(zmq::socket_t& sock, shared_run& run, subscriber_result& r) {
  sock.set(zmq::sockopt::rcvtimeo, 50);
  std::unordered_map<std::string, std::uint64_t> last;
  bool live = false;
  std::string source;
  while (!run.stop_sub) {
    zmq::message_t topic, body;
    if (!sock.recv(topic))
      continue;
    if (!topic.more() || !sock.recv(body))
      continue;
    auto at = now_us();
    std::uint64_t seq = 0;
    if (!peek(body, seq, source))
      continue;
    if (!live) {
      live = true;
      ++run.subscribers_live;
    }
    auto& prev = last[source];
    if (seq <= prev)
      continue; // a snapshot repeat
    prev = seq;
    if (seq >= run.window_start && seq < run.window_end) {
      ++r.delivered;
      r.latency_us.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(at - seq, 0xffffffffu)));
    }
  }
}

/// Reads the replies the master sent the publishers so far (ok, or an error counted as refused).
void drain_replies(std::vector<std::unique_ptr<zmq::socket_t>>& pubs, shared_run& run) {
  for (auto& pub : pubs)
    for (zmq::message_t reply; pub->recv(reply, zmq::recv_flags::dontwait);) {
      auto d = wire::decode(reply.to_string_view());
      if (!d.ok || !std::holds_alternative<wire::ok>(d.value.body))
        ++run.refused;
    }
}

/// The publisher thread: frames evenly spread, each publisher at `rate`; replies drained.
void publish(std::vector<std::unique_ptr<zmq::socket_t>>& pubs, const params& p, shared_run& run) {
  std::vector<std::uint64_t> last_seq(pubs.size(), 0);
  wire::signal_frame f{"", "", 0, {}};
  for (int i = 0; i < p.signals; ++i)
    f.signals.push_back({"signal-" + std::to_string(i), i * 37});
  auto interval_us = 1e6 / (static_cast<double>(p.rate) * static_cast<double>(p.publishers));
  auto start = now_us();
  std::uint64_t n = 0;
  std::uint64_t id = 1;
  while (!run.stop_pub) {
    auto due = start + static_cast<std::uint64_t>(static_cast<double>(n) * interval_us);
    auto now = now_us();
    if (due > now)
      std::this_thread::sleep_for(microseconds(due - now));
    auto k = static_cast<std::size_t>(n % pubs.size());
    ++n;
    auto seq = std::max(now_us(), last_seq[k] + 1);
    last_seq[k] = seq;
    f.seq = seq;
    f.channel = channel_name(static_cast<int>(k) % p.channels);
    f.signals[0].value = static_cast<std::int64_t>(n % 1000000);
    auto bytes = wire::encode({id++, f});
    if (!pubs[k]->send(zmq::buffer(bytes), zmq::send_flags::dontwait))
      continue;
    if (seq >= run.window_start && seq < run.window_end)
      ++run.sent_in_window, run.expected += run.subs_on[k % run.subs_on.size()];
    if (n % 64 == 0)
      drain_replies(pubs, run);
  }
}

/// Prints the figures: a line for people on stderr, the JSON line on stdout.
void report(const params& p, shared_run& run, std::vector<subscriber_result>& results, double master_cpu_s) {
  std::vector<std::uint32_t> all;
  std::uint64_t delivered = 0;
  for (auto& r : results) {
    delivered += r.delivered;
    all.insert(all.end(), r.latency_us.begin(), r.latency_us.end());
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) { return all.empty() ? 0.0 : all[static_cast<std::size_t>(q * static_cast<double>(all.size() - 1))] / 1000.0; };
  auto expected = run.expected.load();
  auto dropped = expected > delivered ? expected - delivered : 0;
  std::cerr << "signal-bus: " << run.subscribers_live.load() << "/" << p.subscribers << " subscribers live, " << delivered << " of " << expected
            << " deliveries on " << p.channels << " channel(s), " << run.refused.load() << " refused, master cpu " << master_cpu_s / p.seconds * 100
            << "%\n";
  std::printf("{\"bench\":\"signal-bus\",\"frames_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"dropped\":%llu,\"deliveries_per_s\":%.0f,"
              "\"master_cpu_pct\":%.0f,\"channels\":%d,\"curve\":%s}\n",
              static_cast<double>(run.sent_in_window.load()) / p.seconds, pct(0.50), pct(0.99), static_cast<unsigned long long>(dropped),
              static_cast<double>(delivered) / p.seconds, master_cpu_s / p.seconds * 100, p.channels, p.insecure ? "false" : "true");
}

} // namespace

int main(int argc, char** argv) {
  params p;
  if (!parse_params(argc, argv, p))
    return 2;
  std::cerr << "signal-bus: " << p.publishers << " publishers x " << p.rate << " frames/s x " << p.signals << " signals -> " << p.subscribers
            << " subscribers, " << p.seconds << " s" << (p.insecure ? ", insecure" : ", CURVE") << "...\n";

  test::master_fixture master(p.insecure, "\"durability\":\"process\",\"log_level\":\"warn\"");
  std::vector<std::optional<credential>> pub_creds(static_cast<std::size_t>(p.publishers)), sub_creds(static_cast<std::size_t>(p.subscribers));
  if (!p.insecure) {
    for (int i = 0; i < p.publishers; ++i)
      pub_creds[static_cast<std::size_t>(i)] = master.add_client("bench-pub-" + std::to_string(i), "publisher");
    for (int i = 0; i < p.subscribers; ++i)
      sub_creds[static_cast<std::size_t>(i)] = master.add_client("bench-sub-" + std::to_string(i), "subscriber");
  }
  master.start();
  zmq::context_t ctx(2);

  // Subscribers first.
  std::vector<std::unique_ptr<zmq::socket_t>> subs;
  for (auto& c : sub_creds) {
    subs.push_back(make_socket(ctx, zmq::socket_type::sub, c));
    subs.back()->set(zmq::sockopt::subscribe, "signal/" + channel_name(static_cast<int>(subs.size() - 1) % p.channels));
    subs.back()->connect(master.bus_endpoint());
  }
  std::vector<std::unique_ptr<zmq::socket_t>> pubs;
  for (auto& c : pub_creds) {
    pubs.push_back(make_socket(ctx, zmq::socket_type::dealer, c));
    pubs.back()->connect(master.control_endpoint());
  }

  shared_run run;
  run.subs_on.assign(static_cast<std::size_t>(p.channels), 0);
  for (int j = 0; j < p.subscribers; ++j)
    ++run.subs_on[static_cast<std::size_t>(j % p.channels)];
  std::vector<subscriber_result> results(subs.size());
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < subs.size(); ++k)
    threads.emplace_back([&, k] { subscribe(*subs[k], run, results[k]); });
  std::thread publisher([&] { publish(pubs, p, run); });

  // Warm up until every subscriber has seen a frame (bounded), then measure.
  for (int i = 0; i < 200 && run.subscribers_live < p.subscribers; ++i)
    std::this_thread::sleep_for(milliseconds(50));
  std::this_thread::sleep_for(milliseconds(500));
  auto cpu0 = test::cpu_seconds(master.pid());
  auto t0 = now_us();
  run.window_end = t0 + static_cast<std::uint64_t>(p.seconds * 1e6);
  run.window_start = t0;
  std::this_thread::sleep_for(microseconds(static_cast<std::uint64_t>(p.seconds * 1e6)));
  auto cpu1 = test::cpu_seconds(master.pid());
  std::this_thread::sleep_for(milliseconds(200));
  run.stop_pub = true;
  publisher.join();
  std::this_thread::sleep_for(milliseconds(1500)); // let deliveries of the window's last frames land
  run.stop_sub = true;
  for (auto& t : threads)
    t.join();
  report(p, run, results, cpu1 - cpu0);
  master.stop();
  return 0;
}
