#include "game/save_files.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/sha256.hpp"
#include "messages/error.hpp"
#include "messages/field.hpp"
#include "messages/limits.hpp"

namespace fs = std::filesystem;

namespace clusterio {

namespace {

using wire::error_code;

failure fault(error_code code, std::string why) { return wire::coded_failure(std::move(why), code); }

std::string part_path(const std::string& dir) { return dir + "/upload.part"; }
std::string meta_path(const std::string& dir) { return dir + "/upload.json"; }

std::uint32_t le32(const unsigned char* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<std::uint32_t>(p[3]) << 24; }

/// Whether the file has a zip's form: its end-of-central-directory record within the last
/// 64 KiB (after the comment), pointing at a central directory inside the file, and a local
/// file header first unless it is empty. What Factorio reads a save with needs no less.
result<void> check_zip(const std::string& path, std::uint64_t size) {
  constexpr std::uint64_t eocd_bytes = 22, max_comment = 65535;
  if (size < eocd_bytes)
    return failure("it is not a zip (" + std::to_string(size) + " bytes)");
  std::ifstream in(path, std::ios::binary);
  auto tail_size = std::min(size, eocd_bytes + max_comment);
  std::string tail(tail_size, '\0');
  in.seekg(static_cast<std::streamoff>(size - tail_size));
  in.read(tail.data(), static_cast<std::streamsize>(tail_size));
  std::string head(4, '\0');
  in.seekg(0);
  in.read(head.data(), 4);
  if (!in)
    return failure(std::string("cannot read it back: ") + std::strerror(errno));
  auto* t = reinterpret_cast<const unsigned char*>(tail.data());
  for (auto i = static_cast<std::int64_t>(tail_size - eocd_bytes); i >= 0; --i) {
    if (le32(t + i) != 0x06054b50)
      continue;
    std::uint64_t dir_size = le32(t + i + 12), dir_offset = le32(t + i + 16);
    std::uint64_t eocd_at = size - tail_size + static_cast<std::uint64_t>(i);
    if (dir_offset + dir_size > eocd_at)
      return failure("it is not a whole zip: its central directory lies past its end");
    auto* h = reinterpret_cast<const unsigned char*>(head.data());
    if (dir_size > 0 && le32(h) != 0x04034b50)
      return failure("it is not a zip: it does not start with a file header");
    return done();
  }
  return failure("it is not a zip: no end-of-central-directory record");
}

} // namespace

std::string latest_save(const std::string& instance_dir) {
  std::string best;
  fs::file_time_type best_time;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(instance_dir + "/saves", ec)) {
    auto name = e.path().filename().string();
    if (e.path().extension() != ".zip" || name.find(".tmp.zip") != std::string::npos || !e.is_regular_file(ec))
      continue;
    auto t = e.last_write_time(ec);
    if (best.empty() || t > best_time) {
      best = e.path().string();
      best_time = t;
    }
  }
  return best;
}

result<void> check_save_name(const std::string& save) {
  if (auto label = wire::check_label(save); !label)
    return label.error().in("save name '" + save + "'");
  if (save.size() < 5 || save.compare(save.size() - 4, 4, ".zip") != 0)
    return failure("save name '" + save + "' does not end in .zip");
  if (save.find(".tmp.zip") != std::string::npos)
    return failure("save name '" + save + "' is that of a save being written (.tmp.zip)");
  return done();
}

