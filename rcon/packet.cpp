#include "rcon/packet.hpp"

namespace clusterio::rcon {

namespace {

void put_i32(std::string& out, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

int32_t get_i32(const char* p) {
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i)
    u |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return static_cast<int32_t>(u);
}

} // namespace

void encode(const packet& p, std::string& out) {
  put_i32(out, static_cast<int32_t>(p.body.size() + 10));
  put_i32(out, p.id);
  put_i32(out, p.type);
  out.append(p.body);
  out.push_back('\0');
  out.push_back('\0');
}

std::string encode(const packet& p) {
  std::string out;
  out.reserve(p.body.size() + 14);
  encode(p, out);
  return out;
}

decoder::status decoder::next(packet& out) {
  if (!error_.empty())
    return status::error;
  size_t avail = buf_.size() - pos_;
  if (avail < 4)
    return status::need_more;
  int32_t size = get_i32(buf_.data() + pos_);
  if (size < 10) {
    error_ = "packet size " + std::to_string(size) + " is below the minimum of 10";
    return status::error;
  }
  if (static_cast<size_t>(size) > max_size_) {
    error_ = "packet size " + std::to_string(size) + " exceeds the limit of "
             + std::to_string(max_size_);
    return status::error;
  }
  if (avail < 4 + static_cast<size_t>(size))
    return status::need_more;
  const char* p = buf_.data() + pos_;
  if (p[4 + size - 2] != '\0' || p[4 + size - 1] != '\0') {
    error_ = "packet does not end with two NUL bytes";
    return status::error;
  }
  out.id = get_i32(p + 4);
  out.type = get_i32(p + 8);
  out.body.assign(p + 12, static_cast<size_t>(size) - 10);
  pos_ += 4 + static_cast<size_t>(size);
  // Compact once the consumed prefix dominates, so the buffer stays bounded by one packet.
  if (pos_ > 65536 && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return status::ok;
}

} // namespace clusterio::rcon
