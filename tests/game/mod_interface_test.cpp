// The mod interface's schema (game/mod_interface): what the slave accepts from the mod, exactly,
// what it refuses and why, and the commands it sends.

#include <functional>
#include <map>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "game/mod_interface.hpp"
#include "tests/support/mod_call.hpp"

using namespace clusterio;
using json = nlohmann::json;

namespace {

/// The failure text of parsing `text` as a reply to `call`, or "" when it parses.
std::string reply_failure(const std::string& call, std::string_view text) {
  static const std::map<std::string, std::function<std::string(std::string_view)>> parsers = {
    {"set_batch_floor", [](std::string_view t) { return mod::parse_reply<mod::set_batch_floor>(t).why(); }},
    {"pending_exports", [](std::string_view t) { return mod::parse_reply<mod::pending_exports>(t).why(); }},
    {"ack_exports", [](std::string_view t) { return mod::parse_reply<mod::ack_exports>(t).why(); }},
    {"apply_grants", [](std::string_view t) { return mod::parse_reply<mod::apply_grants>(t).why(); }},
    {"cancel_grants", [](std::string_view t) { return mod::parse_reply<mod::cancel_grants>(t).why(); }},
    {"forget_grants", [](std::string_view t) { return mod::parse_reply<mod::forget_grants>(t).why(); }},
    {"set_inventory", [](std::string_view t) { return mod::parse_reply<mod::set_inventory>(t).why(); }},
    {"receive_signals", [](std::string_view t) { return mod::parse_reply<mod::receive_signals>(t).why(); }},
    {"status", [](std::string_view t) { return mod::parse_reply<mod::status>(t).why(); }},
  };
  return parsers.at(call)(text);
}

/// The JSON argument of an RCON command.
json argument_of(const std::string& command) { return test::read_mod_call(command).argument; }

const std::string long_name(201, 'x');

} // namespace

TEST_CASE("mod interface: IPC payloads of every channel are read into their structs") {
  auto exp = mod::parse_ipc("export", R"({"batch":3,"floor":2,"items":[["iron-plate",5],["water",1000]],"later":1})");
  REQUIRE(exp.ok());
  auto& e = std::get<mod::export_report>(*exp);
  CHECK(e.batch == 3);
  CHECK(e.floor == 2);
  CHECK(e.items == wire::item_list{{"iron-plate", 5}, {"water", 1000}});
  auto empty = mod::parse_ipc("export", R"({"batch":9007199254740992,"floor":0,"items":[]})");
  REQUIRE(empty.ok());
  CHECK(std::get<mod::export_report>(*empty).batch == 9007199254740992ull);
  CHECK(std::get<mod::export_report>(*empty).items.empty());

  auto req = mod::parse_ipc("request", R"({"items":[["copper-plate",1000000000000]],"applied":7})");
  REQUIRE(req.ok());
  CHECK(std::get<mod::request_report>(*req).items == wire::item_list{{"copper-plate", 1000000000000}});
  CHECK(std::get<mod::request_report>(*req).applied == 7);

  auto sig = mod::parse_ipc("signal", R"({"channel":"red.1","signals":[["signal-A",-2147483648],["iron-plate",2147483647],["signal-B",0]]})");
  REQUIRE(sig.ok());
  CHECK(std::get<mod::signal_report>(*sig).channel == "red.1");
  CHECK(std::get<mod::signal_report>(*sig).signals == wire::signal_list{{"signal-A", -2147483648LL}, {"iron-plate", 2147483647}, {"signal-B", 0}});
  // Signals by full id: a type when not item (or before a quality), a quality when not normal.
  auto typed = mod::parse_ipc("signal", R"({"channel":"c","signals":[["water",1],["water",2,"fluid"],["iron-plate",3,"item","rare"],)"
                                        R"(["signal-A",4,"virtual","epic"],["rare",5,"quality"],["nauvis",6,"space-location"]]})");
  REQUIRE(typed.ok());
  CHECK(std::get<mod::signal_report>(*typed).signals == wire::signal_list{{"water", 1},
                                                                           {"water", 2, "fluid"},
                                                                           {"iron-plate", 3, "item", "rare"},
                                                                           {"signal-A", 4, "virtual", "epic"},
                                                                           {"rare", 5, "quality"},
                                                                           {"nauvis", 6, "space-location"}});
  auto none = mod::parse_ipc("signal", R"({"channel":"default","signals":[]})");
  REQUIRE(none.ok());
  CHECK(std::get<mod::signal_report>(*none).signals.empty());

  // Items of another quality are [name, count, quality]; the same name in two qualities is two items.
  auto rare = mod::parse_ipc("export", R"({"batch":4,"floor":4,"items":[["iron-plate",5],["iron-plate",2,"rare"],["x",1,"a modded one"]]})");
  REQUIRE(rare.ok());
  CHECK(std::get<mod::export_report>(*rare).items ==
        wire::item_list{{"iron-plate", 5}, {"iron-plate", 2, "rare"}, {"x", 1, "a modded one"}});
  auto rare_req = mod::parse_ipc("request", R"({"items":[["iron-plate",20,"epic"]],"applied":0})");
  REQUIRE(rare_req.ok());
  CHECK(std::get<mod::request_report>(*rare_req).items == wire::item_list{{"iron-plate", 20, "epic"}});

  auto status = mod::parse_ipc("status", "{\"tick\":600,\"players\":2}\r\n");
  REQUIRE(status.ok());
  CHECK(std::get<mod::status_report>(*status).tick == 600);
  CHECK(std::get<mod::status_report>(*status).players == 2);

  // The receivers' channels: a set (a repeat is one), empty as [] or {}.
  auto receivers = mod::parse_ipc("receivers", R"({"channels":["red","default","red"]})");
  REQUIRE(receivers.ok());
  CHECK(std::get<mod::receivers_report>(*receivers).channels == std::set<std::string>{"default", "red"});
  for (auto* none : {R"({"channels":[]})", R"({"channels":{}})"}) {
    auto parsed = mod::parse_ipc("receivers", none);
    REQUIRE(parsed.ok());
    CHECK(std::get<mod::receivers_report>(*parsed).channels.empty());
  }
}

