#include "store/commit_record.hpp"

#include <cstdint>

#include "messages/msgpack_reader.hpp"
#include "messages/msgpack_writer.hpp"

namespace clusterio {

namespace {

using wire::msgpack_kind;
using wire::msgpack_value;

/// Reads a record's values in order. The first error is kept (and every later read fails):
/// which entry of the record, and what was wrong with it.
class record_reader {
public:
  explicit record_reader(std::string_view bytes) : r_(bytes.data(), bytes.data() + bytes.size()) {}

  /// An array's header; `n` its entry count.
  bool array(std::uint32_t& n, const char* what) {
    msgpack_value v{};
    if (!next(v, what, msgpack_kind::array, "an array"))
      return false;
    if (v.n > r_.remaining()) // every entry takes a byte at least
      return fail(what, wire::msgpack_reader::truncated);
    n = v.n;
    return true;
  }
  /// An array of exactly `n` entries.
  bool tuple(std::uint32_t n, const char* what) {
    std::uint32_t size = 0;
    if (!array(size, what))
      return false;
    return size == n || fail(what, ("must have " + std::to_string(n) + " entries, not " + std::to_string(size)).c_str());
  }
  /// An array of entries, each read by `entry()`, appended to `out`.
  template <class T, class Entry> bool list(std::vector<T>& out, const char* what, Entry&& entry) {
    std::uint32_t n = 0;
    if (!array(n, what))
      return false;
    out.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i)
      if (!entry(out.emplace_back()))
        return false;
    return true;
  }

  bool u64(std::uint64_t& x, const char* what) {
    msgpack_value v{};
    if (!next(v, what, msgpack_kind::uint, "an unsigned integer"))
      return false;
    x = v.u;
    return true;
  }
  bool i64(std::int64_t& x, const char* what) {
    msgpack_value v{};
    if (!next(v, what))
      return false;
    if (v.k == msgpack_kind::sint)
      x = v.i;
    else if (v.k == msgpack_kind::uint && v.u <= static_cast<std::uint64_t>(INT64_MAX))
      x = static_cast<std::int64_t>(v.u);
    else
      return fail(what, "must be a signed 64-bit integer");
    return true;
  }
  bool text(std::string& x, const char* what) {
    msgpack_value v{};
    if (!next(v, what, msgpack_kind::str, "a string"))
      return false;
    x.assign(v.at, v.n);
    return true;
  }
  bool flag(bool& x, const char* what) {
    msgpack_value v{};
    if (!next(v, what, msgpack_kind::boolean, "a boolean"))
      return false;
    x = v.b;
    return true;
  }

  /// Nothing after the record.
  bool at_end() { return r_.remaining() == 0 || fail("record", "trailing bytes"); }

  const std::string& why() const { return why_; }

private:
  bool next(msgpack_value& v, const char* what) {
    if (auto why = r_.head(v))
      return fail(what, why);
    return true;
  }
  bool next(msgpack_value& v, const char* what, msgpack_kind kind, const char* noun) {
    if (!next(v, what))
      return false;
    return v.k == kind || fail(what, (std::string("must be ") + noun + ", not " + wire::kind_name(v.k)).c_str());
  }
  bool fail(const char* what, const char* why) {
    why_ = std::string(what) + ": " + why;
    return false;
  }

  wire::msgpack_reader r_;
  std::string why_;
};

bool read_changes(record_reader& in, storage_changes& c) {
  return in.tuple(7, "record") &&
         in.list(c.levels, "levels", [&in](auto& l) { return in.tuple(2, "levels") && in.text(l.first, "levels") && in.i64(l.second, "levels"); }) &&
         in.list(c.batches_added, "batches",
                 [&in](auto& b) { return in.tuple(2, "batches") && in.u64(b.first, "batches") && in.u64(b.second, "batches"); }) &&
         in.list(c.states, "states",
                 [&in](batch_state& s) {
                   return in.tuple(3, "states") && in.u64(s.instance_id, "states") && in.u64(s.pruned_below, "states") &&
                          in.u64(s.max_batch, "states");
                 }) &&
         in.list(c.grants_upserted, "grants",
                 [&in](reservation& g) {
                   return in.tuple(5, "grants") && in.u64(g.grant_id, "grants") && in.u64(g.instance_id, "grants") && in.text(g.name, "grants") &&
                          in.i64(g.count, "grants") && in.flag(g.reclaim, "grants");
                 }) &&
         in.list(c.grants_removed, "grants removed", [&in](std::uint64_t& id) { return in.u64(id, "grants removed"); }) &&
         in.list(c.instances_dropped, "instances dropped", [&in](std::uint64_t& id) { return in.u64(id, "instances dropped"); }) &&
         in.u64(c.next_grant_id, "next_grant_id") && in.at_end();
}

} // namespace

std::string_view encode_record(const storage_changes& c, std::string& buf) {
  wire::msgpack_writer w(buf);
  auto count = [](const auto& list) { return static_cast<std::uint32_t>(list.size()); };
  w.array(7);
  w.array(count(c.levels));
  for (auto& [name, level] : c.levels) {
    w.array(2);
    w.str(name);
    w.sint(level);
  }
  w.array(count(c.batches_added));
  for (auto& [instance, batch] : c.batches_added) {
    w.array(2);
    w.uint(instance);
    w.uint(batch);
  }
  w.array(count(c.states));
  for (auto& s : c.states) {
    w.array(3);
    w.uint(s.instance_id);
    w.uint(s.pruned_below);
    w.uint(s.max_batch);
  }
  w.array(count(c.grants_upserted));
  for (auto& g : c.grants_upserted) {
    w.array(5);
    w.uint(g.grant_id);
    w.uint(g.instance_id);
    w.str(g.name);
    w.sint(g.count);
    w.boolean(g.reclaim);
  }
  for (auto* ids : {&c.grants_removed, &c.instances_dropped}) {
    w.array(count(*ids));
    for (auto id : *ids)
      w.uint(id);
  }
  w.uint(c.next_grant_id);
  return w.view();
}

result<storage_changes> decode_record(std::string_view bytes) {
  storage_changes c;
  record_reader in(bytes);
  if (!read_changes(in, c))
    return failure("not a valid record: " + in.why());
  return c;
}

} // namespace clusterio
