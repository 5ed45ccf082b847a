// clusterio-ctl: a command-line client of the master, for operators and scripts. It speaks only
// the public protocol (docs/protocol.md) through client/wire_client.hpp:
//
//   clusterio-ctl --credential me.cred.json signals watch [CHANNEL] [--count N] [--sources]
//   clusterio-ctl --credential me.cred.json signals send CHANNEL name=count[:type[:quality]]...
//   clusterio-ctl --credential me.cred.json inventory
//   clusterio-ctl --credential me.cred.json slaves      (with what each world holds back)
//   clusterio-ctl --credential admin.cred.json instance create SLAVE NAME [--scenario S]
//                 [--map-gen-settings FILE.json] [--map-settings FILE.json] [--map-gen-seed N]
//   clusterio-ctl --credential admin.cred.json instance start|stop|restart|delete NAME [--slave S]
//   clusterio-ctl --credential admin.cred.json instance command NAME '/c rcon.print(1+1)'
//   clusterio-ctl --credential admin.cred.json instance log NAME [--lines N] [--follow]
//   clusterio-ctl --credential admin.cred.json instance list [SLAVE]      (each with --json)
//   clusterio-ctl --credential admin.cred.json instance settings NAME
//   clusterio-ctl --credential admin.cred.json instance set NAME max_players=8 public=true
//   clusterio-ctl --credential admin.cred.json instance save-upload NAME FILE.zip [--save S.zip]
//   clusterio-ctl --credential admin.cred.json instance save-download NAME [--save S.zip] [-o FILE]
//
// Every request has a timeout: a dead or unreachable master is an error within --timeout ms,
// never a hang. Exit status: 0 done, 1 the master refused (error reply), 2 no answer or bad use.

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/base64.hpp"
#include "common/credentials.hpp"
#include "common/files.hpp"
#include "common/map_flags.hpp"
#include "common/sha256.hpp"
#include "client/wire_client.hpp"
#include "messages/json.hpp"
#include "messages/message.hpp"

using namespace clusterio;

namespace {

std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted = true; }

struct options {
  std::string master, bus, credential_path;
  bool insecure = false;
  int timeout_ms = 3000;
};

/// The code of a failure the master answered with an error reply (exit status 1); any other
/// failure (no answer, bad use) exits with 2. Failures are thrown to main(), which reports them.
constexpr int refused_by_master = 1;

struct session {
  std::optional<credential> cred;
  std::string control, bus;
  std::chrono::milliseconds timeout{3000};
};

/// "tcp://host:port" -> the same host with port + 1 (the bus's default).
std::string next_port(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos)
    throw failure("cannot find the port in '" + endpoint + "' (expected tcp://host:port)");
  int port = std::atoi(endpoint.c_str() + colon + 1);
  if (port <= 0 || port >= 65535)
    throw failure("bad port in '" + endpoint + "'");
  return endpoint.substr(0, colon + 1) + std::to_string(port + 1);
}

session open_session(const options& o) {
  session s;
  s.timeout = std::chrono::milliseconds(o.timeout_ms);
  if (!o.credential_path.empty()) {
    auto cred = load_credential(o.credential_path);
    if (!cred)
      throw cred.error();
    s.cred = std::move(*cred);
  } else if (!o.insecure) {
    throw failure("give --credential FILE (made by `clusterio-master add-tool`), or --insecure for a master run with --insecure");
  }
  s.control = o.master;
  if (s.control.empty())
    s.control = s.cred && !s.cred->master_address.empty() ? "tcp://" + s.cred->master_address : "tcp://127.0.0.1:7100";
  s.bus = o.bus.empty() ? next_port(s.control) : o.bus;
  return s;
}

/// Sends one request and returns the reply, or throws a failure (no answer, error reply).
wire::message call(wire_client& c, const session& s, wire::message m) {
  auto type = std::string(wire::type_of(m));
  auto r = c.call(std::move(m), s.timeout);
  if (!r)
    throw failure("no answer from the master at " + s.control + " within " + std::to_string(s.timeout.count()) +
                  " ms (is it running? is this credential on its allow-list, with the right master key?)");
  if (auto* e = std::get_if<wire::error_reply>(&r->body))
    throw failure("the master refused '" + type + "': " + std::string(wire::to_string(e->code)) + (e->field.empty() ? "" : " (" + e->field + ")") + ": " + e->message, refused_by_master);
  return std::move(r->body);
}

