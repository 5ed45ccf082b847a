// io-stall: how much time this machine takes away from running threads while a process syncs
// files to disk. Not a benchmark of the project: a reading of the machine under it, because the
// master syncs its database on every commit (durability "full") and its latency tail follows.
//
// One thread spins and notes every gap of over 1 ms between two readings of the clock (time it
// did not run); meanwhile another writes WAL-like pages (6 per sync) and calls fdatasync, or does
// nothing. Two threads on two cores: neither needs to take the other's core, so what the spinner
// loses, the machine took. Prints one JSON line per mode.
//
// Usage: io-stall [SECONDS [DIR [PAUSE_US]]]. PAUSE_US sleeps between syncs (default 0: back to
// back), to find the sync rate above which this machine starts to stall.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono;

namespace {

struct gaps {
  double lost_ms = 0, max_ms = 0;
  int count = 0;
};

gaps spin(double seconds) {
  gaps g;
  auto start = steady_clock::now(), last = start;
  while (true) {
    auto now = steady_clock::now();
    double gap = duration<double, std::milli>(now - last).count();
    if (gap > 1.0) {
      g.lost_ms += gap;
      g.max_ms = std::max(g.max_ms, gap);
      ++g.count;
    }
    last = now;
    if (duration<double>(now - start).count() >= seconds)
      return g;
  }
}

} // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  std::string file = std::string(argc > 2 ? argv[2] : "/tmp") + "/clusterio-io-stall.tmp";
  auto pause = microseconds(argc > 3 ? std::atoi(argv[3]) : 0);
  for (bool syncing : {false, true}) {
    std::atomic<bool> stop{false};
    long syncs = 0;
    std::thread syncer;
    if (syncing)
      syncer = std::thread([&] {
        int fd = ::open(file.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
        if (fd < 0) {
          std::perror(file.c_str());
          std::exit(2);
        }
        std::vector<char> page(4096, 'x');
        off_t at = 0;
        while (!stop) {
          for (int i = 0; i < 6; ++i, at = (at + 4096) % (4 << 20))
            if (::pwrite(fd, page.data(), page.size(), at) < 0)
              std::exit(2);
          ::fdatasync(fd);
          ++syncs;
          if (pause.count() > 0)
            std::this_thread::sleep_for(pause);
        }
        ::close(fd);
        ::unlink(file.c_str());
      });
    auto lost = spin(seconds);
    stop = true;
    if (syncer.joinable())
      syncer.join();
    std::printf("{\"bench\":\"io-stall\",\"syncing\":%s,\"pause_us\":%ld,\"syncs_per_s\":%.0f,\"spinner_lost_ms_per_s\":%.1f,\"max_gap_ms\":%.1f,\"gaps\":%d}\n",
                syncing ? "true" : "false", static_cast<long>(pause.count()), static_cast<double>(syncs) / seconds, lost.lost_ms / seconds, lost.max_ms, lost.count);
  }
  return 0;
}
