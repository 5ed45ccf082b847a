// master-load: N simulated instances send exports and requests over real sockets (CURVE) to a
// real clusterio-master process with durability on; prints one JSON line per N.
//
// Each slave connection carries 10 instances (N=1000: 100 slaves). Mix per instance: export
// (60%), request (20%), confirm of the grants it got (20%). CPU and peak RSS are the master's
// own, from /proc.
//
// Two ways to load it:
// - closed loop (default): load threads keep a window of 32 requests in flight per connection
//   and send the next one as each reply comes. This is the master saturated: how much it
//   carries, and how long a reply takes then. The latency is the window over the throughput
//   (Little's law: 320 in flight at 160,000 msgs/s are 2 ms each on average).
// - paced (--rate=R): R messages a second in all, each sent at its scheduled time whatever the
//   replies do (open loop), the latency counted from that scheduled time, so a generator that
//   falls behind, or a full window, adds to the latency instead of hiding it. This answers
//   "what is p99 at R msgs/s?". At most 256 in flight per connection; a run that cannot send
//   on schedule shows it in its latency and its msgs_per_s.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <httplib.h>
#include <zmq.hpp>

#include "client/wire_client.hpp"
#include "common/clock.hpp"
#include "common/credentials.hpp"
#include "messages/message.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace std::chrono;

namespace {

constexpr int instances_per_slave = 10;
constexpr int window_per_connection = 32;
constexpr std::size_t paced_cap_per_connection = 256;
constexpr std::size_t load_threads = 2;
// What a connection queues between flushes is at most what it may have in flight: one batch.
static_assert(window_per_connection <= wire::max_batch_messages && paced_cap_per_connection <= wire::max_batch_messages);

struct proc_stats {
  double cpu_s = 0;
  double peak_rss_mb = 0;
};

proc_stats read_proc(pid_t pid) { return {test::cpu_seconds(pid), test::peak_resident_mib(pid)}; }

/// What the master itself counted (its /metrics): the messages on its control socket (a check on
/// the generator's own count, which a generator bug could inflate) and its transactions (with
/// durability `full`, one fsync each).
struct master_counts {
  std::uint64_t messages = 0, commits = 0;
  bool has_commits = false; ///< a master built before it counted them has no such line
};

master_counts master_counted(test::master_fixture& master) {
  httplib::Client http(master.http_url());
  auto r = http.Get("/metrics");
  if (!r || r->status != 200)
    throw std::runtime_error("cannot read the master's /metrics");
  master_counts counted;
  std::istringstream lines(r->body);
  auto value = [](const std::string& line) { return std::stoull(line.substr(line.rfind(' ') + 1)); };
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("clusterio_messages_received_total{", 0) == 0)
      counted.messages += value(line);
    else if (line.rfind("clusterio_storage_commits_total ", 0) == 0)
      counted.commits = value(line), counted.has_commits = true;
  return counted;
}

/// What a request was, for latencies by kind (each is applied by the storage in its own way).
/// `other_kind` (registrations) is sent before the clock starts: never timed, never reported.
enum kind : std::size_t { export_kind, request_kind, confirm_kind, other_kind, kinds };
constexpr const char* kind_names[other_kind] = {"export", "request", "confirm"};

kind kind_of(const wire::message& m) {
  if (std::holds_alternative<wire::export_batch>(m))
    return export_kind;
  if (std::holds_alternative<wire::request_items>(m))
    return request_kind;
  if (std::holds_alternative<wire::confirm_grants>(m))
    return confirm_kind;
  return other_kind;
}

struct in_flight_request {
  std::uint64_t id, sent_us;
  kind what;
};

struct connection {
  std::unique_ptr<zmq::socket_t> sock;
  /// The master reads batches, and this run sends them: what a sweep sends leaves in one frame,
  /// as a slave's uplink sends what is queued at once.
  bool batch = false;
  std::vector<std::string> queued; ///< encoded, not sent yet (see flush)
  std::uint64_t frames_sent = 0, frames_received = 0; ///< a batch is one frame
  std::vector<std::uint64_t> instances;
  std::vector<std::uint64_t> next_batch;
  std::vector<std::vector<std::uint64_t>> grants_to_confirm;
  /// Requests in flight. At most the window's size: a flat array searched linearly costs the
  /// load generator less than a tree (it shares the master's two cores).
  std::vector<in_flight_request> in_flight;
  std::uint64_t next_id = 1;
  std::size_t cursor = 0;
};