template <class T> T expect(wire::message m, const std::string& what) {
  if (auto* v = std::get_if<T>(&m))
    return std::move(*v);
  throw failure("unexpected reply to " + what + ": '" + std::string(wire::type_of(m)) + "'", refused_by_master);
}

/// Connects and says hello: proves the master is there and knows us.
wire::welcome greet(wire_client& c, const session& s) {
  return expect<wire::welcome>(call(c, s, wire::hello{s.cred ? s.cred->name : "clusterio-ctl", "clusterio-ctl/0.1.0"}), "hello");
}

/// A signal as this tool writes and reads it: name=value, then :type when not an item or
/// before a quality, then :quality when not normal (the order of the wire's entry).
std::string format_signals(const wire::signal_list& signals) {
  std::ostringstream out;
  for (auto& s : signals) {
    out << " " << s.name << "=" << s.value;
    if (s.type != wire::item_signal || s.quality != wire::normal_quality)
      out << ":" << s.type;
    if (s.quality != wire::normal_quality)
      out << ":" << s.quality;
  }
  return out.str();
}

/// value[:type[:quality]] after a signal's '=', or nothing if `text` is not that.
std::optional<wire::circuit_signal> parse_value(const std::string& text) {
  wire::circuit_signal s;
  std::size_t used = 0;
  try {
    s.value = std::stoll(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used == text.size())
    return s;
  if (text[used] != ':')
    return std::nullopt;
  auto rest = text.substr(used + 1), type = rest.substr(0, rest.find(':'));
  if (!wire::check_signal_type(type, true))
    return std::nullopt;
  s.type = type;
  if (type.size() < rest.size())
    s.quality = rest.substr(type.size() + 1);
  return s;
}

/// name=value[:type[:quality]]. A name may itself contain '=' and ':': the '=' is the last one
/// followed by what parse_value reads.
wire::circuit_signal parse_signal(const std::string& p) {
  for (auto eq = p.rfind('='); eq != std::string::npos && eq > 0; eq = p.rfind('=', eq - 1))
    if (auto s = parse_value(p.substr(eq + 1))) {
      s->name = p.substr(0, eq);
      return *s;
    }
  throw failure("expected name=count[:type[:quality]] with an integer count (-2147483648..2147483647), got '" + p + "'");
}

/// A channel's sum as `watch` prints it: "CHANNEL gen=G sources=a:seq,b:seq name=v...".
std::string format_sum(const wire::signal_sum& sum) {
  std::string line = sum.channel + " gen=" + std::to_string(sum.generation) + " sources=";
  for (auto& src : sum.sources)
    line += (&src == &sum.sources.front() ? "" : ",") + src.source + ":" + std::to_string(src.seq);
  if (sum.sources.empty())
    line += "-";
  return line + (sum.signals.empty() ? " (empty)" : format_signals(sum.signals));
}

int signals_watch(const options& o, const std::string& channel, std::uint64_t count, bool sources) {
  auto s = open_session(o);
  if (!channel.empty())
    if (auto label = wire::check_label(channel); !label)
      throw label.error().in("bad channel '" + channel + "'");
  // Subscribe first, then make sure the master answers (Clone: the bus republishes the current
  // sums, or frames, when it sees the subscription).
  auto prefix = sources ? wire::topic_signal_source_prefix : wire::topic_signal_prefix;
  bus_subscriber sub(s.bus, s.cred, std::string(prefix) + channel);
  wire_client c(s.control, s.cred);
  greet(c, s);
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  std::uint64_t shown = 0;
  while (!interrupted && (count == 0 || shown < count)) {
    auto m = sub.recv(std::chrono::milliseconds(200));
    if (!m)
      continue;
    // "signal/ab" also matches the prefix "signal/a": keep only the channel asked for.
    if (auto* f = std::get_if<wire::signal_frame>(&m->second.body); f && sources && (channel.empty() || f->channel == channel)) {
      std::cout << f->channel << " " << f->source << " seq=" << f->seq << (f->signals.empty() ? " (withdrawn)" : format_signals(f->signals))
                << std::endl;
      ++shown;
    } else if (auto* sum = std::get_if<wire::signal_sum>(&m->second.body); sum && !sources && (channel.empty() || sum->channel == channel)) {
      std::cout << format_sum(*sum) << std::endl;
      ++shown;
    }
  }
  return 0;
}

int signals_send(const options& o, const std::string& channel, const std::vector<std::string>& pairs, std::uint64_t seq,
                 const std::string& source) {
  wire::signal_frame f{channel, source, seq ? seq : epoch_ms() * 1000, {}};
  for (auto& p : pairs)
    f.signals.push_back(parse_signal(p));
  auto s = open_session(o);
  wire_client c(s.control, s.cred);
  expect<wire::ok>(call(c, s, f), "signal");
  std::cout << "sent " << channel << " seq=" << f.seq << format_signals(f.signals) << "\n";
  return 0;
}

int inventory(const options& o) {
  auto s = open_session(o);
  wire_client c(s.control, s.cred);
  auto inv = expect<wire::inventory_levels>(call(c, s, wire::inventory_query{}), "inventory_query");
  // By key: each name's other qualities right after its normal one.
  std::sort(inv.levels.begin(), inv.levels.end(), [](auto& a, auto& b) { return wire::item_key(a) < wire::item_key(b); });
  // As the wire lists them: "name count", and "name count quality" for another quality.
  for (auto& l : inv.levels) {
    std::cout << l.name << " " << l.count;
    if (l.quality != wire::normal_quality)
      std::cout << " " << l.quality;
    std::cout << "\n";
  }
  std::cout << "(" << inv.levels.size() << " item kinds)\n";
  return 0;
}

/// An item as `inventory` prints one: "name" or "name quality".
std::string with_quality(const std::string& name, const std::string& quality) {
  return quality == wire::normal_quality ? name : name + " " + quality;
}

/// Lines under an instance for what its world keeps from the cluster; none when nothing.
void print_held_back(const wire::held_back_report& h) {
  if (h.items_total > 0) {
    std::uint64_t listed = 0;
    std::cout << "       held back in put-chests:";
    for (auto& i : h.items) {
      std::cout << " " << i.count << " " << with_quality(i.name, i.quality) << ",";
      listed += static_cast<std::uint64_t>(i.count);
    }
    if (listed < h.items_total)
      std::cout << " and " << h.items_total - listed << " more,";
    std::cout << " " << h.items_total << " in all\n";
  }
  if (h.signals_not_shown > 0)
    std::cout << "       signals not shown (no room in combinators): " << h.signals_not_shown << "\n";
}

int slaves(const options& o) {
  auto s = open_session(o);
  wire_client c(s.control, s.cred);
  std::vector<wire::instance_info> instances;
  wire::slaves_query page;
  do {
    auto r = expect<wire::slaves_reply>(call(c, s, page), "slaves_query");
    std::move(r.instances.begin(), r.instances.end(), std::back_inserter(instances));
    if (r.next_after != 0 && r.next_after <= page.after)
      throw failure("the master's next page (after " + std::to_string(r.next_after) + ") does not move forward", refused_by_master);
    page.after = r.next_after;
  } while (page.after != 0);
  std::printf("%-6s %-20s %-20s %-8s %-10s %7s %7s %9s  %s\n", "id", "slave", "instance", "online", "state", "ups", "players", "held-back",
              "address");
  for (auto& i : instances) {
    std::printf("%-6llu %-20s %-20s %-8s %-10s %7.1f %7u %9llu  %s\n", static_cast<unsigned long long>(i.instance_id), i.slave.c_str(),
                i.name.c_str(), i.online ? "yes" : "no", i.state.c_str(), i.ups, i.players,
                static_cast<unsigned long long>(i.held_back.items_total), i.game_address.c_str());
    print_held_back(i.held_back);
  }
  std::printf("(%zu instances)\n", instances.size());
  return 0;
}

/// Operator commands (admin credential): one request, answered `ok`.
int operator_command(const options& o, wire::message m, const std::string& done) {
  auto s = open_session(o);
  wire_client c(s.control, s.cred);
  std::string what(wire::type_of(m));
  expect<wire::ok>(call(c, s, std::move(m)), what);
  std::cout << done << "\n";
  return 0;
}

/// What `instance ...` sends: the command, and how to show its result.
struct instance_options {
  wire::instance_command cmd;
  bool json = false;
  int wait_s = 90;
  bool follow = false; ///< log: print new lines as they come, until Ctrl-C
  std::vector<std::string> settings; ///< set: key=value
  std::string file;                  ///< save-upload: the file to send; save-download: where to write
};


/// Sends an instance command and waits up to --wait seconds for its result. A try that gets no
/// answer within the retry interval is sent again with the same command id, which the master
/// and the slave apply at most once: a dropped link or a restarted master costs a retry, never a
/// second start or delete. A refusal throws (after printing it as JSON with --json).
wire::command_result send_command(wire_client& c, const session& s, const instance_options& io) {
  constexpr auto retry_every = std::chrono::seconds(10);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(io.wait_s);
  std::optional<wire::frame> answer;
  while (!answer && std::chrono::steady_clock::now() < deadline) {
    auto id = c.send(io.cmd);
    auto try_until = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(retry_every));
    while (!answer && std::chrono::steady_clock::now() < try_until) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(try_until - std::chrono::steady_clock::now());
      auto f = c.recv(std::max(left, std::chrono::milliseconds(1)));
      if (f && f->id == id)
        answer = std::move(f);
    }
  }
  if (!answer) {
    auto why = "no answer from the master at " + s.control + " within " + std::to_string(io.wait_s) + " s; command " +
               std::to_string(io.cmd.command_id) + " may have been applied: send it again with --command-id " +
               std::to_string(io.cmd.command_id) + " (it is applied at most once)";
    if (io.json) {
      auto j = wire::to_json(wire::make_error(wire::error_code::unavailable, why));
      j["command_id"] = io.cmd.command_id;
      std::cout << j.dump() << "\n";
    }
    throw failure(why);
  }
  if (auto* e = std::get_if<wire::error_reply>(&answer->body)) {
    if (io.json) {
      auto j = wire::to_json(*e);
      j["command_id"] = io.cmd.command_id;
      std::cout << j.dump() << "\n";
    }
    throw failure("'" + io.cmd.action + "' refused: " + std::string(wire::to_string(e->code)) + (e->field.empty() ? "" : " (" + e->field + ")") +
                    ": " + e->message,
                  refused_by_master);
  }
  return expect<wire::command_result>(std::move(answer->body), "instance_command");
}

