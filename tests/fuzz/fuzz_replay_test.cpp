// Replays the checked-in fuzz corpora (fuzz/corpus/<target>/) through the fuzz targets' own
// entry points, built by the normal compiler: a seed or a saved crash that fails here fails the
// suite even where clang is missing. Each entry point aborts on a broken invariant.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#define DECLARE_TARGET(t) extern "C" int t##_one_input(const std::uint8_t* data, std::size_t size);
DECLARE_TARGET(wire_decode)
DECLARE_TARGET(rcon_packet)
DECLARE_TARGET(ipc_line)
DECLARE_TARGET(master_config)
DECLARE_TARGET(slave_config)
DECLARE_TARGET(http_params)

namespace {

using entry = int (*)(const std::uint8_t*, std::size_t);

int replay(const std::string& target, entry fn) {
  const char* src = std::getenv("CLUSTERIO_SOURCE_DIR");
  REQUIRE(src);
  auto dir = std::filesystem::path(src) / "fuzz" / "corpus" / target;
  REQUIRE(std::filesystem::is_directory(dir));
  int n = 0;
  for (auto& f : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(f.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    auto bytes = s.str();
    INFO(f.path().string());
    CHECK(fn(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()) == 0);
    ++n;
  }
  return n;
}

} // namespace

TEST_CASE("fuzz corpora replay through the normal build") {
  CHECK(replay("wire_decode", wire_decode_one_input) >= 5);
  CHECK(replay("rcon_packet", rcon_packet_one_input) >= 5);
  CHECK(replay("ipc_line", ipc_line_one_input) >= 5);
  CHECK(replay("master_config", master_config_one_input) >= 5);
  CHECK(replay("slave_config", slave_config_one_input) >= 5);
  CHECK(replay("http_params", http_params_one_input) >= 5);
}
