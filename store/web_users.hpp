#pragma once
// The web page's users: a name, a role (admin or viewer) and a password kept only as a slow
// hash (Argon2id, libsodium's crypto_pwhash_str, at its "interactive" cost: some 64 MiB and a
// tenth of a second per check, so a stolen master.db does not give the passwords away cheaply).
// Table web_users of master.db, written by `clusterio-master add-user` and `remove-user` (even
// while the master runs) and read by the web server at each sign-in.

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite.hpp"

namespace clusterio {

enum class web_role { viewer, admin };
std::string_view to_string(web_role r);

class web_users {
public:
  struct user {
    std::string name;
    web_role role = web_role::viewer;
  };
  /// Passwords shorter than this are refused.
  static constexpr std::size_t min_password_bytes = 8;
  static constexpr std::size_t max_password_bytes = 1024;

  static result<std::unique_ptr<web_users>> open(const std::string& db_path);

  /// Adds a user, or gives an existing one a new role and password.
  result<void> set(const std::string& name, web_role role, std::string_view password);
  /// Removes a user (an unknown name is a failure); the web server ends their sessions at their
  /// next request (role_of).
  result<void> remove(const std::string& name);
  /// The user, if `password` is theirs; else a failure that does not say which of the two was
  /// wrong. Checks run one at a time (each costs 64 MiB).
  result<user> check(const std::string& name, std::string_view password);
  /// The user's role now, or none if there is no such user (any more): a signed-in session
  /// follows the table, so a removed user is signed out and a changed role takes effect.
  result<std::optional<web_role>> role_of(const std::string& name);
  result<std::vector<user>> list();

private:
  explicit web_users(std::unique_ptr<sql::database> db) : db_(std::move(db)) {}
  std::mutex mu_;      ///< the connection
  std::mutex hashing_; ///< one password check at a time, without holding up role_of
  std::unique_ptr<sql::database> db_;
};

} // namespace clusterio