void print_result(const wire::command_result& r, bool json) {
  if (json) {
    std::cout << wire::to_json(r).dump() << std::endl;
  } else if (r.action == "log") {
    for (auto& l : r.lines)
      std::cout << l.text << "\n";
    std::cout.flush();
  } else if (r.action == "settings" || (r.action == "set" && !r.settings.empty())) {
    if (r.action == "set")
      std::cout << r.slave << ": " << r.message << (r.repeated ? " (answered before: not applied again)" : "") << "\n";
    for (auto& kv : r.settings)
      std::printf("%-18s %s\n", kv.key.c_str(), kv.value.c_str());
  } else if (r.action == "list") {
    std::printf("%-20s %-24s %-10s %s\n", "slave", "instance", "state", "game-port");
    for (auto& i : r.instances)
      std::printf("%-20s %-24s %-10s %llu\n", (i.slave.empty() ? r.slave : i.slave).c_str(), i.name.c_str(), i.state.c_str(),
                  static_cast<unsigned long long>(i.game_port));
    std::printf("(%zu instances)\n", r.instances.size());
  } else {
    std::cout << r.slave << ": " << r.message << (r.repeated ? " (answered before: not applied again)" : "") << "\n";
    if (!r.output.empty())
      std::cout << r.output << (r.output.back() == '\n' ? "" : "\n");
  }
}