TEST_CASE("mod interface: every malformed IPC payload is refused, naming the field") {
  struct rejection {
    const char* channel;
    std::string json;
    std::string why;
  };
  std::vector<rejection> table = {
    {"export", R"({"batch":3,"floor":2,"items":[)", "not JSON"},
    {"export", R"([3,2])", "not a JSON object"},
    {"export", R"("export")", "not a JSON object"},
    {"exports", R"({"batch":3,"floor":2,"items":[]})", "unknown channel"},
    {"", R"({})", "unknown channel"},
    // numbers: missing, wrong type, negative, zero where >= 1, fractional, huge
    {"export", R"({"floor":2,"items":[]})", "batch: missing"},
    {"export", R"({"batch":"3","floor":2,"items":[]})", "batch: must be an integer in 1..9007199254740992"},
    {"export", R"({"batch":0,"floor":0,"items":[]})", "batch: must be an integer in 1.."},
    {"export", R"({"batch":-1,"floor":0,"items":[]})", "batch: must be an integer in 1.."},
    {"export", R"({"batch":3.5,"floor":0,"items":[]})", "batch: must be an integer"},
    {"export", R"({"batch":3.0,"floor":0,"items":[]})", "batch: must be an integer"},
    {"export", R"({"batch":1e30,"floor":0,"items":[]})", "batch: must be an integer"},
    {"export", R"({"batch":9007199254740993,"floor":0,"items":[]})", "batch: must be an integer in 1..9007199254740992"},
    {"export", R"({"batch":18446744073709551616,"floor":0,"items":[]})", "batch: must be an integer"},
    {"export", R"({"batch":null,"floor":0,"items":[]})", "batch: must be an integer"},
    {"export", R"({"batch":3,"items":[]})", "floor: missing"},
    {"export", R"({"batch":3,"floor":true,"items":[]})", "floor: must be an integer"},
    // item lists
    {"export", R"({"batch":3,"floor":2})", "items: missing"},
    {"export", R"({"batch":3,"floor":2,"items":{}})", "items: must be a list"},
    {"export", R"({"batch":3,"floor":2,"items":{"iron-plate":5}})", "items: must be a list"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate"]]})", "items[0]: must be [name, count] or [name, count, quality]"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",1,"rare",2]]})", "items[0]: must be [name, count] or [name, count, quality]"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",1,2]]})", "items[0][2]: must be a string"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",1,"normal"]]})", "items[0][2]: quality \"normal\" is never spelled"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",1,"a\nb"]]})", "items[0][2]: name contains a control character"},
    {"export", R"({"batch":3,"floor":2,"items":[{"name":"iron-plate","count":1}]})", "items[0]: must be [name, count] or [name, count, quality]"},
    {"export", R"({"batch":3,"floor":2,"items":[["a",1],[5,1]]})", "items[1][0]: must be a string"},
    {"export", R"({"batch":3,"floor":2,"items":[["",1]]})", "items[0][0]: name is empty"},
    {"export", R"({"batch":3,"floor":2,"items":[["bad\u0001name",1]]})", "items[0][0]: name contains a control character"},
    {"export", R"({"batch":3,"floor":2,"items":[["bad\u009bname",1]]})", "items[0][0]: name contains a control character"},
    {"export", R"({"batch":3,"floor":2,"items":[[")" + long_name + R"(",1]]})", "items[0][0]: name longer than 200 bytes"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",0]]})", "items[0][1]: must be an integer in 1..1000000000000"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",-5]]})", "items[0][1]: must be an integer in 1.."},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",1.5]]})", "items[0][1]: must be an integer"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",1000000000001]]})", "items[0][1]: must be an integer in 1..1000000000000"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",18446744073709551615]]})", "items[0][1]: must be an integer"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate","5"]]})", "items[0][1]: must be an integer"},
    {"export", R"({"batch":3,"floor":2,"items":[["iron-plate",1],["iron-plate",2]]})", "items: 'iron-plate' appears twice"},
    {"request", R"({"items":[["iron-plate",1,"rare"],["iron-plate",2,"rare"]],"applied":0})", "items: 'iron-plate' of quality 'rare' appears twice"},
    {"request", R"({"applied":0})", "items: missing"},
    {"request", R"({"items":[["iron-plate",5]]})", "applied: missing"},
    {"request", R"({"items":[["iron-plate",5]],"applied":-1})", "applied: must be an integer"},
    {"request", R"({"items":[["iron-plate",0]],"applied":0})", "items[0][1]: must be an integer in 1.."},
    // signals
    {"signal", R"({"signals":[]})", "channel: missing"},
    {"signal", R"({"channel":5,"signals":[]})", "channel: must be a string"},
    {"signal", R"({"channel":"","signals":[]})", "channel: "},
    {"signal", R"({"channel":"my channel","signals":[]})", "channel: "},
    {"signal", R"({"channel":"default"})", "signals: missing"},
    {"signal", R"({"channel":"default","signals":[["signal-A",2147483648]]})", "signals[0][1]: must be an integer in -2147483648..2147483647"},
    {"signal", R"({"channel":"default","signals":[["signal-A",-2147483649]]})", "signals[0][1]: must be an integer in -2147483648.."},
    {"signal", R"({"channel":"default","signals":[["signal-A",0.5]]})", "signals[0][1]: must be an integer"},
    {"signal", R"({"channel":"c","signals":[["signal-A"]]})", "signals[0]: must be [name, value], [name, value, type] or [name, value, type, quality]"},
    {"signal", R"({"channel":"c","signals":[["a",1,"item","rare",5]]})", "signals[0]: must be [name, value], [name, value, type]"},
    {"signal", R"({"channel":"c","signals":[["signal-A",1,"rare"]]})", "signals[0][2]: not a signal type"},
    {"signal", R"({"channel":"c","signals":[["a",1,"item"]]})", "signals[0][2]: type \"item\" is spelled only before a quality"},
    {"signal", R"({"channel":"c","signals":[["a",1,"fluid","normal"]]})", "signals[0][3]: quality \"normal\" is never spelled"},
    {"signal", R"({"channel":"c","signals":[["a",1,5]]})", "signals[0][2]: must be a string"},
    {"signal", R"({"channel":"c","signals":[["water",1,"fluid"],["water",2,"fluid"]]})", "signals: 'water' (fluid, normal) appears twice"},
    {"signal", R"({"channel":"c","signals":[["a",1,"item","rare"],["a",2,"item","rare"]]})", "signals: 'a' (item, rare) appears twice"},
    // status
    {"status", R"({"players":0})", "tick: missing"},
    {"status", R"({"tick":60})", "players: missing"},
    {"status", R"({"tick":60.5,"players":0})", "tick: must be an integer"},
    {"status", R"({"tick":60,"players":-1})", "players: must be an integer"},
    {"status", R"({"tick":1e300,"players":1})", "tick: must be an integer"},
    // receivers
    {"receivers", R"({})", "channels: missing"},
    {"receivers", R"({"channels":"red"})", "channels: must be a list"},
    {"receivers", R"({"channels":{"red":true}})", "channels: must be a list"},
    {"receivers", R"({"channels":["red",5]})", "channels[1]: must be a string"},
    {"receivers", R"({"channels":["my channel"]})", "channels[0]: "},
    {"receivers", R"({"channels":[""]})", "channels[0]: "},
  };
  // More entries than the master takes in one list.
  json many = json::array();
  for (int i = 0; i <= 4096; ++i)
    many.push_back({"item-" + std::to_string(i), 1});
  table.push_back({"request", json{{"items", many}, {"applied", 0}}.dump(), "items: more than 4096 entries"});

  for (auto& r : table) {
    INFO(r.channel << " " << r.json.substr(0, 120));
    auto parsed = mod::parse_ipc(r.channel, r.json);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.why().substr(0, r.why.size()) == r.why);
  }
}

