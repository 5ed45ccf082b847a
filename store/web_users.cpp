#include "store/web_users.hpp"

#include <sodium.h>

#include "store/master_db.hpp"

namespace clusterio {

namespace {

result<web_role> role_named(std::string_view text) {
  if (text == "admin")
    return web_role::admin;
  if (text == "viewer")
    return web_role::viewer;
  return failure("unknown web role '" + std::string(text) + "' (admin or viewer)");
}

} // namespace

std::string_view to_string(web_role r) { return r == web_role::admin ? "admin" : "viewer"; }

result<std::unique_ptr<web_users>> web_users::open(const std::string& db_path) {
  if (sodium_init() < 0)
    return failure("libsodium could not start");
  auto db = open_master_db(db_path, true, "CREATE TABLE IF NOT EXISTS web_users(name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL)");
  if (!db)
    return db.error();
  return std::unique_ptr<web_users>(new web_users(std::move(*db)));
}

result<void> web_users::set(const std::string& name, web_role role, std::string_view password) {
  if (password.size() < min_password_bytes || password.size() > max_password_bytes)
    return failure("a password of " + std::to_string(min_password_bytes) + ".." + std::to_string(max_password_bytes) + " bytes, please");
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return failure("hashing the password ran out of memory");
  std::lock_guard lock(mu_);
  auto st = db_->prepare("INSERT INTO web_users(name,role,hash) VALUES(?1,?2,?3) ON CONFLICT(name) DO UPDATE SET role=excluded.role, hash=excluded.hash");
  return st.bind(1, name).bind(2, std::string(to_string(role))).bind(3, std::string(hash)).run();
}

result<void> web_users::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  return delete_named(*db_, "web_users", name, "web user");
}

result<web_users::user> web_users::check(const std::string& name, std::string_view password) {
  static const std::string wrong = "wrong user name or password";
  std::string role_text, hash;
  {
    std::lock_guard lock(mu_);
    auto st = db_->prepare("SELECT role, hash FROM web_users WHERE name=?1");
    st.bind(1, name);
    if (!st.step()) {
      if (auto status = st.status(); !status)
        return status.error();
      return failure(wrong);
    }
    role_text = st.text(0);
    hash = st.text(1);
    st.reset();
  }
  auto role = role_named(role_text);
  if (!role)
    return role.error().in("web user '" + name + "'");
  std::lock_guard one_at_a_time(hashing_);
  if (password.size() > max_password_bytes || crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) != 0)
    return failure(wrong);
  return user{name, *role};
}

result<std::optional<web_role>> web_users::role_of(const std::string& name) {
  std::lock_guard lock(mu_);
  auto st = db_->prepare("SELECT role FROM web_users WHERE name=?1");
  st.bind(1, name);
  if (!st.step()) {
    if (auto status = st.status(); !status)
      return status.error();
    return std::optional<web_role>();
  }
  auto role = role_named(st.text(0));
  st.reset();
  if (!role)
    return role.error().in("web user '" + name + "'");
  return std::optional<web_role>(*role);
}

result<std::vector<web_users::user>> web_users::list() {
  std::lock_guard lock(mu_);
  std::vector<user> out;
  auto st = db_->prepare("SELECT name, role FROM web_users ORDER BY name");
  while (st.step())
    if (auto r = role_named(st.text(1)))
      out.push_back({st.text(0), *r});
  if (auto status = st.status(); !status)
    return status.error();
  return out;
}

} // namespace clusterio