/// save-upload: the file in pieces, each a command of its own (applied at most once, so a piece
/// sent again after a timeout is harmless); the last one makes the slave check the whole save.
int save_upload(wire_client& c, const session& s, instance_options& io) {
  auto bytes = read_file(io.file);
  if (!bytes)
    throw failure(bytes.why());
  if (bytes->empty() || bytes->size() > wire::max_save_bytes)
    throw failure(io.file + ": " + std::to_string(bytes->size()) + " bytes; saves of 1.." + std::to_string(wire::max_save_bytes) +
                    " bytes are taken");
  if (io.cmd.save.empty())
    io.cmd.save = std::filesystem::path(io.file).filename().string();
  io.cmd.size = bytes->size();
  io.cmd.sha256 = sha256_hex(*bytes);
  wire::command_result r;
  for (std::uint64_t offset = 0; offset < bytes->size(); offset += wire::max_save_chunk_bytes) {
    io.cmd.command_id = wire::new_command_id();
    io.cmd.offset = offset;
    io.cmd.data = base64_encode(std::string_view(*bytes).substr(offset, wire::max_save_chunk_bytes));
    r = send_command(c, s, io);
    if (!io.json)
      std::cerr << "\r" << r.slave << ": " << std::min<std::uint64_t>(offset + wire::max_save_chunk_bytes, bytes->size()) << " of " << bytes->size()
                << " bytes sent" << std::flush;
  }
  if (!io.json)
    std::cerr << "\n";
  print_result(r, io.json);
  return 0;
}

