#include "common/outbox.hpp"

#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>

namespace clusterio {

outbox::outbox(std::size_t capacity) : capacity_(capacity), fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (fd_ < 0)
    throw std::runtime_error("eventfd failed");
}

outbox::~outbox() { ::close(fd_); }

bool outbox::reply(std::string routing_id, std::string payload) {
  return push({false, std::move(routing_id), std::move(payload)});
}

bool outbox::publish(std::string topic, std::string payload) {
  return push({true, std::move(topic), std::move(payload)});
}

bool outbox::push(item it) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (items_.size() >= capacity_) {
      ++dropped_;
      return false;
    }
    was_empty = items_.empty();
    items_.push_back(std::move(it));
  }
  if (was_empty) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
  return true;
}

std::size_t outbox::push_all(std::vector<item> items) {
  std::size_t queued = 0;
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_empty = items_.empty();
    for (auto& it : items) {
      if (items_.size() >= capacity_) {
        ++dropped_;
        continue;
      }
      items_.push_back(std::move(it));
      ++queued;
    }
  }
  if (was_empty && queued > 0) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }
  return queued;
}

void outbox::drain(std::vector<item>& out) {
  std::uint64_t counter;
  [[maybe_unused]] auto n = ::read(fd_, &counter, sizeof counter);
  std::lock_guard<std::mutex> lock(mu_);
  out.swap(items_);
  items_.clear();
}

} // namespace clusterio
