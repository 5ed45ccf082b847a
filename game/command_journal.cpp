#include "game/command_journal.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "messages/json.hpp"

namespace clusterio {

using json = nlohmann::json;

result<command_journal> command_journal::open(const std::string& path) {
  auto claim = file_claim::take(path + ".lock");
  if (!claim)
    return failure("the command journal " + path + " " +
                   (claim.error().code() == file_claim::held ? "is in use by another slave process (" + claim.why() +
                                                                 "): one `clusterio-slave run` per slave folder"
                                                             : "cannot be claimed: " + claim.why()));
  command_journal j(path, std::move(*claim));
  if (!file_exists(path))
    return j;
  auto text = read_file(path);
  if (!text)
    return text.error().in("the command journal " + path);
  auto doc = json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc["entries"].is_array())
    return failure("the command journal " + path + " is not a JSON object with an \"entries\" list; move it away to start afresh");
  try {
    for (auto& e : doc["entries"]) {
      entry x;
      x.id = e.at("id").get<std::uint64_t>();
      x.done = e.at("done").get<bool>();
      if (x.done) {
        auto r = e.at("result");
        // Entries written before the journal kept whole results lack the id and spell "no
        // error" as "".
        r["command_id"] = x.id;
        if (r.value("error", std::string()).empty())
          r.erase("error");
        auto m = wire::from_json(wire::command_result::type, std::move(r));
        if (!m)
          return failure("the command journal " + path + " has a bad result for command " + std::to_string(x.id) + " (" + m.why() +
                         "); move it away to start afresh");
        x.result = std::get<wire::command_result>(std::move(*m));
      }
      j.entries_.push_back(std::move(x));
    }
  } catch (const json::exception& e) {
    return failure("the command journal " + path + " has a bad entry (" + e.what() + "); move it away to start afresh");
  }
  return j;
}

const command_journal::entry* command_journal::find(std::uint64_t id) const {
  auto it = std::find_if(entries_.begin(), entries_.end(), [id](const entry& e) { return e.id == id; });
  return it == entries_.end() ? nullptr : &*it;
}

result<void> command_journal::begin(std::uint64_t id) {
  entries_.push_back({id, false, {}});
  while (entries_.size() > max_entries)
    entries_.pop_front();
  return save();
}

result<void> command_journal::finish(const wire::command_result& r) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const entry& e) { return e.id == r.command_id; });
  if (it == entries_.end())
    return failure("command " + std::to_string(r.command_id) + " is not in the journal");
  it->done = true;
  it->result = r;
  it->result.instances.clear(); // a list is never journaled; nothing else carries instances
  it->result.data.clear();      // a download is never journaled either
  return save();
}

result<void> command_journal::save() const {
  json list = json::array();
  for (auto& e : entries_) {
    json x{{"id", e.id}, {"done", e.done}};
    if (e.done)
      x["result"] = wire::to_json(e.result);
    list.push_back(std::move(x));
  }
  if (auto written = write_file_atomic(path_, json{{"entries", list}}.dump() + "\n", 0600); !written)
    return written.error().in("the command journal");
  return done();
}

} // namespace clusterio