std::uint64_t now_us() { return static_cast<std::uint64_t>(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count()); }

/// Queues `m` to be sent at the next flush; its latency counts from `scheduled_us` (paced) or
/// from now (closed loop).
void send(connection& c, wire::message m, std::optional<std::uint64_t> scheduled_us = std::nullopt) {
  auto id = c.next_id++;
  auto what = kind_of(m);
  c.queued.push_back(wire::encode({id, std::move(m)}));
  c.in_flight.push_back({id, scheduled_us.value_or(now_us()), what});
}

/// Sends what is queued: one batch frame when batching, else a frame per message.
void flush(connection& c) {
  if (c.queued.empty())
    return;
  if (c.batch && c.queued.size() > 1) {
    auto frame = wire::batch_of(std::vector<std::string_view>(c.queued.begin(), c.queued.end()));
    c.sock->send(zmq::buffer(frame), zmq::send_flags::none);
    ++c.frames_sent;
  } else {
    for (auto& bytes : c.queued)
      c.sock->send(zmq::buffer(bytes), zmq::send_flags::none);
    c.frames_sent += c.queued.size();
  }
  c.queued.clear();
}

/// Sends `m` alone and waits for its one reply (setting up a connection).
wire::decoded call(connection& c, wire::message m, test::master_fixture& master) {
  send(c, std::move(m));
  flush(c);
  c.in_flight.clear();
  zmq::message_t reply;
  zmq::pollitem_t item{c.sock->handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, milliseconds(20000)) <= 0 || !c.sock->recv(reply))
    throw std::runtime_error("no reply from the master:\n" + master.log());
  return wire::decode(reply.to_string_view());
}

/// Request `id`, which is no longer in flight; nullopt if it was not sent here.
std::optional<in_flight_request> take_in_flight(connection& c, std::uint64_t id) {
  for (auto& f : c.in_flight)
    if (f.id == id) {
      auto taken = f;
      f = c.in_flight.back();
      c.in_flight.pop_back();
      return taken;
    }
  return std::nullopt;
}

wire::message next_message(connection& c, std::mt19937& rng) {
  static const std::vector<std::string> items{"iron-plate", "copper-plate", "steel-plate", "water", "coal", "stone"};
  auto i = c.cursor++ % c.instances.size();
  auto inst = c.instances[i];
  auto roll = rng() % 10;
  if (roll < 2 && !c.grants_to_confirm[i].empty()) {
    wire::confirm_grants m{inst, std::move(c.grants_to_confirm[i]), {}};
    c.grants_to_confirm[i].clear();
    return m;
  }
  if (roll < 4)
    return wire::request_items{inst, {{items[rng() % items.size()], static_cast<std::int64_t>(rng() % 50 + 1)}}};
  auto b = c.next_batch[i]++;
  auto first = rng() % items.size(), second = (first + 1 + rng() % (items.size() - 1)) % items.size(); // distinct: a list names each item once
  return wire::export_batch{inst, b, b, {{items[first], static_cast<std::int64_t>(rng() % 100 + 1)}, {items[second], 10}}};
}

struct run_result {
  int instances;
  double msgs_per_s, p50_ms, p99_ms, peak_rss_mb, cpu_us_per_msg;
  double generator_cpu_us_per_msg; ///< this process's own: what the load took from the shared cores
  double msgs_per_frame_sent, msgs_per_frame_received; ///< how full the batches were
  double kind_p50_ms[kinds], kind_p99_ms[kinds];
  std::uint64_t refused;
  double offered_per_s; ///< 0: closed loop
  double master_messages_per_s; ///< as the master counted them
  double commits_per_s;         ///< the master's transactions (durability full: fsyncs); < 0: not counted
};

