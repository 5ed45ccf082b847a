#pragma once
// A timer a poll loop can wait on with microsecond precision (poll's own timeout counts whole
// milliseconds): a Linux timerfd that becomes readable once, when armed time has passed.

#include <chrono>

namespace clusterio {

class one_shot_timer {
public:
  one_shot_timer();
  ~one_shot_timer();
  one_shot_timer(const one_shot_timer&) = delete;
  one_shot_timer& operator=(const one_shot_timer&) = delete;

  /// Readable `after` from now (re-arming replaces the previous time).
  void arm(std::chrono::microseconds after);
  /// Reads the expiry, so that the descriptor is no longer readable.
  void clear();
  int fd() const { return fd_; }

private:
  int fd_;
};

} // namespace clusterio
