#include "common/sha256.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <sodium.h>

namespace clusterio {

namespace {

std::string hex_of(const unsigned char (&digest)[crypto_hash_sha256_BYTES]) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (auto b : digest) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

} // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return hex_of(digest);
}

result<std::string> file_sha256_hex(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return failure("cannot read " + path + ": " + std::strerror(errno));
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::string piece(1u << 20, '\0');
  while (in) {
    in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(piece.data()), static_cast<unsigned long long>(in.gcount()));
  }
  if (in.bad())
    return failure("cannot read " + path + ": " + std::strerror(errno));
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, digest);
  return hex_of(digest);
}

} // namespace clusterio
