// The msgpack writer (messages/msgpack_writer.hpp): every value in its shortest form, as
// msgpack-c's packer writes it, at every boundary between forms; the buffer grows from nothing.

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include <msgpack.hpp>

#include "messages/msgpack_writer.hpp"

using clusterio::wire::msgpack_writer;

namespace {

/// What msgpack-c's packer writes for `v`.
template <class T> std::string packed(const T& v) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, v);
  return std::string(buf.data(), buf.size());
}

/// What the writer writes, into an empty buffer (so that it grows).
template <class Write> std::string written(Write&& write) {
  std::string buf;
  msgpack_writer w(buf);
  write(w);
  return w.take();
}

} // namespace

TEST_CASE("integers take the shortest form at every boundary") {
  for (std::uint64_t v : {0ull, 127ull, 128ull, 255ull, 256ull, 65535ull, 65536ull, 4294967295ull, 4294967296ull, ~0ull}) {
    INFO(v);
    CHECK(written([v](msgpack_writer& w) { w.uint(v); }) == packed(v));
  }
  for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{-32}, std::int64_t{-33}, std::int64_t{-128},
                         std::int64_t{-129}, std::int64_t{-32768}, std::int64_t{-32769}, std::int64_t{-2147483648LL},
                         std::int64_t{-2147483649LL}, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()}) {
    INFO(v);
    CHECK(written([v](msgpack_writer& w) { w.sint(v); }) == packed(v));
  }
}

TEST_CASE("reals: whole numbers as integers, the rest as float64") {
  for (double d : {0.0, 60.0, -5.0, 1e19, 59.94, -0.5}) {
    INFO(d);
    CHECK(written([d](msgpack_writer& w) { w.real(d); }) == packed(d));
  }
}

TEST_CASE("strings, booleans, arrays and maps at every boundary") {
  for (std::size_t n : {0, 31, 32, 255, 256, 65535, 65536}) {
    std::string s(n, 'x');
    INFO(n);
    CHECK(written([&s](msgpack_writer& w) { w.str(s); }) == packed(s));
  }
  CHECK(written([](msgpack_writer& w) { w.boolean(true); }) == packed(true));
  CHECK(written([](msgpack_writer& w) { w.boolean(false); }) == packed(false));
  for (std::uint32_t n : {0u, 15u, 16u, 65535u, 65536u}) {
    INFO(n);
    std::vector<std::uint64_t> ids(n, 1);
    CHECK(written([&ids](msgpack_writer& w) {
            w.array(static_cast<std::uint32_t>(ids.size()));
            for (auto id : ids)
              w.uint(id);
          }) == packed(ids));
  }
  std::map<std::string, int> m{{"a", 1}, {"b", 2}};
  CHECK(written([](msgpack_writer& w) {
          w.map(2);
          w.str("a");
          w.uint(1);
          w.str("b");
          w.uint(2);
        }) == packed(m));
}

TEST_CASE("the writer writes from the start of a reused buffer and reports what it wrote") {
  std::string buf(100, 'z');
  msgpack_writer w(buf);
  w.uint(5);
  CHECK(w.size() == 1);
  CHECK(w.view() == std::string("\x05"));
  CHECK(buf.size() == 100); // its size is room, not content
}
