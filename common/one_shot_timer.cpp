#include "common/one_shot_timer.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <sys/timerfd.h>
#include <unistd.h>

namespace clusterio {

one_shot_timer::one_shot_timer() : fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
  if (fd_ < 0)
    throw std::runtime_error(std::string("timerfd_create: ") + std::strerror(errno));
}

one_shot_timer::~one_shot_timer() { ::close(fd_); }

void one_shot_timer::arm(std::chrono::microseconds after) {
  auto us = std::max<std::int64_t>(1, after.count()); // zero would disarm it
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(us / 1000000);
  spec.it_value.tv_nsec = static_cast<long>(us % 1000000) * 1000;
  timerfd_settime(fd_, 0, &spec, nullptr);
}

void one_shot_timer::clear() {
  std::uint64_t expirations = 0;
  [[maybe_unused]] auto n = ::read(fd_, &expirations, sizeof expirations); // EAGAIN: not expired, nothing to clear
}

} // namespace clusterio