/// Connects the slaves (one connection carries up to 10 instances) and registers their instances.
std::vector<connection> connect_slaves(test::master_fixture& master, zmq::context_t& ctx, int n_instances, bool batch) {
  int slaves = std::max(1, n_instances / instances_per_slave);
  std::vector<connection> conns(static_cast<std::size_t>(slaves));
  for (int s = 0; s < slaves; ++s) {
    auto cred = master.add_client("bench-slave-" + std::to_string(s), "slave");
    auto& c = conns[static_cast<std::size_t>(s)];
    c.sock = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    c.sock->set(zmq::sockopt::linger, 0);
    apply_curve(*c.sock, cred);
    c.sock->connect(master.control_endpoint());
    auto welcome = call(c, wire::hello{"bench-slave-" + std::to_string(s), "master-load"}, master);
    if (!welcome.ok || !std::holds_alternative<wire::welcome>(welcome.value.body))
      throw std::runtime_error("hello failed");
    c.batch = batch && std::get<wire::welcome>(welcome.value.body).batch;
    if (batch && !c.batch)
      throw std::runtime_error("the master does not read batches (run with --no-batch)");
    for (int k = 0; k < instances_per_slave && s * instances_per_slave + k < std::max(n_instances, 1); ++k) {
      auto d = call(c, wire::register_instance{"inst-" + std::to_string(k), ""}, master);
      if (!d.ok || !std::holds_alternative<wire::registered>(d.value.body))
        throw std::runtime_error("register failed");
      auto& r = std::get<wire::registered>(d.value.body);
      c.instances.push_back(r.instance_id);
      c.next_batch.push_back(r.next_batch);
      c.grants_to_confirm.emplace_back();
    }
  }
  return conns;
}

/// What one load thread counted.
struct thread_tally {
  std::array<std::vector<std::uint32_t>, kinds> latencies; ///< µs, by kind
  std::uint64_t answered = 0, refused = 0;
};

/// One load thread: drives its share of the connections until `stop`, closed loop (a window of
/// requests per connection, one new request per reply) or paced (`offered_per_s` in all).
class load_thread {
public:
  load_thread(std::vector<connection*> mine, std::size_t thread_index, std::size_t threads_used, double offered_per_s)
    : mine_(std::move(mine)), rng_(static_cast<std::uint32_t>(1234 + thread_index)), paced_(offered_per_s > 0),
      per_us_(offered_per_s / static_cast<double>(threads_used) / 1e6) {}

  void run(const std::atomic<bool>& stop, thread_tally& tally) {
    std::vector<zmq::pollitem_t> items;
    for (auto* c : mine_)
      items.push_back({c->sock->handle(), 0, ZMQ_POLLIN, 0});
    start_us_ = now_us();
    if (!paced_)
      for (auto* c : mine_) {
        for (int w = 0; w < window_per_connection; ++w)
          send(*c, next_message(*c, rng_));
        flush(*c);
      }
    while (!stop) {
      if (paced_)
        send_due();
      // Paced, wake at least every millisecond to send what fell due.
      if (zmq::poll(items.data(), items.size(), milliseconds(paced_ ? 1 : 100)) <= 0)
        continue;
      for (std::size_t k = 0; k < mine_.size(); ++k)
        if (items[k].revents & ZMQ_POLLIN)
          receive(*mine_[k], stop, tally);
    }
  }

private:
  /// Paced: this thread's share of the schedule, message k due at start + k / rate.
  void send_due() {
    auto due = static_cast<std::uint64_t>(static_cast<double>(now_us() - start_us_) * per_us_);
    for (std::size_t full = 0; scheduled_ < due && full < mine_.size();) {
      auto& c = *mine_[next_conn_++ % mine_.size()];
      if (c.in_flight.size() >= paced_cap_per_connection) {
        ++full;
        continue;
      }
      full = 0;
      send(c, next_message(c, rng_), start_us_ + static_cast<std::uint64_t>(static_cast<double>(scheduled_) / per_us_));
      ++scheduled_;
    }
    for (auto* c : mine_)
      flush(*c);
  }

  void receive(connection& c, const std::atomic<bool>& stop, thread_tally& tally) {
    zmq::message_t reply;
    while (c.sock->recv(reply, zmq::recv_flags::dontwait)) {
      ++c.frames_received;
      wire::decode_frame(reply.to_string_view(), replies_);
      for (auto& d : replies_) {
        if (auto sent = take_in_flight(c, d.id))
          tally.latencies[sent->what].push_back(static_cast<std::uint32_t>(now_us() - sent->sent_us));
        if (!d.ok || std::holds_alternative<wire::error_reply>(d.value.body)) {
          // Refused work is not throughput: counted apart, and the run fails.
          if (tally.refused++ == 0)
            std::cerr << "master-load: error reply: " << (d.ok ? std::get<wire::error_reply>(d.value.body).message : d.err.to_string()) << "\n";
        } else {
          ++tally.answered;
        }
        if (d.ok)
          if (auto* g = std::get_if<wire::grant_reply>(&d.value.body))
            keep_grants(c, *g);
        if (!stop && !paced_)
          send(c, next_message(c, rng_));
      }
    }
    flush(c);
  }