TEST_CASE("mod interface: replies to every call are read into their structs") {
  auto applied = mod::parse_reply<mod::apply_grants>(
    R"({"results":[{"grant_id":1,"status":"applied"},{"grant_id":2,"status":"duplicate"},{"grant_id":3,"status":"cancelled"},)"
    R"({"grant_id":4,"status":"rejected","reason":"unknown item or fluid name"},{"status":"rejected","reason":"grant_id must be a non-negative integer or a string"}],"applied":9})"
    "\n");
  REQUIRE(applied.ok());
  CHECK(applied->applied == 9);
  REQUIRE(applied->results.size() == 5);
  CHECK(applied->results[3].reason == "unknown item or fluid name");
  CHECK(applied->results[4].grant_id == 0);
  using gs = mod::grant_status;
  CHECK(mod::grant_ids(applied->results, {gs::applied, gs::duplicate}) == std::vector<std::uint64_t>{1, 2});
  CHECK(mod::grant_ids(applied->results, {gs::cancelled}) == std::vector<std::uint64_t>{3});
  CHECK(mod::grant_ids(applied->results, {gs::rejected}) == std::vector<std::uint64_t>{4});
  CHECK(mod::parse_reply<mod::apply_grants>(R"({"results":[],"applied":0})").ok());

  auto cancelled = mod::parse_reply<mod::cancel_grants>(R"({"results":[{"grant_id":5,"status":"cancelled"},{"grant_id":6,"status":"applied"}]})");
  REQUIRE(cancelled.ok());
  CHECK(mod::grant_ids(cancelled->results, {gs::cancelled}) == std::vector<std::uint64_t>{5});
  CHECK(mod::grant_ids(cancelled->results, {gs::applied}) == std::vector<std::uint64_t>{6});

  auto pending = mod::parse_reply<mod::pending_exports>(R"({"batches":[{"batch":4,"items":[["iron-plate",3]]},{"batch":5,"items":[]}],"floor":4})");
  REQUIRE(pending.ok());
  CHECK(pending->floor == 4);
  REQUIRE(pending->batches.size() == 2);
  CHECK(pending->batches[0].batch == 4);
  CHECK(pending->batches[0].floor == 4);
  CHECK(pending->batches[0].items == wire::item_list{{"iron-plate", 3}});
  CHECK(pending->batches[1].items.empty());

  auto dropped = mod::parse_reply<mod::ack_exports>(R"({"dropped":[4,5]})");
  REQUIRE(dropped.ok());
  CHECK(dropped->dropped == std::vector<std::uint64_t>{4, 5});
  CHECK(mod::parse_reply<mod::forget_grants>(R"({"forgotten":2})")->forgotten == 2);
  CHECK(mod::parse_reply<mod::set_batch_floor>(R"({"ok":true,"next_batch":12})")->next_batch == 12);
  CHECK(mod::parse_reply<mod::set_inventory>(R"({"ok":true})").ok());
  CHECK(mod::parse_reply<mod::receive_signals>(R"({"ok":true})").ok());

  // status: what the world keeps from the cluster; "normal" is spelled here, as the mod does.
  auto status = mod::parse_reply<mod::status>(R"({"tick":5,"players":0,"paused":false,"pending_exports":0,"buffered":[],
    "held_back":{"modular-armor":{"normal":1,"rare":2}},"signals_not_shown":3})");
  REQUIRE(status.ok());
  CHECK(status->held_back == wire::item_list{{"modular-armor", 1}, {"modular-armor", 2, "rare"}});
  CHECK(status->signals_not_shown == 3);
  // Nothing held back may come as an empty list: Lua cannot tell the two apart.
  CHECK(mod::parse_reply<mod::status>(R"({"held_back":[],"signals_not_shown":0})")->held_back.empty());
  // Keys the slave does not read are left alone, whatever they hold (a list from an older mod).
  auto older = mod::parse_reply<mod::status>(
    R"({"held_back":{"blueprint":{"normal":1}},"signals_old":[{"channel":"c","type":"entity","name":"x","count":1}],"signals_not_shown":2})");
  REQUIRE(older.ok());
  CHECK(older->held_back == wire::item_list{{"blueprint", 1}});
  CHECK(older->signals_not_shown == 2);
  // A mod older than 0.6.0 does not tell its receivers' channels; a newer one does.
  CHECK_FALSE(older->receivers.has_value());
  auto newer = mod::parse_reply<mod::status>(R"({"held_back":[],"signals_not_shown":0,"receivers":["b","a"]})");
  REQUIRE(newer.ok());
  CHECK(newer->receivers == std::set<std::string>{"a", "b"});
}

