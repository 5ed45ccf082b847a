#include "game/mod_interface.hpp"

#include <algorithm>
#include <set>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "game/lua_call.hpp"

namespace clusterio::mod {

namespace {

using json = nlohmann::json;

/// The largest integer a Lua number (a double) holds exactly: larger ones from the mod are corrupt.
constexpr std::uint64_t max_exact = std::uint64_t{1} << 53;

// ---- reading JSON values: each check names what it wants ------------------------------------------

/// `f` with the path `part` in front: "items" + "[0][1]: ..." -> "items[0][1]: ...".
failure under(std::string_view part, failure f) {
  if (!f.what().empty() && f.what()[0] == '[')
    return failure(std::string(part) + f.what());
  return std::move(f).in(part);
}

result<std::uint64_t> as_uint(const json& v, std::uint64_t min) {
  if (v.is_number_unsigned()) {
    auto x = v.get<std::uint64_t>();
    if (x >= min && x <= max_exact)
      return x;
  }
  return failure("must be an integer in " + std::to_string(min) + ".." + std::to_string(max_exact));
}

result<std::int64_t> as_int(const json& v, std::int64_t min, std::int64_t max) {
  auto range = [min, max] { return failure("must be an integer in " + std::to_string(min) + ".." + std::to_string(max)); };
  if (v.is_number_unsigned()) {
    auto x = v.get<std::uint64_t>();
    if (max >= 0 && x <= static_cast<std::uint64_t>(max) && static_cast<std::int64_t>(x) >= min)
      return static_cast<std::int64_t>(x);
    return range();
  }
  if (v.is_number_integer()) {
    auto x = v.get<std::int64_t>();
    if (x >= min && x <= max)
      return x;
  }
  return range();
}

result<std::string> as_string(const json& v) {
  if (!v.is_string())
    return failure("must be a string");
  return v.get<std::string>();
}

/// Reads a string that `check` accepts (wire::check_name, check_label, ...).
auto string_checked_by(result<void> (*check)(std::string_view)) {
  return [check](const json& v) -> result<std::string> {
    auto s = as_string(v);
    if (s)
      if (auto ok = check(*s); !ok)
        return ok.error();
    return s;
  };
}

const auto as_name = string_checked_by(wire::check_name);
const auto as_label = string_checked_by(wire::check_label);
/// A quality as the lists spell it: a name, never "normal".
const auto as_quality = string_checked_by(wire::check_quality);

/// The field `key` of `obj`, read by `as` (which returns a result); a failure names the field.
template <class F> auto read(const json& obj, const char* key, F as) -> decltype(as(obj)) {
  auto it = obj.find(key);
  if (it == obj.end())
    return failure(std::string(key) + ": missing");
  auto r = as(*it);
  if (!r)
    return under(key, r.error());
  return r;
}

auto uint_at_least(std::uint64_t min) {
  return [min](const json& v) { return as_uint(v, min); };
}

template <class R> struct value_of;
template <class T> struct value_of<result<T>> {
  using type = T;
};

/// An array whose every element `each` reads; a failure names the element.
template <class F, class T = typename value_of<std::invoke_result_t<F, const json&>>::type>
result<std::vector<T>> as_list(const json& v, F each, std::size_t max_entries) {
  if (!v.is_array())
    return failure("must be a list");
  if (v.size() > max_entries)
    return failure("more than " + std::to_string(max_entries) + " entries");
  std::vector<T> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    auto x = each(v[i]);
    if (!x)
      return under("[" + std::to_string(i) + "]", x.error());
    out.push_back(std::move(*x));
  }
  return out;
}

/// One entry [name, count] or [name, count, quality] (never "normal"), count a transfer's.
result<wire::item_count> as_item(const json& e) {
  if (!e.is_array() || (e.size() != 2 && e.size() != 3))
    return failure("must be [name, count] or [name, count, quality]");
  auto name = as_name(e[0]);
  if (!name)
    return under("[0]", name.error());
  auto count = as_int(e[1], 1, wire::max_transfer_count);
  if (!count)
    return under("[1]", count.error());
  wire::item_count item{std::move(*name), *count};
  if (e.size() == 3) {
    auto quality = as_quality(e[2]);
    if (!quality)
      return under("[2]", quality.error());
    item.quality = std::move(*quality);
  }
  return item;
}

/// One signal [name, value], [name, value, type] or [name, value, type, quality], spelled as on
/// the wire (docs/protocol.md §9): type "item" only before a quality, never quality "normal".
result<wire::circuit_signal> as_signal(const json& e) {
  if (!e.is_array() || e.size() < 2 || e.size() > 4)
    return failure("must be [name, value], [name, value, type] or [name, value, type, quality]");
  auto name = as_name(e[0]);
  if (!name)
    return under("[0]", name.error());
  auto value = as_int(e[1], wire::min_signal_value, wire::max_signal_value);
  if (!value)
    return under("[1]", value.error());
  wire::circuit_signal s{std::move(*name), *value};
  if (e.size() >= 3) {
    auto type = as_string(e[2]);
    if (!type)
      return under("[2]", type.error());
    if (auto ok = wire::check_signal_type(*type, e.size() == 4); !ok)
      return under("[2]", ok.error());
    s.type = std::move(*type);
  }
  if (e.size() == 4) {
    auto quality = as_quality(e[3]);
    if (!quality)
      return under("[3]", quality.error());
    s.quality = std::move(*quality);
  }
  return s;
}

/// A list of entries read by `each`, none of whose `key` appears twice (`text` names it).
template <class Each, class Key, class Text> auto unique_list(Each each, Key key, Text text) {
  return [each, key, text](const json& v) {
    auto list = as_list(v, each, wire::max_list_entries);
    if (!list)
      return list;
    std::set<std::string> keys;
    for (auto& e : *list)
      if (!keys.insert(key(e)).second)
        return decltype(list)(failure(text(e) + " appears twice"));
    return list;
  };
}

/// Items, unique by (name, quality), counts 1..max_transfer_count.
const auto transfer_items = unique_list(as_item, [](const wire::item_count& i) { return wire::item_key(i); },
                                        [](const wire::item_count& i) { return wire::item_text(wire::item_key(i)); });
/// Signals, unique by (type, name, quality), values int32.
const auto signal_values = unique_list(as_signal, [](const wire::circuit_signal& s) { return wire::signal_key(s); },
                                       [](const wire::circuit_signal& s) { return wire::signal_text(s); });

/// A list of channels (labels), at most max_list_entries; an empty one may come as {}.
result<std::set<std::string>> as_channels(const json& v) {
  if (v.is_object() && v.empty())
    return std::set<std::string>{};
  auto list = as_list(v, as_label, wire::max_list_entries);
  if (!list)
    return list.error();
  return std::set<std::string>(std::make_move_iterator(list->begin()), std::make_move_iterator(list->end()));
}

result<json> as_object(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    return failure("not JSON");
  if (!j.is_object())
    return failure("not a JSON object");
  return j;
}

// ---- IPC payloads ----------------------------------------------------------------------------------

result<export_report> read_export(const json& j) {
  auto batch = read(j, "batch", uint_at_least(1));
  if (!batch)
    return batch.error();
  auto floor = read(j, "floor", uint_at_least(0));
  if (!floor)
    return floor.error();
  auto items = read(j, "items", transfer_items);
  if (!items)
    return items.error();
  return export_report{*batch, *floor, std::move(*items)};
}

result<request_report> read_request(const json& j) {
  auto items = read(j, "items", transfer_items);
  if (!items)
    return items.error();
  auto applied = read(j, "applied", uint_at_least(0));
  if (!applied)
    return applied.error();
  return request_report{std::move(*items), *applied};
}

result<signal_report> read_signal(const json& j) {
  auto channel = read(j, "channel", as_label);
  if (!channel)
    return channel.error();
  auto signals = read(j, "signals", signal_values);
  if (!signals)
    return signals.error();
  return signal_report{std::move(*channel), std::move(*signals)};
}

result<status_report> read_status(const json& j) {
  auto tick = read(j, "tick", uint_at_least(0));
  if (!tick)
    return tick.error();
  auto players = read(j, "players", uint_at_least(0));
  if (!players)
    return players.error();
  return status_report{*tick, *players};
}

result<receivers_report> read_receivers(const json& j) {
  auto channels = read(j, "channels", as_channels);
  if (!channels)
    return channels.error();
  return receivers_report{std::move(*channels)};
}

/// Reads one payload type into the variant.
template <class T> result<ipc_payload> as_payload(result<T> r) {
  if (!r)
    return r.error();
  return ipc_payload{std::move(*r)};
}

// ---- replies -----------------------------------------------------------------------------------------

template <class Call> struct tag {};

result<grant_status> as_status(const json& v) {
  auto s = as_string(v);
  if (!s)
    return s.error();
  if (*s == "applied")
    return grant_status::applied;
  if (*s == "duplicate")
    return grant_status::duplicate;
  if (*s == "cancelled")
    return grant_status::cancelled;
  if (*s == "rejected")
    return grant_status::rejected;
  return failure("unknown status '" + s->substr(0, 40) + "'");
}

result<grant_result> as_grant_result(const json& v) {
  if (!v.is_object())
    return failure("must be an object");
  auto status = read(v, "status", as_status);
  if (!status)
    return status.error();
  grant_result r{0, *status, {}};
  // A grant the mod rejected for its id comes back without one.
  if (r.status != grant_status::rejected || v.contains("grant_id")) {
    auto id = read(v, "grant_id", uint_at_least(1));
    if (!id)
      return id.error();
    r.grant_id = *id;
  }
  if (v.contains("reason")) {
    auto reason = read(v, "reason", as_string);
    if (!reason)
      return reason.error();
    r.reason = std::move(*reason);
  }
  return r;
}

result<std::vector<grant_result>> read_results(const json& j, bool cancelling) {
  auto results = read(j, "results", [](const json& v) { return as_list(v, as_grant_result, SIZE_MAX); });
  if (!results)
    return results;
  // cancel_grants answers only these two.
  for (std::size_t i = 0; cancelling && i < results->size(); ++i)
    if (auto s = (*results)[i].status; s != grant_status::cancelled && s != grant_status::applied)
      return failure("must be cancelled or applied").in("results[" + std::to_string(i) + "].status");
  return results;
}

result<ok_reply> read_ok(const json& j) {
  auto it = j.find("ok");
  if (it == j.end() || *it != true)
    return failure("ok: must be true");
  return ok_reply{};
}

result<set_batch_floor::reply> read_reply(const json& j, tag<set_batch_floor>) {
  if (auto ok = read_ok(j); !ok)
    return ok.error();
  auto next = read(j, "next_batch", uint_at_least(0));
  if (!next)
    return next.error();
  return set_batch_floor::reply{*next};
}

result<pending_exports::reply> read_reply(const json& j, tag<pending_exports>) {
  auto floor = read(j, "floor", uint_at_least(0));
  if (!floor)
    return floor.error();
  auto batch = [floor = *floor](const json& v) -> result<export_report> {
    if (!v.is_object())
      return failure("must be an object");
    auto n = read(v, "batch", uint_at_least(1));
    if (!n)
      return n.error();
    auto items = read(v, "items", transfer_items);
    if (!items)
      return items.error();
    return export_report{*n, floor, std::move(*items)};
  };
  auto batches = read(j, "batches", [&batch](const json& v) { return as_list(v, batch, SIZE_MAX); });
  if (!batches)
    return batches.error();
  return pending_exports::reply{std::move(*batches), *floor};
}

result<ack_exports::reply> read_reply(const json& j, tag<ack_exports>) {
  auto dropped = read(j, "dropped", [](const json& v) { return as_list(v, uint_at_least(1), SIZE_MAX); });
  if (!dropped)
    return dropped.error();
  return ack_exports::reply{std::move(*dropped)};
}

result<apply_grants::reply> read_reply(const json& j, tag<apply_grants>) {
  auto results = read_results(j, false);
  if (!results)
    return results.error();
  auto applied = read(j, "applied", uint_at_least(0));
  if (!applied)
    return applied.error();
  return apply_grants::reply{std::move(*results), *applied};
}

result<cancel_grants::reply> read_reply(const json& j, tag<cancel_grants>) {
  auto results = read_results(j, true);
  if (!results)
    return results.error();
  return cancel_grants::reply{std::move(*results)};
}

result<forget_grants::reply> read_reply(const json& j, tag<forget_grants>) {
  auto n = read(j, "forgotten", uint_at_least(0));
  if (!n)
    return n.error();
  return forget_grants::reply{*n};
}

/// A quality as `status` spells it: "normal" too.
result<void> check_any_quality(std::string_view q) { return q == wire::normal_quality ? result<void>{} : wire::check_quality(q); }


/// {name: {quality: count}}; an empty one may come as [].
result<wire::item_list> as_by_quality(const json& v) {
  if (v.is_array() && v.empty())
    return wire::item_list{};
  if (!v.is_object())
    return failure("must be an object {name: {quality: count}}");
  wire::item_list out;
  for (auto& [name, by_quality] : v.items()) {
    if (auto ok = wire::check_name(name); !ok)
      return under(name, ok.error());
    if (!by_quality.is_object())
      return failure("must be an object {quality: count}").in(name);
    for (auto& [quality, count] : by_quality.items()) {
      if (auto ok = check_any_quality(quality); !ok)
        return under(name + "." + quality, ok.error());
      auto n = as_int(count, 1, wire::max_transfer_count);
      if (!n)
        return under(name + "." + quality, n.error());
      if (out.size() == wire::max_list_entries)
        return failure("more than " + std::to_string(wire::max_list_entries) + " entries");
      out.push_back({name, *n, quality});
    }
  }
  return out;
}

result<status::reply> read_reply(const json& j, tag<status>) {
  auto held = read(j, "held_back", as_by_quality);
  if (!held)
    return held.error();
  auto not_shown = read(j, "signals_not_shown", uint_at_least(0));
  if (!not_shown)
    return not_shown.error();
  std::optional<std::set<std::string>> receivers;
  if (j.contains("receivers")) {
    auto r = read(j, "receivers", as_channels);
    if (!r)
      return r.error();
    receivers = std::move(*r);
  }
  return status::reply{std::move(*held), *not_shown, std::move(receivers)};
}

result<ok_reply> read_reply(const json& j, tag<set_inventory>) { return read_ok(j); }
result<ok_reply> read_reply(const json& j, tag<receive_signals>) { return read_ok(j); }

// ---- arguments -----------------------------------------------------------------------------------------

json items_json(const wire::item_list& items) {
  json a = json::array();
  for (auto& i : items)
    a.push_back(i.quality == wire::normal_quality ? json{i.name, i.count} : json{i.name, i.count, i.quality});
  return a;
}

json signals_json(const wire::signal_list& signals) {
  json a = json::array();
  for (auto& s : signals) {
    json e{s.name, s.value};
    if (s.quality != wire::normal_quality || s.type != wire::item_signal)
      e.push_back(s.type);
    if (s.quality != wire::normal_quality)
      e.push_back(s.quality);
    a.push_back(std::move(e));
  }
  return a;
}

json arguments(const set_batch_floor& c) { return {{"next_batch", c.next_batch}}; }
json arguments(const pending_exports&) { return json::object(); }
json arguments(const status&) { return json::object(); }
json arguments(const ack_exports& c) { return {{"batches", c.batches}}; }
json arguments(const cancel_grants& c) { return {{"grant_ids", c.grant_ids}}; }
json arguments(const forget_grants& c) { return {{"grant_ids", c.grant_ids}}; }

json arguments(const apply_grants& c) {
  json list = json::array();
  for (auto& g : c.grants) {
    json grant{{"grant_id", g.grant_id}, {"name", g.name}, {"count", g.count}};
    if (g.quality != wire::normal_quality)
      grant["quality"] = g.quality;
    list.push_back(std::move(grant));
  }
  return {{"grants", std::move(list)}};
}

json arguments(const set_inventory& c) { return {{"time_ms", c.time_ms}, {"full", c.full}, {"levels", items_json(c.levels)}}; }

json arguments(const receive_signals& c) {
  return {{"channel", c.channel}, {"signals", signals_json(c.signals)}};
}

} // namespace

