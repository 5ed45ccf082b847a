// demand-alloc: the fair policy's cost per request (demand/demand_policy), alone, by the number
// of instances asking for one item: under plenty (stock covers every ask) and under scarcity
// (half of what is asked arrives). Prints one JSON line per (instances, supply).
//
//   build/bench/demand-alloc [REQUESTS]      (default 200000 per configuration)

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "demand/demand_policy.hpp"

using namespace clusterio::demand;

namespace {

double ns_per_request(std::size_t instances, bool plenty, int requests) {
  auto alloc = make_allocator(policy_kind::fair, policy_config{});
  std::mt19937_64 rng(instances);
  std::int64_t stock = plenty ? std::int64_t{1} << 50 : 0;
  std::uint64_t now_ms = 1000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < requests; ++i) {
    auto instance = rng() % instances + 1;
    auto ask = static_cast<std::int64_t>(rng() % 200 + 1);
    if (!plenty)
      stock += 50; // half of the mean ask of 100
    stock -= alloc->allocate(instance, ask, stock, now_ms);
    now_ms += i % 100 == 0; // ~100 requests a millisecond: nobody falls out of the window
  }
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() / requests;
}

} // namespace

int main(int argc, char** argv) {
  int requests = argc > 1 ? std::atoi(argv[1]) : 200000;
  if (requests <= 0) {
    std::fprintf(stderr, "usage: demand-alloc [REQUESTS > 0]\n");
    return 2;
  }
  for (std::size_t instances : {10, 100, 1000})
    for (bool plenty : {true, false})
      std::printf("{\"bench\":\"demand-alloc\",\"instances\":%zu,\"supply\":\"%s\",\"ns_per_request\":%.0f}\n", instances,
                  plenty ? "plenty" : "scarce", ns_per_request(instances, plenty, requests));
}