/// save-download: the save in pieces, checked against the size and SHA-256 of the first.
int save_download(wire_client& c, const session& s, instance_options& io) {
  std::string bytes;
  wire::command_result first;
  do {
    io.cmd.command_id = wire::new_command_id();
    io.cmd.offset = bytes.size();
    auto r = send_command(c, s, io);
    if (bytes.empty()) {
      first = r;
      io.cmd.save = r.save; // the latest when none was named: the same file from now on
    } else if (r.size != first.size) {
      throw failure("save '" + r.save + "' changed while it was downloaded (" + std::to_string(first.size) + " bytes, now " +
                      std::to_string(r.size) + "): try again",
                    refused_by_master);
    }
    auto piece = base64_decode(r.data);
    if (!piece || (piece->empty() && bytes.size() < first.size))
      throw failure("a bad piece of save '" + r.save + "' at " + std::to_string(bytes.size()), refused_by_master);
    bytes += *piece;
  } while (bytes.size() < first.size);
  if (sha256_hex(bytes) != first.sha256)
    throw failure("save '" + first.save + "' changed while it was downloaded (its SHA-256 differs): try again", refused_by_master);
  auto out = io.file.empty() ? first.save : io.file;
  if (auto written = write_file_atomic(out, bytes, 0600); !written)
    throw failure(written.why());
  first.data.clear();
  first.message = "downloaded save '" + first.save + "' (" + std::to_string(bytes.size()) + " bytes) to " + out;
  print_result(first, io.json);
  return 0;
}

