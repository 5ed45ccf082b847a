// signal-bus: how stale the channel sums are. P publishing clients (a CURVE connection and a
// credential each: the master names each frame's source after it, "bench-pub-<i>") each send a
// frame of S signals F times a second to a real clusterio-master (CURVE on, unless --insecure),
// publisher i on channel i mod C. N subscribers (a SUB socket and a thread each), subscriber j on
// `signal/<channel j mod C>`, receive the channel's sum (wire::signal_sum: each source's latest
// frame summed, published at most once per signal_min_interval_ms with every change since). Each
// subscriber reads every sum's generation from its bytes; the first to receive a generation
// decodes it fully (wire::decode) for all (a real subscriber is a process of its own, and a
// hundred decodes of each sum here would take the cores the master runs on). A frame's seq is its send time in µs on the bench's clock,
// which is how the bench records when each (source, seq) was sent; every value of a frame
// depends on its seq, so each frame changes its channel's sum.
// After a warm-up (every publisher answered, every subscriber has a sum, then 1 s) it measures
// for --seconds, then every source stops. Prints, as its last line, one JSON line:
//   {"bench":"signal-bus","sources":P,"frames_per_s":F,"subscribers":N,"channels":C,"curve":true,
//    "staleness_p50_ms":..,"staleness_p99_ms":..,"stale_at_end":..,"deliveries_per_s":..,"master_cpu_pct":..}
// staleness: for every sum a subscriber receives in the window, its receive time less the send
//   time of the newest frame it includes (the largest seq in its sources list; one clock: same
//   process). A change that waited for the coalescing interval shows in the "oldest change"
//   figure on stderr, not here;
// stale_at_end: the subscribers whose last sum, 1 s after the sources stopped, differs from the
//   true final sum of their channel (wire::sum_of over the last frame each source sent on it;
//   the signals and the (source, seq) list compared);
// deliveries_per_s: sums received by all subscribers per second in the window;
// master_cpu_pct: the master process's CPU over the window, % of one core.
// On stderr: where the staleness comes from (a sum's first receiver, how much later the others
// got it, frame send -> `ok`), the oldest change each sum carries, when the last subscriber
// converged, the bench's own CPU and what decoding costs, the master's peak RSS.
//
// With --clients K the P sources share K client connections (source k on client k mod K, named
// "bench-pub-<client>/w<k>"), and each client sends its sources' frames of a tick together, in one
// batch frame (docs/protocol.md §3.1), as a slave does with its worlds' frames: a cluster of K
// hosts rather than P. The JSON line then also says "clients":K.
//
// usage: signal-bus [--seconds 10] [--publishers 50] [--rate 60] [--signals 50] [--subscribers 100]
//                   [--channels 1] [--clients K (default: one a source)] [--insecure]
//                   [--min-interval-ms M (the master's signal_min_interval_ms; default: the
//                   master's default, 5)]

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <map>
#include <unordered_map>
#include <optional>
#include <mutex>
#include <memory>
#include <deque>
#include <thread>
#include <utility>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "client/wire_client.hpp"
#include "common/credentials.hpp"
#include "messages/batch.hpp"
#include "messages/limits.hpp"
#include "messages/message.hpp"
#include "messages/signal_sums.hpp"
#include "tests/support/master_fixture.hpp"

using namespace clusterio;
using namespace std::chrono;

