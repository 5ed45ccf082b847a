#include "sim/zip.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <zlib.h>

namespace clusterio::sim {

namespace {

uint32_t rd(const std::string& s, size_t off, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(s[off + i])) << (8 * i);
  return v;
}

void wr(std::string& s, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::optional<std::string> inflate_raw(const char* data, size_t len, size_t out_len,
                                       std::string& out) {
  out.resize(out_len);
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
    return std::string("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
  zs.avail_in = static_cast<uInt>(len);
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out_len);
  int rc = inflate(&zs, Z_FINISH);
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || zs.total_out != out_len)
    return std::string("corrupt deflate data");
  return std::nullopt;
}

} // namespace

std::optional<std::string> read_zip(const std::string& path, zip_entries& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return "cannot open " + path;
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  if (s.size() < 22)
    return path + ": too short for a zip file";
  size_t eocd = std::string::npos;
  for (size_t i = s.size() - 22 + 1; i-- > 0 && s.size() - i <= 22 + 65535;)
    if (rd(s, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos)
    return path + ": no end of central directory record";
  uint32_t count = rd(s, eocd + 10, 2);
  size_t off = rd(s, eocd + 16, 4);
  for (uint32_t e = 0; e < count; ++e) {
    if (off + 46 > s.size() || rd(s, off, 4) != 0x02014b50)
      return path + ": bad central directory entry " + std::to_string(e);
    uint32_t method = rd(s, off + 10, 2);
    uint32_t csize = rd(s, off + 20, 4);
    uint32_t usize = rd(s, off + 24, 4);
    uint32_t nlen = rd(s, off + 28, 2), xlen = rd(s, off + 30, 2), clen = rd(s, off + 32, 2);
    size_t local = rd(s, off + 42, 4);
    std::string name = s.substr(off + 46, nlen);
    off += 46 + nlen + xlen + clen;
    if (name.empty() || name.back() == '/')
      continue;
    if (local + 30 > s.size() || rd(s, local, 4) != 0x04034b50)
      return path + ": bad local header for " + name;
    size_t data = local + 30 + rd(s, local + 26, 2) + rd(s, local + 28, 2);
    if (data + csize > s.size())
      return path + ": truncated entry " + name;
    std::string content;
    if (method == 0) {
      content = s.substr(data, csize);
    } else if (method == 8) {
      if (auto err = inflate_raw(s.data() + data, csize, usize, content))
        return path + ": " + name + ": " + *err;
    } else {
      return path + ": " + name + ": unsupported compression method " + std::to_string(method);
    }
    out[name] = std::move(content);
  }
  return std::nullopt;
}

std::optional<std::string> write_zip(const std::string& path, const zip_entries& entries) {
  std::string body, central;
  for (auto& [name, data] : entries) {
    uint32_t crc = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    uint32_t local = static_cast<uint32_t>(body.size());
    wr(body, 0x04034b50, 4);
    wr(body, 20, 2); // version needed
    wr(body, 0, 2);  // flags
    wr(body, 0, 2);  // stored
    wr(body, 0, 4);  // time, date
    wr(body, crc, 4);
    wr(body, static_cast<uint32_t>(data.size()), 4);
    wr(body, static_cast<uint32_t>(data.size()), 4);
    wr(body, static_cast<uint32_t>(name.size()), 2);
    wr(body, 0, 2);
    body += name;
    body += data;
    wr(central, 0x02014b50, 4);
    wr(central, 20, 2);
    wr(central, 20, 2);
    wr(central, 0, 2);
    wr(central, 0, 2);
    wr(central, 0, 4);
    wr(central, crc, 4);
    wr(central, static_cast<uint32_t>(data.size()), 4);
    wr(central, static_cast<uint32_t>(data.size()), 4);
    wr(central, static_cast<uint32_t>(name.size()), 2);
    wr(central, 0, 2);
    wr(central, 0, 2);
    wr(central, 0, 2);
    wr(central, 0, 2);
    wr(central, 0, 4);
    wr(central, local, 4);
    central += name;
  }
  std::string end;
  wr(end, 0x06054b50, 4);
  wr(end, 0, 4);
  wr(end, static_cast<uint32_t>(entries.size()), 2);
  wr(end, static_cast<uint32_t>(entries.size()), 2);
  wr(end, static_cast<uint32_t>(central.size()), 4);
  wr(end, static_cast<uint32_t>(body.size()), 4);
  wr(end, 0, 2);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f)
      return "cannot write " + tmp;
    f << body << central << end;
    f.flush();
    if (!f)
      return "write failed: " + tmp;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return "cannot rename " + tmp + " to " + path;
  return std::nullopt;
}

} // namespace clusterio::sim
