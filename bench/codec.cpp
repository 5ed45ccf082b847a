// codec: encoding and decoding the transfer messages of master-load's mix (messages/codec.cpp,
// on msgpack_writer and msgpack_reader), alone. Prints one JSON line per message type,
// nanoseconds per frame. Wall-clock figures on a shared machine drift; for comparing two
// builds, `valgrind --tool=callgrind` counts instructions, which do not (docs/benchmarks.md,
// "codec").
//
//   build/bench/codec [ROUNDS]      (default 500000 of each frame)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "messages/message.hpp"

using namespace clusterio::wire;
using clock_type = std::chrono::steady_clock;

namespace {

/// Nanoseconds per call of `fn`, over `rounds` calls. `sink` keeps the work from being elided.
template <class Fn> double ns_per_call(long rounds, std::size_t& sink, Fn fn) {
  auto start = clock_type::now();
  for (long i = 0; i < rounds; ++i)
    sink += fn();
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - start).count()) / static_cast<double>(rounds);
}

} // namespace

int main(int argc, char** argv) {
  long rounds = argc > 1 ? std::atol(argv[1]) : 500000;
  if (rounds <= 0) {
    std::fprintf(stderr, "usage: codec [ROUNDS]   (a positive number of rounds)\n");
    return 2;
  }
  // What a slave sends and the master answers under master-load.
  const frame frames[] = {
    {42, export_batch{17, 1234, 1230, {{"iron-plate", 55}, {"water", 10}}}},
    {42, export_ack{17, 1234, false}},
    {43, request_items{17, {{"copper-plate", 20}}}},
    {43, grant_reply{17, {{991, "copper-plate", 20}}}},
    {44, confirm_grants{17, {991, 992}, {}}},
    {44, confirm_ack{17, {991, 992}}},
  };
  std::size_t sink = 0;
  for (const auto& f : frames) {
    auto bytes = encode(f);
    if (!decode(bytes).ok) {
      std::fprintf(stderr, "codec: a sample frame does not decode\n");
      return 1;
    }
    double enc = ns_per_call(rounds, sink, [&] { return encode(f).size(); });
    double dec = ns_per_call(rounds, sink, [&] { return static_cast<std::size_t>(decode(bytes).ok); });
    std::printf("{\"bench\":\"codec\",\"type\":\"%s\",\"bytes\":%zu,\"encode_ns\":%.1f,\"decode_ns\":%.1f}\n", std::string(type_of(f.body)).c_str(),
                bytes.size(), enc, dec);
  }
  return sink == 0; // never: every round adds
}