namespace {

constexpr int socket_hwm = 100000;

struct params {
  double seconds = 10;
  int publishers = 50, rate = 60, signals = 50, subscribers = 100, channels = 1;
  int clients = 0; ///< connections the sources share; 0: one a source
  /// The publishing connections.
  std::size_t connections() const { return static_cast<std::size_t>(clients > 0 ? clients : publishers); }
  bool insecure = false;
  int min_interval_ms = -1; ///< -1: the master's default
};

std::uint64_t now_us() { return static_cast<std::uint64_t>(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count()); }

/// CPU time of the calling thread, in ns.
std::uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

std::unique_ptr<zmq::socket_t> make_socket(zmq::context_t& ctx, zmq::socket_type type, const std::optional<credential>& cred) {
  auto s = std::make_unique<zmq::socket_t>(ctx, type);
  s->set(zmq::sockopt::linger, 0);
  s->set(zmq::sockopt::rcvhwm, socket_hwm);
  s->set(zmq::sockopt::sndhwm, socket_hwm);
  apply_curve(*s, cred);
  return s;
}

/// "bench-3." : the dot keeps "signal/bench-1." from being a prefix of "signal/bench-10.".
std::string channel_name(int i) { return "bench-" + std::to_string(i) + "."; }
/// A publishing client's name (CURVE: its credential's; insecure: its routing id up to the last
/// dot), which the master puts before its frames' source.
std::string publisher_name(std::size_t c) { return "bench-pub-" + std::to_string(c); }
/// What source k's frames carry as their `source`: nothing with a connection a source (the
/// master names it after the client), else "w<k>".
std::string sent_source(const params& p, std::size_t k) { return p.clients > 0 ? "w" + std::to_string(k) : std::string(); }
/// Source k as the master names it in a sum.
std::string source_name(const params& p, std::size_t k) {
  return p.clients > 0 ? publisher_name(k % p.connections()) + "/" + sent_source(p, k) : publisher_name(k);
}

struct subscriber_result {
  std::vector<std::uint32_t> staleness_us; ///< of the sums received in the window
  /// Of the same sums: receive time less the send time of the oldest frame it carries that the
  /// subscriber's previous sum did not (what coalescing adds: staleness measures the newest)
  std::vector<std::uint32_t> oldest_change_us;
  /// (generation, receive time, newest seq) of each: where the staleness comes from (report)
  std::vector<std::array<std::uint64_t, 3>> received;
  std::uint64_t delivered = 0;             ///< sums received in the window
  std::uint64_t repeats = 0;               ///< of those, republications (generation not above the last)
  std::uint64_t undecodable = 0;           ///< bus messages that were not a valid signal_sum
  std::uint64_t decode_ns = 0;             ///< thread CPU this subscriber spent decoding sums
  std::uint64_t decode_sampled = 0;        ///< sums it decoded (the first to receive their generation)
  std::uint64_t decoded = 0;               ///< of those, valid sums
  std::uint64_t bytes = 0;                 ///< of the sums received in the window
  std::shared_ptr<const wire::signal_sum> last; ///< the last sum received
  std::uint64_t last_at = 0;               ///< when
  /// Once the sources stopped: since when (receive time) the last sum is the channel's true
  /// final one, or 0 while it is not; and whether a later sum differed again (never should).
  std::atomic<std::uint64_t> converged_at{0};
  bool diverged = false;
};

/// Whether `got` is `want`: the same signals and the same (source, seq) list.
bool same_sum(const wire::signal_sum& got, const wire::signal_sum& want) {
  if (got.channel != want.channel || got.signals != want.signals || got.sources.size() != want.sources.size())
    return false;
  for (std::size_t i = 0; i < got.sources.size(); ++i)
    if (got.sources[i].source != want.sources[i].source || got.sources[i].seq != want.sources[i].seq)
      return false;
  return true;
}

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
    else if (a == "--clients") p.clients = static_cast<int>(next());
    else if (a == "--insecure") p.insecure = true;
    else if (a == "--min-interval-ms") p.min_interval_ms = static_cast<int>(next());
    else {
      std::cerr << "usage: signal-bus [--seconds S] [--publishers P] [--rate F] [--signals S] [--subscribers N] [--channels K] [--insecure] "
                   "[--clients K] [--min-interval-ms M]\n";
      return false;
    }
  }
  if (p.publishers < 1 || p.rate < 1 || p.signals < 1 || p.subscribers < 1 || p.channels < 1 || p.seconds <= 0 || p.seconds > 3600) {
    std::cerr << "signal-bus: every count must be positive (and --seconds at most 3600)\n";
    return false;
  }
  if (p.clients < 0 || p.clients > p.publishers) {
    std::cerr << "signal-bus: --clients is 1..publishers\n";
    return false;
  }
  if (p.min_interval_ms > 1000) {
    std::cerr << "signal-bus: --min-interval-ms is 0..1000\n";
    return false;
  }
  return true;
}

