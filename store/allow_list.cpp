#include "store/allow_list.hpp"

#include "store/master_db.hpp"

namespace clusterio {

result<std::unique_ptr<allow_list>> allow_list::open(const std::string& db_path) {
  auto db = open_master_db(db_path, true,
                           "CREATE TABLE IF NOT EXISTS clients(name TEXT PRIMARY KEY, role TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE)");
  if (!db)
    return db.error();
  return std::unique_ptr<allow_list>(new allow_list(std::move(*db)));
}

result<void> allow_list::add(const entry& e) {
  auto st = db_->prepare("INSERT INTO clients(name,role,public_key) VALUES(?1,?2,?3) ON CONFLICT(name) DO NOTHING");
  if (auto ran = st.bind(1, e.name).bind(2, to_string(e.role)).bind(3, e.public_key).run(); !ran)
    return ran;
  if (db_->changes() == 1)
    return done();
  auto existing = db_->prepare("SELECT role FROM clients WHERE name=?1");
  existing.bind(1, e.name);
  auto role = existing.step() ? existing.text(0) : std::string("unknown role");
  return failure("a client named '" + e.name + "' exists already (" + role + ")");
}

result<void> allow_list::replace(const entry& e) {
  auto st = db_->prepare(
    "INSERT INTO clients(name,role,public_key) VALUES(?1,?2,?3) "
    "ON CONFLICT(name) DO UPDATE SET role=excluded.role, public_key=excluded.public_key");
  return st.bind(1, e.name).bind(2, to_string(e.role)).bind(3, e.public_key).run();
}

result<void> allow_list::remove(const std::string& name) { return delete_named(*db_, "clients", name, "client"); }

bool allow_list::changed() {
  auto st = db_->prepare("PRAGMA data_version");
  std::int64_t v = st.step() ? st.int64(0) : -1;
  bool differs = v != data_version_;
  data_version_ = v;
  return differs;
}

result<std::vector<allow_list::entry>> allow_list::load() {
  std::vector<entry> out;
  auto st = db_->prepare("SELECT name,role,public_key FROM clients");
  while (st.step()) {
    auto r = parse_role(st.text(1));
    if (r)
      out.push_back({st.text(0), *r, st.text(2)});
  }
  if (auto status = st.status(); !status)
    return status.error();
  return out;
}

} // namespace clusterio