  static void keep_grants(connection& c, const wire::grant_reply& g) {
    for (std::size_t i = 0; i < c.instances.size(); ++i)
      if (c.instances[i] == g.instance_id)
        for (auto& gr : g.grants)
          c.grants_to_confirm[i].push_back(gr.grant_id);
  }

  std::vector<connection*> mine_;
  std::mt19937 rng_;
  bool paced_;
  double per_us_;
  std::uint64_t start_us_ = 0, scheduled_ = 0;
  std::size_t next_conn_ = 0;
  std::vector<wire::decoded> replies_;
};

/// The `p` quantile of `v` in ms (v in µs); reorders v.
double quantile_ms(std::vector<std::uint32_t>& v, double p) {
  if (v.empty())
    return 0.0;
  auto at = v.begin() + static_cast<std::ptrdiff_t>(std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size()))));
  std::nth_element(v.begin(), at, v.end());
  return *at / 1000.0;
}

/// Readings before and after the load, of the master and of this process.
struct readings {
  proc_stats master, generator;
  master_counts counted;
};

readings read_now(test::master_fixture& master) { return {read_proc(master.pid()), read_proc(getpid()), master_counted(master)}; }

run_result summarize(int n_instances, double offered_per_s, double elapsed, const readings& before, const readings& after,
                     std::vector<thread_tally>& tallies, const std::vector<connection>& conns) {
  std::vector<std::uint32_t> all, of_kind[kinds];
  std::uint64_t total = 0, refused = 0;
  for (auto& t : tallies) {
    refused += t.refused;
    total += t.answered;
    for (std::size_t k = 0; k < kinds; ++k) {
      all.insert(all.end(), t.latencies[k].begin(), t.latencies[k].end());
      of_kind[k].insert(of_kind[k].end(), t.latencies[k].begin(), t.latencies[k].end());
    }
  }
  auto per_msg = [total](double cpu_s) { return total ? cpu_s * 1e6 / static_cast<double>(total) : 0; };
  std::uint64_t sent_frames = 0, received_frames = 0;
  for (auto& c : conns) {
    sent_frames += c.frames_sent;
    received_frames += c.frames_received;
  }
  auto per_frame = [total](std::uint64_t frames) { return frames ? static_cast<double>(total) / static_cast<double>(frames) : 0; };
  run_result r{n_instances, static_cast<double>(total) / elapsed, quantile_ms(all, 0.50), quantile_ms(all, 0.99), after.master.peak_rss_mb,
               per_msg(after.master.cpu_s - before.master.cpu_s), per_msg(after.generator.cpu_s - before.generator.cpu_s),
               per_frame(sent_frames), per_frame(received_frames), {}, {}, refused, offered_per_s,
               static_cast<double>(after.counted.messages - before.counted.messages) / elapsed,
               after.counted.has_commits ? static_cast<double>(after.counted.commits - before.counted.commits) / elapsed : -1.0};
  for (std::size_t k = 0; k < kinds; ++k) {
    r.kind_p50_ms[k] = quantile_ms(of_kind[k], 0.50);
    r.kind_p99_ms[k] = quantile_ms(of_kind[k], 0.99);
  }
  return r;
}