/// What the publisher and the subscriber threads share.
struct shared_run {
  std::atomic<bool> stop_pub{false}, stop_sub{false};
  /// The measured window, in receive times (µs); none until it starts.
  std::atomic<std::uint64_t> window_start{~0ULL}, window_end{~0ULL};
  std::atomic<int> subscribers_live{0}, publishers_live{0}; ///< that received a sum / an answer
  std::atomic<std::uint64_t> sent_in_window{0};
  std::uint64_t sent = 0, answered = 0, refused = 0; ///< the publisher thread's own
  std::map<std::uint64_t, std::uint64_t> in_flight;   ///< request id -> send time, window frames only
  std::vector<std::uint32_t> answer_us;               ///< send -> `ok`, frames sent in the window
  std::uint64_t late_max_us = 0;                      ///< the publisher's worst lateness (send - due) in the window
  std::uint64_t sources_stopped_us = 0;               ///< when the publisher thread sent its last frame
  /// Each channel's true final sum, set once every source has stopped.
  std::atomic<const std::vector<wire::signal_sum>*> truth{nullptr};
};

/// A sum's generation, read from its bytes without decoding them: the key `generation` (fixstr
/// 0xaa) comes before `sources` and `signals` in the map, after `channel`, a label that cannot
/// hold 0xaa; so its first occurrence is the key.
std::optional<std::uint64_t> peek_generation(std::string_view body) {
  static const std::string key = "\xaa" "generation";
  auto at = body.find(key);
  if (at == std::string_view::npos || at + key.size() >= body.size())
    return std::nullopt;
  auto p = reinterpret_cast<const unsigned char*>(body.data()) + at + key.size();
  auto left = body.size() - at - key.size();
  auto big_endian = [&](std::size_t n) -> std::optional<std::uint64_t> {
    if (left < n + 1)
      return std::nullopt;
    std::uint64_t v = 0;
    for (std::size_t i = 1; i <= n; ++i)
      v = v << 8 | p[i];
    return v;
  };
  if (p[0] <= 0x7f)
    return p[0];
  switch (p[0]) {
    case 0xcc: return big_endian(1);
    case 0xcd: return big_endian(2);
    case 0xce: return big_endian(4);
    case 0xcf: return big_endian(8);
    default: return std::nullopt;
  }
}

/// What the bench needs of a sum, worked out once: every subscriber of a channel receives the
/// same sums, and a generation names one (the master counts them over all channels), so the
/// first subscriber to receive a generation decodes it for all. A hundred full decodes of each
/// sum would take the bench's CPU, on the two cores the master needs, past the master's own.
struct sum_facts {
  std::shared_ptr<const wire::signal_sum> sum;
  std::uint64_t newest = 0;        ///< the largest seq of its sources
  std::uint64_t oldest_change = 0; ///< the smallest seq it holds that the channel's previous sum decoded did not (0: none)
};

class decoded_sums {
public:
  /// The facts of the sum in `body`, decoding it if no subscriber did yet; null if it is not a
  /// valid signal_sum. `r` counts the thread CPU of a decode this call made.
  std::shared_ptr<const sum_facts> facts(std::string_view body, subscriber_result& r) {
    auto generation = peek_generation(body);
    if (generation) {
      std::lock_guard<std::mutex> g(mtx_);
      if (auto it = by_generation_.find(*generation); it != by_generation_.end())
        return it->second;
    }
    auto cpu0 = thread_cpu_ns();
    auto d = wire::decode(body);
    r.decode_ns += thread_cpu_ns() - cpu0, ++r.decode_sampled;
    if (!d.ok || !std::holds_alternative<wire::signal_sum>(d.value.body))
      return nullptr;
    ++r.decoded;
    auto f = std::make_shared<sum_facts>();
    auto sum = std::make_shared<wire::signal_sum>(std::get<wire::signal_sum>(std::move(d.value.body)));
    for (auto& src : sum->sources)
      f->newest = std::max(f->newest, src.seq);
    std::lock_guard<std::mutex> g(mtx_);
    if (auto it = by_generation_.find(sum->generation); it != by_generation_.end())
      return it->second; // another subscriber decoded it meanwhile
    auto& before = last_of_channel_[sum->channel];
    if (before) { // both lists sorted by source
      std::uint64_t oldest = ~0ULL;
      std::size_t b = 0;
      for (auto& src : sum->sources) {
        while (b < before->sources.size() && before->sources[b].source < src.source)
          ++b;
        if (b == before->sources.size() || before->sources[b].source != src.source || before->sources[b].seq != src.seq)
          oldest = std::min(oldest, src.seq);
      }
      f->oldest_change = oldest == ~0ULL ? 0 : oldest;
    }
    if (!before || sum->generation > before->generation)
      before = sum;
    f->sum = std::move(sum);
    by_generation_.emplace(f->sum->generation, f);
    order_.push_back(f->sum->generation);
    if (order_.size() > max_kept) { // bounded: a generation is received within moments by all
      by_generation_.erase(order_.front());
      order_.pop_front();
    }
    return f;
  }

private:
  static constexpr std::size_t max_kept = 4096;
  std::mutex mtx_;
  std::unordered_map<std::uint64_t, std::shared_ptr<const sum_facts>> by_generation_;
  std::deque<std::uint64_t> order_;
  std::map<std::string, std::shared_ptr<const wire::signal_sum>> last_of_channel_;
};

