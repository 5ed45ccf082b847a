// Fuzzes the slave's parser of the game's "\f$ipc:" stdout lines (game/ipc.cpp). Lines of kind
// 'f' name a file in script-output/: a file "a.json" is there for every input, so both the
// refusal of bad names (paths, "..") and the read-then-delete path are exercised.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

#include "game/ipc.hpp"

namespace {
/// A fresh temporary instance folder, removed at exit.
struct temp_dir {
  std::filesystem::path root = std::filesystem::temp_directory_path() / ("clusterio-ipc-fuzz-" + std::to_string(::getpid()));
  std::string script_output = (root / "script-output").string();
  temp_dir() { std::filesystem::create_directories(script_output); }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
};
const std::string& script_output() {
  static const temp_dir dir;
  return dir.script_output;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  std::ofstream(script_output() + "/a.json") << "{\"x\":1}";
  auto m = clusterio::ipc::parse(line, script_output());
  if (!m && m.why().empty())
    std::abort();
  if (m && m->channel.empty())
    std::abort();
  if (clusterio::ipc::parse(line, script_output()) && !clusterio::ipc::is_ipc(line))
    std::abort();
  return 0;
}
