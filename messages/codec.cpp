// The codec of messages. Encoding and decoding both walk the `describe` listings of the family
// headers, so a message's shape is written down exactly once; msgpack itself is read and
// written by msgpack_reader and msgpack_writer.
//
// Frame grammar:
//   frame  := map { "v": uint (== protocol_version), "t": str, "id": uint, <fields of t> }
//   fields := as listed by describe(); keys are strings; unknown keys are ignored so that
//             fields can be added later; a key may appear only once.
//   items  := array of [str name, int count] or [str name, int count, str quality] (not
//             "normal": an item of normal quality has two elements)
//   batch  := array of 1..max_batch_messages frames (docs/protocol.md §3.1)
//
// Every message the master receives and every reply it sends passes here, and so does every
// message of a slave: straight between the frame's bytes and the message structs. Decoding
// checks the whole frame in one pass that also notes where each key's value is; fields are then
// read from those notes (no tree of values, no allocation but the message's own).
// docs/benchmarks.md, "codec", has what this saved.

#include "messages/message.hpp"

#include <array>
#include <utility>

#include "messages/field_decoder.hpp"
#include "messages/msgpack_reader.hpp"
#include "messages/msgpack_writer.hpp"

namespace clusterio::wire {

namespace {

/// Counts the fields a message will write, for the map header.
struct field_counter {
  std::uint32_t n = 0;
  template <class T> void u64(const char*, T&, std::uint64_t = 0, std::uint64_t = UINT64_MAX, presence = presence::required) { ++n; }
  template <class T> void i64(const char*, T&, std::int64_t = INT64_MIN, std::int64_t = INT64_MAX, presence = presence::required) { ++n; }
  void f64(const char*, double&, double, double, presence = presence::required) { ++n; }
  void flag(const char*, bool&, presence = presence::required) { ++n; }
  void text(const char*, std::string& x, text_kind kind, presence p = presence::required) { n += !left_out(x, kind, p); }
  void code(const char*, error_code&) { ++n; }
  void items(const char*, item_list&, std::int64_t, std::int64_t, std::size_t, presence = presence::required) { ++n; }
  void signals(const char*, signal_list&, std::size_t) { ++n; }
  void quality(const char*, std::string& x) { n += x != normal_quality; }
  void ids(const char*, std::vector<std::uint64_t>&, std::size_t) { ++n; }
  template <class T> void list(const char*, std::vector<T>&, std::size_t, presence = presence::required) { ++n; }
};

class encoder {
public:
  explicit encoder(msgpack_writer& w) : w_(w) {}

  template <class T> void u64(const char* k, T& x, std::uint64_t = 0, std::uint64_t = UINT64_MAX, presence = presence::required) {
    w_.str(k);
    w_.uint(static_cast<std::uint64_t>(x));
  }
  template <class T> void i64(const char* k, T& x, std::int64_t = INT64_MIN, std::int64_t = INT64_MAX, presence = presence::required) {
    w_.str(k);
    w_.sint(static_cast<std::int64_t>(x));
  }
  void f64(const char* k, double& x, double, double, presence = presence::required) {
    w_.str(k);
    w_.real(x);
  }
  void flag(const char* k, bool& x, presence = presence::required) {
    w_.str(k);
    w_.boolean(x);
  }
  void text(const char* k, std::string& x, text_kind kind, presence p = presence::required) {
    if (left_out(x, kind, p))
      return;
    w_.str(k);
    w_.str(x);
  }
  void code(const char* k, error_code& x) {
    w_.str(k);
    w_.str(to_string(x));
  }
  void items(const char* k, item_list& x, std::int64_t, std::int64_t, std::size_t, presence = presence::required) {
    w_.str(k);
    w_.array(static_cast<std::uint32_t>(x.size()));
    for (auto& e : x) {
      bool normal = e.quality == normal_quality;
      w_.array(normal ? 2 : 3);
      w_.str(e.name);
      w_.sint(e.count);
      if (!normal)
        w_.str(e.quality);
    }
  }
  void signals(const char* k, signal_list& x, std::size_t) {
    w_.str(k);
    w_.array(static_cast<std::uint32_t>(x.size()));
    for (auto& e : x) {
      bool normal = e.quality == normal_quality, item = e.type == item_signal;
      w_.array(!normal ? 4 : item ? 2 : 3);
      w_.str(e.name);
      w_.sint(e.value);
      if (!normal || !item)
        w_.str(e.type);
      if (!normal)
        w_.str(e.quality);
    }
  }
  void quality(const char* k, std::string& x) {
    if (x == normal_quality)
      return;
    w_.str(k);
    w_.str(x);
  }
  void ids(const char* k, std::vector<std::uint64_t>& x, std::size_t) {
    w_.str(k);
    w_.array(static_cast<std::uint32_t>(x.size()));
    for (auto v : x)
      w_.uint(v);
  }
  template <class T> void list(const char* k, std::vector<T>& x, std::size_t, presence = presence::required) {
    w_.str(k);
    w_.array(static_cast<std::uint32_t>(x.size()));
    for (auto& e : x)
      body(e);
  }