/// One subscriber, blocked in recv (as a real subscriber process would be): cheaper than polling
/// many sockets from one thread, where every zmq poll costs a system call and a getpid per socket.
void subscribe(zmq::socket_t& sock, shared_run& run, decoded_sums& sums, subscriber_result& r, std::size_t channel) {
  sock.set(zmq::sockopt::rcvtimeo, 50);
  bool live = false;
  std::uint64_t last_generation = 0;
  // Whether the last sum is the channel's true final one, once that is known.
  auto check = [&] {
    auto* truth = run.truth.load();
    if (!truth || !r.last)
      return;
    bool same = same_sum(*r.last, (*truth)[channel]);
    if (same && r.converged_at == 0)
      r.converged_at = r.last_at;
    else if (!same && r.converged_at != 0)
      r.diverged = true, r.converged_at = 0;
  };
  while (!run.stop_sub) {
    zmq::message_t topic, body;
    if (!sock.recv(topic)) {
      check();
      continue;
    }
    if (!topic.more() || !sock.recv(body))
      continue;
    auto at = now_us();
    bool in_window = at >= run.window_start && at < run.window_end;
    auto f = sums.facts(body.to_string_view(), r);
    if (!f) {
      ++r.undecodable;
      continue;
    }
    auto& sum = *f->sum;
    if (!live) {
      live = true;
      ++run.subscribers_live;
    }
    if (in_window) {
      ++r.delivered;
      r.bytes += body.size();
      if (sum.generation <= last_generation)
        ++r.repeats;
      auto stale = at > f->newest ? at - f->newest : 0;
      r.staleness_us.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(stale, 0xffffffffu)));
      r.received.push_back({sum.generation, at, f->newest});
      if (f->oldest_change != 0)
        r.oldest_change_us.push_back(
          static_cast<std::uint32_t>(std::min<std::uint64_t>(at > f->oldest_change ? at - f->oldest_change : 0, 0xffffffffu)));
    }
    last_generation = std::max(last_generation, sum.generation);
    r.last = f->sum;
    r.last_at = at;
    check();
  }
}

/// The publishers' sockets and which of them await answers.
struct publishers {
  std::vector<std::unique_ptr<zmq::socket_t>> sockets;
  std::vector<std::uint32_t> awaited;  ///< per socket, answers not read yet
  std::vector<std::size_t> waiting;    ///< the sockets with awaited > 0, each once
  std::vector<bool> answered;          ///< per socket, whether any answer came
  std::size_t cursor = 0;
};

/// Reads the answers waiting on socket k (ok, or an error counted as refused); a client that
/// sends batches gets its answers in batches.
void drain(publishers& pubs, std::size_t k, shared_run& run) {
  std::vector<wire::decoded> answers;
  for (zmq::message_t reply; pubs.awaited[k] > 0 && pubs.sockets[k]->recv(reply, zmq::recv_flags::dontwait);) {
    auto at = now_us();
    wire::decode_frame(reply.to_string_view(), answers);
    if (!pubs.answered[k]) {
      pubs.answered[k] = true;
      ++run.publishers_live;
    }
    for (auto& d : answers) {
      pubs.awaited[k] -= std::min<std::uint32_t>(pubs.awaited[k], 1);
      ++run.answered;
      if (auto it = run.in_flight.find(d.ok ? d.value.id : d.id); it != run.in_flight.end()) {
        run.answer_us.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(at - it->second, 0xffffffffu)));
        run.in_flight.erase(it);
      }
      if (!d.ok || !std::holds_alternative<wire::ok>(d.value.body))
        ++run.refused;
    }
  }
}