TEST_CASE("mod interface: a heartbeat carries the largest held-back items, with their total") {
  mod::status::reply r;
  for (int i = 1; i <= 40; ++i)
    r.held_back.push_back({"item-" + std::to_string(i), i});
  r.held_back.push_back({"item-40", 40, "rare"});
  r.signals_not_shown = 9;
  auto h = mod::held_back_of(r);
  REQUIRE(h.items.size() == wire::max_report_entries);
  // Largest first; equal counts by name and quality.
  CHECK(h.items[0] == wire::item_count{"item-40", 40});
  CHECK(h.items[1] == wire::item_count{"item-40", 40, "rare"});
  CHECK(h.items.back() == wire::item_count{"item-10", 10});
  CHECK(h.items_total == 40 * 41 / 2 + 40);
  CHECK(h.signals_not_shown == 9);
  // Few enough: all of it.
  auto few = mod::held_back_of({{{"blueprint", 1}}, 0, std::nullopt});
  CHECK(few.items == wire::item_list{{"blueprint", 1}});
  CHECK(few.items_total == 1);
}

TEST_CASE("mod interface: every malformed reply, and every refusal, is a failure naming the field") {
  struct rejection {
    const char* call;
    const char* reply;
    const char* why;
  };
  const std::vector<rejection> table = {
    {"apply_grants", R"({"error":"grants must be a list"})", "the mod refused: grants must be a list"},
    {"apply_grants", R"({"error":{"code":1}})", R"(the mod refused: {"code":1})"},
    {"apply_grants", "Cannot execute command. Error: Unknown interface: clusterio", "unexpected reply (not JSON): Cannot execute command."},
    {"apply_grants", "", "unexpected reply (not JSON)"},
    {"apply_grants", "[]", "unexpected reply (not a JSON object)"},
    {"apply_grants", R"({"applied":1})", "unexpected reply: results: missing"},
    {"apply_grants", R"({"results":[]})", "unexpected reply: applied: missing"},
    {"apply_grants", R"({"results":[],"applied":1e30})", "unexpected reply: applied: must be an integer"},
    {"apply_grants", R"({"results":{},"applied":1})", "unexpected reply: results: must be a list"},
    {"apply_grants", R"({"results":[7],"applied":1})", "unexpected reply: results[0]: must be an object"},
    {"apply_grants", R"({"results":[{"grant_id":1}],"applied":1})", "unexpected reply: results[0]: status: missing"},
    {"apply_grants", R"({"results":[{"grant_id":1,"status":"lost"}],"applied":1})", "unexpected reply: results[0]: status: unknown status 'lost'"},
    {"apply_grants", R"({"results":[{"grant_id":1,"status":1}],"applied":1})", "unexpected reply: results[0]: status: must be a string"},
    {"apply_grants", R"({"results":[{"status":"applied"}],"applied":1})", "unexpected reply: results[0]: grant_id: missing"},
    {"apply_grants", R"({"results":[{"grant_id":"7","status":"applied"}],"applied":1})", "unexpected reply: results[0]: grant_id: must be an integer"},
    {"apply_grants", R"({"results":[{"grant_id":0,"status":"applied"}],"applied":1})", "unexpected reply: results[0]: grant_id: must be an integer in 1.."},
    {"apply_grants", R"({"results":[{"grant_id":9007199254740993,"status":"applied"}],"applied":1})", "unexpected reply: results[0]: grant_id: must be an integer"},
    {"apply_grants", R"({"results":[{"grant_id":"x","status":"rejected"}],"applied":1})", "unexpected reply: results[0]: grant_id: must be an integer"},
    {"apply_grants", R"({"results":[{"grant_id":1,"status":"rejected","reason":5}],"applied":1})", "unexpected reply: results[0]: reason: must be a string"},
    {"cancel_grants", R"({"results":[{"grant_id":1,"status":"duplicate"}]})", "unexpected reply: results[0].status: must be cancelled or applied"},
    {"cancel_grants", R"({"results":[{"grant_id":1,"status":"rejected"}]})", "unexpected reply: results[0].status: must be cancelled or applied"},
    {"cancel_grants", R"({"error":"grant_ids must be a list of grant ids"})", "the mod refused: grant_ids must be a list of grant ids"},
    {"cancel_grants", R"({})", "unexpected reply: results: missing"},
    {"pending_exports", R"({"batches":[]})", "unexpected reply: floor: missing"},
    {"pending_exports", R"({"floor":1})", "unexpected reply: batches: missing"},
    {"pending_exports", R"({"batches":[{"items":[]}],"floor":1})", "unexpected reply: batches[0]: batch: missing"},
    {"pending_exports", R"({"batches":[{"batch":2}],"floor":1})", "unexpected reply: batches[0]: items: missing"},
    {"pending_exports", R"({"batches":[{"batch":2,"items":[["iron-plate",-1]]}],"floor":1})", "unexpected reply: batches[0]: items[0][1]: must be an integer in 1.."},
    {"pending_exports", R"({"batches":[[2,[]]],"floor":1})", "unexpected reply: batches[0]: must be an object"},
    {"ack_exports", R"({"dropped":[0]})", "unexpected reply: dropped[0]: must be an integer in 1.."},
    {"ack_exports", R"({"dropped":"4"})", "unexpected reply: dropped: must be a list"},
    {"ack_exports", R"({})", "unexpected reply: dropped: missing"},
    {"forget_grants", R"({"forgotten":-1})", "unexpected reply: forgotten: must be an integer"},
    {"forget_grants", R"({"ok":true})", "unexpected reply: forgotten: missing"},
    {"set_batch_floor", R"({"ok":false,"next_batch":1})", "unexpected reply: ok: must be true"},
    {"set_batch_floor", R"({"ok":true})", "unexpected reply: next_batch: missing"},
    {"set_batch_floor", R"({"ok":true,"next_batch":"1"})", "unexpected reply: next_batch: must be an integer"},
    {"set_inventory", R"({})", "unexpected reply: ok: must be true"},
    {"set_inventory", R"({"ok":1})", "unexpected reply: ok: must be true"},
    {"set_inventory", R"({"error":"levels must be a list of [name, count]"})", "the mod refused: levels must be a list of [name, count]"},
    {"receive_signals", R"({"ok":"true"})", "unexpected reply: ok: must be true"},
    {"status", R"({"signals_not_shown":0})", "unexpected reply: held_back: missing"},
    {"status", R"({"held_back":[1],"signals_not_shown":0})", "unexpected reply: held_back: must be an object"},
    {"status", R"({"held_back":{"armor":5},"signals_not_shown":0})", "unexpected reply: held_back: armor: must be an object"},
    {"status", R"({"held_back":{"armor":{"normal":0}},"signals_not_shown":0})", "unexpected reply: held_back: armor.normal: must be an integer in 1.."},
    {"status", R"({"held_back":{"armor":{"":1}},"signals_not_shown":0})", "unexpected reply: held_back: armor.: "},
    {"status", R"({"held_back":{"":{"normal":1}},"signals_not_shown":0})", "unexpected reply: held_back: "},
    {"status", R"({"held_back":{}})", "unexpected reply: signals_not_shown: missing"},
    {"status", R"({"held_back":{},"signals_not_shown":-1})", "unexpected reply: signals_not_shown: "},
    {"status", R"({"held_back":{},"signals_not_shown":0,"receivers":[1]})", "unexpected reply: receivers[0]: must be a string"},
  };
  for (auto& r : table) {
    INFO(r.call << " " << r.reply);
    CHECK(reply_failure(r.call, r.reply).substr(0, std::string(r.why).size()) == r.why);
  }
}