result<ipc_payload> parse_ipc(std::string_view channel, std::string_view text) {
  auto j = as_object(text);
  if (!j)
    return j.error();
  if (channel == "export")
    return as_payload(read_export(*j));
  if (channel == "request")
    return as_payload(read_request(*j));
  if (channel == "signal")
    return as_payload(read_signal(*j));
  if (channel == "status")
    return as_payload(read_status(*j));
  if (channel == "receivers")
    return as_payload(read_receivers(*j));
  return failure("unknown channel");
}

wire::held_back_report held_back_of(status::reply r) {
  wire::held_back_report out;
  for (auto& i : r.held_back)
    out.items_total += static_cast<std::uint64_t>(i.count);
  auto keep = std::min(r.held_back.size(), wire::max_report_entries);
  std::partial_sort(r.held_back.begin(), r.held_back.begin() + static_cast<std::ptrdiff_t>(keep), r.held_back.end(),
                    [](auto& a, auto& b) { return a.count != b.count ? a.count > b.count : wire::item_key(a) < wire::item_key(b); });
  r.held_back.resize(keep);
  out.items = std::move(r.held_back);
  out.signals_not_shown = r.signals_not_shown;
  return out;
}

std::vector<std::uint64_t> grant_ids(const std::vector<grant_result>& results, std::initializer_list<grant_status> statuses) {
  std::vector<std::uint64_t> out;
  for (auto& r : results)
    for (auto s : statuses)
      if (r.status == s && r.grant_id != 0)
        out.push_back(r.grant_id);
  return out;
}