/// Reads answers on up to `most` of the sockets that await some (round robin): the cost stays
/// bounded with 500 publishers, and answers are read within a send or two while few are out.
void drain_some(publishers& pubs, shared_run& run, std::size_t most) {
  for (std::size_t i = 0; i < most && !pubs.waiting.empty(); ++i) {
    if (pubs.cursor >= pubs.waiting.size())
      pubs.cursor = 0;
    auto k = pubs.waiting[pubs.cursor];
    drain(pubs, k, run);
    if (pubs.awaited[k] == 0) {
      pubs.waiting[pubs.cursor] = pubs.waiting.back();
      pubs.waiting.pop_back();
    } else {
      ++pubs.cursor;
    }
  }
}

/// The last frame each source sent (its values follow from its seq: fill_values): the truth the
/// final sums are checked against.
struct last_frame {
  bool sent = false;
  std::uint64_t seq = 0;
};

/// The signals of every frame: "signal-0".., values set by fill_values.
wire::signal_list frame_signals(int count) {
  wire::signal_list signals;
  for (int i = 0; i < count; ++i)
    signals.push_back({"signal-" + std::to_string(i), 0});
  return signals;
}

/// A frame's signals for its seq: every value depends on the seq (so each frame changes the
/// sum), stays positive and small enough that 500 sources cannot wrap the sum.
void fill_values(wire::signal_list& signals, std::uint64_t seq, std::size_t k) {
  for (std::size_t i = 0; i < signals.size(); ++i)
    signals[i].value = static_cast<std::int64_t>((seq + i * 7919 + k * 104729) % 1000000) + 1;
}

/// The publisher thread: each connection's turns evenly spread, `rate` a second; at its turn a
/// connection sends a frame of each of its sources (several in one batch frame), seq = send
/// time (µs); replies drained. Once stopped, waits (bounded) for the answers to every frame sent.
void publish(publishers& pubs, const params& p, shared_run& run, std::vector<last_frame>& last) {
  // The offered load must not depend on how the bench's 100 receiving threads are scheduled
  // (the sources stand for other machines): the publishing thread runs at nice -5 where it may
  // (it fell up to 0.8 s behind its schedule at nice 0 on two cores).
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), -5) != 0)
    std::cerr << "signal-bus: the publishing thread runs at the default priority (" << std::strerror(errno) << ")\n";
  wire::signal_frame f{"", "", 0, frame_signals(p.signals)};
  auto connections = pubs.sockets.size();
  auto interval_us = 1e6 / (static_cast<double>(p.rate) * static_cast<double>(connections));
  auto start = now_us();
  std::uint64_t n = 0;
  std::uint64_t id = 1;
  std::vector<std::string> encoded;
  std::vector<std::pair<std::size_t, std::uint64_t>> turn; // (source, seq) of the frames encoded
  while (!run.stop_pub) {
    auto due = start + static_cast<std::uint64_t>(static_cast<double>(n) * interval_us);
    auto now = now_us();
    if (due > now)
      std::this_thread::sleep_for(microseconds(std::min<std::uint64_t>(due - now, 100000)));
    auto c = static_cast<std::size_t>(n % connections);
    ++n;
    encoded.clear();
    turn.clear();
    auto first_id = id;
    for (auto k = c; k < last.size(); k += connections) {
      auto seq = std::max(now_us(), last[k].seq + 1);
      if (seq >= run.window_start && seq < run.window_end && seq > due)
        run.late_max_us = std::max(run.late_max_us, seq - due);
      f.seq = seq;
      f.source = sent_source(p, k);
      f.channel = channel_name(static_cast<int>(k) % p.channels);
      fill_values(f.signals, seq, k);
      encoded.push_back(wire::encode({id++, f}));
      turn.emplace_back(k, seq);
    }
    // One frame, as the master reads them: a batch holds what fits a request.
    wire::batcher batch(wire::max_request_bytes / 2);
    std::size_t sent = 0;  // frames of this turn handed to the socket (or dropped), in order
    std::size_t added = 0; // given to the batcher since its last frame: what the next one holds
    auto send = [&](std::string_view frame) {
      auto in_frame = std::exchange(added, 0);
      if (!pubs.sockets[c]->send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
        sent += in_frame; // dropped (the socket's queue is full): neither sent nor awaited
        return;
      }
      if (pubs.awaited[c] == 0)
        pubs.waiting.push_back(c);
      pubs.awaited[c] += static_cast<std::uint32_t>(in_frame);
      for (auto end = sent + in_frame; sent < end; ++sent) {
        auto [k, seq] = turn[sent];
        ++run.sent;
        last[k].sent = true;
        last[k].seq = seq;
        if (seq >= run.window_start && seq < run.window_end) {
          ++run.sent_in_window;
          run.in_flight.emplace(first_id + sent, seq);
        }
      }
    };
    for (auto& e : encoded) {
      batch.add(e, send); // a frame it sends here holds the messages before this one
      ++added;
    }
    batch.flush(send);
    drain_some(pubs, run, 32);
  }
  run.sources_stopped_us = now_us();
  for (int i = 0; i < 200 && run.answered < run.sent; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
    drain_some(pubs, run, pubs.sockets.size());
  }
}