/// `offered_per_s` 0: closed loop; otherwise paced at that many messages a second in all.
/// `master_config`: more keys of the master's config file ("KEY":VALUE,...), or empty.
run_result run(int n_instances, double seconds, const std::string& durability, double offered_per_s, bool batch,
               const std::string& master_config) {
  // One slave connection carries up to 10 instances: lift the per-client rate limit.
  test::master_fixture master(false, "\"durability\":\"" + durability + "\",\"log_level\":\"warn\",\"max_msgs_per_s_per_client\":100000000" +
                                       (master_config.empty() ? "" : "," + master_config));
  master.start();
  zmq::context_t ctx(2);
  auto conns = connect_slaves(master, ctx, n_instances, batch);
  auto before = read_now(master);

  std::atomic<bool> stop{false};
  auto threads_used = std::min<std::size_t>(load_threads, conns.size());
  std::vector<thread_tally> tallies(threads_used);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < threads_used; ++t) {
    std::vector<connection*> mine;
    for (std::size_t i = t; i < conns.size(); i += threads_used)
      mine.push_back(&conns[i]);
    threads.emplace_back([&stop, &tallies, t, worker = load_thread(std::move(mine), t, threads_used, offered_per_s)]() mutable {
      worker.run(stop, tallies[t]);
    });
  }
  auto started = steady_clock::now();
  std::this_thread::sleep_for(duration<double>(seconds));
  stop = true;
  for (auto& th : threads)
    th.join();
  double elapsed = duration<double>(steady_clock::now() - started).count();
  auto r = summarize(n_instances, offered_per_s, elapsed, before, read_now(master), tallies, conns);
  master.stop();
  return r;
}

} // namespace

int main(int argc, char** argv) {
  // Usage: master-load [--rate=R] [--no-batch] [--master-config='"KEY":VALUE,...'] [SECONDS [DURABILITY [N...]]]
  //        defaults: closed loop, batches, 10 full 10 100 1000
  double offered_per_s = 0;
  bool batch = true;
  std::string master_config;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-batch") {
      batch = false;
    } else if (a.rfind("--master-config=", 0) == 0) {
      master_config = a.substr(16);
    } else if (a.rfind("--rate=", 0) == 0) {
      offered_per_s = std::atof(a.c_str() + 7);
      if (offered_per_s <= 0) {
        std::cerr << "master-load: --rate wants a positive number of messages a second, got '" << a.substr(7) << "'\n";
        return 2;
      }
    } else {
      args.push_back(a);
    }
  }
  double seconds = args.size() > 0 ? std::atof(args[0].c_str()) : 10.0;
  std::string durability = args.size() > 1 ? args[1] : "full";
  std::vector<int> sizes;
  for (std::size_t i = 2; i < args.size(); ++i)
    sizes.push_back(std::atoi(args[i].c_str()));
  if (sizes.empty())
    sizes = {10, 100, 1000};
  std::vector<run_result> results;
  for (int n : sizes) {
    std::cerr << "master-load: " << n << " instances for " << seconds << " s, durability " << durability;
    if (offered_per_s > 0)
      std::cerr << ", paced at " << offered_per_s << " msgs/s";
    std::cerr << "...\n";
    results.push_back(run(n, seconds, durability, offered_per_s, batch, master_config));
    auto& r = results.back();
    std::cerr << "master-load: the load generator itself took " << r.generator_cpu_us_per_msg << " us of CPU per message\n";
    std::cerr << "master-load: messages per frame " << r.msgs_per_frame_sent << " sent, " << r.msgs_per_frame_received << " received\n";
    std::cerr << "master-load: the master counted " << static_cast<std::uint64_t>(r.master_messages_per_s) << " messages a second\n";
    for (std::size_t k = 0; k < other_kind; ++k)
      std::cerr << "master-load: " << kind_names[k] << " latency p50 " << r.kind_p50_ms[k] << " ms, p99 " << r.kind_p99_ms[k] << " ms\n";
  }
  for (auto& r : results) {
    std::printf("{\"bench\":\"master-load\",\"instances\":%d,\"batch\":%s,", r.instances, batch ? "true" : "false");
    if (r.offered_per_s > 0)
      std::printf("\"offered_per_s\":%.0f,", r.offered_per_s);
    std::printf("\"msgs_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"peak_rss_mb\":%.1f,\"cpu_us_per_msg\":%.2f,\"commits_per_s\":%s}\n",
                r.msgs_per_s, r.p50_ms, r.p99_ms, r.peak_rss_mb, r.cpu_us_per_msg,
                r.commits_per_s < 0 ? "null" : std::to_string(static_cast<long long>(r.commits_per_s)).c_str());
  }
  for (auto& r : results)
    if (r.refused > 0) {
      std::cerr << "master-load: FAILED: the master refused " << r.refused << " messages at N=" << r.instances << "; the figures above do not count them\n";
      return 1;
    }
  return 0;
}
