#include "messages/json.hpp"

namespace clusterio::wire {

namespace {

class json_writer {
public:
  explicit json_writer(nlohmann::json& out) : out_(out) {}

  template <class T> void u64(const char* k, T& x, std::uint64_t = 0, std::uint64_t = UINT64_MAX, presence = presence::required) {
    out_[k] = static_cast<std::uint64_t>(x);
  }
  template <class T> void i64(const char* k, T& x, std::int64_t = INT64_MIN, std::int64_t = INT64_MAX, presence = presence::required) {
    out_[k] = static_cast<std::int64_t>(x);
  }
  void f64(const char* k, double& x, double, double, presence = presence::required) { out_[k] = x; }
  void flag(const char* k, bool& x, presence = presence::required) { out_[k] = x; }
  void text(const char* k, std::string& x, text_kind kind, presence p = presence::required) {
    if (!left_out(x, kind, p))
      out_[k] = x;
  }
  void code(const char* k, error_code& x) { out_[k] = std::string(to_string(x)); }
  void items(const char* k, item_list& x, std::int64_t, std::int64_t, std::size_t, presence = presence::required) {
    auto& a = out_[k] = nlohmann::json::array();
    for (auto& e : x)
      a.push_back({{"name", e.name}, {"count", e.count}, {"quality", e.quality}});
  }
  void signals(const char* k, signal_list& x, std::size_t) {
    auto& a = out_[k] = nlohmann::json::array();
    for (auto& e : x)
      a.push_back({{"name", e.name}, {"value", e.value}, {"type", e.type}, {"quality", e.quality}});
  }
  void quality(const char* k, std::string& x) { out_[k] = x; }
  void ids(const char* k, std::vector<std::uint64_t>& x, std::size_t) { out_[k] = x; }
  template <class T> void list(const char* k, std::vector<T>& x, std::size_t, presence = presence::required) {
    auto& a = out_[k] = nlohmann::json::array();
    for (auto& e : x) {
      nlohmann::json o = nlohmann::json::object();
      json_writer w(o);
      describe(w, e);
      a.push_back(std::move(o));
    }
  }

private:
  nlohmann::json& out_;
};

} // namespace

nlohmann::json to_json(const message& m) {
  return std::visit(
    [](auto x) {
      nlohmann::json out = nlohmann::json::object();
      out["t"] = decltype(x)::type;
      json_writer w(out);
      describe(w, x);
      return out;
    },
    m);
}

result<message> from_json(std::string_view type, nlohmann::json fields) {
  if (!fields.is_object())
    return failure("expected a JSON object with the fields of " + std::string(type));
  if (fields.contains("v") || fields.contains("id"))
    return failure("\"v\" and \"id\" are a frame's, not fields of " + std::string(type));
  if (fields.contains("t") && fields["t"] != type)
    return failure("t: expected \"" + std::string(type) + "\"");
  fields["t"] = type;
  fields["v"] = protocol_version;
  fields["id"] = 1;
  std::vector<std::uint8_t> bytes;
  nlohmann::json::to_msgpack(fields, bytes);
  auto d = decode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!d.ok)
    return failure(d.err.field.empty() ? d.err.message : d.err.field + ": " + d.err.message);
  return std::move(d.value.body);
}

} // namespace clusterio::wire