TEST_CASE("mod interface: commands carry their argument as JSON in a Lua literal, names as data") {
  auto floor = mod::command(mod::set_batch_floor{12});
  CHECK(floor == R"(/sc remote.call("clusterio", "set_batch_floor", "{\034next_batch\034:12}"))");
  CHECK(test::read_mod_call(floor).function == "set_batch_floor");
  CHECK(argument_of(mod::command(mod::pending_exports{})) == json::object());
  CHECK(argument_of(mod::command(mod::ack_exports{{4, 5}})) == json{{"batches", {4, 5}}});
  CHECK(argument_of(mod::command(mod::cancel_grants{{7}})) == json{{"grant_ids", {7}}});
  CHECK(argument_of(mod::command(mod::forget_grants{{7, 8}})) == json{{"grant_ids", {7, 8}}});
  CHECK(argument_of(mod::command(mod::status{})) == json::object());

  // A name that would end the literal, or the call, stays inside it.
  std::string evil = "\"]]); os.exit() --'\\\n";
  auto apply = mod::command(mod::apply_grants{{{3, evil, 10}}});
  CHECK(apply.find("os.exit() --'") == std::string::npos);
  CHECK(argument_of(apply) == json{{"grants", {{{"grant_id", 3}, {"name", evil}, {"count", 10}}}}});
  CHECK(argument_of(mod::command(mod::set_inventory{1700000000000, true, {{"iron-plate", 5}}})) ==
        json{{"time_ms", 1700000000000}, {"full", true}, {"levels", json::array({json::array({"iron-plate", 5})})}});
  // Quality as the wire has it: a grant's `quality` and a level's third element only when not normal.
  CHECK(argument_of(mod::command(mod::apply_grants{{{3, "iron-plate", 10}, {4, "iron-plate", 2, "rare"}}})) ==
        json::parse(R"({"grants":[{"grant_id":3,"name":"iron-plate","count":10},{"grant_id":4,"name":"iron-plate","count":2,"quality":"rare"}]})"));
  CHECK(argument_of(mod::command(mod::set_inventory{5, true, {{"iron-plate", 5}, {"iron-plate", 1, "legendary"}}}))["levels"] ==
        json::parse(R"([["iron-plate",5],["iron-plate",1,"legendary"]])"));
  CHECK(argument_of(mod::command(mod::set_inventory{5, false, {}})) == json{{"time_ms", 5}, {"full", false}, {"levels", json::array()}});
  CHECK(argument_of(mod::command(mod::receive_signals{"default", {{"signal-A", -3}}})) ==
        json{{"channel", "default"}, {"signals", json::array({json::array({"signal-A", -3})})}});
  // Signals spelled as on the wire: the type when not item or before a quality, the quality when not normal.
  CHECK(argument_of(mod::command(mod::receive_signals{"c", {{"a", 1}, {"a", 2, "fluid"}, {"a", 3, "item", "rare"}, {"a", 4, "recipe", "epic"}}}))["signals"] ==
        json::parse(R"([["a",1],["a",2,"fluid"],["a",3,"item","rare"],["a",4,"recipe","epic"]])"));
  // Never throws, even for bytes that are not UTF-8.
  auto bad = mod::command(mod::receive_signals{"default", {{"\xff", 1}}});
  CHECK(argument_of(bad)["signals"][0][0] == "\xEF\xBF\xBD");
}