  /// A map of the fields of `x`.
  template <class T> void body(T& x) {
    field_counter c;
    describe(c, x);
    w_.map(c.n);
    describe(*this, x);
  }

private:
  msgpack_writer& w_;
};

template <class T> bool decode_as(field_decoder& d, message& out) {
  describe(d, out.emplace<T>());
  return !d.failed();
}

struct decode_entry {
  std::uint32_t tag; ///< tag_of(type)
  std::string_view type;
  bool (*fn)(field_decoder&, message&);
};

template <std::size_t... I> constexpr auto make_decode_table(std::index_sequence<I...>) {
  return std::array<decode_entry, sizeof...(I)>{{{tag_of(std::variant_alternative_t<I, message>::type), std::variant_alternative_t<I, message>::type,
                                                  &decode_as<std::variant_alternative_t<I, message>>}...}};
}
constexpr auto decode_table = make_decode_table(std::make_index_sequence<std::variant_size_v<message>>{});

} // namespace

std::string_view type_of(const message& m) {
  return std::visit([](const auto& x) -> std::string_view { return std::decay_t<decltype(x)>::type; }, m);
}

std::string encode(const frame& f) {
  // A huge frame (a full inventory) does not keep its buffer for the rest of the thread's life.
  constexpr std::size_t keep_bytes = 64 * 1024;
  thread_local std::string scratch(256, '\0');
  msgpack_writer w(scratch);
  std::visit(
    [&](const auto& x) {
      using T = std::decay_t<decltype(x)>;
      auto& body = const_cast<T&>(x);
      field_counter c;
      describe(c, body);
      w.map(c.n + 3);
      w.str("v");
      w.uint(protocol_version);
      w.str("t");
      w.str(T::type);
      w.str("id");
      w.uint(f.id);
      encoder enc(w);
      describe(enc, body);
    },
    f.body);
  std::string out = w.take();
  if (scratch.size() > keep_bytes)
    scratch = std::string(256, '\0');
  return out;
}

namespace {

/// `out` failed: no message, only the error (an id already read stays, to reply to).
decoded& failed(decoded& out, error_code code, std::string field, std::string why) {
  out.ok = false;
  out.value = frame{};
  out.err = wire::error{code, std::move(field), std::move(why)};
  return out;
}

decoded frame_error(std::string why) {
  decoded out;
  failed(out, error_code::invalid, "(frame)", std::move(why));
  return out;
}

/// The message held by `map`, a map of a frame that was checked whole.
decoded decode_message(const msgpack_map& map) {
  decoded out;
  wire::error err;
  field_decoder d(map, err);
  auto fail = [&](error_code code, std::string field, std::string why) { return std::move(failed(out, code, std::move(field), std::move(why))); };
  // Read the request id first, so that every later error (a duplicate or non-string key too)
  // can be replied to it.
  if (auto* id = d.lookup("id"); id && id->k == msgpack_kind::uint)
    out.id = id->u;
  if (!d.check_keys())
    return fail(err.code, err.field, err.message);
  std::uint64_t id = 0, version = 0;
  d.u64("id", id);
  d.u64("v", version);
  if (d.failed())
    return fail(err.code, err.field, err.message);
  // The version is checked before anything else of the frame: another version may spell `t`
  // (or anything past the envelope) differently, and must still get `unsupported`.
  if (version != protocol_version)
    return fail(error_code::unsupported, "v", "protocol version " + std::to_string(version) + " is not supported (this side speaks " + std::to_string(protocol_version) + ")");
  std::string_view type;
  d.text("t", type, text_kind::label);
  if (d.failed())
    return fail(err.code, err.field, err.message);
  auto tag = tag_of(type);
  for (auto& entry : decode_table) {
    if (!same(entry.tag, entry.type, tag, type))
      continue;
    if (!entry.fn(d, out.value.body))
      return fail(err.code, err.field, err.message);
    out.value.id = id;
    out.ok = true;
    return out;
  }
  return fail(error_code::unsupported, "t", "unknown message type '" + std::string(type) + "'");
}

/// Checks a frame as a whole: its size, one msgpack value within the parser's limits, nothing
/// after it (`root_noun` names the value in that error). Reads the root's header into `root`
/// and, for a map, its pairs into `map`.
result<void> check_whole(std::string_view bytes, const char* root_noun, msgpack_value& root, msgpack_map& map) {
  if (bytes.size() > max_frame_bytes)
    return failure("frame larger than " + std::to_string(max_frame_bytes) + " bytes");
  const char* end = bytes.data() + bytes.size();
  // One pass reads a map's pairs and checks the whole frame; only then are keys and fields
  // looked at.
  msgpack_reader r(bytes.data(), end);
  const char* why = r.head(root);
  if (!why)
    why = root.k == msgpack_kind::map ? read_map(r, root, 1, map) : r.skip_children(root, 1);
  if (why)
    return failure(std::string("not a valid msgpack value: ") + why);
  if (r.pos() != end)
    return failure(std::string("trailing bytes after the msgpack ") + root_noun);
  return done();
}

} // namespace

decoded decode(std::string_view bytes) {
  msgpack_value root{};
  msgpack_map map;
  if (auto checked = check_whole(bytes, "map", root, map); !checked) {
    auto out = frame_error(checked.error().what());
    out.id = readable_id(bytes);
    return out;
  }
  if (root.k != msgpack_kind::map)
    return frame_error("a frame must be a msgpack map");
  return decode_message(map);
}

bool decode_frame(std::string_view bytes, std::vector<decoded>& out) {
  out.clear();
  // A batch is an array (fixarray 0x90..0x9f, array16 0xdc, array32 0xdd); anything else is
  // one message, or not a frame at all, as decode() tells.
  auto first = bytes.empty() ? 0 : static_cast<unsigned char>(bytes[0]);
  if (!((first & 0xf0) == 0x90 || first == 0xdc || first == 0xdd)) {
    out.push_back(decode(bytes));
    return false;
  }
  msgpack_value root{};
  msgpack_map unused; // the root is an array
  if (auto checked = check_whole(bytes, "array", root, unused); !checked) {
    out.push_back(frame_error(checked.error().what()));
    return true;
  }
  if (root.n == 0 || root.n > max_batch_messages) {
    out.push_back(frame_error("a batch holds 1 to " + std::to_string(max_batch_messages) + " messages, not " + std::to_string(root.n)));
    return true;
  }
  out.reserve(root.n);
  msgpack_reader messages(root.at, bytes.data() + bytes.size());
  for (std::uint32_t i = 0; i < root.n; ++i) {
    msgpack_value m{};
    (void)messages.head(m); // checked whole above: cannot fail
    if (m.k != msgpack_kind::map) {
      (void)messages.skip_children(m, 2);
      out.push_back(frame_error("message " + std::to_string(i) + " of the batch is not a msgpack map"));
      continue;
    }
    msgpack_map map;
    (void)read_map(messages, m, 2, map); // the batch's array is level 1, its maps level 2
    out.push_back(decode_message(map));
  }
  return true;
}

std::string batch_of(const std::vector<std::string_view>& messages) {
  std::string header(5, '\0'); // an array's header takes 5 bytes at most
  msgpack_writer w(header);
  w.array(static_cast<std::uint32_t>(messages.size()));
  std::string out = w.take();
  std::size_t size = out.size();
  for (auto m : messages)
    size += m.size();
  out.reserve(size);
  for (auto m : messages)
    out.append(m);
  return out;
}

std::uint64_t readable_id(std::string_view bytes) {
  msgpack_reader r(bytes.data(), bytes.data() + bytes.size());
  msgpack_value root{};
  if (r.head(root) || root.k != msgpack_kind::map)
    return 0;
  for (std::uint32_t i = 0; i < root.n; ++i) {
    msgpack_value key{};
    if (r.head(key) || key.k != msgpack_kind::str)
      return 0;
    if (key.text() == "id") {
      msgpack_value id{};
      return !r.head(id) && id.k == msgpack_kind::uint ? id.u : 0;
    }
    if (r.skip(2)) // every step moves on or fails: bounded by the bytes
      return 0;
  }
  return 0;
}

error_reply make_error(const wire::error& e) {
  return error_reply{e.code, e.field, e.message};
}

error_reply make_error(error_code code, std::string message, std::string field) {
  return error_reply{code, std::move(field), std::move(message)};
}

} // namespace clusterio::wire