/// The true final sum of each channel, from the last frame each publisher sent.
std::vector<wire::signal_sum> true_sums(const params& p, const std::vector<last_frame>& last) {
  std::vector<wire::signal_sum> truth(static_cast<std::size_t>(p.channels));
  std::vector<wire::signal_list> frames(last.size(), frame_signals(p.signals));
  std::vector<std::vector<const wire::signal_list*>> lists(truth.size());
  for (std::size_t k = 0; k < last.size(); ++k) {
    if (!last[k].sent)
      continue;
    auto c = k % truth.size();
    fill_values(frames[k], last[k].seq, k);
    truth[c].sources.push_back({source_name(p, k), last[k].seq});
    lists[c].push_back(&frames[k]);
  }
  for (std::size_t c = 0; c < truth.size(); ++c) {
    truth[c].channel = channel_name(static_cast<int>(c));
    std::sort(truth[c].sources.begin(), truth[c].sources.end(), [](auto& a, auto& b) { return a.source < b.source; });
    truth[c].signals = wire::sum_of(lists[c]);
  }
  return truth;
}

/// Prints the figures: lines for people on stderr, the JSON line on stdout.
void report(const params& p, shared_run& run, std::vector<subscriber_result>& results, const std::vector<wire::signal_sum>& truth,
            std::uint64_t stopped_us, double master_cpu_s, double bench_cpu_s, double master_peak_mib) {
  std::vector<std::uint32_t> all;
  std::uint64_t delivered = 0, repeats = 0, undecodable = 0, decode_ns = 0, decode_sampled = 0, bytes = 0;
  std::uint64_t min_per_sub = ~0ULL, max_per_sub = 0;
  int stale = 0, never = 0, unconverged = 0, diverged = 0;
  std::uint64_t converge_max_us = 0;
  for (std::size_t j = 0; j < results.size(); ++j) {
    auto& r = results[j];
    delivered += r.delivered, repeats += r.repeats, undecodable += r.undecodable, decode_ns += r.decode_ns;
    decode_sampled += r.decode_sampled, bytes += r.bytes;
    min_per_sub = std::min(min_per_sub, r.delivered), max_per_sub = std::max(max_per_sub, r.delivered);
    all.insert(all.end(), r.staleness_us.begin(), r.staleness_us.end());
    auto& want = truth[j % truth.size()];
    diverged += r.diverged;
    if (!r.last) {
      ++stale, ++never, ++unconverged;
      continue;
    }
    auto converged = r.converged_at.load();
    if (converged == 0)
      ++unconverged;
    else
      converge_max_us = std::max(converge_max_us, converged > stopped_us ? converged - stopped_us : 0);
    if (converged != 0 && converged <= stopped_us + 1000000)
      continue;
    if (++stale <= 3 && converged == 0) {
      std::size_t seqs_off = 0;
      for (std::size_t i = 0; i < std::min(r.last->sources.size(), want.sources.size()); ++i)
        seqs_off += r.last->sources[i].seq != want.sources[i].seq;
      std::cerr << "signal-bus: subscriber " << j << " ends stale: generation " << r.last->generation << ", " << r.last->sources.size() << " sources ("
                << want.sources.size() << " true, " << seqs_off << " with another seq), signals " << (r.last->signals == want.signals ? "equal" : "differ")
                << "\n";
    }
  }
  auto pct_of = [](std::vector<std::uint32_t>& v, double q) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))] / 1000.0;
  };
  // Where the staleness comes from: the first receiver of each sum (master and transport), and
  // how much later the others got it (fan-out and the subscribers' own threads).
  std::map<std::uint64_t, std::array<std::uint64_t, 2>> first; // generation -> (receive time, newest seq)
  for (auto& r : results)
    for (auto& [generation, at, newest] : r.received) {
      auto [it, added] = first.try_emplace(generation, std::array<std::uint64_t, 2>{at, newest});
      if (!added)
        it->second[0] = std::min(it->second[0], at);
    }
  std::vector<std::uint32_t> first_us, spread_us, oldest_us;
  for (auto& r : results)
    oldest_us.insert(oldest_us.end(), r.oldest_change_us.begin(), r.oldest_change_us.end());
  for (auto& [generation, f] : first)
    first_us.push_back(static_cast<std::uint32_t>(f[0] > f[1] ? f[0] - f[1] : 0));
  for (auto& r : results)
    for (auto& [generation, at, newest] : r.received)
      spread_us.push_back(static_cast<std::uint32_t>(at - first[generation][0]));
  std::cerr << "signal-bus: publishers at most " << static_cast<double>(run.late_max_us) / 1000 << " ms behind schedule; " << first.size() / p.seconds << " distinct sums/s; frame send -> ok p50 " << pct_of(run.answer_us, 0.5) << " p99 "
            << pct_of(run.answer_us, 0.99) << " ms; staleness at a sum's first receiver p50 " << pct_of(first_us, 0.5) << " p99 "
            << pct_of(first_us, 0.99) << " ms; other receivers later by p50 " << pct_of(spread_us, 0.5) << " p99 " << pct_of(spread_us, 0.99)
            << " ms; oldest change a sum carries p50 " << pct_of(oldest_us, 0.5) << " p99 " << pct_of(oldest_us, 0.99) << " ms\n";
  std::sort(all.begin(), all.end());
  auto pct = [&](double q) { return all.empty() ? 0.0 : all[static_cast<std::size_t>(q * static_cast<double>(all.size() - 1))] / 1000.0; };
  std::cerr << "signal-bus: " << run.subscribers_live.load() << "/" << p.subscribers << " subscribers live; " << run.sent_in_window.load() / p.seconds
            << " frames/s sent in the window (" << run.sent << " in all, " << run.answered << " answered, " << run.refused << " refused); "
            << delivered << " sums received in the window (" << min_per_sub << ".." << max_per_sub << " per subscriber, " << repeats
            << " republications, " << undecodable << " undecodable); staleness max " << pct(1.0) << " ms; " << stale << " stale at end, 1 s after the sources stopped (" << never
            << " never got a sum); the last converged " << static_cast<double>(converge_max_us) / 1e6 << " s after the sources stopped, "
            << unconverged << " not within 20 s, " << diverged << " left the final sum again; master cpu " << master_cpu_s / p.seconds * 100 << "%, bench cpu " << bench_cpu_s / p.seconds * 100
            << "% (sums of " << (delivered ? bytes / delivered : 0) << " bytes, each generation decoded once for all subscribers: " << decode_sampled
            << " decodes over the whole run, " << (decode_sampled ? static_cast<double>(decode_ns) / static_cast<double>(decode_sampled) / 1000 : 0.0)
            << " µs each); master peak RSS " << master_peak_mib << " MiB\n";
  auto clients = p.clients > 0 ? ",\"clients\":" + std::to_string(p.clients) : std::string();
  std::printf("{\"bench\":\"signal-bus\",\"sources\":%d,\"frames_per_s\":%d,\"subscribers\":%d,\"channels\":%d%s,\"curve\":%s,"
              "\"staleness_p50_ms\":%.3f,\"staleness_p99_ms\":%.3f,\"stale_at_end\":%d,\"deliveries_per_s\":%.0f,\"master_cpu_pct\":%.0f}\n",
              p.publishers, p.rate, p.subscribers, p.channels, clients.c_str(), p.insecure ? "false" : "true", pct(0.50), pct(0.99), stale,
              static_cast<double>(delivered) / p.seconds, master_cpu_s / p.seconds * 100);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  params p;
  if (!parse_params(argc, argv, p))
    return 2;
  // No fastbins: each received sum (a 2.6 KB ZeroMQ message at 50 sources) is a large
  // allocation, which made glibc consolidate the fastbins that decoding the last sum had filled:
  // 6 % of the bench's CPU, on the cores the master needs.
  mallopt(M_MXFAST, 0);
  std::cerr << "signal-bus: " << p.publishers << " publishers x " << p.rate << " frames/s x " << p.signals << " signals -> " << p.subscribers
            << " subscribers on " << p.channels << " channel(s), " << p.seconds << " s" << (p.insecure ? ", insecure" : ", CURVE")
            << (p.min_interval_ms >= 0 ? ", signal_min_interval_ms " + std::to_string(p.min_interval_ms) : std::string()) << "...\n";

  std::string config = "\"durability\":\"process\",\"log_level\":\"warn\"";
  if (p.min_interval_ms >= 0)
    config += ",\"signal_min_interval_ms\":" + std::to_string(p.min_interval_ms);
  test::master_fixture master(p.insecure, config);
  std::vector<std::optional<credential>> pub_creds(p.connections()), sub_creds(static_cast<std::size_t>(p.subscribers));
  if (!p.insecure) {
    for (std::size_t k = 0; k < pub_creds.size(); ++k)
      pub_creds[k] = master.add_client(publisher_name(k), "publisher");
    for (std::size_t j = 0; j < sub_creds.size(); ++j)
      sub_creds[j] = master.add_client("bench-sub-" + std::to_string(j), "subscriber");
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
  publishers pubs;
  for (auto& c : pub_creds) {
    auto& s = pubs.sockets.emplace_back(make_socket(ctx, zmq::socket_type::dealer, c));
    if (p.insecure) // the master names an insecure client by its routing id, up to the last dot
      s->set(zmq::sockopt::routing_id, publisher_name(pubs.sockets.size() - 1) + ".1");
    s->connect(master.control_endpoint());
  }
  pubs.awaited.assign(pubs.sockets.size(), 0);
  pubs.answered.assign(pubs.sockets.size(), false);

  shared_run run;
  std::vector<last_frame> last(static_cast<std::size_t>(p.publishers));
  std::vector<subscriber_result> results(subs.size());
  decoded_sums sums;
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < subs.size(); ++k)
    threads.emplace_back([&, k] { subscribe(*subs[k], run, sums, results[k], k % static_cast<std::size_t>(p.channels)); });
  std::thread publisher([&] { publish(pubs, p, run, last); });

  // Warm up until every publisher has an answer and every subscriber a sum (bounded: 20 s;
  // 500 CURVE handshakes take a while), then 1 s more, then measure.
  auto connections = static_cast<int>(p.connections());
  for (int i = 0; i < 400 && (run.subscribers_live < p.subscribers || run.publishers_live < connections); ++i)
    std::this_thread::sleep_for(milliseconds(50));
  if (run.subscribers_live < p.subscribers || run.publishers_live < connections)
    std::cerr << "signal-bus: warm-up incomplete: " << run.publishers_live.load() << "/" << connections << " publishing clients answered, "
              << run.subscribers_live.load() << "/" << p.subscribers << " subscribers received a sum\n";
  std::this_thread::sleep_for(milliseconds(1000));
  auto cpu0 = test::cpu_seconds(master.pid());
  auto bench0 = test::cpu_seconds(getpid());
  auto t0 = now_us();
  run.window_end = t0 + static_cast<std::uint64_t>(p.seconds * 1e6);
  run.window_start = t0;
  std::this_thread::sleep_for(microseconds(static_cast<std::uint64_t>(p.seconds * 1e6)));
  auto cpu1 = test::cpu_seconds(master.pid());
  auto bench1 = test::cpu_seconds(getpid());
  // Every source stops; 1 s later each subscriber's last sum must be its channel's final one
  // (stale_at_end counts those whose sum was not by then); then wait (at most 20 s) for the
  // others, to tell late from never.
  run.stop_pub = true;
  publisher.join(); // the last frame sent, and (bounded) its answer
  auto stopped = run.sources_stopped_us;
  auto truth = true_sums(p, last);
  run.truth = &truth;
  auto converged = [&] {
    return std::all_of(results.begin(), results.end(), [](const subscriber_result& r) { return r.converged_at != 0; });
  };
  std::this_thread::sleep_for(microseconds(stopped + 1000000 - std::min(now_us(), stopped + 1000000)));
  for (int i = 0; i < 190 && !converged(); ++i)
    std::this_thread::sleep_for(milliseconds(100));
  run.stop_sub = true;
  for (auto& t : threads)
    t.join();
  report(p, run, results, truth, stopped, cpu1 - cpu0, bench1 - bench0, test::peak_resident_mib(master.pid()));
  master.stop();
  return 0;
}