result<upload_progress> write_save_piece(const std::string& dir, const std::string& save, std::uint64_t offset, std::uint64_t size,
                                         const std::string& sha256, std::string_view bytes) {
  if (auto named = check_save_name(save); !named)
    return fault(error_code::invalid, named.why());
  if (size == 0 || size > wire::max_save_bytes)
    return fault(error_code::invalid, "a save of " + std::to_string(size) + " bytes: saves of 1.." + std::to_string(wire::max_save_bytes) +
                                        " bytes are taken");
  if (bytes.empty() || bytes.size() > wire::max_save_chunk_bytes)
    return fault(error_code::invalid, "a piece of " + std::to_string(bytes.size()) + " bytes: pieces of 1.." +
                                        std::to_string(wire::max_save_chunk_bytes) + " bytes are taken");
  if (offset > size || bytes.size() > size - offset)
    return fault(error_code::invalid, "a piece at " + std::to_string(offset) + " of " + std::to_string(bytes.size()) +
                                        " bytes goes past the save's " + std::to_string(size) + " bytes");
  nlohmann::json meta{{"save", save}, {"size", size}, {"sha256", sha256}};
  std::uint64_t received = 0;
  if (offset == 0) {
    if (auto written = write_file_atomic(meta_path(dir), meta.dump() + "\n", 0600); !written)
      return fault(error_code::unavailable, written.why());
    std::ofstream(part_path(dir), std::ios::binary | std::ios::trunc);
  } else {
    auto text = read_file(meta_path(dir));
    auto before = nlohmann::json::parse(text.value_or(""), nullptr, false);
    if (!text || before != meta)
      return fault(error_code::conflict, text ? "another upload (" + before.value("save", std::string("?")) +
                                                  ") is in progress on this instance: send this save again from offset 0"
                                              : "no upload of '" + save + "' is in progress: send it from offset 0");
    std::error_code ec;
    received = fs::file_size(part_path(dir), ec);
    if (ec || offset > received)
      return fault(error_code::invalid, "a piece at " + std::to_string(offset) + ", but " + std::to_string(ec ? 0 : received) +
                                          " bytes were received: send the piece that follows them");
  }
  {
    std::fstream out(part_path(dir), std::ios::binary | std::ios::in | std::ios::out);
    out.seekp(static_cast<std::streamoff>(offset));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out)
      return fault(error_code::unavailable, "cannot write " + part_path(dir) + ": " + std::strerror(errno));
  }
  received = std::max<std::uint64_t>(received, offset + bytes.size());
  if (received < size)
    return upload_progress{received, false};
  auto failed = [&](std::string why) {
    std::remove(part_path(dir).c_str());
    std::remove(meta_path(dir).c_str());
    return fault(error_code::invalid, "the upload of '" + save + "' was refused: " + why + "; nothing was kept");
  };
  auto sum = file_sha256_hex(part_path(dir));
  if (!sum)
    return fault(error_code::unavailable, sum.why());
  if (*sum != sha256)
    return failed("its SHA-256 is " + *sum + ", not " + sha256 + " as announced (the file changed or a piece was damaged)");
  if (auto zip = check_zip(part_path(dir), size); !zip)
    return failed(zip.why());
  std::error_code ec;
  fs::rename(part_path(dir), dir + "/saves/" + save, ec);
  if (ec)
    return fault(error_code::unavailable, "cannot move the upload into " + dir + "/saves: " + ec.message());
  std::remove(meta_path(dir).c_str());
  return upload_progress{size, true};
}

result<save_piece> read_save_piece(const std::string& dir, const std::string& save, std::uint64_t offset) {
  save_piece piece;
  std::string path;
  if (save.empty()) {
    path = latest_save(dir);
    if (path.empty())
      return fault(error_code::not_found, "the instance has no save");
  } else {
    if (auto named = check_save_name(save); !named)
      return fault(error_code::invalid, named.why());
    path = dir + "/saves/" + save;
  }
  piece.save = fs::path(path).filename().string();
  if (auto named = wire::check_label(piece.save); !named)
    return fault(error_code::invalid, "the latest save's name '" + piece.save + "' is not a label (letters, digits, '_', '-', '.'): rename it");
  std::error_code ec;
  piece.size = fs::file_size(path, ec);
  if (ec)
    return fault(error_code::not_found, "no save '" + piece.save + "' in " + dir + "/saves");
  if (offset > piece.size)
    return fault(error_code::invalid, "offset " + std::to_string(offset) + " is past the save's " + std::to_string(piece.size) + " bytes");
  if (offset == 0) {
    auto sum = file_sha256_hex(path);
    if (!sum)
      return fault(error_code::unavailable, sum.why());
    piece.sha256 = std::move(*sum);
  }
  piece.bytes.resize(std::min<std::uint64_t>(piece.size - offset, wire::max_save_chunk_bytes));
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(piece.bytes.data(), static_cast<std::streamsize>(piece.bytes.size()));
  if (!in)
    return fault(error_code::unavailable, "cannot read " + path + ": " + std::strerror(errno));
  return piece;
}

} // namespace clusterio
