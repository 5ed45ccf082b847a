#pragma once
// Sign-in sessions of the web page: an admin exchanges the admin token, or a user their password,
// for a session, kept by the browser in an HttpOnly, SameSite=Strict cookie; every state change made with the cookie must
// also carry the session's CSRF token in a header (X-CSRF-Token), which only the page, reading
// GET /api/session, can know. Thread-safe (the web server's workers share one store). Bounded:
// at most max_sessions live ones, each for `lifetime_ms`; the store keeps only SHA-256s of the
// session tokens, so a lookup's timing tells nothing of a token.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace clusterio::web {

/// The cookie that holds the session token.
inline constexpr std::string_view session_cookie = "clusterio_session";

class session_store {
public:
  static constexpr std::size_t max_sessions = 1000;
  static constexpr std::uint64_t lifetime_ms = 12ull * 60 * 60 * 1000;

  struct session {
    std::string csrf;
    std::uint64_t expires_ms = 0;
    bool admin = false; ///< else a viewer
    std::string who;    ///< the user's name, or "web" for the admin token (the audit log's `who`)
    bool web_user = false; ///< signed in as a web user (whose role is looked up at each request), not with the token
  };
  struct started {
    std::string token; ///< for the cookie
    std::string csrf;
  };

  /// A new session (the oldest is ended when max_sessions live).
  started start(std::uint64_t now_ms, bool admin, std::string who, bool web_user);
  /// The live session of `token`.
  std::optional<session> find(const std::string& token, std::uint64_t now_ms);
  void end(const std::string& token);

private:
  std::mutex mu_;
  std::map<std::string, session> sessions_; ///< by SHA-256 of the token
};

/// The session token in a Cookie header ("a=b; clusterio_session=TOKEN"), or "".
std::string session_token_in(std::string_view cookie_header);

/// Whether two secrets are equal, in a time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b);

} // namespace clusterio::web