template <class Call> std::string command(const Call& call) {
  // Never throws: a string that is not UTF-8 is sent with U+FFFD in its place.
  return clusterio_call(Call::function, arguments(call).dump(-1, ' ', false, json::error_handler_t::replace));
}

template <class Call> result<typename Call::reply> parse_reply(std::string_view text) {
  auto j = as_object(text);
  if (!j)
    return failure("unexpected reply (" + j.why() + "): " + std::string(text.substr(0, 200)));
  if (auto it = j->find("error"); it != j->end())
    return failure("the mod refused: " + (it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, json::error_handler_t::replace)));
  auto r = read_reply(*j, tag<Call>{});
  if (!r)
    return r.error().in("unexpected reply");
  return r;
}

#define CLUSTERIO_MOD_CALL(Call)                                                                                       \
  template std::string command<Call>(const Call&);                                                                     \
  template result<Call::reply> parse_reply<Call>(std::string_view);
CLUSTERIO_MOD_CALL(set_batch_floor)
CLUSTERIO_MOD_CALL(pending_exports)
CLUSTERIO_MOD_CALL(ack_exports)
CLUSTERIO_MOD_CALL(apply_grants)
CLUSTERIO_MOD_CALL(cancel_grants)
CLUSTERIO_MOD_CALL(forget_grants)
CLUSTERIO_MOD_CALL(set_inventory)
CLUSTERIO_MOD_CALL(receive_signals)
CLUSTERIO_MOD_CALL(status)
#undef CLUSTERIO_MOD_CALL

} // namespace clusterio::mod