int instance_command(const options& o, instance_options& io) {
  auto s = open_session(o);
  wire_client c(s.control, s.cred);
  if (io.cmd.action == "save-upload")
    return save_upload(c, s, io);
  if (io.cmd.action == "save-download")
    return save_download(c, s, io);
  for (auto& kv : io.settings) {
    auto eq = kv.find('=');
    if (eq == std::string::npos)
      throw failure("'" + kv + "': give settings as key=value (" + std::to_string(wire::max_settings) + " keys: see `instance settings`)");
    io.cmd.settings.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
  }
  if (io.cmd.command_id == 0)
    io.cmd.command_id = wire::new_command_id();
  auto r = send_command(c, s, io);
  print_result(r, io.json);
  if (!io.follow)
    return 0;
  // log --follow: what follows, once a second, until Ctrl-C.
  std::signal(SIGINT, on_interrupt);
  std::signal(SIGTERM, on_interrupt);
  while (!interrupted) {
    for (int i = 0; i < 10 && !interrupted; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    io.cmd.after = r.next_line;
    io.cmd.command_id = wire::new_command_id();
    if (!interrupted) {
      r = send_command(c, s, io);
      print_result(r, io.json);
    }
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"clusterio-ctl: watch and send circuit signals, show storage and instances of a Clusterio master"};
  app.require_subcommand(1);
  options o;
  app.add_option("--master", o.master, "Control socket, tcp://host:port (default: the credential's master, else tcp://127.0.0.1:7100)");
  app.add_option("--bus", o.bus, "Bus socket, tcp://host:port (default: control port + 1)");
  app.add_option("--credential", o.credential_path, "Credential file (clusterio-master add-tool NAME --role ...)");
  app.add_flag("--insecure", o.insecure, "No credential: for a master run with --insecure");
  app.add_option("--timeout", o.timeout_ms, "Milliseconds to wait for each answer")->check(CLI::Range(100, 600000));

  auto* signals_cmd = app.add_subcommand("signals", "Circuit signals");
  signals_cmd->require_subcommand(1);
  std::string channel;
  std::uint64_t count = 0, seq = 0;
  std::vector<std::string> pairs;
  std::string source;
  bool sources = false;
  auto* watch_cmd = signals_cmd->add_subcommand("watch", "Print each channel's sum as the master publishes it (Ctrl-C stops)");
  watch_cmd->add_option("CHANNEL", channel, "Only this channel (default: every channel)");
  watch_cmd->add_option("--count", count, "Stop after this many lines (0: never)");
  watch_cmd->add_flag("--sources", sources, "Print every source's frames instead of the sums (topic signal-src/)");
  auto* send_cmd = signals_cmd->add_subcommand("send", "Send one frame: the complete set this tool transmits on CHANNEL");
  send_cmd->add_option("CHANNEL", channel, "Channel")->required();
  send_cmd->add_option("SIGNALS", pairs, "name=count[:type[:quality]] (type: fluid, virtual, ...; item when left out; quality: normal when left out); none withdraws this tool's contribution");
  send_cmd->add_option("--seq", seq, "Sequence number (default: epoch microseconds, so that later sends win)");
  send_cmd->add_option("--source", source, "Sub-source name (the master shows <credential name>/<source>)");
  auto* inventory_cmd = app.add_subcommand("inventory", "Print the storage levels");
  auto* slaves_cmd = app.add_subcommand("slaves", "Print every known instance");
  std::uint64_t id = 0;
  auto* reclaim_cmd = app.add_subcommand("reclaim", "Operator: return a stale reservation to storage (after the mod cancels it)");
  reclaim_cmd->add_option("GRANT_ID", id, "Grant id")->required();
  auto* delete_cmd = app.add_subcommand("delete-instance", "Operator: forget an instance; its reservations return to storage");
  delete_cmd->add_option("INSTANCE_ID", id, "Instance id (see `slaves`)")->required();

  auto* instance_cmd = app.add_subcommand("instance", "Admin: run the instances of every slave (`clusterio-slave run` on each host)");
  instance_cmd->require_subcommand(1);
  instance_options io;
  instance_cmd->add_flag("--json", io.json, "Print the result (or the error) as one JSON object");
  instance_cmd->add_option("--wait", io.wait_s, "Seconds to wait for the result (sent again every 10 s with the same id)")->check(CLI::Range(1, 3600));
  instance_cmd->add_option("--command-id", io.cmd.command_id, "The command's id (default: random); the same id is applied at most once")
    ->check(CLI::Range(std::uint64_t{1}, UINT64_MAX));
  auto* inst_create = instance_cmd->add_subcommand("create", "Create an instance (folder, configs, a new map) on a slave");
  inst_create->add_option("SLAVE", io.cmd.slave, "The slave that is to run it")->required();
  inst_create->add_option("NAME", io.cmd.name, "Instance name")->required();
  inst_create->add_option("--scenario", io.cmd.scenario, "factorio-sim: the map's scenario");
  add_map_flags(*inst_create, io.cmd.map_gen_settings, io.cmd.map_settings, io.cmd.map_gen_seed);
  std::vector<CLI::App*> by_name;
  for (auto [action, help] : {std::pair{"start", "Start an instance"}, {"stop", "Stop an instance (the game saves and quits)"},
                              {"restart", "Stop an instance, then start it"}, {"delete", "Delete a stopped instance and its saves"}}) {
    auto* sub = instance_cmd->add_subcommand(action, help);
    sub->add_option("NAME", io.cmd.name, "Instance name")->required();
    sub->add_option("--slave", io.cmd.slave, "Its slave (needed only when several slaves have an instance of this name)");
    by_name.push_back(sub);
  }
  auto* inst_command = instance_cmd->add_subcommand("command", "Send a console line to a running instance and print its reply");
  inst_command->add_option("NAME", io.cmd.name, "Instance name")->required();
  inst_command->add_option("TEXT", io.cmd.text, "The console line, e.g. '/c rcon.print(game.tick)'")->required();
  inst_command->add_option("--slave", io.cmd.slave, "Its slave (needed only when several slaves have an instance of this name)");
  by_name.push_back(inst_command);
  auto* inst_log = instance_cmd->add_subcommand("log", "Print the latest console output of a running instance");
  inst_log->add_option("NAME", io.cmd.name, "Instance name")->required();
  inst_log->add_option("--lines", io.cmd.count, "Lines at most (the latest)")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{wire::max_log_lines}));
  inst_log->add_flag("--follow", io.follow, "Then print new lines as they come (once a second) until Ctrl-C");
  inst_log->add_option("--slave", io.cmd.slave, "Its slave (needed only when several slaves have an instance of this name)");
  by_name.push_back(inst_log);
  auto by_name_sub = [&](const char* action, const char* help) {
    auto* sub = instance_cmd->add_subcommand(action, help);
    sub->add_option("NAME", io.cmd.name, "Instance name")->required();
    sub->add_option("--slave", io.cmd.slave, "Its slave (needed only when several slaves have an instance of this name)");
    by_name.push_back(sub);
    return sub;
  };
  by_name_sub("settings", "Print an instance's settings");
  by_name_sub("set", "Change settings (game_port, autosave_interval, max_players, game_password, public); a running instance takes them at its next start")
    ->add_option("SETTINGS", io.settings, "key=value, e.g. max_players=8 public=true")
    ->required();
  auto* inst_upload = by_name_sub("save-upload", "Upload a save to a stopped instance: its next start loads it");
  inst_upload->add_option("FILE", io.file, "The save (a zip)")->required()->check(CLI::ExistingFile);
  inst_upload->add_option("--save", io.cmd.save, "Its file name on the instance (default: FILE's)");
  auto* inst_download = by_name_sub("save-download", "Download an instance's save (default: its latest)");
  inst_download->add_option("--save", io.cmd.save, "Which save (see the instance's saves/)");
  inst_download->add_option("-o,--output", io.file, "Where to write it (default: the save's name, here)");
  auto* inst_list = instance_cmd->add_subcommand("list", "List the instances of one slave, or of every slave that takes commands");
  inst_list->add_option("SLAVE", io.cmd.slave, "Only this slave (asked directly; default: every slave's latest report)");

  for (auto* sub : instance_cmd->get_subcommands({}))
    sub->fallthrough(); // --json and the rest may come after the action too

  CLI11_PARSE(app, argc, argv);
  try {
    if (instance_cmd->parsed()) {
      io.cmd.action = inst_create->parsed() ? "create" : inst_list->parsed() ? "list" : "";
      for (auto* sub : by_name)
        if (sub->parsed())
          io.cmd.action = sub->get_name();
      return instance_command(o, io);
    }
    if (watch_cmd->parsed())
      return signals_watch(o, channel, count, sources);
    if (send_cmd->parsed())
      return signals_send(o, channel, pairs, seq, source);
    if (inventory_cmd->parsed())
      return inventory(o);
    if (slaves_cmd->parsed())
      return slaves(o);
    if (reclaim_cmd->parsed())
      return operator_command(o, wire::reclaim_grant{id},
                              "grant " + std::to_string(id) +
                                " marked for reclaim: it returns to storage once its world's mod confirms it never applied it");
    if (delete_cmd->parsed())
      return operator_command(o, wire::delete_instance{id},
                              "instance " + std::to_string(id) + " deleted; its reservations went back to storage");
  } catch (const failure& f) {
    std::cerr << "clusterio-ctl: " << f.what() << "\n";
    return f.code() == refused_by_master ? 1 : 2;
  } catch (const zmq::error_t& e) {
    std::cerr << "clusterio-ctl: cannot connect: " << e.what() << " (endpoints look like tcp://host:port)\n";
    return 2;
  }
  return 0;
}
