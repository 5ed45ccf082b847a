#include "game/ipc.hpp"

#include <cstdio>

#include "common/files.hpp"

namespace clusterio::ipc {

namespace {
constexpr std::string_view prefix = "\f$ipc:";
constexpr std::size_t max_file_bytes = 64u << 20;

int hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}
} // namespace

bool is_ipc(std::string_view line) { return line.substr(0, prefix.size()) == prefix; }

result<message> parse(std::string_view line, const std::string& script_output_dir) {
  if (!is_ipc(line)) {
    return failure("not an IPC line");
  }
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  auto rest = line.substr(prefix.size());
  auto q = rest.find('?');
  if (q == std::string_view::npos || q + 1 >= rest.size()) {
    return failure("IPC line without '?<kind>'");
  }
  message out;
  auto raw = rest.substr(0, q);
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\') {
      if (i + 3 >= raw.size() || raw[i + 1] != 'x' || hex(raw[i + 2]) < 0 || hex(raw[i + 3]) < 0) {
        return failure("bad escape in IPC channel");
      }
      out.channel += static_cast<char>(hex(raw[i + 2]) * 16 + hex(raw[i + 3]));
      i += 3;
    } else {
      out.channel += raw[i];
    }
  }
  if (out.channel.empty()) {
    return failure("empty IPC channel");
  }
  char kind = rest[q + 1];
  auto payload = rest.substr(q + 2);
  if (kind == 'j') {
    out.json = std::string(payload);
    return out;
  }
  if (kind != 'f') {
    return failure(std::string("unknown IPC kind '") + kind + "'");
  }
  std::string name(payload);
  if (name.empty() || name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
      name.find('\0') != std::string::npos || name == "." || name == ".." || name.size() < 6 ||
      name.compare(name.size() - 5, 5, ".json") != 0) {
    return failure("bad IPC file name '" + name + "'");
  }
  auto path = script_output_dir + "/" + name;
  auto text = read_file(path);
  if (!text)
    return text.error();
  if (text->size() > max_file_bytes)
    return failure(path + ": IPC file too large");
  std::remove(path.c_str());
  out.json = std::move(*text);
  return out;
}

} // namespace clusterio::ipc
